//! Accounts end to end through the CLI against a real SQLCipher file: who
//! gets an account, usernames and collisions, states that follow the SIS,
//! the policy file, groups, and batch actions with their preview.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;

const USERS_HEADER: &str =
    "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password";

/// A small OneRoster school: two Zoë O'Briens (a collision), a student
/// called Con (a Windows device name), a leaver, a future student, parents
/// with and without email, a relative without responsibility, staff.
fn school(dir: &Path, name: &str, zoe2_status: &str) -> std::path::PathBuf {
    let users = [
        USERS_HEADER.to_owned(),
        "s1,active,,true,sch1,student,,,Zoë,O'Brien,,,zoe1@example.org,,,g1,03,".into(),
        format!("s2,{zoe2_status},,true,sch1,student,,,Zoe,O’Brien,,,,,,g1,05,"),
        "s3,active,,true,sch1,student,,,Con,Müller,,,,,,g2,01,".into(),
        "s4,tobedeleted,,true,sch1,student,,,Left,Already,,,,,,,04,".into(),
        "g1,active,,true,sch1,guardian,,,Siobhán,O'Brien,,,siobhan@example.org,,,s1,,".into(),
        "g2,active,,true,sch1,guardian,,,Anna,Müller,,,,,,s3,,".into(),
        "r1,active,,true,sch1,relative,,,Máire,Walsh,,,maire@example.org,,,s1,,".into(),
        "t1,active,,true,sch1,teacher,,,Hēmi,Ngata,,,hemi@school.example,,,,,".into(),
    ];
    bundle(
        dir,
        name,
        &[
            ("manifest.csv", MANIFEST.as_bytes()),
            ("orgs.csv", ORGS.as_bytes()),
            ("users.csv", (users.join("\n") + "\n").as_bytes()),
        ],
    )
}

/// A database in `dir` with the school of [`school`] imported, everyone current.
fn imported(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("k.db");
    ok(
        &db,
        &["import", school(dir, "a", "active").to_str().unwrap()],
    );
    db
}

/// Changes the stored account policy through its file, as an office would.
fn set_policy(db: &Path, dir: &Path, edit: impl FnOnce(&mut Value)) {
    let mut policy = json(db, &["accounts", "policy", "show"]);
    edit(&mut policy);
    let file = dir.join("policy.json");
    std::fs::write(&file, policy.to_string()).unwrap();
    ok(db, &["accounts", "policy", "set", file.to_str().unwrap()]);
}

fn account<'a>(people: &'a Value, id: &str) -> (&'a Value, &'a Value, &'a Value) {
    let p = people
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["sis_id"] == id)
        .unwrap_or_else(|| panic!("{id} is not listed"));
    (&p["username"], &p["state"], &p["group"])
}

#[test]
fn generate_follows_the_policy_and_the_sis() {
    let dir = tempfile::tempdir().unwrap();
    let db = imported(dir.path());

    // The preview writes nothing.
    let dry = json(&db, &["accounts", "generate", "--dry-run", "--json"]);
    assert_eq!(dry["created"], 5, "{dry}");
    let people = json(&db, &["accounts", "list", "--json"]);
    assert!(people
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["username"].is_null()));
    assert!(!ok(&db, &["audit"]).stdout.contains("account.create"));

    let report = dir.path().join("generate.csv");
    let g = json(
        &db,
        &[
            "accounts",
            "generate",
            "--json",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    // Students s1, s2, s3; the guardian with an email; the teacher. Not the
    // leaver, not the guardian without email, not the relative.
    assert_eq!(
        (g["created"].as_u64(), g["problems"].as_u64()),
        (Some(5), Some(0)),
        "{g}"
    );
    let people = json(&db, &["accounts", "list", "--json"]);
    let s = |v: &str| Value::from(v);
    assert_eq!(
        account(&people, "s1"),
        (&s("zoe.obrien"), &s("enabled"), &s("Students"))
    );
    assert_eq!(
        account(&people, "s2").0,
        &s("zoe.obrien2"),
        "the same name, case and accents ignored, gets the next number"
    );
    assert_eq!(account(&people, "s3").0, &s("con.muller"));
    assert_eq!(
        account(&people, "t1"),
        (&s("hngata"), &s("enabled"), &s("Staff"))
    );
    assert_eq!(
        account(&people, "g1"),
        (&s("p.obriens"), &s("disabled"), &s("Parents")),
        "new parents wait for review"
    );
    for nobody in ["s4", "g2", "r1"] {
        assert!(
            account(&people, nobody).0.is_null(),
            "{nobody} has an account"
        );
    }
    let zoe = people
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["sis_id"] == "s1")
        .unwrap();
    assert_eq!(zoe["flags"], serde_json::json!(["NEW"]));
    let csv = std::fs::read_to_string(&report).unwrap();
    assert!(csv.starts_with("action,kind,sis_id,name,username,state,group,flags,reason"));
    assert!(
        csv.contains(
            "create,parent,g1,Siobhán O'Brien,p.obriens,disabled,Parents,NEW,waiting for review"
        ),
        "{csv}"
    );

    // Generating again changes nothing; usernames never follow name changes.
    let again = json(&db, &["accounts", "generate", "--json"]);
    assert_eq!(
        (again["created"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(5))
    );

    // The office reviews and enables parents: a preview, then the change.
    let preview = json(
        &db,
        &[
            "accounts",
            "enable",
            "--kind",
            "parent",
            "--dry-run",
            "--json",
        ],
    );
    assert_eq!(
        (preview["matched"].as_u64(), preview["changed"].as_u64()),
        (Some(3), Some(1))
    );
    let people = json(&db, &["accounts", "list", "--json"]);
    assert_eq!(
        account(&people, "g1").1,
        "disabled",
        "a preview writes nothing"
    );
    ok(&db, &["accounts", "enable", "--kind", "parent"]);
    let people = json(&db, &["accounts", "list", "--json"]);
    assert_eq!(account(&people, "g1").1, "enabled");

    // The second Zoë leaves: her account is disabled, never deleted. Her
    // mother keeps hers: her sister Zoë is still at the school.
    ok(
        &db,
        &[
            "import",
            school(dir.path(), "b", "tobedeleted").to_str().unwrap(),
        ],
    );
    let g = json(&db, &["accounts", "generate", "--json"]);
    assert_eq!(g["disabled"], 1, "{g}");
    let people = json(&db, &["accounts", "list", "--json"]);
    assert_eq!(account(&people, "s2").1, "disabled");
    assert_eq!(account(&people, "g1").1, "enabled");
    let left = json(&db, &["accounts", "list", "--state", "disabled", "--json"]);
    assert_eq!(left.as_array().map(Vec::len), Some(1));

    // She comes back before the recycle bin: the same account, enabled again.
    ok(
        &db,
        &[
            "import",
            school(dir.path(), "c", "active").to_str().unwrap(),
        ],
    );
    let g = json(&db, &["accounts", "generate", "--json"]);
    assert_eq!(g["enabled"], 1, "{g}");
    let people = json(&db, &["accounts", "list", "--json"]);
    assert_eq!(
        account(&people, "s2"),
        (&s("zoe.obrien2"), &s("enabled"), &s("Students"))
    );
    let audit = ok(&db, &["audit"]).stdout;
    for action in [
        "account.create",
        "account.disable",
        "account.enable",
        "group.create",
    ] {
        assert!(
            audit.contains(action),
            "{action} missing from the audit log"
        );
    }
}

#[test]
fn the_policy_file_sets_usernames_and_refuses_guessable_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let db = imported(dir.path());

    // Staff sign in with their SIS email's local part; students by first name
    // only, always numbered; parents from all contacts.
    set_policy(&db, dir.path(), |p| {
        p["staff"]["username"] = serde_json::json!({ "email": "without_domain" });
        p["students"]["username"] = serde_json::json!({ "pattern": "{first}" });
        p["numbering"] = "always".into();
        p["spelling"]["umlauts_as_e"] = true.into();
    });
    assert!(ok(&db, &["audit"]).stdout.contains("policy.update"));

    ok(&db, &["accounts", "generate"]);
    let people = json(&db, &["accounts", "list", "--json"]);
    assert_eq!(account(&people, "t1").0, "hemi");
    assert_eq!(account(&people, "s1").0, "zoe1");
    assert_eq!(account(&people, "s2").0, "zoe2");
    assert_eq!(
        account(&people, "s3").0,
        "con1",
        "CON is a Windows device name, but con1 is not"
    );

    // A password made from personal data is refused, saying why.
    let file = dir.path().join("guessable.json");
    std::fs::write(&file, r#"{ "passwords": { "pattern": "{first}{dob}" } }"#).unwrap();
    let r = keyroll(&db, &["accounts", "policy", "set", file.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("built from personal data"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("could guess it"), "{}", r.stderr);
}

#[test]
fn usernames_from_email_report_missing_and_taken_ones() {
    let dir = tempfile::tempdir().unwrap();
    let db = imported(dir.path());
    set_policy(&db, dir.path(), |p| {
        p["students"]["username"] = serde_json::json!({ "email": "with_domain" });
    });
    let r = ok(&db, &["accounts", "generate"]);
    // s2 and s3 have no email: reported, no account, no made-up name.
    assert!(
        r.stderr
            .contains("student s2 (Zoe O’Brien): no account: no email in the SIS"),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout.contains("2 people qualify but got no account"),
        "{}",
        r.stdout
    );
    let people = json(&db, &["accounts", "list", "--json"]);
    assert_eq!(account(&people, "s1").0, "zoe1@example.org");
    assert!(account(&people, "s2").0.is_null());
}

#[test]
fn groups_and_batch_actions_need_a_choice_and_say_what_they_did() {
    let dir = tempfile::tempdir().unwrap();
    let db = imported(dir.path());
    ok(&db, &["accounts", "generate"]);

    // No filter: refused rather than acting on everyone by accident.
    let r = keyroll(&db, &["accounts", "disable"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("choose whose accounts to disable"),
        "{}",
        r.stderr
    );

    let r = keyroll(&db, &["accounts", "move-group", "Year 3", "--id", "s1"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("no group called \"Year 3\""),
        "{}",
        r.stderr
    );
    ok(&db, &["groups", "create", "Year 3"]);
    let report = dir.path().join("moved.csv");
    let moved = json(
        &db,
        &[
            "accounts",
            "move-group",
            "Year 3",
            "--year",
            "03",
            "--json",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(
        (moved["matched"].as_u64(), moved["changed"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(std::fs::read_to_string(&report)
        .unwrap()
        .contains("move-group,student,s1,Zoë O'Brien,zoe.obrien,enabled,Year 3"));
    let in_group = json(&db, &["accounts", "list", "--group", "year 3", "--json"]);
    assert_eq!(in_group.as_array().map(Vec::len), Some(1));

    ok(&db, &["groups", "rename", "Students", "Pupils"]);
    let groups = json(&db, &["groups", "list", "--json"]);
    let pupils = groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "Pupils")
        .unwrap();
    assert_eq!(pupils["accounts"], 2);
    // The policy follows the rename: generating does not bring "Students" back.
    ok(&db, &["accounts", "generate"]);
    let groups = json(&db, &["groups", "list", "--json"]);
    assert!(
        groups
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["name"] != "Students"),
        "{groups}"
    );

    // Disable, force a password change, search by username.
    let d = json(
        &db,
        &["accounts", "disable", "--search", "zoe.obrien2", "--json"],
    );
    assert_eq!(d["changed"], 1, "{d}");
    let f = json(
        &db,
        &[
            "accounts",
            "force-password-change",
            "--kind",
            "staff",
            "--json",
        ],
    );
    assert_eq!(
        (f["changed"].as_u64(), f["unchanged"].as_u64()),
        (Some(0), Some(1)),
        "initial passwords already must change"
    );
    let restore = json(&db, &["accounts", "restore", "--id", "s1", "--json"]);
    assert_eq!(restore["skipped"], 1, "not in the recycle bin");
}

#[test]
fn leavers_go_to_the_recycle_bin_and_their_parents_are_disabled() {
    let dir = tempfile::tempdir().unwrap();
    let db = imported(dir.path());
    // No grace period, so the test need not wait 90 days.
    set_policy(&db, dir.path(), |p| {
        p["recycle_after_days"] = 0.into();
    });
    ok(&db, &["accounts", "generate"]);
    ok(&db, &["accounts", "enable", "--kind", "parent"]);

    // Both of Siobhán's children leave: theirs and hers are disabled.
    let both_left = school(dir.path(), "b", "tobedeleted");
    let users = both_left.join("users.csv");
    let text = std::fs::read_to_string(&users)
        .unwrap()
        .replace("s1,active,", "s1,tobedeleted,");
    std::fs::write(&users, text).unwrap();
    ok(&db, &["import", both_left.to_str().unwrap()]);
    let g = json(&db, &["accounts", "generate", "--json"]);
    assert_eq!(g["disabled"], 3, "{g}");
    let people = json(&db, &["accounts", "list", "--json"]);
    assert_eq!(account(&people, "g1").1, "disabled");

    // Past the grace period the leavers move to the recycle bin; the
    // parent's account does too, since all their children have gone.
    let g = json(&db, &["accounts", "generate", "--json"]);
    assert_eq!(g["recycled"], 3, "{g}");
    let people = json(&db, &["accounts", "list", "--json"]);
    assert_eq!(account(&people, "s1").1, "recycled");
    // Nothing is ever deleted: the person and the username stay.
    assert_eq!(account(&people, "s1").0, "zoe.obrien");

    // Restoring brings one back, disabled, for the office to enable.
    let r = json(&db, &["accounts", "restore", "--id", "s1", "--json"]);
    assert_eq!(r["changed"], 1, "{r}");
    let people = json(&db, &["accounts", "list", "--json"]);
    assert_eq!(account(&people, "s1").1, "disabled");
}

#[test]
fn reset_gives_new_secrets_once_and_stores_only_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let db = imported(dir.path());
    ok(&db, &["accounts", "generate"]);

    let r = keyroll(&db, &["accounts", "reset"]);
    assert_eq!(r.code, 1, "refused without a choice");
    let dry = ok(
        &db,
        &[
            "accounts",
            "reset",
            "--kind",
            "student",
            "--dry-run",
            "--show-secrets",
        ],
    );
    assert!(
        dry.stdout.is_empty(),
        "a dry run makes no secrets: {}",
        dry.stdout
    );

    // Students get initial passwords; the parent an activation code.
    let r = ok(
        &db,
        &["accounts", "reset", "--search", "o'brien", "--show-secrets"],
    );
    let mut rows = csv::Reader::from_reader(r.stdout.as_bytes());
    let rows: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3, "{}", r.stdout);
    let zoe = rows.iter().find(|r| &r[1] == "s1").unwrap();
    assert_eq!(&zoe[4], "initial password");
    assert_eq!(zoe[5].len(), 10);
    let mother = rows.iter().find(|r| &r[1] == "g1").unwrap();
    assert_eq!(&mother[4], "activation code");
    assert_eq!(mother[5].len(), 26);
    assert!(!mother[6].is_empty(), "the code expires");

    // Only hashes are stored; the secrets are in neither the database nor
    // the audit log.
    let key = keyroll_core::DbKey::from_hex(KEY).unwrap();
    let store = keyroll_core::Store::open(&db, &key).unwrap();
    let (hash, must_change): (String, bool) = store
        .conn()
        .query_row(
            "SELECT password_hash, must_change_password FROM account WHERE username = 'zoe.obrien'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(must_change);
    let everything: String = store
        .conn()
        .query_row(
            "SELECT (SELECT group_concat(coalesce(password_hash, '') || coalesce(activation_hash, '')) FROM account)
                 || (SELECT group_concat(coalesce(after, '')) FROM audit)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    for secret in [&zoe[5], &mother[5]] {
        assert!(
            !everything.contains(secret),
            "{secret} is stored in plain text"
        );
    }
    assert!(ok(&db, &["audit"]).stdout.contains("account.reset"));
}

#[test]
fn one_recycled_account_can_be_deleted_and_its_username_rests_a_year() {
    let dir = tempfile::tempdir().unwrap();
    let db = imported(dir.path());
    set_policy(&db, dir.path(), |p| {
        p["recycle_after_days"] = 0.into();
    });
    ok(&db, &["accounts", "generate"]);

    // Only from the recycle bin.
    let r = keyroll(
        &db,
        &["accounts", "delete", "--kind", "student", "--id", "s2"],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("not in the recycle bin"), "{}", r.stderr);

    ok(
        &db,
        &[
            "import",
            school(dir.path(), "b", "tobedeleted").to_str().unwrap(),
        ],
    );
    ok(&db, &["accounts", "generate"]); // disabled
    ok(&db, &["accounts", "generate"]); // recycled (no grace period)
    ok(
        &db,
        &["accounts", "delete", "--kind", "student", "--id", "s2"],
    );
    let people = json(&db, &["accounts", "list", "--json"]);
    assert!(account(&people, "s2").0.is_null(), "the account is gone");
    assert!(ok(&db, &["audit"]).stdout.contains("account.delete"));

    // She re-enrols: a new account, but not her old username for a year.
    ok(
        &db,
        &[
            "import",
            school(dir.path(), "c", "active").to_str().unwrap(),
        ],
    );
    ok(&db, &["accounts", "generate"]);
    let people = json(&db, &["accounts", "list", "--json"]);
    assert_eq!(account(&people, "s2").0, "zoe.obrien3");
}

#[test]
fn suspended_and_archived_accounts_stay_as_the_office_set_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = imported(dir.path());
    set_policy(&db, dir.path(), |p| {
        p["recycle_after_days"] = 0.into();
    });
    ok(&db, &["accounts", "generate"]);
    let s = json(&db, &["accounts", "suspend", "--id", "s1", "--json"]);
    assert_eq!(s["changed"], 1, "{s}");
    let a = json(&db, &["accounts", "archive", "--id", "s2", "--json"]);
    assert_eq!(a["changed"], 1, "{a}");
    let people = json(&db, &["accounts", "list", "--json"]);
    assert_eq!(account(&people, "s1").1, "suspended");
    assert_eq!(account(&people, "s2").1, "archived");
    let listed = json(&db, &["accounts", "list", "--state", "suspended", "--json"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(1));

    // Both leave the school: generation disables and recycles leavers'
    // enabled accounts, but not the ones the office suspended or archived.
    ok(
        &db,
        &[
            "import",
            school(dir.path(), "b", "tobedeleted").to_str().unwrap(),
        ],
    );
    ok(&db, &["accounts", "generate"]);
    ok(&db, &["accounts", "generate"]);
    let people = json(&db, &["accounts", "list", "--json"]);
    assert_eq!(account(&people, "s1").1, "suspended");
    assert_eq!(account(&people, "s2").1, "archived");

    // Enabling lifts a suspension (while the person is at the school).
    let e = json(&db, &["accounts", "enable", "--id", "s1", "--json"]);
    assert_eq!(e["changed"], 1, "{e}");
    let people = json(&db, &["accounts", "list", "--json"]);
    assert_eq!(account(&people, "s1").1, "enabled");
    let actions = audit_actions(&db);
    assert!(
        actions.iter().any(|a| a == "account.suspend")
            && actions.iter().any(|a| a == "account.archive")
    );
}

#[test]
fn renaming_is_explicit_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let db = imported(dir.path());
    ok(&db, &["accounts", "generate"]);
    let people = json(&db, &["accounts", "list", "--json"]);
    let (zoe, _, _) = account(&people, "s1");
    let (con, _, _) = account(&people, "s3");
    let taken = keyroll(
        &db,
        &[
            "accounts",
            "rename",
            "--kind",
            "student",
            "--id",
            "s1",
            "--to",
            con.as_str().unwrap(),
        ],
    );
    assert_eq!(taken.code, 1);
    assert!(taken.stderr.contains("is taken"), "{}", taken.stderr);
    let r = json(
        &db,
        &[
            "accounts",
            "rename",
            "--kind",
            "student",
            "--id",
            "s1",
            "--to",
            "zoe.smith",
            "--json",
        ],
    );
    assert_eq!(
        (r["from"].as_str(), r["to"].as_str()),
        (zoe.as_str(), Some("zoe.smith"))
    );
    let people = json(&db, &["accounts", "list", "--json"]);
    assert_eq!(account(&people, "s1").0, "zoe.smith");
    let nobody = keyroll(
        &db,
        &[
            "accounts",
            "rename",
            "--kind",
            "staff",
            "--id",
            "s1",
            "--by-policy",
        ],
    );
    assert!(
        nobody.stderr.contains("there is no staff with SIS id"),
        "{}",
        nobody.stderr
    );
}
