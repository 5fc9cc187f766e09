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
    let errors: Vec<String> = summary["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}:{}:{}: {}",
                e["file"].as_str().unwrap(),
                e["line"],
                e["field"].as_str().unwrap(),
                e["reason"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        errors,
        [
            "enrollments.csv:13:role: unknown role \"janitor\" (expected student, teacher, administrator, aide…)",
            "enrollments.csv:10:userSourcedId: \"ghost\" is not a person in the export",
            "enrollments.csv:11:userSourcedId: \"t1\" is staff in the export, so cannot be in a class as a student",
            "enrollments.csv:12:classSourcedId: class \"c9\" is not in the export's classes",
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
