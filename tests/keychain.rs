//! The real OS keychain (Linux Secret Service through gnome-keyring): the
//! database key is created there on first run, read back later, and never
//! written to a file. Needs a session bus with an unlocked keyring, so it is
//! ignored by a bare `cargo test`; scripts/test runs it under dbus-run-session.

mod common;

use std::process::Command;

#[test]
#[ignore = "needs a Secret Service: run through scripts/test"]
fn database_key_lives_in_the_secret_service() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let school = dir.path().join("school");
    let run = |args: &[&str]| {
        let out = Command::new(common::keyroll_bin())
            .arg("--db")
            .arg(&db)
            .args(args)
            .env_remove("KEYROLL_DB_KEY")
            .env_remove("KEYROLL_DB")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // A fresh Secret Service holds no key yet.
    let _ = Command::new("secret-tool")
        .args([
            "clear",
            "service",
            "org.keyroll.desktop",
            "username",
            "database-key",
        ])
        .status();

    let demo = run(&[
        "demo",
        "--students",
        "20",
        "--out",
        school.to_str().unwrap(),
    ]);
    assert_eq!(demo.0, Some(0), "{}", demo.1);
    let first = run(&["import", school.to_str().unwrap()]);
    assert_eq!(first.0, Some(0), "{}", first.1);

    let stored = Command::new("secret-tool")
        .args([
            "lookup",
            "service",
            "org.keyroll.desktop",
            "username",
            "database-key",
        ])
        .output()
        .expect("secret-tool (libsecret-tools) must be installed");
    let key = String::from_utf8(stored.stdout).unwrap();
    assert_eq!(key.trim().len(), 64, "the keychain holds a 256-bit hex key");

    // The same key opens the database again, without any environment variable.
    let again = run(&["accounts", "list"]);
    assert_eq!(again.0, Some(0), "{}", again.1);
    // And it really is that key: the database opens with it explicitly.
    let explicit = common::keyroll_with_key(&db, key.trim(), &["accounts", "list"]);
    assert_eq!(explicit.code, 0, "{}", explicit.stderr);

    // Nothing beside the database holds the key.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(64).any(|w| w == key.trim().as_bytes()),
                "{} holds the key",
                path.display()
            );
        }
    }

    // With the keychain entry gone, the existing database is refused, not re-keyed.
    Command::new("secret-tool")
        .args([
            "clear",
            "service",
            "org.keyroll.desktop",
            "username",
            "database-key",
        ])
        .status()
        .unwrap();
    let lost = run(&["accounts", "list"]);
    assert_eq!(lost.0, Some(1));
    assert!(lost.1.contains("no Keyroll database key"), "{}", lost.1);
    let after = Command::new("secret-tool")
        .args([
            "lookup",
            "service",
            "org.keyroll.desktop",
            "username",
            "database-key",
        ])
        .output()
        .unwrap();
    assert!(
        after.stdout.is_empty(),
        "no new key was made for an existing database"
    );
}
