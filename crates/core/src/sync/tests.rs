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
