//! Plain CSV files and spreadsheets read with a column mapping: a Windows-1252
//! semicolon list with contact columns, a real .xlsx workbook with number and
//! date cells, saved mappings offered again for the same header, and
//! mappings that do not fit.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

const HEADER: &str = "Adno;Legal Surname;Legal Forename;Preferred Forename;Year;Reg;DOB;\
    Enrolment Status;Contact 1 Title;Contact 1 Forename;Contact 1 Surname;Contact 1 Email;\
    Contact 1 Relationship;Contact 1 Parental Responsibility;Contact 2 Forename;Contact 2 Surname;\
    Contact 2 Email;Contact 2 Relationship;Contact 2 Parental Responsibility";

/// A pupil list as a UK MIS report writes it: Windows-1252, semicolons, CRLF.
fn pupils(dir: &Path, rows: &[&str]) -> PathBuf {
    let mut all = vec![HEADER];
    all.extend_from_slice(rows);
    write_cp1252(dir, "pupils.csv", &all);
    dir.join("pupils.csv")
}

const ROWS: &[&str] = &[
    "001234;O'Brien;Zoë;Zo;Year 3;3B;23/04/2016;On roll;Mrs;Siobhán;O'Brien;siobhan@mail.example;Mother;Yes;Máire;Walsh;;Grandmother;No",
    "001235;O'Brien;Seán;;Year 6;6A;02/11/2012;On roll;Mrs;Siobhán;O'Brien;siobhan@mail.example;Mother;Yes;;;;;",
    "001236;Müller;Jürgen;;Year 1;1C;31/12/2018;Off roll (pending);;Anna;Müller;anna.mueller@mail.example;Mother;Yes;Karl;Müller;anna.mueller@mail.example;Father;Yes",
];

const MAPPING: &str = r#"{
  "name": "SIMS pupils",
  "source": "sims",
  "kind": "student",
  "dates": "dmy",
  "columns": {
    "sis_id": "Adno",
    "given_name": "Legal Forename",
    "family_name": "Legal Surname",
    "preferred_name": "Preferred Forename",
    "year_level": "Year",
    "home_group": "Reg",
    "birth_date": "DOB",
    "status": "Enrolment Status"
  },
  "statuses": { "Off roll (pending)": "leaving" },
  "contacts": [
    { "given_name": "Contact 1 Forename", "family_name": "Contact 1 Surname",
      "email": "Contact 1 Email", "relationship": "Contact 1 Relationship",
      "responsible": "Contact 1 Parental Responsibility" },
    { "given_name": "Contact 2 Forename", "family_name": "Contact 2 Surname",
      "email": "Contact 2 Email", "relationship": "Contact 2 Relationship",
      "responsible": "Contact 2 Parental Responsibility" }
  ]
}"#;

fn responsibility(db: &Path) -> Vec<(String, String, bool)> {
    let key = keyroll_core::DbKey::from_hex(KEY).unwrap();
    let store = keyroll_core::Store::open(db, &key).unwrap();
    let mut st = store
        .conn()
        .prepare(
            "SELECT s.sis_id, c.given_name, r.parental_responsibility FROM relationship r
             JOIN person s ON s.id = r.student_id JOIN person c ON c.id = r.contact_id
             ORDER BY s.sis_id, c.given_name",
        )
        .unwrap();
    let rows = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

#[test]
fn a_mapped_list_imports_and_its_mapping_comes_back_for_the_same_header() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let file = pupils(dir.path(), ROWS);
    let mapping = dir.path().join("sims.json");
    std::fs::write(&mapping, MAPPING).unwrap();

    // Without a mapping the office is told what to do, and nothing is read.
    let r = keyroll(&db, &["import", file.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("keyroll mappings suggest") && r.stderr.contains("Legal Forename"),
        "{}",
        r.stderr
    );

    let r = ok(
        &db,
        &[
            "import",
            file.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
        ],
    );
    assert!(
        r.stdout.contains(
            "pupils.csv (Windows-1252, semicolon) as CSV or spreadsheet with a column mapping"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("Imported: 7 new, 0 updated, 0 leaving"),
        "3 pupils and 4 parents (Jürgen's parents share one email): {}",
        r.stdout
    );
    let people = json(&db, &["accounts", "list", "--json"]);
    let zoe = person_in(&people, "001234");
    assert_eq!(
        (&zoe["given_name"], &zoe["preferred_name"], &zoe["source"]),
        (
            &Value::from("Zoë"),
            &Value::from("Zo"),
            &Value::from("csv:sims")
        )
    );
    assert_eq!(
        (&zoe["year_level"], &zoe["home_group"]),
        (&Value::from("Year 3"), &Value::from("3B"))
    );
    assert_eq!(person_in(&people, "001236")["status"], "leaving");
    let siobhan = people
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["given_name"] == "Siobhán")
        .unwrap();
    assert_eq!(siobhan["kind"], "parent");
    let mut kids: Vec<&str> = siobhan["children"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    kids.sort();
    assert_eq!(kids, ["001234", "001235"], "siblings' rows name one mother");
    assert_eq!(
        responsibility(&db),
        [
            ("001234".into(), "Máire".into(), false),
            ("001234".into(), "Siobhán".into(), true),
            ("001235".into(), "Siobhán".into(), true),
            ("001236".into(), "Anna".into(), true),
            ("001236".into(), "Karl".into(), true),
        ]
    );

    // The mapping was saved under its name, audited.
    let saved = json(&db, &["mappings", "list", "--json"]);
    assert_eq!(saved[0]["name"], "SIMS pupils");
    let audit = ok(&db, &["audit"]).stdout;
    assert!(audit.contains("mapping.create"), "{audit}");

    // The same header again (a later export, rows changed): the saved
    // mapping is used, and the dry run shows the change field by field.
    let changed: Vec<String> = ROWS
        .iter()
        .map(|r| r.replace(";3B;", ";4B;").replace("Year 3", "Year 4"))
        .collect();
    let changed: Vec<&str> = changed.iter().map(String::as_str).collect();
    let file = pupils(dir.path(), &changed);
    let dry = json(
        &db,
        &["import", file.to_str().unwrap(), "--dry-run", "--json"],
    );
    assert_eq!(dry["format"], "csv");
    assert_eq!(
        (dry["updated"].as_u64(), dry["new"].as_u64()),
        (Some(1), Some(0)),
        "{dry}"
    );
    let change = &dry["changes"][0];
    assert_eq!(change["name"], "Zoë O'Brien");
    assert_eq!(
        change["fields"],
        serde_json::json!([
            { "field": "year_level", "before": "Year 3", "after": "Year 4" },
            { "field": "home_group", "before": "3B", "after": "4B" }
        ])
    );
}

#[test]
fn a_mapping_that_does_not_fit_names_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let file = pupils(dir.path(), ROWS);
    let mapping = dir.path().join("bad.json");
    std::fs::write(
        &mapping,
        r#"{ "name": "x", "kind": "student",
             "columns": { "sis_id": "UPN", "given_name": "Legal Forename", "nickname": "Preferred Forename" } }"#,
    )
    .unwrap();
    let r = keyroll(
        &db,
        &[
            "import",
            file.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 1);
    for want in [
        "pupils.csv:1:0: UPN: the mapping reads sis_id from column \"UPN\", which this file does not have",
        "pupils.csv:1:0: nickname: the mapping names an unknown field \"nickname\"",
        "pupils.csv:1:0: family_name: the mapping does not say which column holds the Last name",
    ] {
        assert!(r.stderr.contains(want), "missing {want:?} in:\n{}", r.stderr);
    }

    // Not JSON at all: the file and place are named.
    std::fs::write(&mapping, "{ \"name\": \"x\",\n  oops }").unwrap();
    let r = keyroll(
        &db,
        &[
            "import",
            file.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("bad.json:2:"), "{}", r.stderr);
}

#[test]
fn suggest_guesses_the_columns_and_contact_slots() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let file = pupils(dir.path(), ROWS);
    let m = json(&db, &["mappings", "suggest", file.to_str().unwrap()]);
    assert_eq!(m["columns"]["sis_id"], "Adno");
    assert_eq!(m["columns"]["given_name"], "Legal Forename");
    assert_eq!(m["columns"]["family_name"], "Legal Surname");
    assert_eq!(m["columns"]["birth_date"], "DOB");
    assert_eq!(m["contacts"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        m["contacts"][1]["responsible"],
        "Contact 2 Parental Responsibility"
    );
    assert_eq!(m["dates"], "dmy");

    // The suggestion reads the file; only the school's own status word
    // needs a decision, and the row is named.
    let path = dir.path().join("suggested.json");
    std::fs::write(&path, m.to_string()).unwrap();
    let r = keyroll(
        &db,
        &[
            "import",
            file.to_str().unwrap(),
            "--mapping",
            path.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(
            "pupils.csv:4:8: Enrolment Status: unknown status \"Off roll (pending)\" (expected \
             active, future, leaving, left or inactive); add it to the mapping's statuses"
        ),
        "{}",
        r.stderr
    );
    assert!(r.stdout.contains("Found: 4 new"), "{}", r.stdout);
}

#[test]
fn an_excel_workbook_imports_with_number_and_date_cells() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let path = dir.path().join("Staff list.xlsx");
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Staff").unwrap();
    let date = Format::new().set_num_format("dd/mm/yyyy");
    for (c, h) in [
        "Staff ID",
        "First name",
        "Surname",
        "Email",
        "Start date",
        "Job title",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    type Row<'a> = (f64, &'a str, &'a str, &'a str, (u16, u8, u8), &'a str);
    let rows: [Row; 3] = [
        (
            1001.0,
            "Hēmi",
            "Ngata",
            "hemi@school.example",
            (2019, 1, 28),
            "Teacher",
        ),
        (
            1002.0,
            "Zoë",
            "D'Arcy-Smith",
            "zoe@school.example",
            (2021, 9, 1),
            "Office manager",
        ),
        (
            1003.0,
            "Bad",
            "Email",
            "not-an-email",
            (2022, 4, 1),
            "Caretaker",
        ),
    ];
    for (i, (id, first, last, email, (y, m, d), title)) in rows.iter().enumerate() {
        let r = i as u32 + 1;
        sheet.write_number(r, 0, *id).unwrap();
        sheet.write_string(r, 1, *first).unwrap();
        sheet.write_string(r, 2, *last).unwrap();
        sheet.write_string(r, 3, *email).unwrap();
        let when = ExcelDateTime::from_ymd(*y, *m, *d).unwrap();
        sheet
            .write_datetime_with_format(r, 4, &when, &date)
            .unwrap();
        sheet.write_string(r, 5, *title).unwrap();
    }
    book.save(&path).unwrap();

    let mapping = dir.path().join("staff.json");
    std::fs::write(
        &mapping,
        r#"{ "name": "Staff list", "kind": "staff",
             "columns": { "sis_id": "Staff ID", "given_name": "First name", "family_name": "Surname",
                          "email": "Email", "role": "Job title" } }"#,
    )
    .unwrap();
    let args = [
        "import",
        path.to_str().unwrap(),
        "--mapping",
        mapping.to_str().unwrap(),
    ];
    // Spreadsheet rows and columns locate the bad cell: row 4, column D.
    let r = keyroll(&db, &args);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr
            .contains("Staff list.xlsx:4:4: Email: \"not-an-email\" is not an email address"),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout
            .contains("Staff list.xlsx (Excel workbook, sheet \"Staff\")"),
        "{}",
        r.stdout
    );

    let mut skip = args.to_vec();
    skip.push("--skip-invalid");
    ok(&db, &skip);
    let people = json(&db, &["accounts", "list", "--json"]);
    let hemi = person_in(&people, "1001");
    assert_eq!(
        (&hemi["kind"], &hemi["given_name"], &hemi["role"]),
        (
            &Value::from("staff"),
            &Value::from("Hēmi"),
            &Value::from("Teacher")
        ),
        "a number cell is an id without \".0\""
    );
    assert_eq!(person_in(&people, "1002")["family_name"], "D'Arcy-Smith");
    // Unmapped columns are kept, dates as dates.
    let key = keyroll_core::DbKey::from_hex(KEY).unwrap();
    let store = keyroll_core::Store::open(&db, &key).unwrap();
    let raw: String = store
        .conn()
        .query_row("SELECT raw FROM person WHERE sis_id = '1001'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(raw, r#"{"Start date":"2019-01-28"}"#);
}
