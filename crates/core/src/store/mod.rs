//! The local encrypted database, at the bottom of the house: SQLCipher with
//! a raw 256-bit key from the OS keychain ([`keychain`]), versioned
//! migrations ([`SCHEMA_VERSION`]), and one way to write ([`Store::write`],
//! [`Writer`]) that records every change in the audit log. It imports no
//! domain module.
//!
//! Opening never creates or overwrites a file that exists: a wrong key, a plain
//! SQLite file or a foreign database is refused with a message and left alone.

mod error;
pub mod keychain;
mod migrate;
mod writer;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

pub use error::{Error, Result};
pub use keychain::DbKey;
pub use migrate::{Upgrade, SCHEMA_VERSION};
pub use writer::{format_time, now, Writer};

/// `PRAGMA application_id` of a Keyroll database ("KRRL").
pub const APPLICATION_ID: i64 = 0x4B52_524C;

const NEXT_KEY: &str =
    "If it was made on another computer, open it there or set KEYROLL_DB_KEY to its key; \
     to start afresh, choose a different database file.";

pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// For [`Store::reader`]: boxed, so moving the store leaves no copies
    /// behind, and wiped from memory on drop.
    key: Box<DbKey>,
    hmac: &'static str,
}

impl Store {
    /// Opens the Keyroll database at `path`, creating it (with its folder) if
    /// the file does not exist.
    pub fn open(path: &Path, key: &DbKey) -> Result<Store> {
        Store::open_upgrading(path, key, &mut |_| {})
    }

    /// Like [`Store::open`], telling `upgrading` how an upgrade of an
    /// existing database to this build's schema goes (which on a large
    /// database can take a while): before each step, and once done.
    pub fn open_upgrading(
        path: &Path,
        key: &DbKey,
        upgrading: &mut dyn FnMut(Upgrade),
    ) -> Result<Store> {
        let exists = path.exists();
        if !exists {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            }
        }
        // The file is only ever touched through SQLite. Opening and closing a
        // file descriptor of our own on it would drop every POSIX lock this
        // process holds on it (the app's other connections included), and a
        // second process could then checkpoint and reset the WAL under them.
        let flags = if exists {
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
        };
        // New databases authenticate their pages with HMAC-SHA-256; those
        // made before this used SQLCipher 4's default, HMAC-SHA-512. The
        // setting is not stored in the (encrypted) file, so an existing one
        // that refuses the first is tried with the second.
        let mut hmacs = HMACS.iter().peekable();
        let (conn, tables, hmac) = loop {
            let hmac = hmacs.next().expect("tried in turn, the last one returns");
            let conn = connect(path, flags, key, hmac)?;
            // The first read decrypts page 1: a wrong key fails here, before any write.
            match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            }) {
                Ok(tables) => break (conn, tables, *hmac),
                Err(e) if is_busy(&e) => {
                    return Err(Error::CannotOpenDatabase {
                        path: path.to_owned(),
                        why: "another Keyroll window or command is importing into it".into(),
                        next: "Wait for that import to finish, then try again.",
                    })
                }
                Err(_) if hmacs.peek().is_some() => continue,
                Err(_) if is_plain_sqlite(path) => {
                    return Err(cannot_open(
                        path,
                        "it is an unencrypted SQLite file, not a Keyroll database",
                    ))
                }
                Err(_) => {
                    return Err(cannot_open(
                        path,
                        "the key does not fit it, or it is not a Keyroll database",
                    ))
                }
            }
        };
        let app_id: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if exists && (app_id != APPLICATION_ID) && (tables > 0 || version > 0) {
            return Err(cannot_open(
                path,
                "it is an encrypted database of another program, not a Keyroll database",
            ));
        }
        if version > SCHEMA_VERSION {
            return Err(Error::NewerDatabase {
                path: path.to_owned(),
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        // WAL: readers (the app's table) are not blocked by an import.
        // temp_store=MEMORY: no temporary file, encrypted or not, reaches disk.
        // A 32 MB page cache: enough for an import's working set; the rest of
        // its 300 MB budget goes to what it holds of the files.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;
             PRAGMA temp_store = MEMORY;
             PRAGMA busy_timeout = 5000;
             PRAGMA cache_size = -32768;",
        )?;
        let mut store = Store {
            conn,
            path: path.to_owned(),
            key: key.boxed(),
            hmac,
        };
        // A new database is made, not upgraded: nothing to tell.
        let mut quiet = |_| {};
        let upgrading = if version > 0 { upgrading } else { &mut quiet };
        migrate::migrate(&mut store.conn, version, upgrading)?;
        Ok(store)
    }

    /// Readies the connection for a first load into an empty database: a
    /// rollback journal instead of the WAL, if no other connection has the
    /// database open (else it stays in WAL mode). Undo with
    /// [`Store::end_first_load`] once its transaction has ended.
    ///
    /// A first load writes only new pages, which a rollback journal need not
    /// copy, so they go once into the database file; through the WAL every
    /// page is written twice (to the log, then into the file), which slows a
    /// large first import. A kill -9 still leaves the database as it was
    /// before: the next open rolls the hot journal back.
    ///
    /// Returns whether the rollback journal is in use.
    pub fn begin_first_load(&mut self) -> Result<bool> {
        // Leaving WAL mode needs every other connection gone; do not wait for them.
        self.conn.busy_timeout(std::time::Duration::ZERO)?;
        let mode = self
            .conn
            .query_row("PRAGMA journal_mode = DELETE", [], |r| {
                r.get::<_, String>(0)
            });
        self.conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let delete = match mode {
            Ok(m) => m.eq_ignore_ascii_case("delete"),
            // Another connection has it open: stay in WAL mode.
            Err(e) if is_busy(&e) => false,
            Err(e) => return Err(e.into()),
        };
        if delete {
            // With a rollback journal, NORMAL may lose a commit to a power
            // cut; FULL syncs the journal first (the WAL is safe with NORMAL).
            self.conn.execute_batch("PRAGMA synchronous = FULL")?;
        }
        Ok(delete)
    }

    /// Undoes [`Store::begin_first_load`].
    pub fn end_first_load(&mut self) -> Result<()> {
        self.conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))?;
        self.conn.execute_batch("PRAGMA synchronous = NORMAL")?;
        Ok(())
    }

    /// Runs `f` (which opens its own transaction) between
    /// [`Store::begin_first_load`] and [`Store::end_first_load`]. Going back
    /// to WAL mode failing must not report a committed run as failed: the
    /// next open sets WAL mode again.
    pub fn with_first_load<T, E: From<Error>>(
        &mut self,
        f: impl FnOnce(&mut Store) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        self.begin_first_load()?;
        let out = f(self);
        let _ = self.end_first_load();
        out
    }

    /// Runs `f` (which opens its own transaction) without foreign-key checks,
    /// for the bulk writers that link only ids they inserted or read
    /// themselves in that same transaction: a first import, account
    /// generation. Checking each row made SQLite look up its parents and keep
    /// a statement journal for every row.
    pub fn with_foreign_keys_off<T, E: From<Error>>(
        &mut self,
        f: impl FnOnce(&mut Store) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        self.conn
            .execute_batch("PRAGMA foreign_keys = OFF")
            .map_err(Error::from)?;
        let out = f(self);
        let on = self.conn.execute_batch("PRAGMA foreign_keys = ON");
        let out = out?;
        on.map_err(Error::from)?;
        Ok(out)
    }

    /// A read transaction: everything read through it sees one moment of
    /// the database (what was committed when it began), whatever other
    /// connections commit meanwhile.
    pub fn snapshot(&mut self) -> Result<rusqlite::Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Deferred)?)
    }

    /// Another connection to the database, for reading on another thread
    /// while this one writes: it sees what was last committed (WAL), and
    /// writes nothing.
    pub fn reader(&self) -> Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = connect(&self.path, flags, &self.key, self.hmac)?;
        conn.execute_batch("PRAGMA query_only = ON;")?;
        Ok(conn)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Read access. Writes go through [`Store::write`].
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Runs `f` in one transaction whose changes are all audited as `actor`.
    /// Commits if `f` returns `Ok`, rolls back otherwise.
    pub fn write<T, E: From<Error>>(
        &mut self,
        actor: &str,
        f: impl FnOnce(&Writer) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let w = self.writer(actor)?;
        let out = f(&w)?;
        w.commit()?;
        Ok(out)
    }

    /// A transaction for callers that decide at the end whether to commit
    /// (an import's dry run rolls back what it computed).
    pub fn writer(&mut self, actor: &str) -> Result<Writer<'_>> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        Ok(Writer::new(tx, actor))
    }
}

/// The page HMACs a Keyroll database may use, the one new databases get
/// first. SHA-256 rather than SQLCipher 4's default SHA-512: CPUs hash it in
/// hardware (SHA-NI), so authenticating pages costs an import less;
/// HMAC-SHA-256 is as sound a page authenticator (SQLCipher 3 used
/// HMAC-SHA-1). AES-256 encrypts the pages either way.
const HMACS: [&str; 2] = ["HMAC_SHA256", "HMAC_SHA512"];

/// Turns off SQLite's memory statistics, once, before the first connection
/// (they can only be changed before SQLite starts): Keyroll never reads
/// them, and keeping them takes a process-wide lock on every allocation,
/// which an import's writer makes for every row.
fn no_memory_statistics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: sqlite3_config with SQLITE_CONFIG_MEMSTATUS takes one int;
        // called before any connection exists (a later call would only
        // return SQLITE_MISUSE, changing nothing).
        unsafe {
            rusqlite::ffi::sqlite3_config(
                rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS,
                0 as std::ffi::c_int,
            );
        }
    });
}

/// A connection to `path` keyed with `key`, its pages authenticated with
/// `hmac`. Nothing is read yet.
fn connect(path: &Path, flags: OpenFlags, key: &DbKey, hmac: &str) -> Result<Connection> {
    no_memory_statistics();
    let conn =
        Connection::open_with_flags(path, flags).map_err(|e| cannot_open(path, &e.to_string()))?;
    // A raw key (x'..') skips SQLCipher's slow passphrase derivation.
    let pragma = zeroize::Zeroizing::new(format!("PRAGMA key = \"x'{}'\";", *key.to_hex()));
    conn.execute_batch(&pragma)?;
    // SQLCipher logs decryption failures to stderr; our error says it
    // better. (Set after the key: activating the codec resets the level.)
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    // After the key, before the first read.
    conn.execute_batch(&format!("PRAGMA cipher_hmac_algorithm = {hmac};"))?;
    // Another Keyroll's first import may hold the file locked for a while.
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

/// Whether SQLite refused because another connection holds a lock.
pub(crate) fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn cannot_open(path: &Path, why: &str) -> Error {
    Error::CannotOpenDatabase {
        path: path.to_owned(),
        why: why.to_owned(),
        next: NEXT_KEY,
    }
}

/// Whether SQLite reads `path` without a key (read-only, through SQLite, for
/// the reason given in [`Store::open`]).
fn is_plain_sqlite(path: &Path) -> bool {
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|c| {
            c.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            })
        })
        .is_ok()
}

/// The default database: `keyroll.db` in the OS's per-user data folder.
pub fn default_path() -> PathBuf {
    directories::ProjectDirs::from("org", "Keyroll", "Keyroll")
        .map(|d| d.data_dir().join("keyroll.db"))
        .unwrap_or_else(|| PathBuf::from("keyroll.db"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> DbKey {
        DbKey::random().unwrap()
    }

    #[test]
    fn creates_migrates_and_reopens_with_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/k.db");
        let k = key();
        drop(Store::open(&path, &k).unwrap());
        let s = Store::open(&path, &k).unwrap();
        let v: i64 = s
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
    }

    /// A plain SQLCipher connection to `path` with `key` and `hmac` (None:
    /// SQLCipher's default).
    fn raw(path: &Path, key: &DbKey, hmac: Option<&str>) -> Connection {
        let c = Connection::open(path).unwrap();
        c.execute_batch(&format!("PRAGMA key = \"x'{}'\";", *key.to_hex()))
            .unwrap();
        if let Some(h) = hmac {
            c.execute_batch(&format!("PRAGMA cipher_hmac_algorithm = {h};"))
                .unwrap();
        }
        c
    }

    #[test]
    fn new_databases_use_hmac_sha256_and_older_ones_still_open() {
        let dir = tempfile::tempdir().unwrap();
        let k = key();
        // New: its pages are authenticated with SHA-256, not the default.
        let new = dir.path().join("new.db");
        drop(Store::open(&new, &k).unwrap());
        let count = "SELECT count(*) FROM sqlite_master";
        let read = |c: Connection| c.query_row(count, [], |r| r.get::<_, i64>(0));
        assert!(read(raw(&new, &k, None)).is_err());
        assert!(read(raw(&new, &k, Some("HMAC_SHA256"))).unwrap() > 0);

        // Made before, with SQLCipher 4's default (SHA-512): still opens,
        // migrates and keeps what it held.
        let old = dir.path().join("old.db");
        let c = raw(&old, &k, None);
        c.execute_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID}; {}
             PRAGMA user_version = 1;
             INSERT INTO org (source, sis_id, name) VALUES ('oneroster', 'o1', 'Old School');
             INSERT INTO person (source, sis_id, kind, status, given_name, family_name,
                                 sort_key, search) VALUES
                 ('oneroster', 'c1', 'contact', 'active', 'Ann', 'Adams', 'adams ann', ''),
                 ('oneroster', 's1', 'student', 'active', 'Zoë', 'Young', 'young zoe', '');",
            include_str!("migrations/001_schema.sql")
        ))
        .unwrap();
        drop(c);
        let store = Store::open(&old, &k).unwrap();
        let name: String = store
            .conn()
            .query_row("SELECT name FROM org", [], |r| r.get(0))
            .unwrap();
        assert_eq!(name, "Old School");
        let version: i64 = store
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        // v8: the kind's rank leads the sort key, so students still come first.
        let order: Vec<String> = store
            .conn()
            .prepare("SELECT sort_key FROM person INDEXED BY person_list ORDER BY sort_key, id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(order, ["1young zoe", "3adams ann"]);
        drop(store);
        assert!(read(raw(&old, &k, None)).unwrap() > 0, "still SHA-512");
        // And a wrong key is refused for both.
        for path in [&new, &old] {
            let err = Store::open(path, &key()).err().unwrap().to_string();
            assert!(err.contains("the key does not fit"), "{err}");
        }
    }

    #[test]
    fn wrong_key_is_refused_and_the_file_is_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.db");
        drop(Store::open(&path, &key()).unwrap());
        let before = std::fs::read(&path).unwrap();
        let err = Store::open(&path, &key()).err().unwrap().to_string();
        assert!(err.contains("the key does not fit"), "{err}");
        assert!(err.contains("Nothing was changed"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn plain_sqlite_and_random_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain.db");
        Connection::open(&plain)
            .unwrap()
            .execute_batch("CREATE TABLE t(x)")
            .unwrap();
        let err = Store::open(&plain, &key()).err().unwrap().to_string();
        assert!(err.contains("unencrypted SQLite file"), "{err}");

        let junk = dir.path().join("notes.txt");
        std::fs::write(&junk, "shopping list\n".repeat(500)).unwrap();
        let err = Store::open(&junk, &key()).err().unwrap().to_string();
        assert!(err.contains("not a Keyroll database"), "{err}");
        assert_eq!(
            std::fs::read_to_string(&junk).unwrap(),
            "shopping list\n".repeat(500)
        );
    }

    #[test]
    fn first_load_uses_a_rollback_journal_only_when_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.db");
        let k = key();
        let mode = |s: &Store| -> String {
            s.conn()
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .unwrap()
        };
        let fks = |s: &Store| -> i64 {
            s.conn()
                .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
                .unwrap()
        };
        let mut alone = Store::open(&path, &k).unwrap();
        let sync = |s: &Store| -> i64 {
            s.conn()
                .query_row("PRAGMA synchronous", [], |r| r.get(0))
                .unwrap()
        };
        assert!(alone.begin_first_load().unwrap());
        assert_eq!((mode(&alone).as_str(), sync(&alone)), ("delete", 2), "FULL");
        alone.end_first_load().unwrap();
        assert_eq!((mode(&alone).as_str(), sync(&alone)), ("wal", 1), "NORMAL");
        let off = alone
            .with_foreign_keys_off(|s| Ok::<_, Error>(fks(s)))
            .unwrap();
        assert_eq!((off, fks(&alone)), (0, 1));
        let failed: Result<()> = alone.with_foreign_keys_off(|_| Err(Error::Key("stop".into())));
        assert!(failed.is_err());
        assert_eq!(fks(&alone), 1, "back on after a failure too");

        // Another connection (the app's table) keeps it in WAL mode, at once.
        let _other = Store::open(&path, &k).unwrap();
        let started = std::time::Instant::now();
        assert!(!alone.begin_first_load().unwrap());
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(mode(&alone), "wal");
        alone.end_first_load().unwrap();
    }

    #[test]
    fn a_database_locked_by_a_first_load_says_so_not_wrong_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.db");
        let k = key();
        let mut loading = Store::open(&path, &k).unwrap();
        assert!(loading.begin_first_load().unwrap());
        loading.conn().execute_batch("BEGIN EXCLUSIVE").unwrap();
        let err = Store::open(&path, &k).err().unwrap().to_string();
        assert!(err.contains("importing into it"), "{err}");
        assert!(err.contains("Wait for that import to finish"), "{err}");
        loading.conn().execute_batch("ROLLBACK").unwrap();
        loading.end_first_load().unwrap();
        assert!(Store::open(&path, &k).is_ok());
    }

    #[test]
    fn the_person_checks_still_refuse_what_they_did() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("k.db"), &key()).unwrap();
        let sql: String = s
            .conn()
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'person'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        // The v7 rewrite matched (a silent no-op would leave the IN lists).
        assert!(!sql.contains(" IN ("), "{sql}");
        let insert = |kind: &str, status: &str| {
            s.conn().execute(
                "INSERT INTO person (source, sis_id, kind, status, sort_key, search)
                 VALUES ('t', ?1, ?2, ?3, '', '')",
                [
                    format!("{kind}-{status}"),
                    kind.to_owned(),
                    status.to_owned(),
                ],
            )
        };
        assert!(insert("student", "active").is_ok());
        assert!(insert("contact", "inactive").is_ok());
        assert!(insert("teacher", "active").is_err());
        assert!(insert("staff", "gone").is_err());
    }

    #[test]
    fn write_audits_and_rolls_back_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("k.db"), &key()).unwrap();
        s.write("office", |w| {
            w.conn()
                .execute("INSERT INTO user_group (name) VALUES ('Students')", [])?;
            w.audit("group.create", "group", "Students", None, Some("{}"))
        })
        .unwrap();
        let failed: Result<()> = s.write("office", |w| {
            w.conn()
                .execute("INSERT INTO user_group (name) VALUES ('Staff')", [])?;
            w.audit("group.create", "group", "Staff", None, Some("{}"))?;
            Err(Error::Key("stop".into()))
        });
        assert!(failed.is_err());
        let groups: i64 = s
            .conn()
            .query_row("SELECT count(*) FROM user_group", [], |r| r.get(0))
            .unwrap();
        let audits: Vec<(String, String)> = s
            .conn()
            .prepare("SELECT actor, entity_key FROM audit")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(groups, 1);
        assert_eq!(audits, [("office".to_owned(), "Students".to_owned())]);
    }

    #[test]
    fn the_changes_digest_covers_what_was_recorded_not_when() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("k.db"), &key()).unwrap();
        let digest = |s: &mut Store, key: &str| {
            let mut w = s.writer("office").unwrap();
            assert_eq!(w.changes_digest(), None, "only when asked for");
            w.track_changes();
            w.audit("group.create", "group", key, None, Some("{}"))
                .unwrap();
            let d = w.changes_digest().unwrap();
            w.rollback().unwrap();
            d
        };
        let a = digest(&mut s, "Students");
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(digest(&mut s, "Students"), a, "the time is not part of it");
        assert_ne!(digest(&mut s, "Staff"), a);
    }
}
