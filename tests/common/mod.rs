//! Helpers for the end-to-end tests: run the real `keyroll` binary against a
//! real SQLCipher file in a temporary folder.
#![allow(dead_code)]

pub mod server;
pub mod smtp;

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
        // Small schools, so a push crosses many of its journal's pages.
        .env("KEYROLL_SYNC_PAGE", "7")
        .output()
        .expect("run keyroll")
        .into()
}

/// Runs `keyroll --db <db> args…` with `input` on its standard input.
pub fn keyroll_stdin(db: &Path, args: &[&str], input: &str) -> Run {
    use std::io::Write;
    let mut child = Command::new(keyroll_bin())
        .arg("--db")
        .arg(db)
        .args(args)
        .env("KEYROLL_DB_KEY", KEY)
        .env_remove("KEYROLL_DB")
        .env("KEYROLL_SYNC_PAGE", "7")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run keyroll");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    child.wait_with_output().expect("run keyroll").into()
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

/// The person with SIS id `id` in an `accounts list --json` array.
pub fn person_in(people: &serde_json::Value, id: &str) -> serde_json::Value {
    people
        .as_array()
        .expect("a JSON array")
        .iter()
        .find(|p| p["sis_id"] == id)
        .unwrap_or_else(|| panic!("{id} is not listed"))
        .clone()
}

pub fn json(db: &Path, args: &[&str]) -> serde_json::Value {
    let r = ok(db, args);
    serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}):\n{}", r.stdout))
}

/// The actions of the audit log, oldest first (`keyroll audit --json`).
pub fn audit_actions(db: &Path) -> Vec<String> {
    json(db, &["audit", "--json"])
        .as_array()
        .expect("the audit log is a JSON array")
        .iter()
        .filter_map(|e| e["action"].as_str().map(str::to_owned))
        .collect()
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

// CASES21 eduHub fixtures: written the way eduHub writes them.

/// Writes `rows` (CSV lines) to `dir/name` in Windows-1252 with CRLF ends.
pub fn write_cp1252(dir: &Path, name: &str, rows: &[&str]) {
    let text: String = rows.iter().map(|r| format!("{r}\r\n")).collect();
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&text);
    assert!(!unmappable);
    std::fs::write(dir.join(name), bytes).unwrap();
}

pub const ST_HEADER: &str = "STKEY,SURNAME,FIRST_NAME,SECOND_NAME,PREF_NAME,FAMILY,ACADEMIC_A,CONTACT_A,FAMB,ACADEMIC_B,E_MAIL,BIRTHDATE,STATUS,HOME_GROUP,SCHOOL_YEAR,ACCESS_ALERT,ACCESS_TYPE,MEDICAL_ALERT";
pub const DF_HEADER: &str =
    "DFKEY,NAME_A,SURNAME_A,TITLE_A,E_MAIL_A,MOBILE_A,NAME_B,SURNAME_B,TITLE_B,E_MAIL_B,MOBILE_B,HOMETITLE,WEB_PASSWORD";
pub const SF_HEADER: &str = "SFKEY,SURNAME,FIRST_NAME,PREF_NAME,E_MAIL,STAFF_STATUS,STAFF_TYPE";

/// A small CASES21 school (site 8888) in Windows-1252: accents, apostrophes,
/// a second family, an access restriction, a deleted student, a leaver on staff.
pub fn cases21_school(dir: &Path) {
    write_cp1252(
        dir,
        "ST_8888.csv",
        &[
            ST_HEADER,
            // Zoë's mail goes to adult B of her family; she also has a second family.
            "OBR0001,O'BRIEN,Zoë,Renée,,OBR0001,Y,B,MÜL0001,N,zoe@students.example,5/03/2016 12:00:00 AM,ACTV,03A,03,N,,Y",
            // José has an access restriction; his family gets no reports.
            "GAR0001,GARCÍA,José,,Pepe,GAR0001,N,,,,,2015-11-30,ACTV,04B,04,Y,Court order,",
            "GAR0002,GARCÍA,Inés,,,GAR0001,N,C,,,,1/01/2020 12:00:00 AM,FUT,00A,00,N,,",
            "OBR0002,O'BRIEN,Seán,,,OBR0001,Y,,,,,\"12/12/2012 12:00:00 AM\",DEL,06A,06,N,,",
        ],
    );
    write_cp1252(
        dir,
        "DF_8888.csv",
        &[
            DF_HEADER,
            "OBR0001,Siobhán,O'Brien,Ms,siobhan@example.com,0400 000 001,Liam,O'Brien,Mr,liam@example.com,,Ms S & Mr L O'Brien,hunter2",
            "GAR0001,Ana,García-López,Dr,ana@example.es,,,,,,,Dr A García-López,",
            "MÜL0001,Jürgen,Müller,Mr,,0400 000 002,,,,,,Mr J Müller,",
        ],
    );
    write_cp1252(
        dir,
        "SF_8888.csv",
        &[
            SF_HEADER,
            "ABC,CHÂTEAU,Amélie,,amelie@school.example,ACTV,T",
            "XYZ,SMITH,Old,,,LEFT,L",
        ],
    );
}
