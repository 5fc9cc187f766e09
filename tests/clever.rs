//! Clever SFTP CSV: contacts as repeated student rows, staff at several
//! schools, the full-snapshot rule for leavers, and located errors.

mod common;

use common::*;
use serde_json::Value;

const SCHOOLS: &str = "School_id,School_name,School_number,Principal,Principal_email\r\n\
    S1,Hillside Elementary,101,Ann Lee,ann.lee@hillside.example\r\n\
    S2,\"Riverside Middle, East\",102,Bo Diaz,bo.diaz@riverside.example\r\n";

const STUDENT_HEADER: &str =
    "School_id,Student_id,Student_number,Last_name,Middle_name,First_name,\
    Grade,Dob,Student_email,Contact_relationship,Contact_type,Contact_name,Contact_phone,\
    Contact_phone_type,Contact_email,Contact_sis_id,Username,Password";

fn students(rows: &[&str]) -> String {
    let mut s = format!("{STUDENT_HEADER}\r\n");
    for r in rows {
        s.push_str(r);
        s.push_str("\r\n");
    }
    s
}

/// Zoë has her mother (primary, two phone rows) and a grandmother for
/// emergencies; her brother Liam shares the mother; Ana has no contact.
fn full_students() -> String {
    students(&[
        "S1,1001,1001,O'Brien,Anne,Zoë,3,04/23/2016,zoe@hillside.example,Parent,Primary,Mrs Siobhán O'Brien,555-0101,Cell,siobhan@mail.example,C-77,zobrien,Secret123!",
        "S1,1001,1001,O'Brien,Anne,Zoë,3,04/23/2016,zoe@hillside.example,Parent,Primary,Mrs Siobhán O'Brien,555-0199,Home,siobhan@mail.example,C-77,zobrien,Secret123!",
        "S1,1001,1001,O'Brien,Anne,Zoë,3,04/23/2016,zoe@hillside.example,Grandparent,Emergency,Máire Walsh,555-0222,Cell,,,zobrien,Secret123!",
        "S2,1002,1002,O'Brien,,Liam,7,11/02/2012,,Parent,Primary,Mrs Siobhán O'Brien,555-0101,Cell,siobhan@mail.example,C-77,lobrien,",
        "S2,1003,1003,García-López,,Ana,Kindergarten,2019-09-01,,,,,,,,,,",
    ])
}

const TEACHERS: &str =
    "School_id,Teacher_id,Teacher_number,Last_name,First_name,Teacher_email,Title,Password\r\n\
    S1,T1,900,Ngata,Hēmi,hemi.ngata@district.example,Music teacher,pw1\r\n\
    S2,T1,900,Ngata,Hēmi,hemi.ngata@district.example,Music teacher,pw1\r\n\
    S2,T2,901,Okafor,Chidi,chidi@district.example,,\r\n";

const STAFF: &str = "School_id,Staff_id,Staff_email,First_name,Last_name,Department,Title,Role\r\n\
    S1,ST9,pat@district.example,Pat,Kim,Office,Registrar,\r\n";

fn clever_set(dir: &std::path::Path, name: &str, students_csv: &str) -> std::path::PathBuf {
    bundle(
        dir,
        name,
        &[
            ("schools.csv", SCHOOLS.as_bytes()),
            ("students.csv", students_csv.as_bytes()),
            ("teachers.csv", TEACHERS.as_bytes()),
            ("staff.csv", STAFF.as_bytes()),
            (
                "sections.csv",
                b"School_id,Section_id,Teacher_id\r\nS1,X1,T1\r\n",
            ),
            (
                "enrollments.csv",
                b"School_id,Section_id,Student_id\r\nS1,X1,1001\r\n",
            ),
        ],
    )
}

#[test]
fn a_clever_export_imports_contacts_from_repeated_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let set = clever_set(dir.path(), "clever", &full_students());
    let summary = json(&db, &["import", set.to_str().unwrap(), "--json"]);
    assert_eq!(summary["format"], "clever", "{summary}");
    assert_eq!(summary["errors"], Value::Array(vec![]), "{summary}");
    // 3 students, 2 contacts, 3 staff.
    assert_eq!(summary["new"], 8, "{summary}");
    assert_eq!(summary["links_new"], 3, "{summary}");
    assert_eq!(summary["orgs_new"], 2, "{summary}");

    let people = json(&db, &["accounts", "list", "--json"]);
    let zoe = person_in(&people, "1001");
    assert_eq!(
        (&zoe["kind"], &zoe["given_name"], &zoe["middle_name"]),
        (
            &Value::from("student"),
            &Value::from("Zoë"),
            &Value::from("Anne")
        )
    );
    assert_eq!(zoe["year_level"], "3");
    assert_eq!(zoe["school"], "S1");
    let mother = person_in(&people, "C-77");
    assert_eq!(mother["kind"], "parent");
    assert_eq!(
        (&mother["given_name"], &mother["family_name"]),
        (&Value::from("Siobhán"), &Value::from("O'Brien")),
        "the title is not a name"
    );
    let mut kids: Vec<String> = mother["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    kids.sort();
    assert_eq!(kids, ["1001", "1002"], "siblings share one mother");
    let teacher = person_in(&people, "T1");
    assert_eq!(teacher["kind"], "staff");
    assert_eq!(teacher["school"], "S1,S2", "one teacher at two schools");
    assert_eq!(teacher["role"], "Music teacher");
    assert_eq!(person_in(&people, "ST9")["role"], "Registrar");

    // Responsibility and primary contact come from Contact_type and
    // Contact_relationship; the grandmother is an emergency contact only.
    let key = keyroll_core::DbKey::from_hex(KEY).unwrap();
    let store = keyroll_core::Store::open(&db, &key).unwrap();
    let links: Vec<(String, String, bool, bool)> = store
        .conn()
        .prepare(
            "SELECT s.sis_id, c.given_name, r.parental_responsibility, r.primary_contact
             FROM relationship r JOIN person s ON s.id = r.student_id
             JOIN person c ON c.id = r.contact_id ORDER BY s.sis_id, c.given_name",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        links,
        [
            ("1001".into(), "Máire".into(), false, false),
            ("1001".into(), "Siobhán".into(), true, true),
            ("1002".into(), "Siobhán".into(), true, true),
        ]
    );
    let (birth, mobile): (String, String) = store
        .conn()
        .query_row(
            "SELECT (SELECT birth_date FROM person WHERE sis_id = '1001'),
                    (SELECT mobile FROM person WHERE sis_id = 'C-77')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(birth, "2016-04-23", "Clever writes MM/DD/YYYY");
    assert_eq!(mobile, "555-0101", "the cell number, not the home one");
    let stored: String = store
        .conn()
        .query_row(
            "SELECT group_concat(raw) || (SELECT group_concat(coalesce(after, '')) FROM audit)
             FROM person",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(stored.contains("zobrien"), "other columns are kept");
    assert!(!stored.contains("Secret123!") && !stored.contains("pw1"));
    drop(store);

    // Re-importing the same files changes nothing.
    let again = json(&db, &["import", set.to_str().unwrap(), "--json"]);
    assert_eq!(
        (
            again["new"].as_u64(),
            again["updated"].as_u64(),
            again["unchanged"].as_u64()
        ),
        (Some(0), Some(0), Some(8)),
        "{again}"
    );

    // Clever lists only who is active: Ana missing from the next upload has
    // left, with the change shown field by field in the dry run.
    let without_ana = full_students().replace(
        "S2,1003,1003,García-López,,Ana,Kindergarten,2019-09-01,,,,,,,,,,\r\n",
        "",
    );
    let next = clever_set(dir.path(), "clever2", &without_ana);
    let dry = json(
        &db,
        &["import", next.to_str().unwrap(), "--dry-run", "--json"],
    );
    assert_eq!(dry["leaving"], 1, "{dry}");
    let change = &dry["changes"][0];
    assert_eq!(
        (&change["change"], &change["sis_id"], &change["name"]),
        (
            &Value::from("leaving"),
            &Value::from("1003"),
            &Value::from("Ana García-López")
        )
    );
    assert_eq!(change["fields"][0]["after"], "left");
}

#[test]
fn clever_rows_that_do_not_fit_are_reported_where_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let bad = students(&[
        "S1,1001,1001,O'Brien,,Zoë,3,,,,,,,,,,,",
        "S9,1002,1002,Lee,,Max,4,,,,,,,,,,,",
        "S1,1001,1001,Smith,,John,3,,,,,,,,,,,",
        "S1,1004,1004,Ng,,Kai,2,,,Parent,Primary,,555-0100,Cell,,,,",
        "S1,1005,1005,Roa,,Eli,2,23/04/2016,,,,,,,,,,",
        "S1,1005,1005,Roa,,Eli,2,23/04/2016,,Parent,,Ida Roa,,,,,,",
    ]);
    let set = clever_set(dir.path(), "bad", &bad);
    let r = keyroll(&db, &["import", set.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    for want in [
        "students.csv:3:1: School_id: school \"S9\" is not in schools.csv",
        "students.csv:4:2: Student_id: Student_id \"1001\" is already student Zoë O'Brien (students.csv:2); one id must name one person",
        "students.csv:5:12: Contact_name: the contact has details but no Contact_name",
        "students.csv:6:8: Dob: \"23/04/2016\" is not a date (expected MM/DD/YYYY)",
        "students.csv:7:2: Student_id: this student's row on line 6 was rejected, so this row is left out too",
    ] {
        assert!(r.stderr.contains(want), "missing {want:?} in:\n{}", r.stderr);
    }
    assert!(r.stdout.contains("Nothing imported"), "{}", r.stdout);
    let people = json(&db, &["accounts", "list", "--json"]);
    assert_eq!(people.as_array().map(Vec::len), Some(0));
}

#[test]
fn lowercase_headers_with_spaces_are_the_same_columns() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let set = bundle(
        dir.path(),
        "lower",
        &[
            ("Schools.csv", b"school id,school name\nS1,Hillside\n"),
            (
                "Students.csv",
                b"school id,student id,last name,first name,contact name,contact email,contact type\n\
                  S1,1,Ngata,Aroha,Mere Ngata,mere@mail.example,parent/guardian\n",
            ),
        ],
    );
    let summary = json(&db, &["import", set.to_str().unwrap(), "--json"]);
    assert_eq!(summary["format"], "clever", "{summary}");
    assert_eq!(
        (summary["new"].as_u64(), summary["links_new"].as_u64()),
        (Some(2), Some(1))
    );
}
