//! Microsoft School Data Sync v2.1: the public sample export (OfficeDev's,
//! in ../shared/samples) and a broken set that must be refused with located
//! errors.

mod common;

use common::*;
use serde_json::Value;
use std::path::PathBuf;

fn sample() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/samples/sds-v2.1");
    assert!(
        dir.is_dir(),
        "{} is missing (shared/ sits beside the repository)",
        dir.display()
    );
    dir
}

#[test]
fn the_public_sds_sample_imports_with_kinds_links_and_no_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let summary = json(&db, &["import", sample().to_str().unwrap(), "--json"]);
    assert_eq!(summary["format"], "sds");
    assert_eq!(
        (summary["new"].as_u64(), summary["links_new"].as_u64()),
        (Some(8), Some(3))
    );

    let people = json(&db, &["accounts", "list", "--json"]);
    let people = people.as_array().unwrap();
    let find = |id: &str| people.iter().find(|p| p["sis_id"] == id).unwrap().clone();
    assert_eq!(find("114001")["kind"], "student");
    assert_eq!(find("114001")["year_level"], "10");
    assert_eq!(find("114006")["kind"], "staff", "a professor is staff");
    assert_eq!(find("114007")["kind"], "staff");
    assert_eq!(find("114005")["kind"], "parent");
    let mut kids: Vec<Value> = find("114002")["children"].as_array().unwrap().clone();
    kids.sort_by_key(|v| v.to_string());
    assert_eq!(kids, [Value::from("114001"), Value::from("114003")]);

    // Jean Craig is guardian of Jack but only a relative of Fred.
    let key = keyroll_core::DbKey::from_hex(KEY).unwrap();
    let store = keyroll_core::Store::open(&db, &key).unwrap();
    let responsible = |student: &str| -> bool {
        store
            .conn()
            .query_row(
                "SELECT r.parental_responsibility FROM relationship r
                 JOIN person s ON s.id = r.student_id JOIN person c ON c.id = r.contact_id
                 WHERE s.sis_id = ?1 AND c.sis_id = '114002'",
                [student],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert!(responsible("114001"));
    assert!(!responsible("114003"));
    // The sample's users.csv carries plain-text passwords: none is kept.
    let kept: String = store
        .conn()
        .query_row("SELECT group_concat(raw) FROM person", [], |r| r.get(0))
        .unwrap();
    assert!(kept.contains("activeDirectoryMatchId") || kept.contains("username"));
    assert!(!kept.contains("P@ssword123"), "{kept}");

    // Importing it again changes nothing.
    let again = json(&db, &["import", sample().to_str().unwrap(), "--json"]);
    assert_eq!(
        (again["new"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(8))
    );
    assert_eq!(again["applied"], false);
}

#[test]
fn a_broken_sds_set_is_refused_with_every_problem_located() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let set = bundle(
        dir.path(),
        "sds",
        &[
            (
                "orgs.csv",
                b"sourcedId,name,type\nsch1,Hillcrest,school\n".as_slice(),
            ),
            (
                "users.csv",
                b"sourcedId,givenName,familyName,email\n\
              u1,Ana,Lima,ana@example.org\n\
              u2,Ben,Okafor,ben@example\n\
              u3,Cleo,Park,\n\
              p1,Dana,Lima,dana@example.org\n"
                    .as_slice(),
            ),
            (
                "roles.csv",
                b"userSourcedId,orgSourcedId,role,isPrimary\n\
              u1,sch1,student,TRUE\n\
              u2,sch1,student,TRUE\n\
              u4,sch1,student,TRUE\n\
              u1,sch9,student,FALSE\n\
              p1,sch1,wizard,TRUE\n"
                    .as_slice(),
            ),
            (
                "relationships.csv",
                b"userSourcedId,relationshipUserSourcedId,relationshipRole\n\
              u1,p1,parent\n\
              u1,p9,guardian\n\
              u7,p1,parent\n"
                    .as_slice(),
            ),
        ],
    );
    let r = keyroll(&db, &["import", set.to_str().unwrap(), "--format", "sds"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    for expected in [
        "roles.csv:5:2: orgSourcedId: org \"sch9\" is not in orgs.csv",
        "roles.csv:6:3: role: unknown role \"wizard\"",
        "users.csv:3:4: email: \"ben@example\" is not an email address",
        "users.csv:4:1: sourcedId: user \"u3\" has no role in roles.csv",
        "roles.csv:4:1: userSourcedId: this user is not in users.csv",
        // u1's role at sch9 is rejected, so u1 is too (not imported without
        // it), and u1's link to p9 is not reported on top.
        "users.csv:2:1: sourcedId: this user's role on line 5 of roles.csv was rejected",
        "relationships.csv:4:1: userSourcedId: \"u7\" is not a person in this export",
    ] {
        assert!(
            r.stderr.contains(expected),
            "missing {expected:?} in:\n{}",
            r.stderr
        );
    }
    assert!(json(&db, &["accounts", "list", "--json"])
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn a_teacher_who_is_also_a_parent_is_linked_to_their_child() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let set = bundle(dir.path(), "sds", &[
        ("orgs.csv", b"sourcedId,name,type\nsch1,Hillcrest,school\n".as_slice()),
        (
            "users.csv",
            b"sourcedId,givenName,familyName,email,phone,sms\n\
              s1,Mia,Tran,mia@example.org,,\n\
              t1,Linh,Tran,linh@example.org,+61 3 9000 0000,\n"
                .as_slice(),
        ),
        (
            "roles.csv",
            b"userSourcedId,orgSourcedId,role,isPrimary\ns1,sch1,student,TRUE\nt1,sch1,nurse,TRUE\n"
                .as_slice(),
        ),
        (
            "relationships.csv",
            b"userSourcedId,relationshipUserSourcedId,relationshipRole\ns1,t1,parent\n".as_slice(),
        ),
    ]);
    ok(&db, &["import", set.to_str().unwrap()]);
    let people = json(&db, &["accounts", "list", "--json"]);
    let t1 = people
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["sis_id"] == "t1")
        .unwrap()
        .clone();
    assert_eq!(t1["kind"], "staff", "a school nurse is staff");
    assert_eq!(t1["children"], serde_json::json!(["s1"]));
    assert_eq!(t1["email"], "linh@example.org");
}

#[test]
fn a_full_export_that_lists_nobody_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    ok(&db, &["import", sample().to_str().unwrap()]);
    let empty = bundle(
        dir.path(),
        "empty",
        &[
            ("orgs.csv", b"sourcedId,name,type\n".as_slice()),
            ("users.csv", b"sourcedId,givenName,familyName\n".as_slice()),
            ("roles.csv", b"userSourcedId,orgSourcedId,role\n".as_slice()),
        ],
    );
    let r = keyroll(&db, &["import", empty.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("lists no people at all"), "{}", r.stderr);
    let people = json(&db, &["accounts", "list", "--json", "--status", "active"]);
    assert_eq!(
        people.as_array().unwrap().len(),
        8,
        "nobody was marked as left"
    );
}

#[test]
fn a_oneroster_1_2_export_with_roles_is_not_taken_for_sds() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let set = bundle(
        dir.path(),
        "or12",
        &[
            (
                "manifest.csv",
                b"propertyName,value\noneroster.version,1.2\n".as_slice(),
            ),
            (
                "orgs.csv",
                b"sourcedId,name,type\nsch1,Hillcrest,school\n".as_slice(),
            ),
            (
                "users.csv",
                b"sourcedId,givenName,familyName\nu1,Ana,Lima\n".as_slice(),
            ),
            (
                "roles.csv",
                b"userSourcedId,orgSourcedId,role,roleType\nu1,sch1,student,primary\n".as_slice(),
            ),
        ],
    );
    let summary = json(&db, &["import", set.to_str().unwrap(), "--json"]);
    assert_eq!(summary["format"], "oneroster");
    let people = json(&db, &["accounts", "list", "--json"]);
    assert_eq!(people[0]["kind"], "student");
    assert_eq!(people[0]["school"], "sch1");
}

fn v2_fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sds-v2")
}

#[test]
fn an_sds_v2_export_is_read_as_sds_not_refused_as_oneroster() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let set = v2_fixture();
    let summary = json(&db, &["import", set.to_str().unwrap(), "--json"]);
    assert_eq!(summary["format"], "sds");
    assert_eq!(
        (
            summary["new"].as_u64(),
            summary["orgs_new"].as_u64(),
            summary["rejected"].as_u64()
        ),
        (Some(12), Some(3), Some(0)),
        "{summary}"
    );
    let people = json(&db, &["accounts", "list", "--json"]);
    // Roles in any case: Student, student, STUDENT are students.
    for (id, year, school) in [
        ("13001", "6", "10001"),
        ("13002", "9", "10002"),
        ("13003", "PS3", "10001"),
    ] {
        let p = person_in(&people, id);
        assert_eq!(
            (&p["kind"], &p["year_level"], &p["school"]),
            (&"student".into(), &year.into(), &school.into()),
            "{id}"
        );
    }
    // teacher, Teacher, staff, faculty, aide, Professor, Lecturer,
    // administrator, Principal are staff; their grade is not a year level.
    for id in [
        "14001", "14002", "14008", "14009", "14010", "14011", "14012", "14013", "14014",
    ] {
        let p = person_in(&people, id);
        assert_eq!(
            (&p["kind"], &p["year_level"]),
            (&"staff".into(), &"".into()),
            "{id}"
        );
    }
    assert_eq!(person_in(&people, "14011")["role"], "professor");
    assert_eq!(person_in(&people, "14002")["school"], "10001,10002");
    // users.csv's password column is never stored.
    let key = keyroll_core::DbKey::from_hex(KEY).unwrap();
    let store = keyroll_core::Store::open(&db, &key).unwrap();
    let kept: String = store
        .conn()
        .query_row("SELECT group_concat(raw) FROM person", [], |r| r.get(0))
        .unwrap();
    assert!(kept.contains("oklein@contoso.example"), "{kept}");
    assert!(!kept.contains("V2!pw"), "{kept}");
}

#[test]
fn an_sds_v2_unknown_role_names_the_file_line_and_word() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let set = bundle(
        dir.path(),
        "v2",
        &[
            (
                "orgs.csv",
                b"sourcedId,name,type,parentSourcedId\r\n1,Hillcrest,school,\r\n".as_slice(),
            ),
            (
                "users.csv",
                b"sourcedId,orgSourcedIds,givenName,familyName,username,password,role,grade\r\n\
                  u1,1,Ana,Lima,ana@x.org,pw,Student,3\r\n\
                  u2,1,Ben,Okafor,ben@x.org,pw,Wizard,\r\n\
                  u3,7,Cleo,Park,cleo@x.org,pw,teacher,\r\n\
                  u4,1,Dana,Lee,dana@x.org,pw,,"
                    .as_slice(),
            ),
        ],
    );
    let r = keyroll(&db, &["import", set.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    for expected in [
        "users.csv:3:7: role: unknown role \"Wizard\"",
        "users.csv:4:2: orgSourcedIds: org \"7\" is not in orgs.csv",
        "users.csv:5:7: role: the role is empty",
    ] {
        assert!(
            r.stderr.contains(expected),
            "missing {expected:?} in:\n{}",
            r.stderr
        );
    }
}

#[test]
fn a_oneroster_export_without_its_manifest_is_still_told_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let set = bundle(
        dir.path(),
        "or11",
        &[
            ("orgs.csv", ORGS.as_bytes()),
            (
                "users.csv",
                b"sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,givenName,familyName\n\
                  u1,active,2024-01-01,true,sch1,student,ana,Ana,Lima\n"
                    .as_slice(),
            ),
        ],
    );
    let r = keyroll(&db, &["import", set.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("manifest.csv is missing"), "{}", r.stderr);
}
