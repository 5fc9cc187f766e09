//! Sync's local side on a real encrypted database; the wire is tested
//! against real servers in tests/sync.rs.

use super::*;
use crate::testing::demo_school;

#[test]
fn a_school_never_synced_has_every_account_to_create() {
    let (_dir, store, _key) = demo_school(20);
    let accounts: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM account", [], |r| r.get(0))
        .unwrap();
    let s = status(store.conn()).unwrap();
    assert!(accounts > 20);
    assert_eq!(s.to_create, accounts as u64);
    assert_eq!((s.to_update, s.conflicts, s.unlocks), (0, 0, 0));
    assert_eq!(s.server, "");
}

#[test]
fn a_sync_with_no_server_says_how_to_set_one_up() {
    let (_dir, mut store, _key) = demo_school(5);
    let e = sync(&mut store, "test", false, &mut |_| true).unwrap_err();
    assert!(e.to_string().contains("keyroll sync login"), "{e}");
}

#[test]
fn an_unlock_waits_for_the_next_push_and_is_audited() {
    let (_dir, mut store, _key) = demo_school(5);
    let username: String = store
        .conn()
        .query_row("SELECT username FROM account LIMIT 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        request_unlock(&mut store, "test", std::slice::from_ref(&username)).unwrap(),
        1
    );
    assert_eq!(status(store.conn()).unwrap().unlocks, 1);
    let audited: i64 = store
        .conn()
        .query_row(
            "SELECT count(*) FROM audit WHERE action = 'sync.unlock_requested' AND entity_key = ?1",
            [&username],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audited, 1);
    assert!(request_unlock(&mut store, "test", &["nobody.here".into()]).is_err());
}

/// The accounts in sync's journal, after `sql` ran on a journal emptied
/// first (as if everything were in step with the server).
fn due_after(store: &crate::Store, sql: &str) -> Vec<i64> {
    let c = store.conn();
    c.execute("DELETE FROM sync_due", []).unwrap();
    c.execute_batch(sql).unwrap();
    let mut st = c
        .prepare("SELECT account_id FROM sync_due ORDER BY 1")
        .unwrap();
    let due = st.query_map([], |r| r.get(0)).unwrap();
    due.collect::<rusqlite::Result<_>>().unwrap()
}

#[test]
fn whatever_changes_an_account_on_the_server_puts_it_in_the_journal() {
    let (_dir, store, _key) = demo_school(5);
    let c = store.conn();
    let pick = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
    // A student with an account and a parent with one.
    let (student, parent): (i64, i64) = c
        .query_row(
            "SELECT r.student_id, r.contact_id FROM relationship r
             JOIN account s ON s.person_id = r.student_id
             JOIN account c ON c.person_id = r.contact_id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let account = |person: i64| {
        pick(&format!(
            "SELECT id FROM account WHERE person_id = {person}"
        ))
    };
    let (s, p) = (account(student), account(parent));
    let family = {
        let mut f = vec![s, p];
        f.sort();
        f
    };
    let other = pick(&format!(
        "SELECT max(id) FROM account WHERE id NOT IN ({s}, {p})"
    ));
    let cases: &[(&str, String, Vec<i64>)] = &[
        ("nothing", "SELECT 1".into(), vec![]),
        (
            "the account's version",
            format!("UPDATE account SET version = version + 1 WHERE id = {other}"),
            vec![other],
        ),
        (
            "an upsert (a trigger takes its ABORT rule)",
            format!(
                "INSERT INTO sync_account (account_id, remote_id, pushed, version, person_digest)
                 VALUES ({other}, 'r', '{{}}', 1, 1);
                 INSERT INTO sync_due VALUES ({s});
                 INSERT INTO sync_account (account_id, remote_id, pushed, version, person_digest)
                 VALUES ({other}, 'r', '{{}}', 2, 1)
                 ON CONFLICT (account_id) DO UPDATE SET version = excluded.version"
            ),
            vec![s.min(other), s.max(other)],
        ),
        (
            "only the server's etag",
            format!("UPDATE sync_account SET etag = 'W/\"9\"' WHERE account_id = {other}"),
            vec![],
        ),
        (
            "the child's name: the child and the parent",
            format!("UPDATE person SET digest = digest + 1 WHERE id = {student}"),
            family.clone(),
        ),
        (
            "the link itself, changed",
            format!(
                "UPDATE relationship SET primary_contact = 1 - primary_contact
                 WHERE student_id = {student} AND contact_id = {parent}"
            ),
            family.clone(),
        ),
        (
            "the link ended",
            format!(
                "DELETE FROM relationship WHERE student_id = {student} AND contact_id = {parent}"
            ),
            family.clone(),
        ),
        (
            "the link made",
            format!(
                "INSERT INTO relationship (student_id, contact_id) VALUES ({student}, {parent})"
            ),
            family.clone(),
        ),
        (
            "forgotten by the server",
            format!("DELETE FROM sync_account WHERE account_id = {other}"),
            vec![other],
        ),
        (
            "an unlock",
            format!("UPDATE account SET unlock_requested = 1 WHERE id = {s}"),
            vec![s],
        ),
    ];
    for (what, sql, want) in cases {
        assert_eq!(&due_after(&store, sql), want, "{what}");
    }
}

#[test]
fn an_account_leaves_the_journal_only_when_the_server_holds_all_of_it() {
    let (_dir, store, _key) = demo_school(5);
    let c = store.conn();
    let (id, version, digest, group): (i64, i64, i64, Option<i64>) = c
        .query_row(
            "SELECT a.id, a.version, p.digest, a.group_id FROM account a
             JOIN person p ON p.id = a.person_id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    let due = || -> bool {
        c.query_row(
            "SELECT count(*) FROM sync_due WHERE account_id = ?1",
            [id],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
            == 1
    };
    let ack = |v: i64, d: i64, g: Option<i64>| {
        c.execute(
            "INSERT INTO sync_account (account_id, remote_id, pushed, version, person_digest, group_id)
             VALUES (?1, 'r', '{}', ?2, ?3, ?4)
             ON CONFLICT (account_id) DO UPDATE SET version = ?2, person_digest = ?3, group_id = ?4",
            rusqlite::params![id, v, d, g],
        )
        .unwrap();
        local::settled(c, id).unwrap();
    };
    assert!(due(), "a new account");
    ack(version - 1, digest, group);
    assert!(due(), "an older version");
    ack(version, digest + 1, group);
    assert!(due(), "another digest");
    if group.is_some() {
        ack(version, digest, None);
        assert!(due(), "not yet in its group");
    }
    ack(version, digest, group);
    assert!(!due(), "all of it");
}
