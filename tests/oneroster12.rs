//! OneRoster 1.2 CSV: roles move from users.csv to roles.csv (one row per
//! role per org, primary or secondary); contacts still link by agentSourcedIds.

mod common;

use common::*;

fn export(dir: &std::path::Path, roles: &str) -> std::path::PathBuf {
    bundle(
        dir,
        "or12",
        &[
            (
                "manifest.csv",
                b"propertyName,value\r\nmanifest.version,1.0\r\noneroster.version,1.2\r\nfile.orgs,bulk\r\nfile.users,bulk\r\nfile.roles,bulk\r\nfile.demographics,absent\r\n"
                    .as_slice(),
            ),
            (
                "orgs.csv",
                b"sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\r\nd1,active,,District,district,,\r\nsch1,active,,Hillcrest,school,,d1\r\nsch2,active,,Riverside,school,,d1\r\n"
                    .as_slice(),
            ),
            (
                "users.csv",
                "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,preferredFirstName,preferredMiddleName,preferredLastName,pronouns,primaryOrgSourcedId,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier\r\n\
s1,active,,true,,,Zoë,Ngata,,Zo,,,,sch1,,zoe@students.example,,,\"g1,r1\",05,Secret1!,\r\n\
t1,active,,true,,,Amélie,Dubois,,,,,,sch1,,amelie@school.example,,,,,,\r\n\
g1,active,,true,,,Aroha,Ngata,,,,,,,,aroha@example.com,+64 21 000 000,,s1,,,\r\n\
r1,active,,true,,,Nan,Ngata,,,,,,,,,,,s1,,,\r\n"
                    .as_bytes(),
            ),
            ("roles.csv", roles.as_bytes()),
        ],
    )
}

const ROLES: &str = "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId\r\n\
ro1,active,,s1,primary,student,,,sch1,\r\n\
ro2,active,,t1,primary,teacher,,,sch1,\r\n\
ro3,active,,t1,secondary,administrator,,,sch2,\r\n\
ro4,active,,g1,primary,guardian,,,sch1,\r\n\
ro5,active,,r1,primary,relative,,,sch1,\r\n";

#[test]
fn a_oneroster_1_2_export_takes_roles_and_orgs_from_roles_csv() {
    let dir = tempfile::tempdir().unwrap();
    let set = export(dir.path(), ROLES);
    let db = dir.path().join("k.db");
    let summary = json(&db, &["import", set.to_str().unwrap(), "--json"]);
    assert_eq!(summary["format"], "oneroster");
    assert_eq!(summary["errors"], serde_json::json!([]));
    assert_eq!(
        (summary["new"].as_u64(), summary["links_new"].as_u64()),
        (Some(4), Some(2))
    );
    let people = json(&db, &["accounts", "list", "--json"]);
    let find = |id: &str| person_in(&people, id);
    assert_eq!(find("s1")["kind"], "student");
    assert_eq!(find("s1")["preferred_name"], "Zo");
    assert_eq!(find("s1")["year_level"], "05");
    let teacher = find("t1");
    assert_eq!(
        (&teacher["kind"], &teacher["role"], &teacher["school"]),
        (&"staff".into(), &"teacher".into(), &"sch1,sch2".into()),
        "the primary role decides; every org with a role counts"
    );
    assert_eq!(find("g1")["kind"], "parent");
    assert_eq!(find("g1")["children"], serde_json::json!(["s1"]));

    // Only the guardian holds parental responsibility.
    let key = keyroll_core::DbKey::from_hex(KEY).unwrap();
    let store = keyroll_core::Store::open(&db, &key).unwrap();
    let responsible = |contact: &str| -> bool {
        store
            .conn()
            .query_row(
                "SELECT r.parental_responsibility FROM relationship r
                 JOIN person c ON c.id = r.contact_id WHERE c.sis_id = ?1",
                [contact],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert!(responsible("g1"));
    assert!(!responsible("r1"));
    let raw: String = store
        .conn()
        .query_row("SELECT group_concat(raw) FROM person", [], |r| r.get(0))
        .unwrap();
    assert!(!raw.contains("Secret1!"), "passwords are never kept");
}

#[test]
fn bad_oneroster_1_2_roles_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let roles = format!(
        "{ROLES}ro6,active,,t1,sometimes,teacher,,,sch1,\r\nro7,active,,ghost,primary,student,,,sch1,\r\nro8,active,,s1,primary,wizard,,,nowhere,\r\n"
    );
    let set = export(dir.path(), &roles);
    let db = dir.path().join("k.db");
    let r = keyroll(&db, &["import", set.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    for want in [
        "roles.csv:7:5: roleType: roleType is \"sometimes\"",
        "roles.csv:8:4: userSourcedId: this user is not in users.csv",
        "roles.csv:9:9: orgSourcedId: org \"nowhere\" is not in orgs.csv",
        "roles.csv:9:6: role: unknown role \"wizard\"",
    ] {
        assert!(
            r.stderr.contains(want),
            "missing {want:?} in:\n{}",
            r.stderr
        );
    }
    assert_eq!(
        json(&db, &["accounts", "list", "--json"]),
        serde_json::json!([])
    );
}
