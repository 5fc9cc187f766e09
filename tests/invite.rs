//! Invitations by email, end to end through the CLI against a real SMTP
//! server (aiosmtpd, tests/smtp/server.py) and a real SQLCipher file: every
//! eligible account gets exactly one message with its own username and
//! link; 451s are retried and delivered, 550s fail with the server's
//! reason, a dropped connection is resumed; a kill mid-send loses nothing;
//! no password, code or token is left where it must not be.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::smtp::{mailbox, smtp_server, Smtp};
use common::*;
use serde_json::Value;

/// A message's plain-text part, decoded.
fn plain_text(raw: &str) -> String {
    part(raw, "text/plain")
}

/// A message's part of this type, decoded (lettre sends parts
/// quoted-printable or base64 as it sees fit).
fn part(raw: &str, mime: &str) -> String {
    let part = raw
        .split(&format!("Content-Type: {mime}"))
        .nth(1)
        .expect("the part");
    let (head, body) = part.split_once("\r\n\r\n").unwrap();
    let body = body.split("\r\n--").next().unwrap();
    if head.contains("base64") {
        use base64::Engine;
        let joined: String = body.split_whitespace().collect();
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(joined)
                .unwrap(),
        )
        .unwrap()
    } else if head.contains("quoted-printable") {
        let mut out = Vec::new();
        let b = body.replace("=\r\n", "");
        let bytes = b.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'=' && i + 2 < bytes.len() {
                out.push(u8::from_str_radix(&b[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    } else {
        body.to_owned()
    }
}

fn header<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    raw.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
}

/// A demo school of `students`, accounts generated, parents enabled, the
/// school's addresses set, and the SMTP server set up.
fn school(dir: &Path, students: u32, smtp: &Smtp, extra: &[&str]) -> PathBuf {
    let db = dir.join("k.db");
    let files = dir.join("demo");
    ok(
        &db,
        &[
            "demo",
            "--students",
            &students.to_string(),
            "--out",
            files.to_str().unwrap(),
        ],
    );
    ok(&db, &["import", files.to_str().unwrap()]);
    ok(&db, &["accounts", "generate"]);
    ok(&db, &["accounts", "enable", "--kind", "parent"]);
    ok(
        &db,
        &[
            "letters",
            "settings",
            "--sign-in-url",
            "https://accounts.demo.example",
        ],
    );
    let extra: Vec<String> = extra.iter().map(|a| a.to_string()).collect();
    smtp_set(&db, smtp, &extra, "");
    db
}

/// `keyroll smtp set` to the test server (plain text: it is on this
/// computer), with `extra` arguments and `input` on standard input.
fn smtp_set(db: &Path, smtp: &Smtp, extra: &[String], input: &str) {
    let port = smtp.port.to_string();
    let mut args = vec![
        "smtp",
        "set",
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--security",
        "none",
        "--from",
        "Demo School Office <office@demo.example>",
        "--retry-after",
        "1",
    ];
    args.extend(extra.iter().map(String::as_str));
    let r = keyroll_stdin(db, &args, input);
    assert_eq!(r.code, 0, "smtp set {extra:?}: {}", r.stderr);
}

fn outbox(db: &Path, status: &str) -> Vec<Value> {
    json(db, &["outbox", "list", "--status", status, "--json"])
        .as_array()
        .unwrap()
        .clone()
}

/// Parents' accounts by username: (email, invitation, NEW).
fn parents(db: &Path) -> HashMap<String, (String, String, bool)> {
    let list = json(db, &["accounts", "list", "--kind", "parent", "--json"]);
    list.as_array()
        .unwrap()
        .iter()
        .filter_map(|p| {
            let username = p["username"].as_str()?.to_owned();
            let new = p["flags"].as_array()?.iter().any(|f| f == "NEW");
            let email = p["email"].as_str().unwrap_or("").to_owned();
            let invitation = p["invitation"].as_str().unwrap_or("").to_owned();
            Some((username, (email, invitation, new)))
        })
        .collect()
}

#[test]
fn every_eligible_parent_gets_exactly_one_invitation_with_their_own_link() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = smtp_server(dir.path(), &[]);
    let db = school(dir.path(), 30, &smtp, &[]);
    let before = parents(&db);
    let with_email: Vec<&String> = before
        .iter()
        .filter(|(_, v)| !v.0.is_empty())
        .map(|(k, _)| k)
        .collect();
    assert!(!with_email.is_empty());

    let preview = ok(&db, &["invite", "send", "--kind", "parent", "--dry-run"]);
    assert!(
        preview.stdout.contains(&format!(
            "{} emails: {} invitations",
            with_email.len(),
            with_email.len()
        )),
        "{}",
        preview.stdout
    );
    // Parents the SIS gave no email address have no account to invite.
    assert!(preview.stdout.contains("Left out"), "{}", preview.stdout);
    assert!(mailbox(&smtp).is_empty(), "a dry run sends nothing");

    let sent = ok(&db, &["invite", "send", "--kind", "parent"]);
    assert!(
        sent.stdout
            .contains(&format!("Sent {}, ", with_email.len())),
        "{}",
        sent.stdout
    );
    let mail = mailbox(&smtp);
    assert_eq!(mail.len(), with_email.len(), "exactly one message each");
    let mut codes = HashSet::new();
    let by_to: HashMap<&str, &str> = mail
        .iter()
        .map(|(to, raw)| (to.as_str(), raw.as_str()))
        .collect();
    assert_eq!(by_to.len(), mail.len(), "no address got two");
    for username in &with_email {
        let email = &before[*username].0;
        let raw = by_to
            .get(email.as_str())
            .unwrap_or_else(|| panic!("nothing for {email}"));
        let text = plain_text(raw);
        assert!(text.contains(&format!("Username: {username}")), "{text}");
        let link = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Activate your account: "))
            .unwrap_or_else(|| panic!("no link in:\n{text}"));
        assert!(
            link.starts_with("https://accounts.demo.example/activate?code="),
            "{link}"
        );
        let code = link.rsplit('=').next().unwrap().to_owned();
        assert!(text.contains(&format!("Activation code: {code}")), "{text}");
        assert!(codes.insert(code), "every link is its own");
        assert!(
            header(raw, "Message-ID").is_some_and(|m| m.ends_with("@demo.example>")),
            "{raw}"
        );
        assert!(
            raw.contains("multipart/alternative") && raw.contains("text/html"),
            "{raw}"
        );
    }
    let after = parents(&db);
    for username in &with_email {
        assert_eq!(after[*username].1, "sent", "{username}");
        assert!(
            !after[*username].2,
            "NEW clears when the invitation is sent: {username}"
        );
    }
    for (username, v) in &after {
        if v.0.is_empty() {
            assert_eq!(v.1, "not_sent", "{username}");
            assert!(v.2, "still NEW: {username}");
        }
    }
    // Sending again invites nobody twice.
    let again = keyroll(&db, &["invite", "send", "--kind", "parent"]);
    assert_eq!(again.code, 1, "{}", again.stdout);
    assert!(again.stdout.contains("already invited"), "{}", again.stdout);
    assert_eq!(mailbox(&smtp).len(), with_email.len());

    // No code outside the mailbox: not in the audit log, not in any
    // output, not in the outbox once sent.
    let audit = ok(&db, &["audit", "--json"]).stdout;
    for code in &codes {
        assert!(!audit.contains(code.as_str()), "a code in the audit log");
        assert!(!sent.stdout.contains(code.as_str()) && !sent.stderr.contains(code.as_str()));
    }
    let store =
        keyroll_core::Store::open(&db, &keyroll_core::DbKey::from_hex(KEY).unwrap()).unwrap();
    let unscrubbed: i64 = store
        .conn()
        .query_row("SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND (body_text IS NOT NULL OR body_html IS NOT NULL)", [], |r| r.get(0))
        .unwrap();
    assert_eq!(unscrubbed, 0, "a sent message's secret parts are scrubbed");
    let bytes = std::fs::read(&db).unwrap();
    for code in &codes {
        assert!(
            !bytes.windows(code.len()).any(|w| w == code.as_bytes()),
            "a code in the database file"
        );
    }
}

#[test]
fn deferred_recipients_are_retried_refused_ones_fail_with_the_reason_and_a_dropped_connection_resumes(
) {
    let dir = tempfile::tempdir().unwrap();
    // Addresses are known only once the school exists: start a server to
    // find them, then the misbehaving one.
    let probe = smtp_server(dir.path(), &[]);
    let db = school(dir.path(), 12, &probe, &["--connections", "1"]);
    let emails: Vec<String> = {
        let mut e: Vec<String> = parents(&db)
            .into_values()
            .map(|v| v.0)
            .filter(|e| !e.is_empty())
            .collect();
        e.sort();
        e
    };
    assert!(emails.len() >= 6, "{emails:?}");
    drop(probe);
    let smtp = smtp_server(
        dir.path(),
        &[
            "--defer",
            &emails[0],
            "--defer",
            &emails[1],
            "--refuse",
            &emails[2],
            "--drop-at",
            "4",
        ],
    );
    ok(
        &db,
        &[
            "smtp",
            "set",
            "--host",
            "127.0.0.1",
            "--port",
            &smtp.port.to_string(),
            "--security",
            "none",
            "--from",
            "office@demo.example",
            "--retry-after",
            "1",
            "--connections",
            "1",
        ],
    );
    let first = ok(&db, &["invite", "send", "--kind", "parent"]);
    assert!(first.stdout.contains("failed 1"), "{}", first.stdout);
    let failed = outbox(&db, "failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["to"], emails[2].as_str());
    let reason = failed[0]["last_error"].as_str().unwrap();
    assert!(
        reason.starts_with("550") && reason.contains("User unknown"),
        "the server's own reason: {reason}"
    );
    let retrying = outbox(&db, "retry");
    assert_eq!(
        retrying.len(),
        3,
        "two deferred and the one whose connection dropped: {retrying:?}"
    );
    let listed = ok(&db, &["outbox", "list", "--status", "retry"]).stdout;
    assert!(listed.contains("451 4.3.0"), "{listed}");

    // Not yet due: a run now sends nothing more. Then, once due, all of it.
    std::thread::sleep(Duration::from_millis(1200));
    let second = ok(&db, &["outbox", "run"]);
    assert!(second.stdout.contains("Sent 3, "), "{}", second.stdout);
    let mail = mailbox(&smtp);
    let mut got: Vec<&str> = mail.iter().map(|(to, _)| to.as_str()).collect();
    got.sort();
    let expected: Vec<&str> = emails
        .iter()
        .filter(|e| **e != emails[2])
        .map(String::as_str)
        .collect();
    assert_eq!(
        got, expected,
        "everyone but the refused address, exactly once"
    );
    assert!(outbox(&db, "retry").is_empty() && outbox(&db, "queued").is_empty());

    // The office retries the failed one after fixing nothing: it fails again,
    // with the reason kept.
    ok(&db, &["outbox", "retry", "--all-failed"]);
    ok(&db, &["outbox", "run"]);
    assert_eq!(outbox(&db, "failed").len(), 1);
}

#[test]
fn a_kill_mid_send_loses_nothing_and_copies_come_only_from_messages_marked_may_have_been_sent() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = smtp_server(dir.path(), &["--delay-ms", "40"]);
    let db = school(dir.path(), 40, &smtp, &["--connections", "2"]);
    let at = "2020-01-01T00:00:00Z"; // queued now, due at once
    ok(&db, &["invite", "send", "--kind", "parent", "--at", at]);
    let queued = outbox(&db, "queued").len();
    assert!(queued > 20, "{queued}");

    let mut run = Command::new(keyroll_bin())
        .args(["--db", db.to_str().unwrap(), "outbox", "run"])
        .env("KEYROLL_DB_KEY", KEY)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while mailbox(&smtp).len() < 5 {
        assert!(Instant::now() < deadline, "nothing was sent");
        std::thread::sleep(Duration::from_millis(20));
    }
    run.kill().unwrap(); // SIGKILL: no cleanup
    run.wait().unwrap();
    let before_kill = mailbox(&smtp).len();
    assert!(
        before_kill < queued,
        "killed mid-send ({before_kill} of {queued})"
    );

    let resumed = ok(&db, &["outbox", "run"]);
    let unsure = outbox(&db, "unsure");
    assert!(
        !unsure.is_empty() && unsure.len() <= 8,
        "the few on the wire: {unsure:?}"
    );
    assert!(
        resumed.stdout.contains("may have been sent"),
        "{}",
        resumed.stdout
    );
    let unsure_ids: HashSet<String> = unsure
        .iter()
        .map(|m| m["message_id"].as_str().unwrap().to_owned())
        .collect();
    ok(&db, &["outbox", "retry", "--all-unsure"]);
    ok(&db, &["outbox", "run"]);
    assert_eq!(outbox(&db, "sent").len(), queued, "every message delivered");

    let mut copies: HashMap<String, usize> = HashMap::new();
    for (_, raw) in mailbox(&smtp) {
        *copies
            .entry(header(&raw, "Message-ID").unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(copies.len(), queued, "every message arrived");
    for (id, n) in copies {
        assert!(
            n == 1 || unsure_ids.contains(&id),
            "{id} arrived {n} times but was not marked may-have-been-sent"
        );
    }
}

#[test]
fn smtp_sign_in_uses_the_keychain_and_a_wrong_password_shows_the_servers_answer() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = smtp_server(
        dir.path(),
        &[
            "--user",
            "office@demo.example",
            "--password",
            "Corr3ct-Horse",
        ],
    );
    let db = dir.path().join("k.db");
    let sign_in = |auth: &str| {
        [
            "--user",
            "office@demo.example",
            "--auth",
            auth,
            "--password-stdin",
        ]
        .map(String::from)
    };
    let set = |password: &str, auth: &str| {
        smtp_set(&db, &smtp, &sign_in(auth), &format!("{password}\n"));
    };
    set("wrong-password", "plain");
    let bad = keyroll(&db, &["smtp", "test", "--to", "someone@demo.example"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("535") && bad.stderr.contains("check the account's password"),
        "{}",
        bad.stderr
    );
    for auth in ["plain", "login"] {
        set("Corr3ct-Horse", auth);
        let good = ok(&db, &["smtp", "test", "--to", "someone@demo.example"]);
        assert!(
            good.stdout.contains("accepted the test email"),
            "{}",
            good.stdout
        );
    }
    assert_eq!(mailbox(&smtp).len(), 2);
    let shown = ok(&db, &["smtp", "show", "--json"]).stdout;
    assert!(!shown.contains("Corr3ct-Horse"));
    let audit = ok(&db, &["audit", "--json"]).stdout;
    assert!(
        audit.contains("settings.smtp") && !audit.contains("Corr3ct-Horse"),
        "audited, without the password"
    );
    let store =
        keyroll_core::Store::open(&db, &keyroll_core::DbKey::from_hex(KEY).unwrap()).unwrap();
    let settings: String = store
        .conn()
        .query_row("SELECT value FROM setting WHERE key = 'smtp'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(
        !settings.contains("Corr3ct-Horse") && !settings.contains("wrong-password"),
        "{settings}"
    );
    // Plain text to another computer is refused before anything is kept.
    let r = keyroll(
        &db,
        &[
            "smtp",
            "set",
            "--host",
            "smtp.example.org",
            "--security",
            "none",
            "--from",
            "office@demo.example",
        ],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("not this computer"), "{}", r.stderr);
}

#[test]
fn a_free_message_goes_to_anyone_chosen_and_changes_no_account() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = smtp_server(dir.path(), &[]);
    let db = school(dir.path(), 10, &smtp, &[]);
    let file = dir.path().join("closure.txt");
    std::fs::write(
        &file,
        "keyroll-invitation-template: 1\nname: Snow day\nfor: any\nsubject: {{school_name}} is closed today\n---\nDear {{first_name}},\n\nthe school is closed today because of snow. <b>Stay safe</b>.\n",
    )
    .unwrap();
    let before = parents(&db);
    let sent = ok(
        &db,
        &[
            "invite",
            "send",
            "--kind",
            "parent",
            "--template",
            file.to_str().unwrap(),
        ],
    );
    assert!(
        sent.stdout.contains("messages; 0 new passwords"),
        "{}",
        sent.stdout
    );
    let mail = mailbox(&smtp);
    assert!(!mail.is_empty());
    for (_, raw) in &mail {
        let text = plain_text(raw);
        assert!(
            text.starts_with("Dear ") && text.contains("closed today because of snow"),
            "{text}"
        );
        assert!(!text.contains("Username:"), "{text}");
        let html = part(raw, "text/html");
        assert!(
            html.contains("&lt;b&gt;Stay safe&lt;/b&gt;"),
            "data is never markup: {html}"
        );
    }
    assert_eq!(parents(&db), before, "a message hands no account out");
}

/// The tests' OAuth token endpoint (tests/oauth/token_server.py), stopped
/// when dropped.
struct TokenServer {
    child: std::process::Child,
    url: String,
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn token_server(client_id: &str, refresh: &str) -> TokenServer {
    let port = common::smtp::free_port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oauth/token_server.py");
    let mut child = Command::new(common::smtp::python())
        .arg(script)
        .args(["--port", &port.to_string(), "--client-id", client_id])
        .args(["--refresh", refresh])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the token server");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "ready", "the token server did not start");
    TokenServer {
        child,
        url: format!("http://127.0.0.1:{port}/token"),
    }
}

#[test]
fn xoauth2_gets_access_tokens_with_the_refresh_token_and_keeps_the_rotated_one() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = smtp_server(dir.path(), &["--user", "office@demo.example", "--xoauth2"]);
    let tokens = token_server("keyroll-test-app", "refresh-token-1");
    let db = school(dir.path(), 6, &smtp, &[]);
    let oauth = |client_id: &str| {
        [
            "--user",
            "office@demo.example",
            "--auth",
            "xoauth2",
            "--oauth-token-url",
            &tokens.url,
            "--oauth-client-id",
            client_id,
            "--password-stdin",
        ]
        .map(String::from)
    };
    smtp_set(&db, &smtp, &oauth("keyroll-test-app"), "refresh-token-1\n");
    let shown = ok(&db, &["smtp", "show"]).stdout;
    assert!(
        shown.contains("access tokens from http://127.0.0.1"),
        "{shown}"
    );
    // The first test email spends refresh-token-1 (the server rotates it);
    // the second can only sign in if the new one was kept in the keychain.
    for _ in 0..2 {
        let r = ok(&db, &["smtp", "test", "--to", "someone@demo.example"]);
        assert!(r.stdout.contains("accepted the test email"), "{}", r.stdout);
    }
    // A whole send signs every connection in with an access token.
    ok(&db, &["invite", "send", "--kind", "parent"]);
    let sent = outbox(&db, "sent").len();
    assert!(sent >= 3, "{sent} sent");
    for status in ["queued", "retry", "failed", "unsure"] {
        assert!(
            outbox(&db, status).is_empty(),
            "{status} left in the outbox"
        );
    }
    assert_eq!(mailbox(&smtp).len(), sent + 2);
    // A revoked refresh token says so, and what to do, before anything is
    // claimed from the outbox.
    smtp_set(&db, &smtp, &oauth("keyroll-test-app"), "refresh-token-1\n");
    let r = keyroll(&db, &["smtp", "test", "--to", "someone@demo.example"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("invalid_grant: AADSTS70008")
            && r.stderr.contains("sign in again to get a new one"),
        "{}",
        r.stderr
    );
    smtp_set(&db, &smtp, &oauth("another-app"), "refresh-token-1\n");
    let r = keyroll(&db, &["smtp", "test", "--to", "someone@demo.example"]);
    assert!(r.stderr.contains("check the client id"), "{}", r.stderr);
    // No refresh or access token in the settings, the audit log or the
    // outbox.
    let store =
        keyroll_core::Store::open(&db, &keyroll_core::DbKey::from_hex(KEY).unwrap()).unwrap();
    let settings: String = store
        .conn()
        .query_row("SELECT value FROM setting WHERE key = 'smtp'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(settings.contains("keyroll-test-app") || settings.contains("another-app"));
    let audit = ok(&db, &["audit", "--json"]).stdout;
    for text in [&settings, &audit] {
        assert!(!text.contains("refresh-token-") && !text.contains("access-token-"));
    }
}
