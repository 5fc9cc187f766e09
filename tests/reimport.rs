//! Re-imports: the SIS is the source of truth, so a later export updates
//! people, marks those it leaves out as left (never deletes them), and must
//! not touch what it does not speak for.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

const HEADER: &str =
    "sourcedId,status,enabledUser,orgSourcedIds,role,givenName,familyName,email,agentSourcedIds\n";

/// A OneRoster bundle with `orgs` (id, name) and user rows (after the header).
fn export(
    dir: &Path,
    name: &str,
    users_scope: &str,
    orgs: &[(&str, &str)],
    rows: &[&str],
    header: &str,
) -> PathBuf {
    let manifest = format!(
        "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.orgs,bulk\nfile.users,{users_scope}\n"
    );
    let mut orgs_csv = String::from("sourcedId,name,type\n");
    for (id, n) in orgs {
        orgs_csv.push_str(&format!("{id},{n},school\n"));
    }
    let users = format!("{header}{}\n", rows.join("\n"));
    bundle(
        dir,
        name,
        &[
            ("manifest.csv", manifest.as_bytes()),
            ("orgs.csv", orgs_csv.as_bytes()),
            ("users.csv", users.as_bytes()),
        ],
    )
}

fn person(db: &Path, sis_id: &str) -> Value {
    person_in(&json(db, &["accounts", "list", "--json"]), sis_id)
}

/// Imports `export`, which must succeed.
fn import(db: &Path, export: &Path) {
    ok(db, &["import", export.to_str().unwrap()]);
}

fn children(db: &Path, contact: &str) -> Vec<String> {
    let mut c: Vec<String> = person(db, contact)["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    c.sort();
    c
}

const SCHOOL_A: &[(&str, &str)] = &[("schA", "Hillcrest")];
const FAMILY: &[&str] = &[
    "s1,active,true,schA,student,Amelia,Ngata,a@example.org,g1",
    "s2,active,true,schA,student,Tama,Ngata,t@example.org,g1",
    "g1,active,true,schA,guardian,Aroha,Ngata,aroha@example.org,",
];

#[test]
fn a_full_export_marks_those_it_leaves_out_as_left_and_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    import(
        &db,
        &export(dir.path(), "v1", "bulk", SCHOOL_A, FAMILY, HEADER),
    );
    assert_eq!(children(&db, "g1"), ["s1", "s2"]);

    // Tama has left the school: the next full export no longer lists him.
    let v2 = export(
        dir.path(),
        "v2",
        "bulk",
        SCHOOL_A,
        &[FAMILY[0], FAMILY[2]],
        HEADER,
    );
    let summary = json(&db, &["import", v2.to_str().unwrap(), "--json"]);
    assert_eq!(summary["leaving"], 1);
    assert_eq!(summary["unchanged"], 2);
    let tama = person(&db, "s2");
    assert_eq!(
        tama["status"], "left",
        "kept, marked as left, never deleted"
    );
    assert_eq!(tama["given_name"], "Tama");
    // His link stays on record: the export no longer speaks for him.
    assert_eq!(children(&db, "g1"), ["s1", "s2"]);
    let audit = json(&db, &["audit", "--json"]);
    let entry = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["entity_key"] == "oneroster:s2" && e["action"] == "person.update")
        .expect("the leaver is audited");
    assert_eq!(entry["before"]["status"], "active");
    assert_eq!(entry["after"]["status"], "left");

    // He comes back: the same person, active again.
    import(
        &db,
        &export(dir.path(), "v3", "bulk", SCHOOL_A, FAMILY, HEADER),
    );
    assert_eq!(person(&db, "s2")["status"], "active");
    assert_eq!(person(&db, "s2")["id"], tama["id"]);
}

#[test]
fn a_change_file_changes_only_what_it_lists() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    import(
        &db,
        &export(dir.path(), "v1", "bulk", SCHOOL_A, FAMILY, HEADER),
    );
    // A delta with only the guardian's new email (her row states no children).
    let delta = export(
        dir.path(),
        "d1",
        "delta",
        SCHOOL_A,
        &["g1,active,true,schA,guardian,Aroha,Ngata,aroha.ngata@example.org,"],
        HEADER,
    );
    let summary = json(&db, &["import", delta.to_str().unwrap(), "--json"]);
    assert_eq!(
        (summary["updated"].as_u64(), summary["leaving"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(summary["links_removed"], 0);
    assert_eq!(person(&db, "g1")["email"], "aroha.ngata@example.org");
    assert_eq!(person(&db, "s1")["status"], "active");
    assert_eq!(
        children(&db, "g1"),
        ["s1", "s2"],
        "a contact-only row does not unlink"
    );

    // A delta with Amelia's row no longer naming g1 does unlink her.
    let delta = export(
        dir.path(),
        "d2",
        "delta",
        SCHOOL_A,
        &["s1,active,true,schA,student,Amelia,Ngata,a@example.org,"],
        HEADER,
    );
    let summary = json(&db, &["import", delta.to_str().unwrap(), "--json"]);
    assert_eq!(summary["links_removed"], 1);
    assert_eq!(children(&db, "g1"), ["s2"]);
}

#[test]
fn a_rejected_row_neither_makes_a_leaver_nor_loses_links() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    import(
        &db,
        &export(dir.path(), "v1", "bulk", SCHOOL_A, FAMILY, HEADER),
    );
    // Amelia's row now has a broken email; the others are fine.
    let rows = [
        "s1,active,true,schA,student,Amelia,Ngata,not-an-email,g1",
        FAMILY[1],
        FAMILY[2],
    ];
    let v2 = export(dir.path(), "v2", "bulk", SCHOOL_A, &rows, HEADER);
    let r = keyroll(
        &db,
        &["import", v2.to_str().unwrap(), "--skip-invalid", "--json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let summary: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(summary["leaving"], 0);
    assert_eq!(summary["links_removed"], 0);
    assert_eq!(person(&db, "s1")["status"], "active");
    assert_eq!(
        person(&db, "s1")["email"],
        "a@example.org",
        "the bad value is not imported"
    );
    assert_eq!(children(&db, "g1"), ["s1", "s2"]);
}

#[test]
fn an_export_without_the_links_column_keeps_the_links() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    import(
        &db,
        &export(dir.path(), "v1", "bulk", SCHOOL_A, FAMILY, HEADER),
    );
    let header = "sourcedId,status,enabledUser,orgSourcedIds,role,givenName,familyName,email\n";
    let rows: Vec<String> = FAMILY
        .iter()
        .map(|r| r.rsplit_once(',').unwrap().0.to_owned())
        .collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let summary = json(
        &db,
        &[
            "import",
            export(dir.path(), "v2", "bulk", SCHOOL_A, &rows, header)
                .to_str()
                .unwrap(),
            "--json",
        ],
    );
    assert_eq!(summary["links_removed"], 0);
    assert_eq!(children(&db, "g1"), ["s1", "s2"]);
}

#[test]
fn one_schools_export_does_not_mark_another_schools_people_as_left() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    import(
        &db,
        &export(dir.path(), "a", "bulk", SCHOOL_A, FAMILY, HEADER),
    );
    let school_b = [("schB", "Riverside")];
    let b = export(
        dir.path(),
        "b",
        "bulk",
        &school_b,
        &["s9,active,true,schB,student,Ruby,Kim,r@example.org,"],
        HEADER,
    );
    let summary = json(&db, &["import", b.to_str().unwrap(), "--json"]);
    assert_eq!(summary["new"], 1);
    assert_eq!(summary["leaving"], 0);
    for id in ["s1", "s2", "g1"] {
        assert_eq!(person(&db, id)["status"], "active", "{id}");
    }
}

#[test]
fn a_full_export_may_not_link_to_someone_it_leaves_out() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    import(
        &db,
        &export(dir.path(), "v1", "bulk", SCHOOL_A, FAMILY, HEADER),
    );
    // g1 is gone from the export, but Amelia's row still names her.
    let v2 = export(
        dir.path(),
        "v2",
        "bulk",
        SCHOOL_A,
        &[FAMILY[0], FAMILY[1]],
        HEADER,
    );
    let r = keyroll(&db, &["import", v2.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("users.csv:2:9: agentSourcedIds: \"g1\" is not a person in this export"),
        "{}",
        r.stderr
    );
    assert_eq!(
        person(&db, "g1")["status"],
        "active",
        "nothing was imported"
    );
}

#[test]
fn a_reimport_works_out_each_link_once_new_changed_gone_or_kept() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let guardians = |s4: &str| {
        [
            "g1,active,true,schA,guardian,Aroha,Ngata,g1@example.org,".to_owned(),
            "g2,active,true,schA,guardian,Rawiri,Ngata,g2@example.org,".to_owned(),
            "g3,active,true,schA,guardian,Mere,Tane,g3@example.org,".to_owned(),
            format!("g4,active,true,schA,guardian,Hemi,Walker,g4@example.org,{s4}"),
        ]
    };
    let v1: Vec<String> = [
        "s1,active,true,schA,student,Amelia,Ngata,s1@example.org,\"g1,g2\"",
        "s2,active,true,schA,student,Tama,Ngata,s2@example.org,g2",
        "s3,active,true,schA,student,Kiri,Tane,s3@example.org,g3",
    ]
    .map(str::to_owned)
    .into_iter()
    .chain(guardians(""))
    .collect();
    fn rows(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    import(
        &db,
        &export(dir.path(), "v1", "bulk", SCHOOL_A, &rows(&v1), HEADER),
    );

    // Amelia's guardians swap places (so both links change: the first named
    // is her primary contact), Tama's guardian changes (one link goes, one
    // comes, stated from both sides), Kiri's stays.
    let v2: Vec<String> = [
        "s1,active,true,schA,student,Amelia,Ngata,s1@example.org,\"g2,g1\"",
        "s2,active,true,schA,student,Tama,Ngata,s2@example.org,g4",
        "s3,active,true,schA,student,Kiri,Tane,s3@example.org,g3",
    ]
    .map(str::to_owned)
    .into_iter()
    .chain(guardians("s2"))
    .collect();
    let v2 = export(dir.path(), "v2", "bulk", SCHOOL_A, &rows(&v2), HEADER);
    let summary = json(&db, &["import", v2.to_str().unwrap(), "--json"]);
    let links =
        |s: &Value| ["links_new", "links_updated", "links_removed"].map(|k| s[k].as_u64().unwrap());
    assert_eq!(links(&summary), [1, 2, 1], "{summary}");
    assert_eq!(children(&db, "g1"), ["s1"]);
    assert_eq!(children(&db, "g2"), ["s1"]);
    assert_eq!(children(&db, "g3"), ["s3"]);
    assert_eq!(children(&db, "g4"), ["s2"]);

    // The same files again: every link is as stored.
    let again = json(&db, &["import", v2.to_str().unwrap(), "--json"]);
    assert_eq!(links(&again), [0, 0, 0], "{again}");
}
