//! End-to-end tests of the `keyroll` CLI: demo -> import -> list, the
//! encrypted file, wrong keys, and bad files that must change nothing.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;

fn people(db: &Path, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["accounts", "list", "--json"];
    args.extend_from_slice(extra);
    json(db, &args).as_array().expect("an array").clone()
}

/// Everything a user can see of the database, to prove a failed import changed nothing.
fn snapshot(db: &Path) -> (Value, Value, Value) {
    (
        json(db, &["accounts", "list", "--json"]),
        json(db, &["audit", "--json"]),
        json(db, &["imports", "list", "--json"]),
    )
}

#[test]
fn demo_then_import_then_list() {
    let dir = tempfile::tempdir().unwrap();
    let school = dir.path().join("school");
    let db = dir.path().join("k.db");
    let demo = ok(
        &db,
        &[
            "demo",
            "--students",
            "400",
            "--out",
            school.to_str().unwrap(),
            "--seed",
            "5",
        ],
    );
    assert!(demo.stderr.contains("400 students"), "{}", demo.stderr);
    let users_csv = std::fs::read_to_string(school.join("users.csv")).unwrap();
    let user_rows = users_csv.lines().count() - 1;

    let imported = ok(&db, &["import", school.to_str().unwrap()]);
    assert!(imported.stdout.contains("Imported"), "{}", imported.stdout);

    let all = people(&db, &[]);
    assert_eq!(all.len(), user_rows);
    let students: Vec<&Value> = all.iter().filter(|p| p["kind"] == "student").collect();
    let staff = all.iter().filter(|p| p["kind"] == "staff").count();
    let parents: Vec<&Value> = all.iter().filter(|p| p["kind"] == "parent").collect();
    assert_eq!(students.len(), 400);
    assert_eq!(staff, 34); // one per 12 students, rounded up
    assert!(
        parents.len() > 400,
        "about 1.5 guardians per student, siblings sharing"
    );

    // Every field of the contract is there; account fields are null until accounts exist.
    for key in [
        "id",
        "kind",
        "sis_id",
        "given_name",
        "family_name",
        "preferred_name",
        "email",
        "status",
        "children",
        "username",
        "state",
        "group",
        "flags",
        "invitation",
    ] {
        assert!(all[0].get(key).is_some(), "missing {key} in {}", all[0]);
    }
    assert!(all
        .iter()
        .all(|p| p["username"].is_null() && p["state"].is_null()));

    // Contacts list their students, and those students exist.
    let student_ids: std::collections::HashSet<&str> = students
        .iter()
        .map(|s| s["sis_id"].as_str().unwrap())
        .collect();
    let with_children = parents
        .iter()
        .filter(|p| !p["children"].as_array().unwrap().is_empty())
        .count();
    assert_eq!(with_children, parents.len());
    let shared = parents
        .iter()
        .filter(|p| p["children"].as_array().unwrap().len() > 1)
        .count();
    assert!(shared > 0, "siblings share guardians");
    for p in &parents {
        for c in p["children"].as_array().unwrap() {
            assert!(
                student_ids.contains(c.as_str().unwrap()),
                "{c} is not a student"
            );
        }
    }
    // Leavers: tobedeleted -> left, enabledUser=false -> inactive.
    assert!(all.iter().any(|p| p["status"] == "left"));
    assert!(all.iter().any(|p| p["status"] == "inactive"));
    assert!(all
        .iter()
        .any(|p| p["email"] == "" && p["kind"] == "parent"));

    // Filters.
    let only_parents = people(&db, &["--kind", "parent"]);
    assert_eq!(only_parents.len(), parents.len());
    let found = people(&db, &["--search", "zoe"]);
    assert!(!found.is_empty());
    for p in &found {
        let hay = format!(
            "{} {} {} {}",
            p["given_name"], p["middle_name"], p["family_name"], p["email"]
        )
        .to_lowercase();
        assert!(hay.contains("zoë") || hay.contains("zoe"), "{hay}");
    }
    let by_id = people(&db, &["--search", students[7]["sis_id"].as_str().unwrap()]);
    assert_eq!(by_id.len(), 1);

    // The audit log has one entry per person created, plus the import itself.
    let audit = json(&db, &["audit", "--json"]);
    let audit = audit.as_array().unwrap();
    let creates = audit
        .iter()
        .filter(|e| e["action"] == "person.create")
        .count();
    assert_eq!(creates, user_rows);
    assert!(audit.iter().any(|e| e["action"] == "import.apply"));
    // A new contact's creation entry records what they were created with,
    // and each link made with them has a creation entry of its own.
    let parent = parents
        .iter()
        .find(|p| p["children"].as_array().unwrap().len() > 1)
        .unwrap();
    let sis = parent["sis_id"].as_str().unwrap();
    let key = format!("oneroster:{sis}");
    let created = audit
        .iter()
        .find(|e| e["action"] == "person.create" && e["entity_key"] == key.as_str())
        .expect("the parent's creation entry");
    assert_eq!(created["after"]["given_name"], parent["given_name"]);
    let mut linked: Vec<String> = audit
        .iter()
        .filter(|e| e["action"] == "relationship.create" && e["after"]["contact"] == sis)
        .map(|e| e["after"]["student"].as_str().unwrap().to_owned())
        .collect();
    linked.sort();
    let mut children: Vec<String> = parent["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect();
    children.sort();
    assert_eq!(linked, children);
    assert_eq!(created["after"]["family_name"], parent["family_name"]);
    assert!(audit
        .iter()
        .all(|e| e["actor"].as_str().is_some_and(|a| !a.is_empty())));

    // Re-importing the same files changes nothing and writes no audit entry.
    let again = ok(&db, &["import", school.to_str().unwrap()]);
    assert!(
        again.stdout.contains("Nothing to change"),
        "{}",
        again.stdout
    );
    assert_eq!(
        json(&db, &["audit", "--json"]).as_array().unwrap().len(),
        audit.len()
    );
    assert_eq!(
        json(&db, &["imports", "list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn the_database_is_encrypted_and_refuses_the_wrong_key() {
    let dir = tempfile::tempdir().unwrap();
    let school = dir.path().join("school");
    let db = dir.path().join("k.db");
    ok(
        &db,
        &[
            "demo",
            "--students",
            "50",
            "--out",
            school.to_str().unwrap(),
        ],
    );
    ok(&db, &["import", school.to_str().unwrap()]);
    let list = people(&db, &[]);
    let student = list.iter().find(|p| p["kind"] == "student").unwrap();

    // No plaintext: not the names, not the emails, not the SQLite header.
    let mut bytes = std::fs::read(&db).unwrap();
    if let Ok(wal) = std::fs::read(dir.path().join("k.db-wal")) {
        bytes.extend(wal);
    }
    for needle in [
        student["family_name"].as_str().unwrap(),
        student["email"].as_str().unwrap(),
        student["sis_id"].as_str().unwrap(),
        "SQLite format 3",
        "CREATE TABLE",
    ] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "the database file contains {needle:?} in plain text"
        );
    }

    // Plain sqlite3 cannot read it.
    let sqlite = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg("SELECT count(*) FROM person;")
        .output()
        .expect("sqlite3 must be installed (scripts/install-deps installs it)");
    assert!(!sqlite.status.success());
    assert!(String::from_utf8_lossy(&sqlite.stderr).contains("not a database"));

    // The wrong key is refused with a message, and the file is left as it was.
    let before = std::fs::read(&db).unwrap();
    let wrong = keyroll_with_key(&db, OTHER_KEY, &["accounts", "list", "--json"]);
    assert_eq!(wrong.code, 1);
    assert!(
        wrong.stderr.contains("the key does not fit"),
        "{}",
        wrong.stderr
    );
    assert!(
        wrong.stderr.contains("Nothing was changed"),
        "{}",
        wrong.stderr
    );
    assert!(wrong.stdout.is_empty());
    assert_eq!(std::fs::read(&db).unwrap(), before);
    // …and the right key still opens it.
    assert_eq!(people(&db, &[]).len(), list.len());

    // A malformed key is a clear error too.
    let bad = keyroll_with_key(&db, "not-hex", &["audit"]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("KEYROLL_DB_KEY"), "{}", bad.stderr);
}

#[test]
fn a_file_that_is_not_a_keyroll_database_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("notes.db");
    std::fs::write(&notes, "Term dates and bus timetable\n".repeat(200)).unwrap();
    let r = keyroll(&notes, &["accounts", "list"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("not a Keyroll database"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(&notes).unwrap(),
        "Term dates and bus timetable\n".repeat(200)
    );
}

#[test]
fn a_bad_file_changes_nothing_and_every_problem_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let header = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n";
    let good_users = format!(
        "{header}s1,active,,true,sch1,student,,,Amelia,Ngata,,1,amelia@example.org,,,g1,05,\n\
         g1,active,,true,sch1,guardian,,,Aroha,Ngata,,,aroha@example.org,,,s1,,\n"
    );
    let good = bundle(
        dir.path(),
        "good",
        &[
            ("manifest.csv", MANIFEST.as_bytes()),
            ("orgs.csv", ORGS.as_bytes()),
            ("users.csv", good_users.as_bytes()),
        ],
    );
    ok(&db, &["import", good.to_str().unwrap()]);
    let before = snapshot(&db);

    // A renamed student (would be an update) plus five broken rows.
    let bad_users = format!(
        "{header}s1,active,,true,sch1,student,,,Amelia-Rose,Ngata,,1,amelia@example.org,,,g1,05,\n\
         g1,active,,true,sch1,guardian,,,Aroha,Ngata,,,aroha@example.org,,,s1,,\n\
         s2,active,,true,sch1,student,,,Tama,Ngata,,2,tama@example,,,,05,\n\
         s1,active,,true,sch1,student,,,Copy,Ngata,,3,,,,,05,\n\
         s3,active,,true,sch1,wizard,,,Merlin,Ambrosius,,,,,,,,\n\
         s4,active,,true,sch1,student,,,Too,Short\n\
         s5,active,,true,sch9,student,,,Lost,Child,,5,,,,g404,05,\n"
    );
    let bad = bundle(
        dir.path(),
        "bad",
        &[
            ("manifest.csv", MANIFEST.as_bytes()),
            ("orgs.csv", ORGS.as_bytes()),
            ("users.csv", bad_users.as_bytes()),
        ],
    );
    let report = dir.path().join("report.csv");
    let r = keyroll(
        &db,
        &[
            "import",
            bad.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    for expected in [
        "users.csv:4:13: email: \"tama@example\" is not an email address",
        "users.csv:5:1: sourcedId: sourcedId \"s1\" is already used on line 2",
        "users.csv:6:6: role: unknown role \"wizard\"",
        "users.csv:7:11: middleName: the row has 10 fields but the header has 18",
        "users.csv:8:5: orgSourcedIds: org \"sch9\" is not in orgs.csv",
    ] {
        assert!(
            r.stderr.contains(expected),
            "missing {expected:?} in:\n{}",
            r.stderr
        );
    }
    assert!(r.stdout.contains("Nothing imported"), "{}", r.stdout);
    assert_eq!(
        snapshot(&db),
        before,
        "a refused import must change nothing"
    );
    // A report aimed at the database itself is refused; the database survives.
    let over = keyroll(
        &db,
        &[
            "import",
            bad.to_str().unwrap(),
            "--report",
            db.to_str().unwrap(),
        ],
    );
    assert_eq!(over.code, 1);
    assert!(
        over.stderr.contains("is Keyroll's database"),
        "{}",
        over.stderr
    );
    assert_eq!(snapshot(&db), before);
    let report = std::fs::read_to_string(&report).unwrap();
    assert!(report.starts_with("file,line,column,field,reason"));
    assert_eq!(report.lines().count(), 6, "{report}");

    // Dry run of the valid rows: shows the change, writes nothing.
    let dry = json(
        &db,
        &[
            "import",
            bad.to_str().unwrap(),
            "--skip-invalid",
            "--dry-run",
            "--json",
        ],
    );
    assert_eq!(dry["updated"], 1);
    assert_eq!(dry["applied"], false);
    assert_eq!(dry["errors"].as_array().unwrap().len(), 5);
    assert_eq!(snapshot(&db), before);

    // --skip-invalid imports the valid rows and lists the rest.
    let r = keyroll(&db, &["import", bad.to_str().unwrap(), "--skip-invalid"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let list = people(&db, &["--search", "amelia"]);
    assert_eq!(list[0]["given_name"], "Amelia-Rose");
    let imports = json(&db, &["imports", "list", "--json"]);
    assert_eq!(imports[1]["exceptions"].as_array().unwrap().len(), 5);
    let update = json(&db, &["audit", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "person.update")
        .cloned()
        .unwrap();
    assert_eq!(update["before"]["given_name"], "Amelia");
    assert_eq!(update["after"]["given_name"], "Amelia-Rose");
}

#[test]
fn rfc4180_quoting_bom_crlf_and_header_case() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    // BOM, CRLF, upper/lower-case headers, quoted commas, doubled quotes and a
    // name with an embedded newline; the error after it must name line 6.
    let users = "\u{feff}SOURCEDID,Status,enabledUser,orgSourcedIds,ROLE,givenname,FamilyName,email,agentSourcedIds\r\n\
                 s1,active,true,sch1,student,\"Zoë \"\"Zo\"\"\",\"O'Brien, Jr\",zoe@example.org,\"g1,g2\"\r\n\
                 g1,active,true,sch1,parent,\"Mary\r\nAnne\",O'Brien,mary@example.org,s1\r\n\
                 g2,active,true,sch1,relative,Seán,Ó Súilleabháin,,s1\r\n\
                 s2,active,true,sch1,student,Bad,Email,not-an-email,\r\n";
    let folder = bundle(
        dir.path(),
        "bundle",
        &[
            ("MANIFEST.csv", MANIFEST.replace('\n', "\r\n").as_bytes()),
            ("orgs.csv", ORGS.as_bytes()),
            ("users.csv", users.as_bytes()),
        ],
    );
    let r = keyroll(&db, &["import", folder.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("users.csv:6:8: email:"), "{}", r.stderr);

    ok(&db, &["import", folder.to_str().unwrap(), "--skip-invalid"]);
    let list = people(&db, &[]);
    let find = |id: &str| list.iter().find(|p| p["sis_id"] == id).unwrap().clone();
    assert_eq!(find("s1")["given_name"], "Zoë \"Zo\"");
    assert_eq!(find("s1")["family_name"], "O'Brien, Jr");
    assert_eq!(find("g1")["given_name"], "Mary\r\nAnne");
    assert_eq!(find("g2")["family_name"], "Ó Súilleabháin");
    let mut kids = find("g1")["children"].as_array().unwrap().clone();
    kids.sort_by_key(|v| v.to_string());
    assert_eq!(kids, vec![Value::from("s1")]);
    assert_eq!(people(&db, &["--search", "suilleabhain"]).len(), 1);
}

#[test]
fn passwords_in_an_export_are_never_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    // Vendors' exports may carry initial passwords in plain text.
    let users = "sourcedId,orgSourcedIds,role,givenName,familyName,password\n\
                 s1,sch1,student,Jack,Craig,P@ssword123\n";
    let folder = bundle(
        dir.path(),
        "b",
        &[
            ("manifest.csv", MANIFEST.as_bytes()),
            ("orgs.csv", ORGS.as_bytes()),
            ("users.csv", users.as_bytes()),
        ],
    );
    ok(&db, &["import", folder.to_str().unwrap()]);
    assert_eq!(people(&db, &[]).len(), 1);
    let key = keyroll_core::DbKey::from_hex(KEY).unwrap();
    let store = keyroll_core::Store::open(&db, &key).unwrap();
    let everything: String = store
        .conn()
        .query_row(
            "SELECT group_concat(raw) || (SELECT group_concat(coalesce(before, '') || coalesce(after, ''))
                                          FROM audit) FROM person",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!everything.contains("P@ssword123"), "{everything}");
    let log = keyroll(&db, &["audit", "--json"]).stdout;
    assert!(log.contains("Craig"), "the log shows the person: {log}");
    assert!(!log.contains("P@ssword123"), "{log}");
}

#[test]
fn wrong_inputs_and_usage_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let folder = bundle(dir.path(), "random", &[("notes.txt", b"hello")]);
    let r = keyroll(&db, &["import", folder.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("match no SIS format"), "{}", r.stderr);

    let no_manifest = bundle(
        dir.path(),
        "nomanifest",
        &[("orgs.csv", ORGS.as_bytes()), ("users.csv", b"sourcedId\n")],
    );
    let r = keyroll(&db, &["import", no_manifest.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("manifest.csv is missing"), "{}", r.stderr);

    let missing_cols = bundle(
        dir.path(),
        "cols",
        &[
            ("manifest.csv", MANIFEST.as_bytes()),
            ("orgs.csv", ORGS.as_bytes()),
            ("users.csv", b"sourcedId,givenName\ns1,Ana\n"),
        ],
    );
    let r = keyroll(&db, &["import", missing_cols.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("users.csv:1:0: familyName: required column \"familyName\" is missing"),
        "{}",
        r.stderr
    );

    let r = keyroll(&db, &["import", dir.path().join("nope").to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("Could not read"), "{}", r.stderr);

    assert_eq!(keyroll(&db, &["frobnicate"]).code, 2);
    assert_eq!(
        keyroll(&db, &["accounts", "list", "--kind", "wizard"]).code,
        2
    );
}

/// Zips the files of `folder` under `prefix/` into `zip_path`, with the
/// junk entries macOS adds.
fn zip_folder(folder: &Path, zip_path: &Path, prefix: &str) {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::fs::File::create(zip_path).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    let mut names: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for p in names {
        let name = p.file_name().unwrap().to_str().unwrap();
        zip.start_file(format!("{prefix}/{name}"), opts).unwrap();
        zip.write_all(&std::fs::read(&p).unwrap()).unwrap();
        zip.start_file(format!("__MACOSX/{prefix}/._{name}"), opts)
            .unwrap();
        zip.write_all(b"\0\x05\x16\x07junk").unwrap();
    }
    zip.finish().unwrap();
}

#[test]
fn a_zipped_export_imports_like_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let school = dir.path().join("school");
    let (from_folder, from_zip) = (dir.path().join("a.db"), dir.path().join("b.db"));
    ok(
        &from_folder,
        &[
            "demo",
            "--students",
            "120",
            "--out",
            school.to_str().unwrap(),
        ],
    );
    let zipped = dir.path().join("oneroster-export.zip");
    zip_folder(&school, &zipped, "export");

    ok(&from_folder, &["import", school.to_str().unwrap()]);
    let summary = json(&from_zip, &["import", zipped.to_str().unwrap(), "--json"]);
    assert_eq!(summary["format"], "oneroster");
    assert!(summary["files"][0]
        .as_str()
        .unwrap()
        .contains("oneroster-export.zip:export/"));
    let strip = |v: Value| -> Vec<Value> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let mut p = p.clone();
                p.as_object_mut().unwrap().remove("id");
                p
            })
            .collect()
    };
    assert_eq!(
        strip(json(&from_zip, &["accounts", "list", "--json"])),
        strip(json(&from_folder, &["accounts", "list", "--json"]))
    );

    // Problems inside a zip are located like any others.
    let users = std::fs::read_to_string(school.join("users.csv")).unwrap();
    let broken = users.replacen(",student,", ",wizard,", 1);
    std::fs::write(school.join("users.csv"), broken).unwrap();
    let bad_zip = dir.path().join("bad.zip");
    zip_folder(&school, &bad_zip, "export");
    let r = keyroll(&from_zip, &["import", bad_zip.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("users.csv:2:6: role: unknown role \"wizard\""),
        "{}",
        r.stderr
    );

    // Something that is not a zip says so.
    let fake = dir.path().join("fake.zip");
    std::fs::write(&fake, "not a zip").unwrap();
    let r = keyroll(&from_zip, &["import", fake.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("is not a readable zip file"),
        "{}",
        r.stderr
    );
}
