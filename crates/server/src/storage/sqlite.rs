//! The SQLite backend: one file, WAL, one connection behind a lock (a
//! school's server sees a few office PCs and its families).

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;

use keyroll_scim::Kind;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde_json::Value;

use super::{
    Account, AccountKey, Accounts, Expect, Narrow, Resources, Result, Secrets, SignInState,
    Storage, StoreError, Stored, TokenInfo,
};

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/001_scim.sql"),
    include_str!("../../migrations/sqlite/002_accounts.sql"),
    include_str!("../../migrations/sqlite/003_session_expiry.sql"),
];

pub struct Sqlite {
    conn: Mutex<Connection>,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

impl Sqlite {
    /// Opens (making and migrating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        // Made readable by the server's own user only: it holds families'
        // names and addresses.
        #[cfg(unix)]
        if !path.exists() {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| StoreError::Database(format!("{}: {e}", path.display())))?;
        }
        let conn = Connection::open(path)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 5000;",
        )?;
        migrate(&conn)?;
        Ok(Sqlite {
            conn: Mutex::new(conn),
        })
    }

    fn write<T>(&self, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| StoreError::Database("lock poisoned".into()))?;
        let tx = conn.transaction()?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| StoreError::Database("lock poisoned".into()))?;
        f(&conn)
    }
}

fn migrate(conn: &Connection) -> Result<()> {
    let at: usize = conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(at) {
        conn.execute_batch(&format!(
            "BEGIN; {sql}; PRAGMA user_version = {}; COMMIT;",
            i + 1
        ))?;
    }
    Ok(())
}

pub use super::now;

/// The stamp a minute before `at` (both as [`now`] makes them).
pub fn minute_before(at: &str) -> String {
    let t = time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    super::stamp(t - time::Duration::minutes(1))
}

pub(super) fn new_id() -> Result<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| StoreError::Database(format!("no randomness: {e}")))?;
    Ok(hex::encode(b))
}

pub(super) fn table(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "users",
        Kind::Group => "groups",
    }
}

pub(super) fn text(doc: &Value, name: &str) -> Option<String> {
    doc.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
        .map(str::to_owned)
}

/// The key a userName is unique by.
pub fn user_name_key(user_name: &str) -> String {
    user_name.trim().to_lowercase()
}

fn member_ids(doc: &Value) -> Vec<String> {
    doc.get("members")
        .and_then(Value::as_array)
        .map(|m| m.iter().filter_map(|m| text(m, "value")).collect())
        .unwrap_or_default()
}

/// The members a group's new document adds and drops, against those it
/// has: a PATCH that adds 1,000 members to a group of 100,000 writes 1,000
/// rows, not 101,000.
pub(super) fn member_changes(have: Vec<String>, doc: &Value) -> (Vec<String>, Vec<String>) {
    let want: Vec<String> = member_ids(doc);
    let have_set: HashSet<&String> = have.iter().collect();
    let want_set: HashSet<&String> = want.iter().collect();
    let mut seen = HashSet::new();
    let added = want
        .iter()
        .filter(|m| !have_set.contains(m) && seen.insert(*m))
        .cloned()
        .collect();
    let dropped = have
        .iter()
        .filter(|m| !want_set.contains(m))
        .cloned()
        .collect();
    (added, dropped)
}

fn put_members(tx: &Connection, group: &str, doc: &Value) -> Result<()> {
    let have = tx
        .prepare_cached("SELECT member_id FROM memberships WHERE group_id = ?1")?
        .query_map([group], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    let (added, dropped) = member_changes(have, doc);
    let mut known = tx.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1) OR EXISTS (SELECT 1 FROM groups WHERE id = ?1)",
    )?;
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO memberships (group_id, member_id) VALUES (?1, ?2)",
    )?;
    for m in added {
        if !known.query_row([&m], |r| r.get::<_, bool>(0))? {
            return Err(StoreError::NoSuchMember(m));
        }
        insert.execute(params![group, m])?;
    }
    let mut delete =
        tx.prepare_cached("DELETE FROM memberships WHERE group_id = ?1 AND member_id = ?2")?;
    for m in dropped {
        delete.execute(params![group, m])?;
    }
    Ok(())
}

fn taken(e: rusqlite::Error, user_name: &str) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Taken(format!("the userName {user_name:?}"))
        }
        e => e.into(),
    }
}

/// The columns [`row`] reads, for each table.
fn cols(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "id, version, created, modified, doc, last_sign_in, locked, activated",
        Kind::Group => "id, version, created, modified, doc, NULL, NULL, NULL",
    }
}

fn row(r: &rusqlite::Row) -> rusqlite::Result<Stored> {
    let doc: String = r.get(4)?;
    Ok(Stored {
        id: r.get(0)?,
        version: r.get(1)?,
        created: r.get(2)?,
        modified: r.get(3)?,
        doc: serde_json::from_str(&doc).unwrap_or(Value::Null),
        state: SignInState {
            last_sign_in: r.get(5)?,
            locked: r.get(6)?,
            activated: r.get(7)?,
        },
    })
}

fn get_in(conn: &Connection, kind: Kind, id: &str) -> Result<Option<Stored>> {
    Ok(conn
        .query_row(
            &format!("SELECT {} FROM {} WHERE id = ?1", cols(kind), table(kind)),
            [id],
            row,
        )
        .optional()?)
}

/// Writes a user's credentials where `secrets` says to.
fn put_secrets(tx: &Connection, id: &str, secrets: &Secrets) -> Result<()> {
    if let Some(h) = &secrets.password_hash {
        tx.execute(
            "UPDATE users SET password_hash = ?2 WHERE id = ?1",
            params![id, h],
        )?;
        tx.execute("DELETE FROM sessions WHERE user_id = ?1", [id])?;
    }
    if let Some((hash, expires)) = &secrets.activation {
        tx.execute(
            "UPDATE users SET activation_hash = ?2, activation_expires = ?3 WHERE id = ?1",
            params![id, hash, expires],
        )
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                StoreError::Taken("the activation code".into())
            }
            e => e.into(),
        })?;
    }
    if let Some(m) = secrets.must_change {
        tx.execute(
            "UPDATE users SET must_change = ?2 WHERE id = ?1",
            params![id, m],
        )?;
    }
    if secrets.unlock {
        tx.execute(
            "UPDATE users SET locked = NULL, failed_sign_ins = 0 WHERE id = ?1",
            [id],
        )?;
    }
    Ok(())
}

pub(super) fn check(expect: &Expect, version: i64) -> Result<()> {
    match expect {
        Some(ok) if !ok(version) => Err(StoreError::Stale { version }),
        _ => Ok(()),
    }
}

/// Takes `member` out of every group that lists it (a user deleted).
fn drop_member(tx: &Connection, member: &str, at: &str) -> Result<()> {
    let groups: Vec<String> = tx
        .prepare("SELECT group_id FROM memberships WHERE member_id = ?1")?
        .query_map([member], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for g in groups {
        let Some(mut s) = get_in(tx, Kind::Group, &g)? else {
            continue;
        };
        if let Some(Value::Array(m)) = s.doc.get_mut("members") {
            m.retain(|m| text(m, "value").as_deref() != Some(member));
        }
        tx.execute(
            "UPDATE groups SET doc = ?2, version = version + 1, modified = ?3 WHERE id = ?1",
            params![g, s.doc.to_string(), at],
        )?;
    }
    tx.execute("DELETE FROM memberships WHERE member_id = ?1", [member])?;
    Ok(())
}

/// The resources inside an open transaction, each write in a savepoint.
struct Tx<'a>(&'a Connection);

/// Runs `f` so that, if it fails, what it wrote is undone and the
/// transaction around it goes on.
fn savepoint<T>(c: &Connection, f: impl FnOnce() -> Result<T>) -> Result<T> {
    c.execute_batch("SAVEPOINT one_write")?;
    match f() {
        Ok(v) => {
            c.execute_batch("RELEASE one_write")?;
            Ok(v)
        }
        Err(e) => {
            c.execute_batch("ROLLBACK TO one_write; RELEASE one_write")?;
            Err(e)
        }
    }
}

impl Resources for Tx<'_> {
    fn create(&self, kind: Kind, doc: Value, secrets: Secrets) -> Result<Stored> {
        let tx = self.0;
        savepoint(tx, || {
            let id = new_id()?;
            let at = now();
            let external = text(&doc, "externalId");
            match kind {
                Kind::User => {
                    let user_name = text(&doc, "userName").unwrap_or_default();
                    tx.execute(
                        "INSERT INTO users (id, user_name_key, external_id, version, created, modified, doc)
                         VALUES (?1, ?2, ?3, 1, ?4, ?4, ?5)",
                        params![id, user_name_key(&user_name), external, at, doc.to_string()],
                    )
                    .map_err(|e| taken(e, &user_name))?;
                    put_secrets(tx, &id, &secrets)?;
                }
                Kind::Group => {
                    tx.execute(
                        "INSERT INTO groups (id, display_name, external_id, version, created, modified, doc)
                         VALUES (?1, ?2, ?3, 1, ?4, ?4, ?5)",
                        params![id, text(&doc, "displayName").unwrap_or_default(), external, at, doc.to_string()],
                    )?;
                    put_members(tx, &id, &doc)?;
                }
            }
            // Nobody has signed in with an account just made.
            Ok(Stored {
                id,
                version: 1,
                created: at.clone(),
                modified: at,
                doc,
                state: SignInState::default(),
            })
        })
    }

    fn get(&self, kind: Kind, id: &str) -> Result<Option<Stored>> {
        get_in(self.0, kind, id)
    }

    fn replace(
        &self,
        kind: Kind,
        id: &str,
        expect: Expect,
        doc: Value,
        secrets: Secrets,
    ) -> Result<Stored> {
        let tx = self.0;
        savepoint(tx, || {
            // The version and creation time, not the document: a group's
            // is 5 MB with 100,000 members, and a PATCH need not parse it.
            let (version, created): (i64, String) = tx
                .query_row(
                    &format!("SELECT version, created FROM {} WHERE id = ?1", table(kind)),
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?
                .ok_or(StoreError::NotFound)?;
            check(&expect, version)?;
            let at = now();
            let external = text(&doc, "externalId");
            match kind {
                Kind::User => {
                    let user_name = text(&doc, "userName").unwrap_or_default();
                    tx.execute(
                        "UPDATE users SET user_name_key = ?2, external_id = ?3, version = version + 1,
                         modified = ?4, doc = ?5 WHERE id = ?1",
                        params![id, user_name_key(&user_name), external, at, doc.to_string()],
                    )
                    .map_err(|e| taken(e, &user_name))?;
                    put_secrets(tx, id, &secrets)?;
                    // An account taken out of use is signed out everywhere.
                    if doc.get("active").and_then(Value::as_bool) == Some(false) {
                        tx.execute("DELETE FROM sessions WHERE user_id = ?1", [id])?;
                    }
                }
                Kind::Group => {
                    tx.execute(
                        "UPDATE groups SET display_name = ?2, external_id = ?3, version = version + 1,
                         modified = ?4, doc = ?5 WHERE id = ?1",
                        params![id, text(&doc, "displayName").unwrap_or_default(), external, at, doc.to_string()],
                    )?;
                    put_members(tx, id, &doc)?;
                    // A group has no sign-in state: what was written is it.
                    return Ok(Stored {
                        id: id.to_owned(),
                        version: version + 1,
                        created,
                        modified: at,
                        doc,
                        state: SignInState::default(),
                    });
                }
            }
            get_in(tx, kind, id)?.ok_or(StoreError::NotFound)
        })
    }

    fn delete(&self, kind: Kind, id: &str, expect: Expect) -> Result<()> {
        let tx = self.0;
        savepoint(tx, || {
            let old = get_in(tx, kind, id)?.ok_or(StoreError::NotFound)?;
            check(&expect, old.version)?;
            drop_member(tx, id, &now())?;
            tx.execute(&format!("DELETE FROM {} WHERE id = ?1", table(kind)), [id])?;
            Ok(())
        })
    }

    fn find(&self, kind: Kind, narrow: &Narrow) -> Result<Vec<Stored>> {
        let t = table(kind);
        let cols = cols(kind);
        let (sql, arg): (String, Option<String>) = match (narrow, kind) {
            (Narrow::All, _) => (format!("SELECT {cols} FROM {t} ORDER BY rowid"), None),
            (Narrow::UserName(u), Kind::User) => (
                format!("SELECT {cols} FROM users WHERE user_name_key = ?1"),
                Some(user_name_key(u)),
            ),
            (Narrow::UserName(_), Kind::Group) => return Ok(Vec::new()),
            (Narrow::DisplayName(_), Kind::User) => (format!("SELECT {cols} FROM users ORDER BY rowid"), None),
            (Narrow::DisplayName(d), Kind::Group) => (
                format!("SELECT {cols} FROM groups WHERE display_name = ?1 COLLATE NOCASE ORDER BY rowid"),
                Some(d.clone()),
            ),
            (Narrow::ExternalId(e), _) => (
                format!("SELECT {cols} FROM {t} WHERE external_id = ?1 ORDER BY rowid"),
                Some(e.clone()),
            ),
            (Narrow::Id(id), _) => (format!("SELECT {cols} FROM {t} WHERE id = ?1"), Some(id.clone())),
            // Text order is time order for the server's own stamps; the
            // filter itself is still applied to each row afterwards.
            (Narrow::ModifiedSince { at, inclusive }, _) => (
                format!(
                    "SELECT {cols} FROM {t} WHERE modified {} ?1 ORDER BY modified, rowid",
                    if *inclusive { ">=" } else { ">" }
                ),
                Some(at.clone()),
            ),
        };
        let c = self.0;
        {
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = match arg {
                Some(a) => stmt
                    .query_map([a], row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?,
                None => stmt
                    .query_map([], row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?,
            };
            Ok(rows)
        }
    }

    fn groups_of(&self, id: &str) -> Result<Vec<(String, String)>> {
        let c = self.0;
        {
            let mut stmt = c.prepare_cached(
                "SELECT g.id, g.display_name FROM memberships m JOIN groups g ON g.id = m.group_id
                 WHERE m.member_id = ?1 ORDER BY g.display_name",
            )?;
            let rows = stmt
                .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        }
    }

    fn page(&self, kind: Kind, skip: usize, count: usize) -> Result<(usize, Vec<Stored>)> {
        let c = self.0;
        let t = table(kind);
        let total: i64 = c.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))?;
        let rows = c
            .prepare_cached(&format!(
                "SELECT {} FROM {t} ORDER BY rowid LIMIT ?1 OFFSET ?2",
                cols(kind)
            ))?
            .query_map(params![count as i64, skip as i64], row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok((total as usize, rows))
    }
}

impl Resources for Sqlite {
    fn create(&self, kind: Kind, doc: Value, secrets: Secrets) -> Result<Stored> {
        self.write(|tx| Tx(tx).create(kind, doc, secrets))
    }

    fn get(&self, kind: Kind, id: &str) -> Result<Option<Stored>> {
        self.read(|c| Tx(c).get(kind, id))
    }

    fn replace(
        &self,
        kind: Kind,
        id: &str,
        expect: Expect,
        doc: Value,
        secrets: Secrets,
    ) -> Result<Stored> {
        self.write(|tx| Tx(tx).replace(kind, id, expect, doc, secrets))
    }

    fn delete(&self, kind: Kind, id: &str, expect: Expect) -> Result<()> {
        self.write(|tx| Tx(tx).delete(kind, id, expect))
    }

    fn find(&self, kind: Kind, narrow: &Narrow) -> Result<Vec<Stored>> {
        self.read(|c| Tx(c).find(kind, narrow))
    }

    fn groups_of(&self, id: &str) -> Result<Vec<(String, String)>> {
        self.read(|c| Tx(c).groups_of(id))
    }

    fn page(&self, kind: Kind, skip: usize, count: usize) -> Result<(usize, Vec<Stored>)> {
        self.read(|c| Tx(c).page(kind, skip, count))
    }
}

impl Storage for Sqlite {
    fn batch(&self, work: &mut dyn FnMut(&dyn Resources) -> Result<()>) -> Result<()> {
        self.write(|tx| work(&Tx(tx)))
    }

    fn create_token(&self, name: &str, hash: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO tokens (name, hash, created) VALUES (?1, ?2, ?3)",
                params![name, hash, now()],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    StoreError::Taken(format!("the token name {name:?}"))
                }
                e => e.into(),
            })?;
            Ok(())
        })
    }

    fn use_token(&self, hash: &str) -> Result<Option<String>> {
        let found: Option<(String, Option<String>)> = self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT name, last_used FROM tokens WHERE hash = ?1 AND revoked IS NULL",
            )?
            .query_row([hash], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
        })?;
        let Some((name, last_used)) = found else {
            return Ok(None);
        };
        let at = now();
        if last_used.is_none_or(|u| u < minute_before(&at)) {
            self.write(|tx| {
                tx.execute(
                    "UPDATE tokens SET last_used = ?2 WHERE name = ?1",
                    params![name, at],
                )?;
                Ok(())
            })?;
        }
        Ok(Some(name))
    }

    fn tokens(&self) -> Result<Vec<TokenInfo>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT name, created, last_used, revoked FROM tokens ORDER BY created, name",
            )?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(TokenInfo {
                        name: r.get(0)?,
                        created: r.get(1)?,
                        last_used: r.get(2)?,
                        revoked: r.get(3)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    fn revoke_token(&self, name: &str) -> Result<bool> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE tokens SET revoked = ?2 WHERE name = ?1 AND revoked IS NULL",
                params![name, now()],
            )?;
            Ok(n > 0)
        })
    }
}

fn start_session_in(
    tx: &Connection,
    hash: &str,
    user_id: &str,
    expires: &str,
    at: &str,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO sessions (hash, user_id, created, expires) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![hash, user_id, at, expires])?;
    tx.prepare_cached("DELETE FROM sessions WHERE expires < ?1")?
        .execute([at])?;
    Ok(())
}

/// Moves a user's version and lastModified on (its sign-in state changed).
const TOUCH: &str = "version = version + 1, modified = ?2";

fn account_row(r: &rusqlite::Row) -> rusqlite::Result<Account> {
    let doc: String = r.get(1)?;
    Ok(Account {
        id: r.get(0)?,
        doc: serde_json::from_str(&doc).unwrap_or(Value::Null),
        password_hash: r.get(2)?,
        must_change: r.get(3)?,
        failed_sign_ins: r.get(4)?,
        locked: r.get(5)?,
        activation_expires: r.get(6)?,
    })
}

impl Accounts for Sqlite {
    fn account(&self, key: AccountKey) -> Result<Option<Account>> {
        let (column, value) = match key {
            AccountKey::UserName(u) => ("user_name_key", user_name_key(u)),
            AccountKey::Id(id) => ("id", id.to_owned()),
            AccountKey::Activation(h) => ("activation_hash", h.to_owned()),
        };
        self.read(|c| {
            Ok(c.prepare_cached(&format!(
                "SELECT id, doc, password_hash, must_change, failed_sign_ins, locked, activation_expires
                 FROM users WHERE {column} = ?1"
            ))?
            .query_row([value], account_row)
            .optional()?)
        })
    }

    fn failed_sign_in(&self, id: &str, lock_after: i64) -> Result<bool> {
        self.write(|tx| {
            let at = now();
            tx.execute(
                "UPDATE users SET failed_sign_ins = failed_sign_ins + 1 WHERE id = ?1",
                [id],
            )?;
            let n = tx.execute(
                &format!(
                    "UPDATE users SET locked = ?2, {TOUCH} WHERE id = ?1 AND locked IS NULL
                     AND failed_sign_ins >= ?3"
                ),
                params![id, at, lock_after],
            )?;
            Ok(n > 0)
        })
    }

    fn signed_in(&self, id: &str, session_hash: &str, expires: &str) -> Result<bool> {
        self.write(|tx| {
            let at = now();
            let n = tx.execute(
                &format!(
                    "UPDATE users SET failed_sign_ins = 0, last_sign_in = ?2, {TOUCH}
                     WHERE id = ?1 AND locked IS NULL"
                ),
                params![id, at],
            )?;
            if n == 0 {
                return Ok(false);
            }
            start_session_in(tx, session_hash, id, expires, &at)?;
            Ok(true)
        })
    }

    fn set_password(&self, id: &str, password_hash: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                &format!(
                    "UPDATE users SET password_hash = ?3, must_change = 0, {TOUCH} WHERE id = ?1"
                ),
                params![id, now(), password_hash],
            )?;
            tx.execute("DELETE FROM sessions WHERE user_id = ?1", [id])?;
            Ok(())
        })
    }

    fn activate(&self, code_hash: &str, password_hash: &str) -> Result<Option<String>> {
        self.write(|tx| {
            let at = now();
            // One statement, so that two browsers using one code cannot
            // both succeed.
            let id: Option<String> = tx
                .query_row(
                    &format!(
                        "UPDATE users SET password_hash = ?3, must_change = 0, activation_hash = NULL,
                         activation_expires = NULL, activated = ?2, locked = NULL, failed_sign_ins = 0, {TOUCH}
                         WHERE activation_hash = ?1 AND (activation_expires IS NULL OR activation_expires > ?2)
                         RETURNING id"
                    ),
                    params![code_hash, at, password_hash],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(id)
        })
    }

    fn unlock(&self, user_name: &str) -> Result<bool> {
        self.write(|tx| {
            let n = tx.execute(
                &format!(
                    "UPDATE users SET locked = NULL, failed_sign_ins = 0, {TOUCH}
                     WHERE user_name_key = ?1 AND locked IS NOT NULL"
                ),
                params![user_name_key(user_name), now()],
            )?;
            Ok(n > 0)
        })
    }

    fn start_session(&self, hash: &str, user_id: &str, expires: &str) -> Result<()> {
        self.write(|tx| start_session_in(tx, hash, user_id, expires, &now()))
    }

    fn session_user(&self, hash: &str) -> Result<Option<String>> {
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT user_id FROM sessions WHERE hash = ?1 AND expires > ?2")?
                    .query_row(params![hash, now()], |r| r.get(0))
                    .optional()?,
            )
        })
    }

    fn end_session(&self, hash: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM sessions WHERE hash = ?1", [hash])?;
            Ok(())
        })
    }

    fn start_reset(&self, hash: &str, user_id: &str, expires: &str) -> Result<()> {
        self.write(|tx| {
            // One live link an account: asking again spends the last one.
            tx.execute(
                "UPDATE password_resets SET used = ?2 WHERE user_id = ?1 AND used IS NULL",
                params![user_id, now()],
            )?;
            tx.execute(
                "INSERT INTO password_resets (hash, user_id, expires) VALUES (?1, ?2, ?3)",
                params![hash, user_id, expires],
            )?;
            Ok(())
        })
    }

    fn finish_reset(&self, hash: &str, password_hash: &str) -> Result<Option<String>> {
        self.write(|tx| {
            let at = now();
            let id: Option<String> = tx
                .query_row(
                    "UPDATE password_resets SET used = ?2
                     WHERE hash = ?1 AND used IS NULL AND expires > ?2 RETURNING user_id",
                    params![hash, at],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(id) = &id {
                tx.execute(
                    &format!(
                        "UPDATE users SET password_hash = ?3, must_change = 0, locked = NULL,
                         failed_sign_ins = 0, {TOUCH} WHERE id = ?1"
                    ),
                    params![id, at, password_hash],
                )?;
                // Signed in elsewhere with the old password: not any more;
                // and any other link sent meanwhile is spent too.
                tx.execute("DELETE FROM sessions WHERE user_id = ?1", [id])?;
                tx.execute(
                    "UPDATE password_resets SET used = ?2 WHERE user_id = ?1 AND used IS NULL",
                    params![id, at],
                )?;
            }
            Ok(id)
        })
    }

    fn setting(&self, key: &str) -> Result<Option<String>> {
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT value FROM settings WHERE key = ?1")?
                    .query_row([key], |r| r.get(0))
                    .optional()?,
            )
        })
    }

    fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            Ok(())
        })
    }
}
