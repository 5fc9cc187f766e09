//! Helpers for the end-to-end tests: run the real `keyroll` binary against a
//! real SQLCipher file in a temporary folder.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fixed test key; tests that need a wrong one use [`OTHER_KEY`].
pub const KEY: &str = "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a7988";
pub const OTHER_KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// target/<profile>/ of this test binary (works with any CARGO_TARGET_DIR).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps")
        .to_owned()
}

/// The `keyroll` CLI built by `cargo build --workspace` (the README's test command builds it first).
pub fn keyroll_bin() -> PathBuf {
    let bin = target_dir().join(format!("keyroll{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --workspace` first (scripts/test does)",
        bin.display()
    );
    bin
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// Runs `keyroll --db <db> args…` with `key` as KEYROLL_DB_KEY.
pub fn keyroll_with_key(db: &Path, key: &str, args: &[&str]) -> Run {
    Command::new(keyroll_bin())
        .arg("--db")
        .arg(db)
        .args(args)
        .env("KEYROLL_DB_KEY", key)
        .env_remove("KEYROLL_DB")
        .output()
        .expect("run keyroll")
        .into()
}

pub fn keyroll(db: &Path, args: &[&str]) -> Run {
    keyroll_with_key(db, KEY, args)
}

/// Runs keyroll and insists it succeeded.
pub fn ok(db: &Path, args: &[&str]) -> Run {
    let r = keyroll(db, args);
    assert_eq!(
        r.code, 0,
        "keyroll {args:?} failed:\n{}\n{}",
        r.stdout, r.stderr
    );
    r
}

pub fn json(db: &Path, args: &[&str]) -> serde_json::Value {
    let r = ok(db, args);
    serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}):\n{}", r.stdout))
}

/// Writes `files` (name, contents) into a new folder under `dir`.
pub fn bundle(dir: &Path, name: &str, files: &[(&str, &[u8])]) -> PathBuf {
    let out = dir.join(name);
    std::fs::create_dir_all(&out).unwrap();
    for (f, body) in files {
        std::fs::write(out.join(f), body).unwrap();
    }
    out
}

pub const MANIFEST: &str = "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.orgs,bulk\nfile.users,bulk\nfile.demographics,absent\n";
pub const ORGS: &str = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\nsch1,active,,Hillcrest School,school,S1,\n";
