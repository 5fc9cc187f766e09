//! Microsoft School Data Sync classic ("SDS v1") exports, US and UK: the
//! fixtures in tests/fixtures are written in Microsoft's published headers
//! (with CRLF, no final newline, file names in any case, an empty optional
//! file), and imported with no mapping step.

mod common;

use common::*;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn store(db: &Path) -> keyroll_core::Store {
    let key = keyroll_core::DbKey::from_hex(KEY).unwrap();
    keyroll_core::Store::open(db, &key).unwrap()
}

/// Every raw field kept, and every birth date, for checking what was stored.
fn stored(db: &Path, column: &str) -> String {
    store(db)
        .conn()
        .query_row(
            &format!("SELECT group_concat({column}, '|') FROM person"),
            [],
            |r| r.get(0),
        )
        .unwrap()
}

fn birth_date(db: &Path, sis_id: &str) -> String {
    store(db)
        .conn()
        .query_row(
            "SELECT birth_date FROM person WHERE sis_id = ?1",
            [sis_id],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn a_us_export_imports_students_teachers_and_guardians_without_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let set = fixture("sds-classic-us");
    let summary = json(&db, &["import", set.to_str().unwrap(), "--json"]);
    assert_eq!(summary["format"], "sds-classic");
    assert_eq!(summary["format_title"], "School Data Sync (classic)");
    assert_eq!(
        (
            summary["new"].as_u64(),
            summary["orgs_new"].as_u64(),
            summary["links_new"].as_u64(),
            summary["rejected"].as_u64()
        ),
        (Some(8), Some(2), Some(3), Some(0)),
        "{summary}"
    );

    let people = json(&db, &["accounts", "list", "--json"]);
    let ora = person_in(&people, "13001");
    assert_eq!(
        (&ora["kind"], &ora["school"], &ora["year_level"]),
        (&"student".into(), &"10001".into(), &"9".into())
    );
    assert_eq!(ora["middle_name"], "Christopher");
    assert_eq!(
        person_in(&people, "13002")["email"],
        "beulah.mcmillan@example.org"
    );
    assert_eq!(person_in(&people, "13003")["status"], "inactive");
    assert_eq!(person_in(&people, "13004")["year_level"], "12");
    let daisy = person_in(&people, "14002");
    assert_eq!(
        (&daisy["kind"], &daisy["school"]),
        (&"staff".into(), &"10002".into())
    );
    assert_eq!(daisy["year_level"], "", "a teacher has no year level");
    assert_eq!(
        person_in(&people, "14001")["email"],
        "craig.beane@example.org"
    );

    // Birthdates as the US files write them (month first), ISO and YYYYMMDD.
    assert_eq!(birth_date(&db, "13001"), "2000-04-02");
    assert_eq!(birth_date(&db, "13002"), "1999-11-12");
    assert_eq!(birth_date(&db, "13003"), "2001-02-28");
    assert_eq!(birth_date(&db, "13004"), "1999-03-15");

    // Guardians: Ben by his SIS ID (his Email matched in any case), Jean by
    // her email, guardian of Beulah but only a relative of Florence.
    let ben = person_in(&people, "20001");
    assert_eq!(ben["kind"], "parent");
    assert_eq!(ben["children"], serde_json::json!(["13001"]));
    let jean = people
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["email"] == "jean.craig@example.org")
        .unwrap();
    assert_eq!(jean["kind"], "parent");
    let mut kids = jean["children"].as_array().unwrap().clone();
    kids.sort_by_key(|v| v.to_string());
    assert_eq!(
        kids,
        [serde_json::json!("13002"), serde_json::json!("13003")]
    );
    let responsible = |student: &str| -> bool {
        store(&db)
            .conn()
            .query_row(
                "SELECT r.parental_responsibility FROM relationship r
                 JOIN person s ON s.id = r.student_id JOIN person c ON c.id = r.contact_id
                 WHERE s.sis_id = ?1 AND c.email = 'jean.craig@example.org'",
                [student],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert!(responsible("13002"));
    assert!(!responsible("13003"));

    // The Password column is never stored; the Username is kept as a field.
    let raw = stored(&db, "raw");
    assert!(raw.contains("OKlein"), "{raw}");
    assert!(!raw.contains("Kx7!pass"), "{raw}");
    assert!(!raw.contains("Password"), "{raw}");

    // Importing it again changes nothing.
    let again = json(&db, &["import", set.to_str().unwrap(), "--json"]);
    assert_eq!(
        (again["new"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(8))
    );
}

#[test]
fn a_uk_export_reads_dfe_numbers_and_day_first_dates() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let set = fixture("sds-classic-uk");
    let summary = json(&db, &["import", set.to_str().unwrap(), "--json"]);
    assert_eq!(summary["format"], "sds-classic");
    assert_eq!(
        (summary["new"].as_u64(), summary["orgs_new"].as_u64()),
        (Some(5), Some(1)),
        "{summary}"
    );
    let people = json(&db, &["accounts", "list", "--json"]);
    let amelia = person_in(&people, "23001");
    assert_eq!(
        (&amelia["kind"], &amelia["school"], &amelia["year_level"]),
        (&"student".into(), &"8884001".into(), &"7".into())
    );
    assert_eq!(amelia["family_name"], "O'Connor");
    assert_eq!(person_in(&people, "23003")["year_level"], "13");
    assert_eq!(person_in(&people, "24001")["kind"], "staff");
    assert_eq!(
        person_in(&people, "24002")["email"],
        "tom.hughes@example.org.uk"
    );
    assert_eq!(birth_date(&db, "23001"), "2012-12-25");
    assert_eq!(
        birth_date(&db, "23002"),
        "2011-04-03",
        "day first in the UK"
    );
    let raw = stored(&db, "raw");
    assert!(!raw.contains("Uk!secret"), "{raw}");
}

#[test]
fn headers_in_any_case_and_spacing_are_read_and_problems_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let set = bundle(
        dir.path(),
        "loose",
        &[
            ("school.csv", b"Sis Id,NAME\r\n1,Hillcrest\r\n".as_slice()),
            (
                "student.csv",
                b"SISID,school sis id,first name,LAST NAME,password,grade,birthdate,status\r\n\
                  s1,1,Ana,Lima,hunter2,5,,Active\r\n\
                  s2,9,Ben,Okafor,hunter2,5,,Active\r\n\
                  s3,1,Cleo,Park,hunter2,5,2015-02-30,Graduated\r\n\
                  s1,1,Dana,Lima,hunter2,5,,Active"
                    .as_slice(),
            ),
            (
                "teacher.csv",
                b"sis_id,School_SIS_ID,First_Name,Last_Name\r\ns1,1,Eve,Ng\r\nt1,1,Finn,Ray"
                    .as_slice(),
            ),
            (
                "user.csv",
                b"Email,First Name,Last Name,Phone,SIS ID\r\ngus@example.org,Gus,Lima,,".as_slice(),
            ),
            (
                "guardianrelationship.csv",
                b"SIS ID,Email,Role\r\ns1,gus@example.org,wizard\r\ns1,nobody@example.org,Parent"
                    .as_slice(),
            ),
        ],
    );
    let r = keyroll(&db, &["import", set.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    for expected in [
        "student.csv:4:7: birthdate: \"2015-02-30\" is not a date",
        "student.csv:3:2: school sis id: school \"9\" is not in School.csv",
        "student.csv:4:8: status: unknown status \"graduated\"",
        "student.csv:5:1: SISID: SISID \"s1\" is already used (student.csv:2)",
        "teacher.csv:2:1: sis_id: sis_id \"s1\" is already used (student.csv:2)",
        "guardianrelationship.csv:2:3: Role: unknown role \"wizard\"",
        "guardianrelationship.csv:3:2: Email: no one in User.csv has the Email \"nobody@example.org\"",
    ] {
        assert!(
            r.stderr.contains(expected),
            "missing {expected:?} in:\n{}",
            r.stderr
        );
    }
    assert!(!r.stderr.contains("hunter2"));
    assert!(json(&db, &["accounts", "list", "--json"])
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn a_classic_set_without_its_teachers_or_with_half_the_guardian_pair_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let school = b"SIS ID,Name\n1,Hillcrest\n".as_slice();
    let student = b"SIS ID,School SIS ID,First Name,Last Name\ns1,1,Ana,Lima\n".as_slice();
    let no_teachers = bundle(
        dir.path(),
        "no-teachers",
        &[("School.csv", school), ("Student.csv", student)],
    );
    let r = keyroll(&db, &["import", no_teachers.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("Teacher.csv is missing"), "{}", r.stderr);

    let half = bundle(
        dir.path(),
        "half",
        &[
            ("School.csv", school),
            ("Student.csv", student),
            (
                "Teacher.csv",
                b"SIS ID,School SIS ID,First Name,Last Name\n".as_slice(),
            ),
            (
                "User.csv",
                b"Email,First Name,Last Name,Phone,SIS ID\n".as_slice(),
            ),
        ],
    );
    let r = keyroll(&db, &["import", half.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("come as a pair"), "{}", r.stderr);

    // Without the guardian files, the teachers and students import.
    std::fs::remove_file(half.join("User.csv")).unwrap();
    let summary = json(&db, &["import", half.to_str().unwrap(), "--json"]);
    assert_eq!(summary["format"], "sds-classic");
    assert_eq!(summary["new"].as_u64(), Some(1));
}
