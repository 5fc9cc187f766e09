//! Unit tests of the people module.

use super::record::{digest, json_object};
use super::*;
use std::collections::BTreeMap;

#[test]
fn json_objects_escape_what_json_requires() {
    let j = json_object([("name", "Zoë \"Zo\" O'Brien\\x"), ("note", "a\r\nb\t")].into_iter());
    let v: serde_json::Value = serde_json::from_str(&j).unwrap();
    assert_eq!(v["name"], "Zoë \"Zo\" O'Brien\\x");
    assert_eq!(v["note"], "a\r\nb\t");
    assert_eq!(json_object(std::iter::empty()), "{}");
}

#[test]
fn digests_stay_fnv1a_of_the_parts_with_separators() {
    // Stored rows carry this digest: it must never change between builds.
    assert_eq!(
        digest(["Zoë", "", "stu-1"].into_iter()),
        -6_921_969_474_733_404_889
    );
}

#[test]
fn parental_responsibility_by_role_whatever_the_case() {
    for role in ["parent", " Guardian ", "LEGAL GUARDIAN", "Mother", "carer"] {
        assert!(has_parental_responsibility(role), "{role}");
    }
    for role in ["relative", "emergency", "", "parents", "grandparent"] {
        assert!(!has_parental_responsibility(role), "{role}");
    }
}

#[test]
fn a_person_stored_meanwhile_compares_their_raw_fields() {
    let (_dir, mut store) = crate::testing::empty_store();
    let record = |house: &str| PersonRecord {
        sis_id: "s1".into(),
        kind: Some(Kind::Student),
        given_name: "Zoë".into(),
        status: Some(Status::Active),
        raw: BTreeMap::from([("HOUSE".to_owned(), house.to_owned())]).into(),
        ..Default::default()
    };
    store
        .write("t", |w| {
            w.conn().execute(
                "INSERT INTO import (id, started_at, actor, format, files)
                 VALUES (1, '', 't', 'csv', '[]')",
                [],
            )?;
            upsert(w, "csv", &PreparedPerson::new(record("Kauri")), None, 1).map(|_| ())
        })
        .unwrap();
    let id: i64 = store
        .conn()
        .query_row("SELECT id FROM person", [], |r| r.get(0))
        .unwrap();
    // Another import stored them between this one's start and its write.
    let again = PreparedPerson::new(record("Rimu"));
    let outcome = store
        .write("t", |w| upsert(w, "csv", &again, Some((id, 0)), 1))
        .unwrap();
    let Upsert::Updated { fields, .. } = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(
        fields,
        vec![FieldChange {
            field: "raw.HOUSE".into(),
            before: "Kauri".into(),
            after: "Rimu".into()
        }]
    );
}

#[test]
fn search_folds_any_script_alike_in_sql_and_in_the_roster() {
    let (_dir, mut store) = crate::testing::empty_store();
    let person = |id: &str, given: &str, family: &str| PersonRecord {
        sis_id: id.into(),
        kind: Some(Kind::Student),
        given_name: given.into(),
        family_name: family.into(),
        status: Some(Status::Active),
        ..Default::default()
    };
    store
        .write("t", |w| {
            w.conn().execute(
                "INSERT INTO import (id, started_at, actor, format, files)
                 VALUES (1, '', 't', 'csv', '[]')",
                [],
            )?;
            for p in [
                person("s1", "Дмитрий", "Иванов"),
                person("s2", "Ana", "Strasse"),
                person("s3", "Zoe\u{308}", "陈"),
            ] {
                insert_new(w, "csv", &PreparedPerson::new(p), 1)?;
            }
            Ok::<_, crate::Error>(())
        })
        .unwrap();
    let roster = roster::Roster::load(store.conn()).unwrap();
    for (typed, id) in [
        ("dmitrii", "s1"),
        ("IVANOV", "s1"),
        ("STRAẞE", "s2"),
        ("zoë", "s3"),
        ("chen", "s3"),
    ] {
        let q = PeopleQuery {
            search: Some(typed.into()),
            ..Default::default()
        };
        let sql: Vec<String> = list(store.conn(), &q)
            .unwrap()
            .into_iter()
            .map(|p| p.sis_id)
            .collect();
        assert_eq!(sql, [id], "{typed} in SQL");
        let page = roster.query(&q, Default::default());
        assert_eq!(
            by_ids(store.conn(), &page.ids).unwrap()[0].sis_id,
            id,
            "{typed} in the roster"
        );
        assert_eq!(page.matching, 1, "{typed}");
    }
}
