//! The app keeps a reader connection open while each import opens its own.
//! Opening the database again must not release this process's POSIX locks
//! (closing any descriptor of the file would), or another process closing
//! its connection believes it is the last one and resets the WAL under us:
//! lost commits and "malformed database schema".

mod common;

use common::*;
use keyroll_core::DbKey;
use keyroll_core::Store;

#[test]
fn a_second_connection_does_not_let_another_process_reset_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let school = dir.path().join("school");
    ok(
        &db,
        &[
            "demo",
            "--students",
            "30",
            "--out",
            school.to_str().unwrap(),
        ],
    );
    let key = DbKey::from_hex(KEY).unwrap();

    let reader = Store::open(&db, &key).unwrap();
    let count = |s: &Store| -> i64 {
        s.conn()
            .query_row("SELECT count(*) FROM person", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(count(&reader), 0);
    let mut writer = Store::open(&db, &key).unwrap();
    keyroll_core::import::run(
        &mut writer,
        &[school],
        &Default::default(),
        "test",
        &mut |_| true,
    )
    .unwrap();
    let wal = dir.path().join("k.db-wal");
    assert!(wal.exists(), "the import's pages are in the WAL");

    // Another process opens and closes the database; we still hold it open,
    // so it must leave the WAL alone.
    ok(&db, &["accounts", "list"]);
    assert!(
        wal.exists(),
        "another process reset the WAL while this one had the database open"
    );
    let people = count(&reader);
    assert!(people > 30, "{people}");
    assert_eq!(count(&writer), people);
}
