//! `imports rollback ID`: an import undone from the audit log leaves the
//! people, their details, statuses and links exactly as they were before it.

mod common;

use common::*;
use serde_json::Value;

fn people(db: &std::path::Path) -> Value {
    json(db, &["accounts", "list", "--json"])
}

#[test]
fn rolling_back_an_import_restores_the_state_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export");
    std::fs::create_dir(&export).unwrap();
    cases21_school(&export);
    let db = dir.path().join("k.db");
    let first = json(&db, &["import", export.to_str().unwrap(), "--json"]);
    assert_eq!(first["import_id"], 1);
    let before = people(&db);

    // Import 2: a change file (Inés starts, Zoë moves home group and loses
    // her second family, a new student joins) and a staff file without ABC.
    write_cp1252(
        &export,
        "ST_8888_D.csv",
        &[
            ST_HEADER,
            "GAR0002,GARCÍA,Inés,,,GAR0001,N,C,,,,1/01/2020 12:00:00 AM,ACTV,00A,00,N,,",
            "OBR0001,O'BRIEN,Zoë,Renée,,OBR0001,Y,B,,,zoe@students.example,5/03/2016 12:00:00 AM,ACTV,03B,03,N,,Y",
            "NEW0001,NEWMAN,Ngaio,,,GAR0001,Y,,,,,2/02/2019 12:00:00 AM,ACTV,01A,01,N,,",
        ],
    );
    write_cp1252(
        &export,
        "SF_8888.csv",
        &[SF_HEADER, "XYZ,SMITH,Old,,,LEFT,L"],
    );
    let second = json(&db, &["import", export.to_str().unwrap(), "--json"]);
    assert_eq!(second["errors"], Value::Array(vec![]));
    assert_eq!(
        (
            second["new"].as_u64(),
            second["updated"].as_u64(),
            second["leaving"].as_u64(),
            second["links_removed"].as_u64()
        ),
        (Some(1), Some(2), Some(1), Some(1))
    );
    let after = people(&db);
    assert_ne!(before, after);
    // Zoë's creation entry still says what she was created with (it keeps
    // only her links; the rest comes back from the row and later entries).
    let created = |db: &std::path::Path| -> Vec<Value> {
        json(db, &["audit", "--json"])
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "person.create" && e["entity_key"] == "cases21:8888:OBR0001")
            .map(|e| e["after"].clone())
            .collect()
    };
    let zoe = created(&db);
    assert_eq!(zoe.len(), 1, "{zoe:?}");
    assert_eq!(
        (zoe[0]["home_group"].as_str(), zoe[0]["given_name"].as_str()),
        (Some("03A"), Some("Zoë"))
    );
    assert_eq!(person_in(&after, "OBR0001")["home_group"], "03B");

    // Import 1 cannot go while import 2 builds on it.
    let r = keyroll(&db, &["imports", "rollback", "1"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("Roll back import 2 first"),
        "{}",
        r.stderr
    );

    // A dry run says what would change and changes nothing.
    let dry = json(&db, &["imports", "rollback", "2", "--dry-run", "--json"]);
    assert_eq!(
        (
            dry["removed"].as_u64(),
            dry["restored"].as_u64(),
            dry["links"].as_u64()
        ),
        // Ngaio's new link goes, Zoë's second family comes back.
        (Some(1), Some(3), Some(2))
    );
    assert_eq!(people(&db), after);

    ok(&db, &["imports", "rollback", "2"]);
    assert_eq!(people(&db), before, "everyone as before import 2");
    let history = json(&db, &["imports", "list", "--json"]);
    assert!(history[1]["rolled_back_at"].is_string(), "{history}");
    assert!(history[0]["rolled_back_at"].is_null());
    let actions = audit_actions(&db);
    assert!(
        actions.iter().any(|a| a == "import.rollback")
            && actions.iter().any(|a| a == "person.delete")
    );

    // Once is enough; and now import 1 can go too, leaving nobody.
    let again = keyroll(&db, &["imports", "rollback", "2"]);
    assert!(
        again.stderr.contains("already rolled back"),
        "{}",
        again.stderr
    );
    ok(&db, &["imports", "rollback", "1"]);
    assert_eq!(people(&db), Value::Array(vec![]));
    // Removed, she is still in the log as she was created (from the entry
    // that removed her).
    let zoe = created(&db);
    assert_eq!(zoe[0]["home_group"], "03A");
    assert_eq!(zoe[0]["family_name"], "O'BRIEN");

    // The same files import again from scratch.
    std::fs::remove_file(export.join("ST_8888_D.csv")).unwrap();
    cases21_school(&export);
    let third = json(&db, &["import", export.to_str().unwrap(), "--json"]);
    assert_eq!(third["new"].as_u64(), Some(10));
    let zoe = created(&db);
    assert_eq!(zoe.len(), 2, "created, removed, created again");
    assert_eq!(
        (zoe[0]["home_group"].as_str(), zoe[1]["home_group"].as_str()),
        (Some("03A"), Some("03A"))
    );
    assert_eq!(
        keyroll(&db, &["imports", "rollback", "99"]).stderr.trim(),
        "keyroll: There is no import 99; `keyroll imports list` shows them."
    );
}
