//! Safeguarding and correctness gaps found with real exports, end to end
//! through the CLI against a real SQLCipher file: a parent's account follows
//! the parent's own standing, names in any script get usernames, a reset
//! never throws secrets away, rollbacks read under the write lock, accounts
//! of two SIS sources never meet, the audit log is a record.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

const USERS_HEADER: &str =
    "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password";

/// A OneRoster 1.1 bundle named `name` under `dir` with these users.csv rows.
fn oneroster(dir: &Path, name: &str, users: &[&str]) -> PathBuf {
    let mut text = USERS_HEADER.to_owned() + "\n";
    for u in users {
        text.push_str(u);
        text.push('\n');
    }
    bundle(
        dir,
        name,
        &[
            ("manifest.csv", MANIFEST.as_bytes()),
            ("orgs.csv", ORGS.as_bytes()),
            ("users.csv", text.as_bytes()),
        ],
    )
}

/// `accounts generate --report` as (sis_id -> (action, state, reason)).
fn generate(db: &Path, dir: &Path) -> Vec<(String, String, String, String)> {
    let report = dir.join("generate.csv");
    ok(
        db,
        &["accounts", "generate", "--report", report.to_str().unwrap()],
    );
    let mut rows = csv::Reader::from_path(&report).unwrap();
    rows.records()
        .map(Result::unwrap)
        .map(|r| {
            (
                r[2].to_owned(),
                r[0].to_owned(),
                r[5].to_owned(),
                r[8].to_owned(),
            )
        })
        .collect()
}

fn entry_for<'a>(
    rows: &'a [(String, String, String, String)],
    id: &str,
) -> &'a (String, String, String, String) {
    rows.iter()
        .find(|r| r.0 == id)
        .unwrap_or_else(|| panic!("{id} is not in the report: {rows:?}"))
}

fn state_of(db: &Path, id: &str) -> (Value, Value) {
    let people = json(db, &["accounts", "list", "--json"]);
    let p = person_in(&people, id);
    (p["state"].clone(), p["flags"].clone())
}

#[test]
fn a_parent_account_follows_the_parents_own_standing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    // Three children, three guardians, each with an enabled account.
    let school = |name: &str, g1: &str, g2_agents: &str, g3_status: &str| {
        oneroster(
            dir.path(),
            name,
            &[
                &format!("s1,active,,true,sch1,student,,,Ana,Lee,,,,,,{g2_agents},03,"),
                "s2,active,,true,sch1,student,,,Ben,Roe,,,,,,,03,",
                "s3,active,,true,sch1,student,,,Cai,Poe,,,,,,g3,03,",
                &format!("g1,active,,true,sch1,{g1},,,Gil,Roe,,,gil@example.org,,,s2,,"),
                &format!("g2,active,,true,sch1,guardian,,,Gwen,Lee,,,gwen@example.org,,,{g2_agents_back},,",
                    g2_agents_back = if g2_agents.is_empty() { "" } else { "s1" }),
                &format!("g3,{g3_status},,true,sch1,guardian,,,Gus,Poe,,,gus@example.org,,,s3,,"),
            ],
        )
    };
    let first = school("a", "guardian", "g2", "active");
    ok(&db, &["import", first.to_str().unwrap()]);
    ok(&db, &["accounts", "generate"]);
    ok(&db, &["accounts", "enable", "--kind", "parent"]);
    for g in ["g1", "g2", "g3"] {
        assert_eq!(state_of(&db, g).0, "enabled", "{g}");
    }

    // The next export: g1 is now only a relative (parental responsibility
    // withdrawn), g2 is linked to nobody, g3 has left.
    let next = school("b", "relative", "", "tobedeleted");
    ok(&db, &["import", next.to_str().unwrap()]);
    let rows = generate(&db, dir.path());
    for (g, why) in [
        ("g1", "no longer has parental responsibility"),
        ("g2", "no longer linked to a student"),
        ("g3", "left"),
    ] {
        let e = entry_for(&rows, g);
        assert_eq!(
            (e.2.as_str(), e.3.as_str()),
            ("disabled", why),
            "{g}: {e:?}"
        );
        assert_eq!(state_of(&db, g).0, "disabled", "{g}");
    }
    // The office cannot enable them either while that holds.
    let tried = json(&db, &["accounts", "enable", "--id", "g1", "--json"]);
    assert_eq!(tried["skipped"], 1, "{tried}");

    // Responsibility granted again: back to waiting for review, never
    // straight to enabled.
    ok(&db, &["import", first.to_str().unwrap()]);
    let rows = generate(&db, dir.path());
    for g in ["g1", "g2", "g3"] {
        let e = entry_for(&rows, g);
        assert_eq!(
            (e.2.as_str(), e.3.as_str()),
            ("disabled", "waiting for review"),
            "{g}: {e:?}"
        );
    }
}

#[test]
fn access_restrictions_follow_the_current_links() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export");
    std::fs::create_dir(&export).unwrap();
    cases21_school(&export);
    let db = dir.path().join("k.db");
    ok(&db, &["import", export.to_str().unwrap()]);
    ok(&db, &["accounts", "generate"]);
    // José's family carries his access restriction (and gets no reports).
    let (_, flags) = state_of(&db, "GAR0001-A");
    assert_eq!(flags, serde_json::json!(["NEW", "AR", "NR"]));
    // The court order is lifted in the next export.
    let st = std::fs::read(export.join("ST_8888.csv")).unwrap();
    let (text, _, _) = encoding_rs::WINDOWS_1252.decode(&st);
    let lines: Vec<String> = text
        .lines()
        .map(|l| l.replace(",04B,04,Y,Court order,", ",04B,04,N,,"))
        .collect();
    let rows: Vec<&str> = lines.iter().map(String::as_str).collect();
    write_cp1252(&export, "ST_8888.csv", &rows);
    ok(&db, &["import", export.to_str().unwrap()]);
    ok(&db, &["accounts", "generate"]);
    let (_, flags) = state_of(&db, "GAR0001-A");
    assert_eq!(flags, serde_json::json!(["NEW", "NR"]));
    assert_eq!(state_of(&db, "GAR0001").1, serde_json::json!(["NEW"]));
}

#[test]
fn names_in_any_script_get_a_plain_username_and_are_found_folded() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let school = oneroster(
        dir.path(),
        "a",
        &[
            "s1,active,,true,sch1,student,,,Дмитрий,Иванов,,,,,,,03,",
            "s2,active,,true,sch1,student,,,Γιώργος,Παπαδόπουλος,,,,,,,03,",
            "s3,active,,true,sch1,student,,,伟,陈,,,,,,,03,",
            "s4,active,,true,sch1,student,,,Hương,Nguyễn,Thị,,,,,,03,",
            // Zoë typed with a combining diaeresis (NFD), as some SIS do.
            "s5,active,,true,sch1,student,,,Zoe\u{308},Ñúñez,,,,,,,03,",
            "s6,active,,true,sch1,student,,,Łukasz,Strasse,,,,,,,03,",
        ],
    );
    ok(&db, &["import", school.to_str().unwrap()]);
    let g = json(&db, &["accounts", "generate", "--json"]);
    assert_eq!(
        (g["created"].as_u64(), g["problems"].as_u64()),
        (Some(6), Some(0)),
        "{g}"
    );
    let people = json(&db, &["accounts", "list", "--json"]);
    for (id, username) in [
        ("s1", "dmitrii.ivanov"),
        ("s2", "giorgos.papadopoulos"),
        ("s3", "wei.chen"),
        ("s4", "huong.nguyen"),
        ("s5", "zoe.nunez"),
        ("s6", "lukasz.strasse"),
    ] {
        assert_eq!(person_in(&people, id)["username"], username, "{id}");
    }
    // Search folds the same way: Latin letters find any script.
    for (typed, id) in [
        ("dmitrii", "s1"),
        ("PAPADOPOULOS", "s2"),
        ("chen", "s3"),
        ("STRAẞE", "s6"),
        ("zoë", "s5"),
    ] {
        let found = json(&db, &["accounts", "list", "--search", typed, "--json"]);
        let ids: Vec<&str> = found
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["sis_id"].as_str())
            .collect();
        assert_eq!(ids, [id], "{typed}");
    }
}

#[test]
fn a_numbered_pattern_keeps_its_counter_within_the_maximum_length() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let school = oneroster(
        dir.path(),
        "a",
        &[
            "s1,active,,true,sch1,student,,,Ana,Longname,,,,,,g1,03,",
            "s2,active,,true,sch1,student,,,Ben,Longname,,,,,,g2,03,",
            "g1,active,,true,sch1,guardian,,,Gil,Longnameson,,,gil@example.org,,,s1,,",
            "g2,active,,true,sch1,guardian,,,Gwen,Longnameson,,,gwen@example.org,,,s2,,",
        ],
    );
    ok(&db, &["import", school.to_str().unwrap()]);
    let mut policy = json(&db, &["accounts", "policy", "show"]);
    policy["parents"]["username"] = serde_json::json!({ "pattern": "p.{last}{n}" });
    policy["max_length"] = 10.into();
    let file = dir.path().join("policy.json");
    std::fs::write(&file, policy.to_string()).unwrap();
    ok(&db, &["accounts", "policy", "set", file.to_str().unwrap()]);
    let g = json(&db, &["accounts", "generate", "--json"]);
    assert_eq!(g["problems"], 0, "{g}");
    let people = json(&db, &["accounts", "list", "--json"]);
    let mut names: Vec<String> = ["g1", "g2"]
        .iter()
        .map(|g| {
            person_in(&people, g)["username"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    names.sort();
    assert_eq!(names, ["p.longnam2", "p.longname"]);
}

#[test]
fn a_reset_never_throws_secrets_away_nor_overwrites_what_it_did_not_write() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let school = oneroster(
        dir.path(),
        "a",
        &["s1,active,,true,sch1,student,,,Ana,Lee,,,,,,,03,"],
    );
    ok(&db, &["import", school.to_str().unwrap()]);
    ok(&db, &["accounts", "generate"]);

    // Neither shown nor saved: refused, saying how to get them.
    let r = keyroll(&db, &["accounts", "reset", "--kind", "student"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("--show-secrets") && r.stderr.contains("--out"),
        "{}",
        r.stderr
    );
    // The database and a report are never overwritten by a hand-out sheet.
    let report = dir.path().join("generate.csv");
    ok(
        &db,
        &["accounts", "generate", "--report", report.to_str().unwrap()],
    );
    let before = std::fs::read(&report).unwrap();
    for target in [&db, &report] {
        let r = keyroll(
            &db,
            &[
                "accounts",
                "reset",
                "--kind",
                "student",
                "--out",
                target.to_str().unwrap(),
            ],
        );
        assert_eq!(r.code, 1, "{}: {}", target.display(), r.stderr);
    }
    assert_eq!(std::fs::read(&report).unwrap(), before);
    let audit = audit_actions(&db);
    assert!(!audit.iter().any(|a| a == "account.reset"), "{audit:?}");
    // A new file is written, owner-only, and the reset lands.
    let sheet = dir.path().join("sheet.csv");
    ok(
        &db,
        &[
            "accounts",
            "reset",
            "--kind",
            "student",
            "--out",
            sheet.to_str().unwrap(),
        ],
    );
    let text = std::fs::read_to_string(&sheet).unwrap();
    assert!(text.starts_with("kind,sis_id,name,username,credential,secret,expires"));
    assert_eq!(text.lines().count(), 2);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&sheet).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A second reset never replaces the first one's sheet (its passwords
    // may not be handed out yet): refused before anything changes.
    let resets = |db: &Path| {
        audit_actions(db)
            .iter()
            .filter(|a| *a == "account.reset")
            .count()
    };
    let (first, resets_before) = (text.clone(), resets(&db));
    let again = [
        "accounts",
        "reset",
        "--kind",
        "student",
        "--out",
        sheet.to_str().unwrap(),
    ];
    let r = keyroll(&db, &again);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("not yet handed out"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&sheet).unwrap(), first);
    assert_eq!(resets(&db), resets_before);
}

#[test]
fn two_sources_with_the_same_id_never_share_an_account() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let school = oneroster(
        dir.path(),
        "a",
        &["s1,active,,true,sch1,student,,,Ana,Lee,,,,,,,03,"],
    );
    ok(&db, &["import", school.to_str().unwrap()]);
    // A plain list from another system that also calls its pupil "s1".
    let list = dir.path().join("pupils.csv");
    std::fs::write(&list, "Id,First,Last\ns1,Ben,Roe\n").unwrap();
    let mapping = dir.path().join("mapping.json");
    std::fs::write(
        &mapping,
        r#"{"name": "Other", "source": "other", "kind": "student", "scope": "delta",
            "columns": {"sis_id": "Id", "given_name": "First", "family_name": "Last"}}"#,
    )
    .unwrap();
    ok(
        &db,
        &[
            "import",
            list.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
        ],
    );
    let g = json(&db, &["accounts", "generate", "--json"]);
    assert_eq!(g["created"], 2, "{g}");
    // Each account has its own audit key.
    let keys: Vec<String> = json(&db, &["audit", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "account.create")
        .map(|e| e["entity_key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_ne!(keys[0], keys[1], "{keys:?}");

    // Both in the recycle bin: deleting "student s1" must say which one.
    let key = keyroll_core::DbKey::from_hex(KEY).unwrap();
    let store = keyroll_core::Store::open(&db, &key).unwrap();
    store
        .conn()
        .execute_batch("UPDATE account SET state = 'recycled'")
        .unwrap();
    drop(store);
    let r = keyroll(
        &db,
        &["accounts", "delete", "--kind", "student", "--id", "s1"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("--source"), "{}", r.stderr);
}

#[test]
fn a_creation_entry_is_a_record_of_what_was_created() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let first = oneroster(
        dir.path(),
        "a",
        &["s1,active,,true,sch1,student,,,Amelia,Lee,,,,,,,03,"],
    );
    ok(&db, &["import", first.to_str().unwrap()]);
    ok(&db, &["accounts", "generate"]);
    // A later import changes her name; a later change the log cannot
    // reconstruct from (made outside Keyroll's writer) changes it again.
    let second = oneroster(
        dir.path(),
        "b",
        &["s1,active,,true,sch1,student,,,Amy,Lee,,,,,,,04,"],
    );
    ok(&db, &["import", second.to_str().unwrap()]);
    let key = keyroll_core::DbKey::from_hex(KEY).unwrap();
    let store = keyroll_core::Store::open(&db, &key).unwrap();
    store
        .conn()
        .execute_batch(
            "UPDATE person SET family_name = 'Edited', year_level = '09';
             UPDATE account SET username = 'edited', state = 'archived';",
        )
        .unwrap();
    drop(store);
    let log = json(&db, &["audit", "--json"]);
    let created = |action: &str| -> Value {
        log.as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == action)
            .unwrap_or_else(|| panic!("no {action}"))["after"]
            .clone()
    };
    let person = created("person.create");
    assert_eq!(
        (
            person["given_name"].as_str(),
            person["family_name"].as_str(),
            person["year_level"].as_str()
        ),
        (Some("Amelia"), Some("Lee"), Some("03")),
        "{person}"
    );
    let account = created("account.create");
    assert_eq!(
        (account["username"].as_str(), account["state"].as_str()),
        (Some("amelia.lee"), Some("enabled")),
        "{account}"
    );
}

#[test]
fn passphrases_are_strong_and_keep_the_minimum_length() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let mut policy = json(&db, &["accounts", "policy", "show"]);
    policy["passwords"]["passphrase"] = true.into();
    policy["passwords"]["min_length"] = 6.into();
    let file = dir.path().join("policy.json");
    std::fs::write(&file, policy.to_string()).unwrap();
    let r = keyroll(&db, &["accounts", "policy", "set", file.to_str().unwrap()]);
    assert_eq!(
        r.code, 1,
        "a 6-character minimum is refused for passphrases too"
    );
    assert!(r.stderr.contains("at least 10 characters"), "{}", r.stderr);

    // Longer than four words and a number usually are: the minimum still holds.
    policy["passwords"]["min_length"] = 40.into();
    policy["students"]["credential"] = "initial_password".into();
    std::fs::write(&file, policy.to_string()).unwrap();
    ok(&db, &["accounts", "policy", "set", file.to_str().unwrap()]);
    let school = oneroster(
        dir.path(),
        "a",
        &["s1,active,,true,sch1,student,,,Ana,Lee,,,,,,,03,"],
    );
    ok(&db, &["import", school.to_str().unwrap()]);
    ok(&db, &["accounts", "generate"]);
    let r = ok(
        &db,
        &["accounts", "reset", "--kind", "student", "--show-secrets"],
    );
    let secret = r
        .stdout
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(5)
        .unwrap()
        .to_owned();
    let words: Vec<&str> = secret.split('-').collect();
    // Four words of EFF's long list (12.9 bits each) and a number: over 50 bits.
    assert!(words.len() >= 5, "{secret}");
    assert!(secret.len() >= 40, "{secret}");
    assert!(
        words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphanumeric())),
        "{secret}"
    );
    let strength = json(&db, &["accounts", "policy", "strength", "--json"]);
    assert!(strength["bits"].as_f64().unwrap() >= 50.0, "{strength}");
}

#[test]
fn clearing_an_invitation_makes_the_account_new_again_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let school = oneroster(
        dir.path(),
        "a",
        &["s1,active,,true,sch1,student,,,Ana,Lee,,,,,,,03,"],
    );
    ok(&db, &["import", school.to_str().unwrap()]);
    ok(&db, &["accounts", "generate"]);
    // As the invitations issue will: an invitation was sent, NEW cleared.
    let key = keyroll_core::DbKey::from_hex(KEY).unwrap();
    let store = keyroll_core::Store::open(&db, &key).unwrap();
    store
        .conn()
        .execute_batch("UPDATE account SET invitation = 'sent', flags = ''")
        .unwrap();
    drop(store);
    let report = dir.path().join("cleared.csv");
    let c = json(
        &db,
        &[
            "accounts",
            "clear-invitation",
            "--id",
            "s1",
            "--report",
            report.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(c["changed"], 1, "{c}");
    let (_, flags) = state_of(&db, "s1");
    assert_eq!(
        flags,
        serde_json::json!(["NEW"]),
        "never signed in, no letter"
    );
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.contains("invitation marked as not sent"), "{text}");
}

#[test]
fn a_rollback_checks_what_it_undoes_under_the_write_lock() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let row = |given: &str| format!("s1,active,,true,sch1,student,,,{given},Lee,,,,,,,03,");
    ok(
        &db,
        &[
            "import",
            oneroster(dir.path(), "a", &[&row("Ana")]).to_str().unwrap(),
        ],
    );
    ok(
        &db,
        &[
            "import",
            oneroster(dir.path(), "b", &[&row("Amy")]).to_str().unwrap(),
        ],
    );

    // Another process (the app, say) is committing an import of its own
    // that changes Amy again while the rollback of import 2 starts.
    let key = keyroll_core::DbKey::from_hex(KEY).unwrap();
    let other = keyroll_core::Store::open(&db, &key).unwrap();
    other.conn().execute_batch("BEGIN IMMEDIATE").unwrap();
    let rollback = std::process::Command::new(keyroll_bin())
        .args(["--db", db.to_str().unwrap(), "imports", "rollback", "2"])
        .env("KEYROLL_DB_KEY", KEY)
        .env_remove("KEYROLL_DB")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    other
        .conn()
        .execute_batch(
            "INSERT INTO import (id, started_at, actor, format, files)
                 VALUES (3, '2026-12-01T10:00:00.000Z', 'other', 'oneroster', '[]');
             UPDATE person SET given_name = 'Third' WHERE sis_id = 's1';
             INSERT INTO audit (at, actor, action, entity, entity_key, before, after, import_id)
                 VALUES ('2026-12-01T10:00:00.000Z', 'other', 'person.update', 'person',
                         'oneroster:s1', '{\"given_name\":\"Amy\"}',
                         '{\"given_name\":\"Third\"}', 3);
             COMMIT;",
        )
        .unwrap();
    let out = rollback.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Roll back import 3 first"), "{stderr}");
    let people = json(&db, &["accounts", "list", "--json"]);
    assert_eq!(
        person_in(&people, "s1")["given_name"],
        "Third",
        "not silently reverted"
    );
    drop(other);

    // Once import 3 is gone, rolling back 2 works, and its own entries
    // carry the rollback's id, not import 2's.
    let store = keyroll_core::Store::open(&db, &key).unwrap();
    store
        .conn()
        .execute_batch(
            "DELETE FROM audit WHERE import_id = 3; DELETE FROM import WHERE id = 3;
             UPDATE person SET given_name = 'Amy' WHERE sis_id = 's1';",
        )
        .unwrap();
    drop(store);
    let before = json(&db, &["audit", "--json"]).as_array().unwrap().len();
    ok(&db, &["imports", "rollback", "2"]);
    let log = json(&db, &["audit", "--json"]);
    let mine: Vec<&Value> = log.as_array().unwrap()[before..].iter().collect();
    assert!(!mine.is_empty());
    let ids: Vec<&Value> = mine.iter().map(|e| &e["import_id"]).collect();
    assert!(ids.iter().all(|id| *id == ids[0] && **id != 2), "{ids:?}");
    let imports = json(&db, &["imports", "list", "--json"]);
    let rollback = imports
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == *ids[0])
        .unwrap_or_else(|| panic!("the rollback is listed: {imports}"));
    assert_eq!(rollback["rollback_of"], 2, "{rollback}");
}
