//! An import is one transaction: killed at any moment (SIGKILL, no chance to
//! clean up), the database is exactly as before or exactly as after, and
//! opens normally.

mod common;

use common::*;
use std::process::Command;
use std::time::{Duration, Instant};

/// Everything a user can see, as text.
fn state(db: &std::path::Path) -> String {
    let people = keyroll(db, &["accounts", "list", "--json"]);
    let audit = keyroll(db, &["audit", "--json"]);
    let imports = keyroll(db, &["imports", "list", "--json"]);
    for r in [&people, &audit, &imports] {
        assert_eq!(
            r.code, 0,
            "the database must open after a crash: {}",
            r.stderr
        );
    }
    format!("{}\n{}\n{}", people.stdout, audit.stdout, imports.stdout)
}

#[test]
fn killing_an_import_at_any_moment_leaves_before_or_after() {
    let dir = tempfile::tempdir().unwrap();
    let school = dir.path().join("school");
    ok(
        &dir.path().join("unused.db"),
        &[
            "demo",
            "--students",
            "4000",
            "--out",
            school.to_str().unwrap(),
        ],
    );

    // How long a whole import takes here, to spread the kills over it.
    let reference = dir.path().join("reference.db");
    let empty = state(&reference);
    let started = Instant::now();
    ok(&reference, &["import", school.to_str().unwrap()]);
    let full_time = started.elapsed();
    let full_people = keyroll(&reference, &["accounts", "list", "--json"]).stdout;

    let mut outcomes = (0, 0);
    for i in 0..8u32 {
        let db = dir.path().join(format!("k{i}.db"));
        let before = state(&db);
        assert_eq!(before, empty);
        let mut child = Command::new(keyroll_bin())
            .arg("--db")
            .arg(&db)
            .args(["import", school.to_str().unwrap()])
            .env("KEYROLL_DB_KEY", KEY)
            .spawn()
            .unwrap();
        // From the first moments of the import to just past its end.
        std::thread::sleep(
            full_time.mul_f64(0.1 + 1.0 * f64::from(i) / 8.0) + Duration::from_millis(5),
        );
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();

        let after = state(&db);
        if after == before {
            outcomes.0 += 1;
        } else {
            // Not before: then wholly after (same people as a clean import).
            let people = keyroll(&db, &["accounts", "list", "--json"]).stdout;
            assert_eq!(people, full_people, "kill #{i} left a partial import");
            outcomes.1 += 1;
        }
    }
    assert!(outcomes.0 > 0, "no kill landed mid-import: {outcomes:?}");
}
