//! Honest import reports (issue 12): a row listed as rejected is not in the
//! database, a row imported without something says what was dropped, counts
//! count rows, and `--json` is one document whatever happens.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

const HEADER: &str =
    "sourcedId,status,enabledUser,orgSourcedIds,role,givenName,familyName,email,agentSourcedIds";

fn manifest(demographics: bool) -> String {
    format!(
        "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.orgs,bulk\n\
         file.users,bulk\nfile.demographics,{}\n",
        if demographics { "bulk" } else { "absent" }
    )
}

/// A OneRoster 1.1 bundle with these users (rows after [`HEADER`]).
fn oneroster(dir: &Path, name: &str, orgs: &str, users: &[&str], demographics: &str) -> PathBuf {
    let users = format!("{HEADER}\n{}\n", users.join("\n"));
    let manifest = manifest(!demographics.is_empty());
    let mut files = vec![
        ("manifest.csv", manifest.as_bytes()),
        ("orgs.csv", orgs.as_bytes()),
        ("users.csv", users.as_bytes()),
    ];
    if !demographics.is_empty() {
        files.push(("demographics.csv", demographics.as_bytes()));
    }
    bundle(dir, name, &files)
}

fn people(db: &Path) -> Vec<Value> {
    if !db.exists() {
        return Vec::new();
    }
    json(db, &["accounts", "list", "--json"])
        .as_array()
        .expect("an array")
        .clone()
}

fn has(db: &Path, id: &str) -> bool {
    people(db).iter().any(|p| p["sis_id"] == id)
}

/// Runs `import` with `--json` and parses stdout, whatever the exit code.
fn import_json(db: &Path, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["import"];
    all.extend_from_slice(args);
    all.push("--json");
    let r = keyroll(db, &all);
    let v = serde_json::from_str(&r.stdout).unwrap_or_else(|e| {
        panic!(
            "{all:?}: stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
            r.stdout, r.stderr
        )
    });
    (r.code, v)
}

#[test]
fn a_row_listed_as_rejected_is_not_imported_and_a_warning_says_what_was_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let set = oneroster(
        dir.path(),
        "set",
        ORGS,
        &[
            // Names a guardian the export does not have: imported, without the link.
            "s1,active,true,sch1,student,Amelia,Ngata,s1@example.org,g404",
            "s2,active,true,sch1,student,Tama,Ngata,s2@example.org,",
            "s3,active,true,sch1,student,Kiri,Tane,s3@example.org,",
        ],
        // s2's birth date is not a date: the person is imported without one.
        "sourcedId,status,dateLastModified,birthDate\ns2,active,,someday\ns3,active,,2015-01-02\n",
    );
    let report = dir.path().join("report.csv");
    let (code, summary) = import_json(
        &db,
        &[
            set.to_str().unwrap(),
            "--skip-invalid",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{summary:#}");
    let errors = summary["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{summary:#}");
    for e in errors {
        let id = match e["file"].as_str().unwrap() {
            "users.csv" => "s1",
            _ => "s2",
        };
        assert_eq!(e["outcome"], "imported with warning", "{e}");
        assert!(has(&db, id), "{id}: listed as imported, so in the database");
    }
    let reasons: Vec<&str> = errors
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("\"s1\" is imported without this link")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("\"s2\" is imported without a birth date")),
        "{reasons:?}"
    );
    assert_eq!(
        (summary["rejected"].as_u64(), summary["warnings"].as_u64()),
        (Some(0), Some(2))
    );
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(
        text.starts_with("file,line,column,field,reason,outcome\n"),
        "{text}"
    );
    assert_eq!(
        text.lines()
            .filter(|l| l.ends_with(",imported with warning"))
            .count(),
        2,
        "{text}"
    );
}

#[test]
fn a_rejected_role_leaves_its_user_out_rather_than_imported_without_it() {
    // OneRoster 1.2: a role naming an unknown org is rejected; so is its
    // user (as a 1.1 row naming one is), not imported with the other roles.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let set = bundle(
        dir.path(),
        "or12",
        &[
            (
                "manifest.csv",
                b"propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\nfile.orgs,bulk\nfile.users,bulk\nfile.roles,bulk\nfile.demographics,absent\n"
                    .as_slice(),
            ),
            ("orgs.csv", ORGS.as_bytes()),
            (
                "users.csv",
                b"sourcedId,status,enabledUser,givenName,familyName,email\nu1,active,true,Ana,Lima,\nu2,active,true,Ben,Okafor,\n"
                    .as_slice(),
            ),
            (
                "roles.csv",
                b"sourcedId,userSourcedId,roleType,role,orgSourcedId\nr1,u1,primary,student,sch1\nr2,u1,secondary,student,sch9\nr3,u2,primary,student,sch1\n"
                    .as_slice(),
            ),
        ],
    );
    let (code, summary) = import_json(&db, &[set.to_str().unwrap(), "--skip-invalid"]);
    assert_eq!(code, 0, "{summary:#}");
    for e in summary["errors"].as_array().unwrap() {
        assert_eq!(e["outcome"], "rejected", "{e}");
    }
    assert!(
        !has(&db, "u1"),
        "u1 is listed as rejected, so not imported: {summary:#}"
    );
    assert!(has(&db, "u2"));
}

#[test]
fn counts_count_rows_not_problems() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let set = oneroster(
        dir.path(),
        "set",
        ORGS,
        &[
            "s1,active,true,sch1,student,Amelia,Ngata,s1@example.org,",
            // Two problems, one row.
            "s2,active,true,sch1,wizard,Tama,Ngata,tama@example,",
        ],
        "",
    );
    let (code, summary) = import_json(&db, &[set.to_str().unwrap(), "--skip-invalid"]);
    assert_eq!(code, 0, "{summary:#}");
    assert_eq!(
        summary["errors"].as_array().unwrap().len(),
        2,
        "{summary:#}"
    );
    assert_eq!(summary["rejected"], 1, "one row rejected, with two reasons");
    assert_eq!(summary["warnings"], 0);
    assert_eq!(summary["new"], 1);
}

#[test]
fn a_dangling_parent_org_is_a_warning_not_a_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let orgs = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n\
                sch1,active,,Hillcrest School,school,S1,dist9\n\
                sch2,active,,Riverside,school,S2,dist1\n\
                dist1,active,,District,district,D1,\n";
    let set = oneroster(
        dir.path(),
        "set",
        orgs,
        &["s1,active,true,sch1,student,Amelia,Ngata,s1@example.org,"],
        "",
    );
    // Without --skip-invalid: the bundle is imported all the same.
    let (code, summary) = import_json(&db, &[set.to_str().unwrap()]);
    assert_eq!(code, 0, "{summary:#}");
    assert_eq!(summary["applied"], true);
    let errors = summary["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{summary:#}");
    assert_eq!(errors[0]["outcome"], "imported with warning");
    assert_eq!(errors[0]["field"], "parentSourcedId");
    assert!(has(&db, "s1"));
    let key = keyroll_core::DbKey::from_hex(KEY).unwrap();
    let store = keyroll_core::Store::open(&db, &key).unwrap();
    let parent = |org: &str| -> String {
        store
            .conn()
            .query_row(
                "SELECT coalesce(parent_sis_id, '') FROM org WHERE sis_id = ?1",
                [org],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert_eq!(parent("sch1"), "", "left without a parent");
    assert_eq!(parent("sch2"), "dist1", "a parent later in the file counts");
}

#[test]
fn json_is_one_document_when_the_whole_import_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let missing = dir.path().join("nowhere");
    let not_zip = dir.path().join("export.zip");
    std::fs::write(&not_zip, b"this is not a zip file").unwrap();
    let plain = dir.path().join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    std::fs::write(plain.join("notes.txt"), b"hello").unwrap();
    let no_column = oneroster(
        dir.path(),
        "nocol",
        "sourcedId,name\nsch1,Hillcrest\n",
        &[],
        "",
    );
    let cases: [(&str, Vec<&str>); 5] = [
        ("a missing file", vec![missing.to_str().unwrap()]),
        ("an unreadable zip", vec![not_zip.to_str().unwrap()]),
        ("no format fits", vec![plain.to_str().unwrap()]),
        (
            "an unknown --format",
            vec![plain.to_str().unwrap(), "--format", "sims"],
        ),
        (
            "a required column missing",
            vec![no_column.to_str().unwrap()],
        ),
    ];
    for (what, args) in cases {
        let (code, v) = import_json(&db, &args);
        assert_eq!(code, 1, "{what}");
        assert_eq!(v["refused"], true, "{what}: {v:#}");
        let errors = v["errors"].as_array().unwrap();
        assert!(!errors.is_empty(), "{what}: {v:#}");
        for e in errors {
            for key in ["file", "line", "column", "field", "reason"] {
                assert!(e.get(key).is_some(), "{what}: no {key} in {e}");
            }
        }
        if what == "a missing file" {
            assert_eq!(errors[0]["file"], missing.to_str().unwrap());
        }
        if what == "a required column missing" {
            assert_eq!(errors[0]["file"], "orgs.csv");
            assert_eq!(errors[0]["field"], "type");
        }
    }
}

#[test]
fn a_dry_run_the_import_would_refuse_says_so_and_a_cause_is_named_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let set = oneroster(
        dir.path(),
        "set",
        ORGS,
        &["s1,active,true,sch1,wizard,Amelia,Ngata,s1@example.org,"],
        "",
    );
    let r = keyroll(&db, &["import", set.to_str().unwrap(), "--dry-run"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("the import would be refused: nothing would be imported"),
        "{}",
        r.stdout
    );
    let (_, v) = import_json(&db, &[set.to_str().unwrap(), "--dry-run"]);
    assert_eq!(
        (v["refused"].as_bool(), v["dry_run"].as_bool()),
        (Some(true), Some(true))
    );

    let missing = dir.path().join("nowhere");
    let r = keyroll(&db, &["import", missing.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    let cause = std::io::Error::from(std::io::ErrorKind::NotFound).to_string();
    let os_cause = std::fs::metadata(&missing).unwrap_err().to_string();
    assert_eq!(
        r.stderr.matches(os_cause.as_str()).count(),
        1,
        "named once ({cause}): {}",
        r.stderr
    );
}

/// (children of `staff`, whether the link carries parental responsibility).
fn staff_link(db: &Path, staff: &str) -> (Value, bool) {
    let p = person_in(&json(db, &["accounts", "list", "--json"]), staff);
    assert_eq!(
        p["kind"], "staff",
        "a staff member who is a parent stays staff"
    );
    let key = keyroll_core::DbKey::from_hex(KEY).unwrap();
    let store = keyroll_core::Store::open(db, &key).unwrap();
    let responsible = store
        .conn()
        .query_row(
            "SELECT r.parental_responsibility FROM relationship r
             JOIN person c ON c.id = r.contact_id WHERE c.sis_id = ?1",
            [staff],
            |r| r.get(0),
        )
        .unwrap();
    (p["children"].clone(), responsible)
}

#[test]
fn a_link_to_a_staff_member_is_treated_alike_from_either_side() {
    let dir = tempfile::tempdir().unwrap();
    // OneRoster 1.1: one role per user. Stated from the student's side, then
    // from the teacher's: the same link, the same warning saying what to do.
    for (name, users) in [
        (
            "from-student",
            [
                "s1,active,true,sch1,student,Amelia,Ngata,s1@example.org,t1",
                "t1,active,true,sch1,teacher,Tia,Ngata,t1@example.org,",
            ],
        ),
        (
            "from-teacher",
            [
                "s1,active,true,sch1,student,Amelia,Ngata,s1@example.org,",
                "t1,active,true,sch1,teacher,Tia,Ngata,t1@example.org,s1",
            ],
        ),
    ] {
        let db = dir.path().join(format!("{name}.db"));
        let set = oneroster(dir.path(), name, ORGS, &users, "");
        let (code, summary) = import_json(&db, &[set.to_str().unwrap()]);
        assert_eq!(code, 0, "{name}: a kept link does not refuse: {summary:#}");
        let errors = summary["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{name}: {summary:#}");
        assert_eq!(errors[0]["outcome"], "imported with warning");
        let reason = errors[0]["reason"].as_str().unwrap();
        assert!(reason.contains("\"t1\" is a staff member"), "{reason}");
        assert!(
            reason.contains("OneRoster 1.2"),
            "says what to do: {reason}"
        );
        assert_eq!(
            staff_link(&db, "t1"),
            (serde_json::json!(["s1"]), false),
            "{name}"
        );
    }

    // OneRoster 1.2: a teacher who is a parent too has both roles.
    let db = dir.path().join("or12.db");
    let set = bundle(
        dir.path(),
        "or12",
        &[
            (
                "manifest.csv",
                b"propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\nfile.orgs,bulk\nfile.users,bulk\nfile.roles,bulk\nfile.demographics,absent\n"
                    .as_slice(),
            ),
            ("orgs.csv", ORGS.as_bytes()),
            (
                "users.csv",
                b"sourcedId,status,enabledUser,givenName,familyName,email,agentSourcedIds\ns1,active,true,Amelia,Ngata,,t1\nt1,active,true,Tia,Ngata,t1@example.org,\n"
                    .as_slice(),
            ),
            (
                "roles.csv",
                b"sourcedId,userSourcedId,roleType,role,orgSourcedId\nr1,s1,primary,student,sch1\nr2,t1,primary,teacher,sch1\nr3,t1,secondary,parent,sch1\n"
                    .as_slice(),
            ),
        ],
    );
    let (code, summary) = import_json(&db, &[set.to_str().unwrap()]);
    assert_eq!(code, 0, "{summary:#}");
    assert_eq!(summary["errors"], serde_json::json!([]), "{summary:#}");
    assert_eq!(staff_link(&db, "t1"), (serde_json::json!(["s1"]), true));
}

#[test]
fn an_upgrade_of_the_database_is_announced_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    // A new database is made, not upgraded: nothing to say.
    let r = ok(&db, &["accounts", "list", "--json"]);
    assert_eq!(r.stderr, "");
    // As schema v12 left it (before classes and letter templates): the later
    // versions' tables taken out again.
    {
        let key = keyroll_core::DbKey::from_hex(KEY).unwrap();
        let store = keyroll_core::Store::open(&db, &key).unwrap();
        store
            .conn()
            .execute_batch(
                "DROP TRIGGER sync_due_account_made; DROP TRIGGER sync_due_account;
                 DROP TRIGGER sync_due_account_gone; DROP TRIGGER sync_due_person;
                 DROP TRIGGER sync_due_link_made; DROP TRIGGER sync_due_link_changed;
                 DROP TRIGGER sync_due_link_gone; DROP INDEX account_locked; DROP TABLE sync_due;
                 DROP TABLE sync_account; DROP TABLE sync_group; DROP TABLE sync_conflict;
                 ALTER TABLE account DROP COLUMN locked;
                 ALTER TABLE account DROP COLUMN unlock_requested;
                 ALTER TABLE account DROP COLUMN invitation_accepted_at;
                 DROP TABLE outbox; DROP TABLE invite_schedule; DROP TABLE invitation_template;
                 ALTER TABLE account DROP COLUMN invited_at;
                 DROP TABLE letter_template; DROP TABLE enrollment; DROP TABLE class;
                 PRAGMA user_version = 12;",
            )
            .unwrap();
    }
    let r = ok(&db, &["accounts", "list", "--json"]);
    assert!(r.stderr.contains("Updating your database"), "{}", r.stderr);
    let listed: Value = serde_json::from_str(&r.stdout).expect("stdout stays JSON");
    assert_eq!(listed, serde_json::json!([]));
    // Once upgraded, nothing more is said.
    let r = ok(&db, &["accounts", "list", "--json"]);
    assert_eq!(r.stderr, "");
}

#[test]
fn a_mapping_takes_the_kind_from_a_column_of_roles_and_never_files_a_teacher_as_a_student() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let file = dir.path().join("people.csv");
    // "Type" has a kind-like name but holds contracts; "Position" holds roles.
    std::fs::write(
        &file,
        "ID,First,Last,Type,Position\n\
         p1,Amelia,Ngata,Full-time,Student\n\
         p2,Tia,Ngata,Part-time,Teacher\n",
    )
    .unwrap();
    let r = ok(&db, &["mappings", "suggest", file.to_str().unwrap()]);
    let m: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(m["columns"]["kind"], "Position", "{m:#}");
    assert!(!r.stderr.contains("No column holds roles"), "{}", r.stderr);
    let mapping = dir.path().join("mapping.json");
    std::fs::write(&mapping, m.to_string()).unwrap();
    ok(
        &db,
        &[
            "import",
            file.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
        ],
    );
    let listed = json(&db, &["accounts", "list", "--json"]);
    assert_eq!(person_in(&listed, "p1")["kind"], "student");
    assert_eq!(person_in(&listed, "p2")["kind"], "staff");

    // No column of roles: the suggestion says so, and asks for the kind.
    let plain = dir.path().join("plain.csv");
    std::fs::write(&plain, "ID,First,Last,Type\nq1,Ana,Lima,Full-time\n").unwrap();
    let r = ok(&db, &["mappings", "suggest", plain.to_str().unwrap()]);
    let m: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(m["columns"].get("kind").is_none(), "{m:#}");
    assert!(r.stderr.contains("No column holds roles"), "{}", r.stderr);

    // A mapping that files everyone as students, over rows naming roles:
    // the teacher's row is rejected, not imported as a student.
    let fixed = dir.path().join("fixed.json");
    std::fs::write(
        &fixed,
        r#"{"name":"fixed","kind":"student","columns":{"sis_id":"ID","given_name":"First","family_name":"Last","role":"Position"}}"#,
    )
    .unwrap();
    let db2 = dir.path().join("k2.db");
    let (code, summary) = import_json(
        &db2,
        &[
            file.to_str().unwrap(),
            "--mapping",
            fixed.to_str().unwrap(),
            "--skip-invalid",
        ],
    );
    assert_eq!(code, 0, "{summary:#}");
    assert_eq!(summary["rejected"], 1, "{summary:#}");
    assert!(summary["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("the role \"Teacher\" names a staff"));
    assert!(!has(&db2, "p2"));
}
