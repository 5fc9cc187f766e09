//! keyroll-server's pages through a real HTTP client that keeps cookies
//! and posts forms as a browser does: activation with a code Keyroll's
//! core made, sign-in, the forced change of a handed-out password, the
//! lockout after five failures and both ways to unlock, forgot password
//! through a real SMTP server, CSRF, headers, the limit per address; and
//! the activation page in a real browser (headless Chromium).

mod common;

use common::server::{admin, token, Browser, Client, ScimServer};
use common::smtp::{mailbox, smtp_server};
use keyroll_core::accounts::password;
use serde_json::{json, Value};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const SCHOOL: &str = "urn:keyroll:params:scim:schemas:extension:school:2.0:User";
const CREDENTIALS: &str = "urn:keyroll:params:scim:schemas:extension:credentials:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

struct School {
    _dir: tempfile::TempDir,
    server: ScimServer,
    scim: Client,
}

fn school(extra: &[&str]) -> School {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let t = token(&db, "Office PC 1");
    let set = admin(&db, &["settings", "set", "school_name", "Lakeside Primary"]);
    assert_eq!(set.code, 0, "{}", set.stderr);
    let logo = dir.path().join("crest.svg");
    std::fs::write(&logo, r#"<svg xmlns="http://www.w3.org/2000/svg"/>"#).unwrap();
    let set = admin(&db, &["settings", "set", "logo", logo.to_str().unwrap()]);
    assert_eq!(set.code, 0, "{}", set.stderr);
    let server = ScimServer::start_with(&db, extra);
    let scim = Client::new(&server.base, Some(&t));
    School {
        _dir: dir,
        server,
        scim,
    }
}

/// A user pushed as Keyroll's sync will push it: credentials as hashes.
fn push(scim: &Client, user_name: &str, name: &str, credentials: Value, school: Value) -> String {
    let (given, family) = name.split_once(' ').unwrap();
    let a = scim.post(
        "/Users",
        &json!({
            "schemas": [USER, SCHOOL, CREDENTIALS],
            "userName": user_name,
            "name": {"givenName": given, "familyName": family},
            "displayName": name,
            "emails": [{"value": format!("{user_name}@home.example"), "primary": true}],
            SCHOOL: school,
            CREDENTIALS: credentials,
        }),
    );
    assert_eq!(a.status, 201, "{}", a.body);
    a.body["id"].as_str().unwrap().to_owned()
}

fn far_ahead() -> String {
    "2099-01-01T00:00:00Z".into()
}

#[test]
fn a_parent_activates_from_the_letter_and_signs_in() {
    let s = school(&[]);
    let child = push(
        &s.scim,
        "zoe.ang",
        "Zoë Ångström",
        json!({}),
        json!({"role": "student"}),
    );
    let code = password::activation_code().unwrap().to_string();
    let parent = push(
        &s.scim,
        "kim.ang",
        "Kim Ångström",
        json!({"activationCodeHash": password::hash_code(&code), "activationExpires": far_ahead()}),
        json!({"role": "parent", "familyLinks": [{"value": child, "type": "child"}]}),
    );
    // Credentials are never read back.
    let read = s.scim.get(&format!("/Users/{parent}"));
    assert!(read.body.get(CREDENTIALS).is_none(), "{}", read.body);
    assert!(!read.body.to_string().contains(&password::hash_code(&code)));

    let mut b = Browser::new(&s.server.site());
    // As printed on a letter (groups of four with hyphens), typed in lower case.
    let typed: String = code
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap().to_lowercase())
        .collect::<Vec<_>>()
        .join("-");
    let form = b.get(&format!("/activate?code={typed}"));
    assert_eq!(form.status, 200, "{}", form.html);
    assert!(form.html.contains("Lakeside Primary"));
    assert!(form
        .html
        .contains(r#"<img src="/logo" alt="Lakeside Primary logo""#));
    let crest = b.get("/logo");
    assert_eq!(crest.status, 200);
    assert!(crest.html.contains("<svg"), "{}", crest.html);
    assert!(form.html.contains("kim.ang"), "the username is shown");
    assert!(
        form.html.contains("at least 10 characters"),
        "the rules are shown"
    );
    let csp = form.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("form-action 'self'"));
    assert_eq!(form.header("referrer-policy"), Some("no-referrer"));
    let cookie = form.header("set-cookie").unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let csrf = form.field("csrf");
    let code_field = form.field("code");

    // Without the CSRF token, or with another, nothing happens.
    let no = b.post(
        "/activate",
        &[
            ("code", &code_field),
            ("password", "a long enough one"),
            ("confirm", "a long enough one"),
        ],
    );
    assert_eq!(no.status, 403);
    let short = b.post(
        "/activate",
        &[
            ("csrf", &csrf),
            ("code", &code_field),
            ("password", "short"),
            ("confirm", "short"),
        ],
    );
    assert_eq!(short.status, 422);
    assert!(
        short.html.contains("at least 10 characters"),
        "{}",
        short.html
    );
    let mismatch = b.post(
        "/activate",
        &[
            ("csrf", &csrf),
            ("code", &code_field),
            ("password", "blue kettle morning"),
            ("confirm", "blue kettle mornin"),
        ],
    );
    assert!(mismatch.html.contains("not the same"), "{}", mismatch.html);
    let done = b.post(
        "/activate",
        &[
            ("csrf", &csrf),
            ("code", &code_field),
            ("password", "blue kettle morning"),
            ("confirm", "blue kettle morning"),
        ],
    );
    assert_eq!(done.status, 303, "{}", done.html);
    assert_eq!(done.location.as_deref(), Some("/account?done=activated"));
    let account = b.get("/account?done=activated");
    assert_eq!(account.status, 200, "{}", account.html);
    assert!(
        account.html.contains("Kim Ångström") && account.html.contains("zoe.ang"),
        "{}",
        account.html
    );

    // Single use: the same link again does nothing, and says nothing more.
    let again = Browser::new(&s.server.site()).get(&format!("/activate?code={code}"));
    assert_eq!(again.status, 404);
    assert!(again.html.contains("not valid"));
    let unknown = Browser::new(&s.server.site()).get("/activate?code=AAAABBBBCCCCDDDDEEEEFFFFGG");
    assert_eq!(unknown.status, 404);

    // The server's view, for the office's sync: accepted, with the time.
    let read = s.scim.get(&format!("/Users/{parent}"));
    assert!(
        read.body[SCHOOL]["invitationAccepted"].is_string(),
        "{}",
        read.body
    );

    // Signed out, then in with the chosen password.
    let csrf = account.field("csrf");
    let out = b.post("/sign-out", &[("csrf", &csrf)]);
    assert_eq!(out.location.as_deref(), Some("/sign-in?done=signed-out"));
    assert_eq!(b.get("/account").location.as_deref(), Some("/sign-in"));
    let signed = b.submit(
        "/sign-in",
        "/sign-in",
        &[("username", "KIM.ANG"), ("password", "blue kettle morning")],
    );
    assert_eq!(
        signed.location.as_deref(),
        Some("/account"),
        "{}",
        signed.html
    );
    let read = s.scim.get(&format!("/Users/{parent}"));
    assert!(read.body[SCHOOL]["lastSignIn"].is_string(), "{}", read.body);

    // Neither the password nor the code is in the server's file.
    let bytes = common::server::stored_bytes(&s.server.db);
    for secret in ["blue kettle morning", code.as_str()] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret}"
        );
    }
}

#[test]
fn an_expired_code_does_not_work() {
    let s = school(&[]);
    let code = password::activation_code().unwrap().to_string();
    push(
        &s.scim,
        "sam.lee",
        "Sam Lee",
        json!({"activationCodeHash": password::hash_code(&code), "activationExpires": "2020-01-01T00:00:00Z"}),
        json!({}),
    );
    let page = Browser::new(&s.server.site()).get(&format!("/activate?code={code}"));
    assert_eq!(page.status, 404);
    assert!(page.html.contains("expired"));
}

fn sign_in(b: &mut Browser, user: &str, pw: &str) -> common::server::Page {
    b.submit(
        "/sign-in",
        "/sign-in",
        &[("username", user), ("password", pw)],
    )
}

#[test]
fn a_handed_out_password_is_changed_first_and_five_failures_lock() {
    let s = school(&[]);
    let hash = password::hash("Initial-Pass-7").unwrap();
    let id = push(
        &s.scim,
        "zoe.ang",
        "Zoë Ångström",
        json!({"passwordHash": hash, "mustChangePassword": true}),
        json!({"role": "student"}),
    );
    let mut b = Browser::new(&s.server.site());
    let first = sign_in(&mut b, "zoe.ang", "Initial-Pass-7");
    assert_eq!(
        first.location.as_deref(),
        Some("/change-password"),
        "{}",
        first.html
    );
    assert_eq!(
        b.get("/account").location.as_deref(),
        Some("/change-password")
    );
    let change = b.get("/change-password");
    assert!(
        change.html.contains("first sign-in only"),
        "{}",
        change.html
    );
    let refused = b.submit(
        "/change-password",
        "/change-password",
        &[("password", "zoe.ang-is-me"), ("confirm", "zoe.ang-is-me")],
    );
    assert!(
        refused.html.contains("not your username"),
        "{}",
        refused.html
    );
    let changed = b.submit(
        "/change-password",
        "/change-password",
        &[
            ("password", "green apple river"),
            ("confirm", "green apple river"),
        ],
    );
    assert_eq!(changed.location.as_deref(), Some("/account?done=changed"));
    assert_eq!(b.get("/account").status, 200);

    // Five wrong passwords lock; an unknown username reads the same.
    let mut other = Browser::new(&s.server.site());
    let wrong = sign_in(&mut other, "zoe.ang", "not it");
    let nobody = sign_in(&mut other, "nobody.here", "not it");
    assert_eq!(wrong.status, 401);
    let words = |p: &common::server::Page| p.html.contains("username or password is not right");
    assert!(words(&wrong) && words(&nobody));
    for _ in 0..4 {
        sign_in(&mut other, "zoe.ang", "still not it");
    }
    // Locked: even the right password gets the same words, so that guessing
    // on teaches nothing; the words say what to do.
    let locked = sign_in(&mut other, "zoe.ang", "green apple river");
    assert_eq!(locked.status, 401);
    assert!(
        words(&locked) && locked.html.contains("Forgot your password"),
        "{}",
        locked.html
    );
    let read = s.scim.get(&format!("/Users/{id}"));
    assert_eq!(read.body[SCHOOL]["locked"], true, "{}", read.body);

    // Unlocked by the office's command…
    let r = admin(&s.server.db, &["unlock", "zoe.ang"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        sign_in(&mut other, "zoe.ang", "green apple river")
            .location
            .as_deref(),
        Some("/account")
    );
    let r = admin(&s.server.db, &["unlock", "zoe.ang"]);
    assert_eq!(r.code, 1, "nothing to unlock");

    // …or through SCIM, as Keyroll's sync sends it.
    for _ in 0..5 {
        sign_in(&mut other, "zoe.ang", "wrong again");
    }
    assert_eq!(
        sign_in(&mut other, "zoe.ang", "green apple river").status,
        401
    );
    let p = s.scim.patch(
        &format!("/Users/{id}"),
        &json!({"schemas": [PATCH], "Operations": [
            {"op": "add", "path": format!("{CREDENTIALS}:unlock"), "value": true}]}),
    );
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body[SCHOOL].get("locked").is_none(), "{}", p.body);
    assert_eq!(
        sign_in(&mut other, "zoe.ang", "green apple river")
            .location
            .as_deref(),
        Some("/account")
    );

    // Taken out of use over SCIM: signed out at once, and not let back in.
    assert_eq!(other.get("/account").status, 200);
    let p = s.scim.patch(
        &format!("/Users/{id}"),
        &json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": false}]}),
    );
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(other.get("/account").location.as_deref(), Some("/sign-in"));
    assert_eq!(
        sign_in(&mut other, "zoe.ang", "green apple river").status,
        401
    );
}

/// An adult with an access restriction (AR) is not shown the children,
/// and an empty password sent in a bulk request is no password at all.
#[test]
fn an_access_restricted_adult_sees_no_children() {
    let s = school(&[]);
    let child = push(&s.scim, "zoe.ang", "Zoë Ångström", json!({}), json!({}));
    let hash = password::hash("Parent-Pass-11").unwrap();
    for (user, restricted) in [("kim.ang", false), ("lee.ang", true)] {
        push(
            &s.scim,
            user,
            "Some Parent",
            json!({"passwordHash": hash}),
            json!({"accessRestricted": restricted, "familyLinks": [{"value": child, "type": "child"}]}),
        );
        let mut b = Browser::new(&s.server.site());
        assert_eq!(
            sign_in(&mut b, user, "Parent-Pass-11").location.as_deref(),
            Some("/account")
        );
        let page = b.get("/account");
        assert_eq!(
            page.html.contains("zoe.ang"),
            !restricted,
            "{user}: {}",
            page.html
        );
    }
    let a = s.scim.post(
        "/Bulk",
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "e",
             "data": {"schemas": [USER], "userName": "empty.pw", "password": ""}}]}),
    );
    assert_eq!(a.body["Operations"][0]["status"], "201", "{}", a.body);
    let mut b = Browser::new(&s.server.site());
    assert_eq!(sign_in(&mut b, "empty.pw", "").status, 401);
}

#[test]
fn forgot_password_sends_a_single_use_link() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = smtp_server(dir.path(), &[]);
    let s = school(&[]);
    for (k, v) in [
        ("smtp_host", "127.0.0.1".to_owned()),
        ("smtp_port", smtp.port.to_string()),
        ("smtp_security", "none".into()),
        (
            "smtp_from",
            "Lakeside Primary <office@lakeside.example>".into(),
        ),
    ] {
        let r = admin(&s.server.db, &["settings", "set", k, &v]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let hash = password::hash("Old-Password-1").unwrap();
    push(
        &s.scim,
        "kim.ang",
        "Kim Ang",
        json!({"passwordHash": hash}),
        json!({}),
    );
    let mut b = Browser::new(&s.server.site());
    let sent = b.submit("/forgot", "/forgot", &[("username", "kim.ang")]);
    let nobody =
        Browser::new(&s.server.site()).submit("/forgot", "/forgot", &[("username", "nobody")]);
    assert!(sent.html.contains("If that account has an email address"));
    let notice = |p: &common::server::Page| {
        let start = p.html.find("<main>").unwrap();
        p.html[start..].to_owned()
    };
    assert_eq!(
        (sent.status, notice(&sent)),
        (nobody.status, notice(&nobody))
    );
    let wait_for = |n: usize| {
        (0..50)
            .find_map(|_| {
                let m = mailbox(&smtp);
                if m.len() < n {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    None
                } else {
                    Some(m)
                }
            })
            .expect("the email arrives")
    };
    let token_in = |text: &str| {
        let text = text.replace("=\r\n", "").replace("=3D", "=");
        let start = text.find("/reset?token=").expect("a link");
        let link: String = text[start..]
            .chars()
            .take_while(|c| !c.is_whitespace())
            .collect();
        link.trim_start_matches("/reset?token=").to_owned()
    };
    let mail = wait_for(1);
    assert_eq!(mail.len(), 1, "only the real account gets one");
    assert_eq!(mail[0].0, "kim.ang@home.example");
    let first = token_in(&mail[0].1);
    assert_eq!(first.len(), 64, "{first}");
    // Asked again: a new link, and the first one is spent.
    b.submit("/forgot", "/forgot", &[("username", "kim.ang")]);
    let mail = wait_for(2);
    let token = token_in(&mail[1].1);
    assert_ne!(token, first);
    let mut old = Browser::new(&s.server.site());
    let csrf = old.get(&format!("/reset?token={first}")).field("csrf");
    let spent = old.post(
        "/reset",
        &[
            ("csrf", &csrf),
            ("token", &first),
            ("password", "new and long one"),
            ("confirm", "new and long one"),
        ],
    );
    assert_eq!(spent.status, 404, "{}", spent.html);

    let mut c = Browser::new(&s.server.site());
    let form = c.get(&format!("/reset?token={token}"));
    let csrf = form.field("csrf");
    let done = c.post(
        "/reset",
        &[
            ("csrf", &csrf),
            ("token", &token),
            ("password", "new and long one"),
            ("confirm", "new and long one"),
        ],
    );
    assert_eq!(
        done.location.as_deref(),
        Some("/sign-in?done=reset"),
        "{}",
        done.html
    );
    let again = c.post(
        "/reset",
        &[
            ("csrf", &csrf),
            ("token", &token),
            ("password", "another long one"),
            ("confirm", "another long one"),
        ],
    );
    assert_eq!(again.status, 404, "single use");
    assert_eq!(sign_in(&mut c, "kim.ang", "Old-Password-1").status, 401);
    assert_eq!(
        sign_in(&mut c, "kim.ang", "new and long one")
            .location
            .as_deref(),
        Some("/account")
    );
}

#[test]
fn attempts_are_limited_per_address() {
    let s = school(&["--attempts-per-minute", "3"]);
    let mut b = Browser::new(&s.server.site());
    let got: Vec<u16> = (0..4).map(|_| sign_in(&mut b, "x", "y").status).collect();
    assert_eq!(got, [401, 401, 401, 429]);
}

/// The activation page in a real browser: Chromium builds the form from
/// it, and a screenshot (kept with KEYROLL_PAGE_SHOTS=DIR) shows it laid
/// out with the school's name.
#[test]
fn the_activation_page_in_a_real_browser() {
    let s = school(&[]);
    let code = password::activation_code().unwrap().to_string();
    push(
        &s.scim,
        "kim.ang",
        "Kim Ang",
        json!({"activationCodeHash": password::hash_code(&code)}),
        json!({}),
    );
    let chromium = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| {
            std::process::Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("chromium is needed: scripts/install-deps installs it");
    let dir = tempfile::tempdir().unwrap();
    let shot = dir.path().join("activate.png");
    let url = format!("{}/activate?code={code}", s.server.site());
    let run = |args: &[&str]| {
        std::process::Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
            ])
            .arg(format!(
                "--user-data-dir={}",
                dir.path().join("profile").display()
            ))
            .args(args)
            .arg(&url)
            .output()
            .unwrap()
    };
    let dom = run(&["--dump-dom"]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("Choose your password") && dom.contains("kim.ang"),
        "{dom}"
    );
    assert!(dom.contains(r#"data-rule="length""#), "{dom}");
    let out = run(&[
        &format!("--screenshot={}", shot.display()),
        "--window-size=800,900",
    ]);
    let png = std::fs::read(&shot).unwrap_or_else(|e| {
        panic!(
            "no screenshot ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    if let Ok(keep) = std::env::var("KEYROLL_PAGE_SHOTS") {
        std::fs::copy(&shot, std::path::Path::new(&keep).join("activate.png")).unwrap();
    }
}

/// HTTPS of the server's own, from PEM files, reached by curl trusting
/// only that certificate: cookies become Secure `__Host-` ones and pages
/// carry HSTS.
#[test]
fn serves_https_from_certificate_files() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl makes a certificate");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let db = dir.path().join("server.db");
    let server = ScimServer::start_with(
        &db,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let site = server.site();
    assert!(site.starts_with("https://127.0.0.1:"), "{site}");
    let out = std::process::Command::new("curl")
        .args(["-sS", "-D", "-", "-o", "/dev/null", "--cacert"])
        .arg(&cert)
        .arg(format!("{site}/sign-in"))
        .output()
        .expect("curl runs");
    let head = String::from_utf8_lossy(&out.stdout).to_lowercase();
    assert!(
        head.starts_with("http/2 200") || head.starts_with("http/1.1 200"),
        "{head}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        head.contains("strict-transport-security: max-age=31536000"),
        "{head}"
    );
    assert!(
        head.contains("set-cookie: __host-kr_csrf=") && head.contains("; secure"),
        "{head}"
    );
    // Without trusting it, curl refuses, as a browser would.
    let refused = std::process::Command::new("curl")
        .args(["-sS", "-o", "/dev/null"])
        .arg(format!("{site}/sign-in"))
        .output()
        .unwrap();
    assert!(!refused.status.success());
}
