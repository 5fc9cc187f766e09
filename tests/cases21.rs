//! CASES21 eduHub: a small export written the way eduHub writes it (Windows-1252,
//! CRLF, `d/MM/yyyy h:mm:ss tt` dates, uppercase surnames), its change files,
//! and the demo school in the same format.

mod common;

use common::*;

#[test]
fn a_cases21_export_in_windows_1252_imports_with_families_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export");
    std::fs::create_dir(&export).unwrap();
    cases21_school(&export);
    let db = dir.path().join("k.db");
    let summary = json(&db, &["import", export.to_str().unwrap(), "--json"]);
    assert_eq!(summary["format"], "cases21");
    assert_eq!(summary["errors"], serde_json::json!([]));
    // 4 students, 4 adults (OBR0001 A and B, GAR0001 A, MÜL0001 A), 2 staff.
    assert_eq!(summary["new"].as_u64(), Some(10));

    let people = json(&db, &["accounts", "list", "--json"]);
    let find = |id: &str| person_in(&people, id);
    let zoe = find("OBR0001");
    assert_eq!(
        (&zoe["given_name"], &zoe["family_name"], &zoe["middle_name"]),
        (
            &"Zoë".into(),
            &"O'BRIEN".into(),
            &serde_json::Value::from("Renée")
        )
    );
    assert_eq!(zoe["home_group"], "03A");
    assert_eq!(zoe["year_level"], "03");
    assert_eq!(find("GAR0001")["preferred_name"], "Pepe");
    assert_eq!(find("GAR0002")["status"], "future");
    assert_eq!(
        find("OBR0002")["status"],
        "left",
        "DEL is a leaver, never deleted"
    );
    assert_eq!(find("ABC")["kind"], "staff");
    assert_eq!(find("ABC")["family_name"], "CHÂTEAU");
    assert_eq!(find("XYZ")["status"], "left");
    let mum = find("OBR0001-A");
    assert_eq!(mum["kind"], "parent");
    assert_eq!(
        (&mum["given_name"], &mum["email"]),
        (&"Siobhán".into(), &"siobhan@example.com".into())
    );
    let mut kids: Vec<String> = mum["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    kids.sort();
    assert_eq!(kids, ["OBR0001", "OBR0002"]);
    assert_eq!(
        find("MÜL0001-A")["children"],
        serde_json::json!(["OBR0001"])
    );

    // Links carry the family, who gets the mail, AR and NR.
    let key = keyroll_core::DbKey::from_hex(KEY).unwrap();
    let store = keyroll_core::Store::open(&db, &key).unwrap();
    let link = |student: &str, contact: &str| -> (String, bool, bool, bool, bool, bool) {
        store
            .conn()
            .query_row(
                "SELECT r.family_code, r.primary_family, r.parental_responsibility,
                        r.primary_contact, r.access_restricted, r.no_reports
                 FROM relationship r
                 JOIN person s ON s.id = r.student_id JOIN person c ON c.id = r.contact_id
                 WHERE s.sis_id = ?1 AND c.sis_id = ?2",
                [student, contact],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )
            .unwrap()
    };
    // CONTACT_A = B: adult B of Zoë's prime family receives the mail.
    assert_eq!(
        link("OBR0001", "OBR0001-A"),
        ("OBR0001".into(), true, true, false, false, false)
    );
    assert_eq!(
        link("OBR0001", "OBR0001-B"),
        ("OBR0001".into(), true, true, true, false, false)
    );
    // Her second family gets no academic reports.
    assert_eq!(
        link("OBR0001", "MÜL0001-A"),
        ("MÜL0001".into(), false, true, false, false, true)
    );
    // José: access restriction (AR) and no reports (NR) for his family.
    assert_eq!(
        link("GAR0001", "GAR0001-A"),
        ("GAR0001".into(), true, true, true, true, true)
    );
    // Every other column is kept, but never the password.
    let raw: String = store
        .conn()
        .query_row(
            "SELECT raw FROM person WHERE sis_id = 'OBR0001-A'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(raw.contains("Ms S & Mr L O'Brien") && raw.contains("\"TITLE_A\":\"Ms\""));
    assert!(
        !raw.contains("TITLE_B") && !raw.contains("hunter2"),
        "{raw}"
    );
    drop(store);

    // The same files again change nothing and write nothing.
    let audit_before = json(&db, &["audit", "--json"]).as_array().unwrap().len();
    let again = json(&db, &["import", export.to_str().unwrap(), "--json"]);
    assert_eq!(
        (again["new"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(10))
    );
    assert_eq!(again["applied"], false);
    let audit_after = json(&db, &["audit", "--json"]).as_array().unwrap().len();
    assert_eq!(audit_before, audit_after);

    // A change file overlays its full file: Inés starts, Zoë changes home group.
    write_cp1252(
        &export,
        "ST_8888_D.csv",
        &[
            ST_HEADER,
            "GAR0002,GARCÍA,Inés,,,GAR0001,N,C,,,,1/01/2020 12:00:00 AM,ACTV,00A,00,N,,",
            "OBR0001,O'BRIEN,Zoë,Renée,,OBR0001,Y,B,MÜL0001,N,zoe@students.example,5/03/2016 12:00:00 AM,ACTV,03B,03,N,,Y",
        ],
    );
    let delta = json(&db, &["import", export.to_str().unwrap(), "--json"]);
    assert_eq!(delta["errors"], serde_json::json!([]));
    assert_eq!(
        (delta["updated"].as_u64(), delta["leaving"].as_u64()),
        (Some(2), Some(0))
    );
    let people = json(&db, &["accounts", "list", "--json"]);
    let find = |id: &str| person_in(&people, id);
    assert_eq!(find("GAR0002")["status"], "active");
    assert_eq!(find("OBR0001")["home_group"], "03B");

    // Only the change files: a delta import, nobody else leaves.
    let only_delta = dir.path().join("delta");
    std::fs::create_dir(&only_delta).unwrap();
    write_cp1252(
        &only_delta,
        "ST_8888_D.csv",
        &[
            ST_HEADER,
            "GAR0001,GARCÍA,José,,Pepe,GAR0001,N,,,,,2015-11-30,LVNG,04B,04,Y,Court order,",
        ],
    );
    let d = json(&db, &["import", only_delta.to_str().unwrap(), "--json"]);
    assert_eq!(d["errors"], serde_json::json!([]));
    assert_eq!(
        (
            d["updated"].as_u64(),
            d["leaving"].as_u64(),
            d["new"].as_u64()
        ),
        (Some(0), Some(1), Some(0))
    );
}

#[test]
fn a_broken_cases21_export_is_refused_with_every_problem_located() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export");
    std::fs::create_dir(&export).unwrap();
    cases21_school(&export);
    write_cp1252(
        &export,
        "ST_8888.csv",
        &[
            ST_HEADER,
            "OBR0001,O'BRIEN,Zoë,,,OBR0001,Y,,,,,5/03/2016 12:00:00 AM,ACTV,03A,03,N,,",
            "OBR0001,O'BRIEN,Twin,,,OBR0001,Y,,,,,5/03/2016 12:00:00 AM,ACTV,03A,03,N,,",
            "GAR0001,GARCÍA,José,,,NOPE001,N,,,,,31/02/2015 12:00:00 AM,GONE,04B,04,N,,",
            "SHORT,ROW",
        ],
    );
    let db = dir.path().join("k.db");
    let r = keyroll(&db, &["import", export.to_str().unwrap()]);
    assert_ne!(r.code, 0);
    for want in [
        "ST_8888.csv:3:1: STKEY: STKEY \"OBR0001\" is already used on line 2",
        "ST_8888.csv:4:13: STATUS: unknown status \"GONE\"",
        "ST_8888.csv:4:12: BIRTHDATE: \"31/02/2015 12:00:00 AM\" is not a date",
        "ST_8888.csv:5:",
    ] {
        assert!(
            r.stderr.contains(want),
            "missing {want:?} in:\n{}",
            r.stderr
        );
    }
    assert!(!db.exists() || json(&db, &["accounts", "list", "--json"]) == serde_json::json!([]));

    // A full ST with only a change file for DF is refused: the families it
    // leaves out would all look like leavers.
    let mixed = dir.path().join("mixed");
    std::fs::create_dir(&mixed).unwrap();
    cases21_school(&mixed);
    std::fs::rename(mixed.join("DF_8888.csv"), mixed.join("DF_8888_D.csv")).unwrap();
    let r = keyroll(&db, &["import", mixed.to_str().unwrap()]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("DF_8888_D.csv is a change file"),
        "{}",
        r.stderr
    );
}

#[test]
fn the_cases21_demo_school_imports_and_reimports_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let school = dir.path().join("school");
    ok(
        &dir.path().join("unused.db"),
        &[
            "demo",
            "--format",
            "cases21",
            "--students",
            "300",
            "--out",
            school.to_str().unwrap(),
        ],
    );
    // eduHub's encoding, not UTF-8.
    let st = std::fs::read(school.join("ST_8888.csv")).unwrap();
    assert!(
        std::str::from_utf8(&st).is_err(),
        "the demo writes Windows-1252"
    );
    let db = dir.path().join("k.db");
    let first = json(&db, &["import", school.to_str().unwrap(), "--json"]);
    assert_eq!(first["errors"], serde_json::json!([]));
    assert!(first["new"].as_u64().unwrap() > 300);
    assert!(first["links_new"].as_u64().unwrap() >= 300);
    let again = json(&db, &["import", school.to_str().unwrap(), "--json"]);
    assert_eq!(again["unchanged"], first["new"]);
    assert_eq!(again["applied"], false);
}
