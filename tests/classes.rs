//! Classes and who is in them, from every format that has them: read,
//! listed, used as filters, updated by a re-import (new, changed, removed)
//! and restored by a rollback.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

const USERS: &str = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\r\n\
s1,active,,true,sch1,student,,,Zoë,Ngata,,,,,,,07,\r\n\
s2,active,,true,sch1,student,,,Liam,Tane,,,,,,,07,\r\n\
s3,active,,true,sch1,Student,,,Mia,Rua,,,,,,,08,\r\n\
t1,active,,true,sch1,teacher,,,Amélie,Dubois,,,,,,,,\r\n\
t2,active,,true,sch1,teacher,,,Hemi,Walker,,,,,,,,\r\n";

const CLASSES: &str = "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\r\n\
c1,active,,Maths 7,07,m7,7MA,scheduled,,sch1,,,,\r\n\
c2,active,,Science 7,07,sc7,7SC,scheduled,,sch1,,,,\r\n\
hr8,active,,Room 8,08,,8R,homeroom,,sch1,,,,\r\n";

const ENROLLMENTS: &str = "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\r\n\
e1,active,,c1,sch1,s1,student,false,,\r\n\
e2,active,,c1,sch1,s2,student,false,,\r\n\
e3,active,,c1,sch1,t1,teacher,true,,\r\n\
e4,active,,c1,sch1,t2,teacher,false,,\r\n\
e5,active,,c2,sch1,s1,student,false,,\r\n\
e6,active,,c2,sch1,t2,teacher,true,,\r\n\
e7,active,,hr8,sch1,s3,student,false,,\r\n\
e8,active,,hr8,sch1,t2,Teacher,true,,";

fn oneroster(dir: &Path, name: &str, classes: &str, enrollments: &str) -> PathBuf {
    let manifest = "propertyName,value\r\nmanifest.version,1.0\r\noneroster.version,1.1\r\nfile.orgs,bulk\r\nfile.users,bulk\r\nfile.classes,bulk\r\nfile.enrollments,bulk\r\nfile.demographics,absent\r\n";
    bundle(
        dir,
        name,
        &[
            ("manifest.csv", manifest.as_bytes()),
            ("orgs.csv", ORGS.as_bytes()),
            ("users.csv", USERS.as_bytes()),
            ("classes.csv", classes.as_bytes()),
            ("enrollments.csv", enrollments.as_bytes()),
        ],
    )
}

fn sis_ids(db: &Path, args: &[&str]) -> Vec<String> {
    let mut all = vec!["accounts", "list", "--json"];
    all.extend_from_slice(args);
    let people = json(db, &all);
    let mut ids: Vec<String> = people
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["sis_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn classes(db: &Path) -> Vec<(String, String, u64, Vec<String>)> {
    let list = json(db, &["classes", "list", "--json"]);
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let teachers = c["teachers"].as_array().unwrap();
            (
                c["sis_id"].as_str().unwrap().to_owned(),
                c["title"].as_str().unwrap().to_owned(),
                c["students"].as_u64().unwrap(),
                teachers
                    .iter()
                    .map(|t| t.as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect()
}

fn class(
    id: &str,
    title: &str,
    students: u64,
    teachers: &[&str],
) -> (String, String, u64, Vec<String>) {
    (
        id.into(),
        title.into(),
        students,
        teachers.iter().map(|t| t.to_string()).collect(),
    )
}

#[test]
fn oneroster_classes_are_read_listed_and_filter_people() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let set = oneroster(dir.path(), "or", CLASSES, ENROLLMENTS);
    let summary = json(&db, &["import", set.to_str().unwrap(), "--json"]);
    assert_eq!(summary["errors"], serde_json::json!([]));
    assert_eq!(summary["classes_new"], 3);
    assert_eq!(
        classes(&db),
        vec![
            class("c1", "Maths 7", 2, &["Amélie Dubois", "Hemi Walker"]),
            class("hr8", "Room 8", 1, &["Hemi Walker"]),
            class("c2", "Science 7", 1, &["Hemi Walker"]),
        ],
        "by title, each with its students and its teachers, the lead first"
    );
    // --class gives a class's students only, never its teacher.
    assert_eq!(sis_ids(&db, &["--class", "c1"]), ["s1", "s2"]);
    assert_eq!(sis_ids(&db, &["--teacher", "t2"]), ["s1", "s2", "s3"]);
    assert_eq!(sis_ids(&db, &["--teacher", "t1"]), ["s1", "s2"]);
    assert_eq!(sis_ids(&db, &["--class", "c2", "--teacher", "t1"]), ["s1"]);
    // A class that does not exist is an error, not an empty class.
    let run = keyroll(&db, &["accounts", "list", "--class", "c9"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("no class with SIS id \"c9\""),
        "{}",
        run.stderr
    );
    let run = keyroll(&db, &["accounts", "list", "--teacher", "s1"]);
    assert_eq!(run.code, 1, "a student teaches nothing: {}", run.stderr);

    // Batch actions take the same filters.
    ok(&db, &["accounts", "generate"]);
    let report = dir.path().join("disable.csv");
    let preview = json(
        &db,
        &[
            "accounts",
            "disable",
            "--class",
            "c1",
            "--dry-run",
            "--json",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(
        preview["matched"], 2,
        "the class's two students, not its teachers"
    );
    let report = std::fs::read_to_string(&report).unwrap();
    assert!(
        report.contains(",s1,") && report.contains(",s2,"),
        "{report}"
    );
    assert!(
        !report.contains(",t1,") && !report.contains(",t2,"),
        "{report}"
    );

    // The words say so too.
    let dry = ok(&db, &["import", set.to_str().unwrap(), "--dry-run"]);
    assert!(
        !dry.stdout.contains("Classes:"),
        "nothing changes: {}",
        dry.stdout
    );
    let fresh = dir.path().join("fresh.db");
    let words = ok(&fresh, &["import", set.to_str().unwrap()]);
    assert!(
        words
            .stdout
            .contains("Classes: 3 new, 0 changed, 0 removed."),
        "{}",
        words.stdout
    );

    // The same import again changes nothing.
    let again = json(&db, &["import", set.to_str().unwrap(), "--json"]);
    let counts = |s: &Value| {
        ["classes_new", "classes_updated", "classes_removed"].map(|k| s[k].as_u64().unwrap())
    };
    assert_eq!(counts(&again), [0, 0, 0]);
}

#[test]
fn a_reimport_updates_classes_and_a_rollback_restores_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let first = oneroster(dir.path(), "first", CLASSES, ENROLLMENTS);
    json(&db, &["import", first.to_str().unwrap(), "--json"]);
    let before = classes(&db);

    // Maths is renamed and Liam moves out of it; Room 8 is gone; Art is new.
    let classes_now = CLASSES
        .replace("Maths 7,07", "Mathematics 7,07")
        .replace("hr8,active,,Room 8,08,,8R,homeroom,,sch1,,,,\r\n", "")
        + "art,active,,Art,07,,7AR,scheduled,,sch1,,,,\r\n";
    let enrollments_now = ENROLLMENTS
        .replace("e2,active,,c1,sch1,s2,student,false,,\r\n", "")
        .replace(
            "e7,active,,hr8,sch1,s3,student,false,,\r\ne8,active,,hr8,sch1,t2,Teacher,true,,",
            "e9,active,,art,sch1,s2,student,false,,\r\ne10,active,,art,sch1,t1,teacher,true,,\r\n",
        );
    let second = oneroster(dir.path(), "second", &classes_now, &enrollments_now);
    let dry = json(
        &db,
        &["import", second.to_str().unwrap(), "--dry-run", "--json"],
    );
    assert_eq!(
        [
            &dry["classes_new"],
            &dry["classes_updated"],
            &dry["classes_removed"]
        ],
        [1, 1, 1]
    );
    assert_eq!(classes(&db), before, "a dry run changes nothing");
    let summary = json(&db, &["import", second.to_str().unwrap(), "--json"]);
    assert_eq!(
        [
            &summary["classes_new"],
            &summary["classes_updated"],
            &summary["classes_removed"]
        ],
        [1, 1, 1]
    );
    assert_eq!(
        classes(&db),
        vec![
            class("art", "Art", 1, &["Amélie Dubois"]),
            class("c1", "Mathematics 7", 1, &["Amélie Dubois", "Hemi Walker"]),
            class("c2", "Science 7", 1, &["Hemi Walker"]),
        ]
    );
    assert_eq!(sis_ids(&db, &["--class", "c1"]), ["s1"]);
    // A removed class is no longer a filter.
    assert_eq!(
        keyroll(&db, &["accounts", "list", "--class", "hr8"]).code,
        1
    );
    let actions = audit_actions(&db);
    for a in ["class.create", "class.update", "class.remove"] {
        assert!(actions.iter().any(|x| x == a), "{a} in the audit log");
    }

    // Rolling the second import back brings the first's classes back whole.
    let id = summary["import_id"].as_i64().unwrap().to_string();
    let rolled = json(&db, &["imports", "rollback", &id, "--json"]);
    assert_eq!(rolled["classes"], 3);
    assert_eq!(classes(&db), before);
    assert_eq!(sis_ids(&db, &["--class", "c1"]), ["s1", "s2"]);
    assert_eq!(sis_ids(&db, &["--class", "hr8"]), ["s3"]);
    assert_eq!(
        keyroll(&db, &["accounts", "list", "--class", "art"]).code,
        1
    );

    // And rolling back the first removes them.
    let rolled = json(&db, &["imports", "rollback", "1", "--json"]);
    assert_eq!(rolled["classes"], 3);
    assert_eq!(classes(&db), vec![]);
}

#[test]
fn an_enrollment_that_names_nobody_or_the_wrong_role_is_rejected_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let enrollments = format!(
        "{ENROLLMENTS}\r\ne20,active,,c1,sch1,ghost,student,false,,\r\ne21,active,,c1,sch1,t1,student,false,,\r\ne22,active,,c9,sch1,s1,student,false,,\r\ne23,active,,c1,sch1,s1,janitor,false,,\r\n"
    );
    let set = oneroster(dir.path(), "bad", CLASSES, &enrollments);
    let run = keyroll(&db, &["import", set.to_str().unwrap(), "--json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let summary: Value = serde_json::from_str(&run.stdout).unwrap();
    // In line order (some are found as the rows are read, some at the end).
    let mut errors: Vec<(u64, String)> = summary["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let at = format!(
                "{}:{}:{}: {}",
                e["file"].as_str().unwrap(),
                e["line"],
                e["field"].as_str().unwrap(),
                e["reason"].as_str().unwrap()
            );
            (e["line"].as_u64().unwrap(), at)
        })
        .collect();
    errors.sort();
    let errors: Vec<String> = errors.into_iter().map(|(_, e)| e).collect();
    assert_eq!(
        errors,
        [
            "enrollments.csv:10:userSourcedId: \"ghost\" is not a person in the export",
            "enrollments.csv:11:userSourcedId: \"t1\" is staff in the export, so cannot be in a class as a student",
            "enrollments.csv:12:classSourcedId: class \"c9\" is not in the export's classes",
            "enrollments.csv:13:role: unknown role \"janitor\" (expected student, teacher, administrator, aide…)",
        ]
    );
    assert_eq!(classes(&db), vec![], "nothing was imported");
}

#[test]
fn a_oneroster_change_file_adds_and_drops_single_enrollments() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let set = oneroster(dir.path(), "full", CLASSES, ENROLLMENTS);
    json(&db, &["import", set.to_str().unwrap(), "--json"]);
    let manifest = "propertyName,value\r\nmanifest.version,1.0\r\noneroster.version,1.1\r\nfile.orgs,absent\r\nfile.users,delta\r\nfile.classes,delta\r\nfile.enrollments,delta\r\n";
    let users = USERS.lines().next().unwrap().to_owned() + "\r\n";
    let classes_delta = CLASSES.lines().next().unwrap().to_owned()
        + "\r\nhr8,tobedeleted,,Room 8,08,,8R,homeroom,,sch1,,,,\r\n";
    let enrollments_delta = ENROLLMENTS.lines().next().unwrap().to_owned()
        + "\r\ne2,tobedeleted,,c1,sch1,s2,student,false,,\r\ne30,active,,c2,sch1,s3,student,false,,\r\n";
    let delta = bundle(
        dir.path(),
        "delta",
        &[
            ("manifest.csv", manifest.as_bytes()),
            ("users.csv", users.as_bytes()),
            ("classes.csv", classes_delta.as_bytes()),
            ("enrollments.csv", enrollments_delta.as_bytes()),
        ],
    );
    let summary = json(&db, &["import", delta.to_str().unwrap(), "--json"]);
    assert_eq!(summary["errors"], serde_json::json!([]));
    assert_eq!(
        [
            &summary["classes_new"],
            &summary["classes_updated"],
            &summary["classes_removed"]
        ],
        [0, 2, 1]
    );
    assert_eq!(sis_ids(&db, &["--class", "c1"]), ["s1"]);
    assert_eq!(sis_ids(&db, &["--class", "c2"]), ["s1", "s3"]);
    assert_eq!(sis_ids(&db, &["--teacher", "t2"]), ["s1", "s3"]);
}

#[test]
fn the_public_sds_sample_has_its_two_classes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/samples/sds-v2.1");
    json(&db, &["import", sample.to_str().unwrap(), "--json"]);
    let list = classes(&db);
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].0, "112002");
    assert_eq!(list[0].1, "Biology 10");
    assert_eq!(list[1].1, "Computer Science 101");
    assert_eq!(sis_ids(&db, &["--class", "112001"]), ["114008"]);
    assert_eq!(
        sis_ids(&db, &["--teacher", "114006"]),
        ["114008"],
        "a professor teaches"
    );
}

#[test]
fn clever_sections_are_classes_with_their_teachers() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let set = bundle(
        dir.path(),
        "clever",
        &[
            ("schools.csv", b"School_id,School_name\nsch1,Hillcrest\n".as_slice()),
            (
                "students.csv",
                b"School_id,Student_id,Last_name,First_name,Grade\nsch1,st1,Ngata,Zoe,7\nsch1,st2,Tane,Liam,7\n".as_slice(),
            ),
            (
                "teachers.csv",
                b"School_id,Teacher_id,Last_name,First_name,Teacher_email\nsch1,te1,Dubois,Amelie,a@school.example\nsch1,te2,Walker,Hemi,h@school.example\n".as_slice(),
            ),
            (
                "sections.csv",
                b"School_id,Section_id,Teacher_id,Teacher_2_id,Name,Section_number,Grade,Course_name,Course_number,Period,Subject,Term_name\nsch1,sec1,te1,te2,,3,7,Algebra,ALG,2,math,Fall\nsch1,sec2,te2,,History 7,1,7,History,HIS,3,social studies,Fall\n".as_slice(),
            ),
            (
                "enrollments.csv",
                b"School_id,Section_id,Student_id\nsch1,sec1,st1\nsch1,sec1,st2\nsch1,sec2,st2".as_slice(),
            ),
        ],
    );
    let summary = json(&db, &["import", set.to_str().unwrap(), "--json"]);
    assert_eq!(summary["format"], "clever");
    assert_eq!(summary["errors"], serde_json::json!([]));
    assert_eq!(
        classes(&db),
        vec![
            class("sec1", "Algebra 3", 2, &["Amelie Dubois", "Hemi Walker"]),
            class("sec2", "History 7", 1, &["Hemi Walker"]),
        ],
        "an unnamed section is its course and number; Teacher_id leads"
    );
    assert_eq!(sis_ids(&db, &["--teacher", "te1"]), ["st1", "st2"]);
}

#[test]
fn cases21_home_groups_are_classes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let export = dir.path().join("eduhub");
    std::fs::create_dir_all(&export).unwrap();
    cases21_school(&export);
    let summary = json(&db, &["import", export.to_str().unwrap(), "--json"]);
    assert_eq!(summary["errors"], serde_json::json!([]));
    let ids: Vec<String> = classes(&db).into_iter().map(|c| c.0).collect();
    // Seán has left (DEL): his 06A is no class of anyone's.
    assert_eq!(ids, ["00A", "03A", "04B"]);
    assert_eq!(classes(&db)[1].1, "Home group 03A");
    assert_eq!(sis_ids(&db, &["--class", "04B"]), ["GAR0001"]);
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn sds_classic_and_v2_sections_are_classes() {
    let dir = tempfile::tempdir().unwrap();
    for (set, want) in [
        (
            "sds-classic-us",
            vec![
                class("11001", "Math - Algebra 1", 2, &[]),
                class("11002", "Math - Algebra 2", 2, &[]),
            ],
        ),
        ("sds-classic-uk", vec![class("31001", "7X Maths", 2, &[])]),
        // Its Enrollments.csv is empty: classes, nobody in them yet.
        (
            "sds-v2",
            vec![
                class("11001", "Math - Algebra 1", 0, &[]),
                class("11002", "Math - Algebra 2", 0, &[]),
            ],
        ),
    ] {
        let db = dir.path().join(format!("{set}.db"));
        let summary = json(&db, &["import", fixture(set).to_str().unwrap(), "--json"]);
        assert_eq!(summary["errors"], serde_json::json!([]), "{set}");
        assert_eq!(classes(&db), want, "{set}");
    }
    let db = dir.path().join("sds-classic-us.db");
    assert_eq!(sis_ids(&db, &["--class", "11001"]), ["13001", "13002"]);
}

fn manifest(files: &[(&str, &str)]) -> String {
    let mut m =
        String::from("propertyName,value\r\nmanifest.version,1.0\r\noneroster.version,1.1\r\n");
    for (file, scope) in files {
        m.push_str(&format!("file.{file},{scope}\r\n"));
    }
    m
}

fn header(csv: &str) -> String {
    csv.lines().next().unwrap().to_owned() + "\r\n"
}

#[test]
fn each_oneroster_file_keeps_its_own_scope() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let full = oneroster(dir.path(), "full", CLASSES, ENROLLMENTS);
    json(&db, &["import", full.to_str().unwrap(), "--json"]);

    // The usual nightly change file: enrollments only, no classes file.
    let nightly = bundle(
        dir.path(),
        "nightly",
        &[
            (
                "manifest.csv",
                manifest(&[
                    ("orgs", "absent"),
                    ("users", "delta"),
                    ("classes", "absent"),
                    ("enrollments", "delta"),
                ])
                .as_bytes(),
            ),
            ("users.csv", header(USERS).as_bytes()),
            (
                "enrollments.csv",
                (header(ENROLLMENTS) + "e40,active,,c2,sch1,s2,student,false,,\r\n").as_bytes(),
            ),
        ],
    );
    let s = json(&db, &["import", nightly.to_str().unwrap(), "--json"]);
    assert_eq!(s["errors"], serde_json::json!([]));
    assert_eq!(s["classes_updated"], 1);
    assert_eq!(sis_ids(&db, &["--class", "c2"]), ["s1", "s2"]);
    assert_eq!(
        sis_ids(&db, &["--class", "c1"]),
        ["s1", "s2"],
        "others untouched"
    );

    // Full classes with changed enrollments: members not named stay.
    let mixed = bundle(
        dir.path(),
        "mixed",
        &[
            (
                "manifest.csv",
                manifest(&[
                    ("orgs", "bulk"),
                    ("users", "bulk"),
                    ("classes", "bulk"),
                    ("enrollments", "delta"),
                ])
                .as_bytes(),
            ),
            ("orgs.csv", ORGS.as_bytes()),
            ("users.csv", USERS.as_bytes()),
            ("classes.csv", CLASSES.as_bytes()),
            (
                "enrollments.csv",
                (header(ENROLLMENTS) + "e2,tobedeleted,,c1,sch1,s2,student,false,,\r\n").as_bytes(),
            ),
        ],
    );
    let s = json(&db, &["import", mixed.to_str().unwrap(), "--json"]);
    assert_eq!(s["errors"], serde_json::json!([]));
    assert_eq!(sis_ids(&db, &["--class", "c1"]), ["s1"]);
    assert_eq!(sis_ids(&db, &["--class", "c2"]), ["s1", "s2"]);
    assert_eq!(sis_ids(&db, &["--class", "hr8"]), ["s3"]);
}

#[test]
fn a_class_marked_gone_is_removed_once_with_its_enrollments() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let full = oneroster(dir.path(), "full", CLASSES, ENROLLMENTS);
    json(&db, &["import", full.to_str().unwrap(), "--json"]);
    // A full export that still lists Room 8, marked gone.
    let gone = oneroster(
        dir.path(),
        "gone",
        &CLASSES.replace("hr8,active", "hr8,tobedeleted"),
        ENROLLMENTS,
    );
    let s = json(&db, &["import", gone.to_str().unwrap(), "--json"]);
    assert_eq!(
        s["errors"],
        serde_json::json!([]),
        "its enrollments are no error"
    );
    assert_eq!(s["classes_removed"], 1);
    let removals = audit_actions(&db)
        .iter()
        .filter(|a| *a == "class.remove")
        .count();
    assert_eq!(removals, 1);

    // A change file dropping a class with its enrollments is accepted too.
    let dir2 = tempfile::tempdir().unwrap();
    let db2 = dir2.path().join("k.db");
    json(&db2, &["import", full.to_str().unwrap(), "--json"]);
    let delta = bundle(
        dir2.path(),
        "delta",
        &[
            (
                "manifest.csv",
                manifest(&[("orgs", "absent"), ("users", "delta"), ("classes", "delta"), ("enrollments", "delta")]).as_bytes(),
            ),
            ("users.csv", header(USERS).as_bytes()),
            (
                "classes.csv",
                (header(CLASSES) + "hr8,tobedeleted,,Room 8,08,,8R,homeroom,,sch1,,,,\r\n").as_bytes(),
            ),
            (
                "enrollments.csv",
                (header(ENROLLMENTS) + "e7,tobedeleted,,hr8,sch1,s3,student,false,,\r\ne8,tobedeleted,,hr8,sch1,t2,teacher,true,,\r\n").as_bytes(),
            ),
        ],
    );
    let s = json(&db2, &["import", delta.to_str().unwrap(), "--json"]);
    assert_eq!(s["errors"], serde_json::json!([]));
    assert_eq!(s["classes_removed"], 1);
}

#[test]
fn rows_left_out_take_nothing_away_from_classes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let full = oneroster(dir.path(), "full", CLASSES, ENROLLMENTS);
    json(&db, &["import", full.to_str().unwrap(), "--json"]);
    let before = classes(&db);
    // Maths names a school that is not there; Zoë's row has a bad email.
    let users = USERS.replace("Zoë,Ngata,,,,", "Zoë,Ngata,,,not-an-email,");
    let broken = bundle(
        dir.path(),
        "broken",
        &[
            (
                "manifest.csv",
                manifest(&[
                    ("orgs", "bulk"),
                    ("users", "bulk"),
                    ("classes", "bulk"),
                    ("enrollments", "bulk"),
                ])
                .as_bytes(),
            ),
            ("orgs.csv", ORGS.as_bytes()),
            ("users.csv", users.as_bytes()),
            (
                "classes.csv",
                CLASSES
                    .replace("7MA,scheduled,,sch1", "7MA,scheduled,,sch9")
                    .as_bytes(),
            ),
            ("enrollments.csv", ENROLLMENTS.as_bytes()),
        ],
    );
    let s = json(
        &db,
        &[
            "import",
            broken.to_str().unwrap(),
            "--skip-invalid",
            "--json",
        ],
    );
    assert_eq!(s["rejected"], 2, "{s:#}");
    assert_eq!(s["classes_removed"], 0);
    assert_eq!(classes(&db), before, "Maths kept; Zoë still in her classes");
    assert_eq!(sis_ids(&db, &["--class", "c2"]), ["s1"]);
}

#[test]
fn a_clever_section_names_all_its_teachers_and_an_unknown_one_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let upload = |name: &str, sections: &str| {
        bundle(
            dir.path(),
            name,
            &[
                ("schools.csv", b"School_id,School_name\n1,Hillcrest\n".as_slice()),
                ("students.csv", b"School_id,Student_id,Last_name,First_name\n1,st1,Ngata,Zoe\n".as_slice()),
                (
                    "teachers.csv",
                    b"School_id,Teacher_id,Last_name,First_name\n1,te1,Dubois,Amelie\n1,te2,Walker,Hemi\n".as_slice(),
                ),
                ("sections.csv", sections.as_bytes()),
                ("enrollments.csv", b"School_id,Section_id,Student_id\n1,sec1,st1\n".as_slice()),
            ],
        )
    };
    let first = upload(
        "a",
        "School_id,Section_id,Teacher_id,Name\n1,sec1,te1,Algebra\n",
    );
    json(&db, &["import", first.to_str().unwrap(), "--json"]);
    assert_eq!(sis_ids(&db, &["--teacher", "te1"]), ["st1"]);
    // The section changes hands, and also names a teacher Clever did not send.
    let second = upload(
        "b",
        "School_id,Section_id,Teacher_id,Teacher_2_id,Name\n1,sec1,te2,te9,Algebra\n",
    );
    let run = keyroll(&db, &["import", second.to_str().unwrap(), "--json"]);
    assert_eq!(run.code, 0, "a warning does not refuse: {}", run.stderr);
    let s: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(s["warnings"], 1);
    assert_eq!(s["errors"][0]["outcome"], "imported with warning");
    assert!(
        s["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("\"te9\""),
        "{s:#}"
    );
    assert_eq!(
        classes(&db),
        vec![class("sec1", "Algebra", 1, &["Hemi Walker"])]
    );
    assert!(
        sis_ids(&db, &["--teacher", "te1"]).is_empty(),
        "the old teacher is gone"
    );
}

#[test]
fn rolling_back_an_import_whose_people_a_later_import_put_in_a_class_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    // Import 1: people and classes without Mia (s3). Import 2 adds Mia.
    let without = |s: &str| {
        s.lines()
            .filter(|l| !l.contains("s3"))
            .map(|l| format!("{l}\r\n"))
            .collect::<String>()
    };
    let first = oneroster(dir.path(), "first", CLASSES, &without(ENROLLMENTS));
    let first_users = bundle(
        dir.path(),
        "first-users",
        &[
            (
                "manifest.csv",
                manifest(&[
                    ("orgs", "bulk"),
                    ("users", "bulk"),
                    ("classes", "absent"),
                    ("enrollments", "absent"),
                ])
                .as_bytes(),
            ),
            ("orgs.csv", ORGS.as_bytes()),
            ("users.csv", USERS.as_bytes()),
        ],
    );
    json(&db, &["import", first_users.to_str().unwrap(), "--json"]);
    json(&db, &["import", first.to_str().unwrap(), "--json"]);
    let _ = first;
    // Import 3 puts Mia (created by import 1) in c1.
    let third = oneroster(
        dir.path(),
        "third",
        CLASSES,
        &(without(ENROLLMENTS) + "e50,active,,c1,sch1,s3,student,false,,\r\n"),
    );
    json(&db, &["import", third.to_str().unwrap(), "--json"]);
    assert_eq!(sis_ids(&db, &["--class", "c1"]), ["s1", "s2", "s3"]);
    let run = keyroll(&db, &["imports", "rollback", "1"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stderr.contains("later import"), "{}", run.stderr);
    assert_eq!(
        sis_ids(&db, &["--class", "c1"]),
        ["s1", "s2", "s3"],
        "nothing changed"
    );
}

#[test]
fn a_class_id_two_schools_share_must_say_which() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    for site in ["8888", "9999"] {
        let export = dir.path().join(format!("eduhub-{site}"));
        std::fs::create_dir_all(&export).unwrap();
        cases21_school(&export);
        if site != "8888" {
            for t in ["ST", "DF", "SF"] {
                std::fs::rename(
                    export.join(format!("{t}_8888.csv")),
                    export.join(format!("{t}_{site}.csv")),
                )
                .unwrap();
            }
        }
        json(&db, &["import", export.to_str().unwrap(), "--json"]);
    }
    let run = keyroll(&db, &["accounts", "list", "--class", "03A"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("cases21:8888:03A or cases21:9999:03A"),
        "{}",
        run.stderr
    );
    let one = json(
        &db,
        &["accounts", "list", "--class", "cases21:9999:03A", "--json"],
    );
    let one = one.as_array().unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["source"], "cases21:9999");
}

#[test]
fn a_class_filter_never_reaches_someone_who_is_staff_now() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let full = oneroster(dir.path(), "full", CLASSES, ENROLLMENTS);
    json(&db, &["import", full.to_str().unwrap(), "--json"]);
    // Liam's record becomes a staff member's (a data-entry fix in the SIS);
    // this export says nothing of classes, so his enrollment stays stored.
    let users = USERS.replace(
        "s2,active,,true,sch1,student",
        "s2,active,,true,sch1,teacher",
    );
    let fixed = bundle(
        dir.path(),
        "fixed",
        &[
            (
                "manifest.csv",
                manifest(&[("orgs", "bulk"), ("users", "bulk")]).as_bytes(),
            ),
            ("orgs.csv", ORGS.as_bytes()),
            ("users.csv", users.as_bytes()),
        ],
    );
    json(&db, &["import", fixed.to_str().unwrap(), "--json"]);
    assert_eq!(sis_ids(&db, &["--class", "c1"]), ["s1"]);
    assert_eq!(sis_ids(&db, &["--teacher", "t1"]), ["s1"]);
}

#[test]
fn a_class_listed_twice_keeps_its_first_row_and_all_its_members() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let twice = CLASSES.to_owned() + "c1,active,,Maths again,07,m7,7MA,scheduled,,sch1,,,,\r\n";
    let set = oneroster(dir.path(), "twice", &twice, ENROLLMENTS);
    let s = json(
        &db,
        &["import", set.to_str().unwrap(), "--skip-invalid", "--json"],
    );
    assert_eq!(s["rejected"], 1, "{s:#}");
    assert!(s["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("already used on line 2"));
    assert_eq!(sis_ids(&db, &["--class", "c1"]), ["s1", "s2"]);
    assert_eq!(
        classes(&db)[0],
        class("c1", "Maths 7", 2, &["Amélie Dubois", "Hemi Walker"])
    );
}

#[test]
fn a_clever_upload_without_its_staff_file_leaves_teachers_in_their_classes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let upload = |name: &str, with_teachers: bool| {
        let mut files: Vec<(&str, &[u8])> = vec![
            (
                "schools.csv",
                b"School_id,School_name\n1,Hillcrest\n".as_slice(),
            ),
            (
                "students.csv",
                b"School_id,Student_id,Last_name,First_name\n1,st1,Ngata,Zoe\n".as_slice(),
            ),
            // Named twice in one row: still the lead.
            (
                "sections.csv",
                b"School_id,Section_id,Teacher_id,Teacher_2_id,Name\n1,sec1,te1,te1,Algebra\n"
                    .as_slice(),
            ),
            (
                "enrollments.csv",
                b"School_id,Section_id,Student_id\n1,sec1,st1\n".as_slice(),
            ),
        ];
        if with_teachers {
            files.push((
                "teachers.csv",
                b"School_id,Teacher_id,Last_name,First_name\n1,te1,Dubois,Amelie\n".as_slice(),
            ));
        }
        bundle(dir.path(), name, &files)
    };
    json(
        &db,
        &["import", upload("a", true).to_str().unwrap(), "--json"],
    );
    let s = json(
        &db,
        &["import", upload("b", false).to_str().unwrap(), "--json"],
    );
    assert_eq!(
        s["errors"],
        serde_json::json!([]),
        "no warnings about teachers: {s:#}"
    );
    assert_eq!(
        classes(&db),
        vec![class("sec1", "Algebra", 1, &["Amelie Dubois"])]
    );
    assert_eq!(sis_ids(&db, &["--teacher", "te1"]), ["st1"]);
    let actions = audit_actions(&db);
    assert!(!actions.iter().any(|a| a == "class.update"), "{actions:?}");
}
