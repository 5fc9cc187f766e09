//! The PostgreSQL backend, for a district: several server processes behind
//! a load balancer sharing one database. The same schema as SQLite's
//! (migrations/postgres), the same answers; what differs is what a shared
//! database needs: a small pool of connections, rows locked while a write
//! checks their version, and migrations run under an advisory lock so that
//! processes starting together do not race.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Mutex;

use keyroll_scim::Kind;
use postgres::{Client, GenericClient, NoTls, Row, Statement};
use serde_json::Value;

use super::sqlite::{check, member_changes, minute_before, new_id, table, text, user_name_key};
use super::{
    now, Account, AccountKey, Accounts, Expect, Narrow, Resources, Result, Secrets, SignInState,
    Storage, StoreError, Stored, TokenInfo,
};

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/001_scim.sql"),
    include_str!("../../migrations/postgres/002_accounts.sql"),
    include_str!("../../migrations/postgres/003_session_expiry.sql"),
];

/// Connections kept open, beyond which a call opens its own.
const POOL: usize = 8;

pub struct Postgres {
    url: String,
    idle: Mutex<Vec<Conn>>,
}

/// A connection and the statements prepared on it: the postgres crate
/// prepares a text query afresh on every call, a round trip and a plan
/// each time.
struct Conn {
    client: Client,
    prepared: HashMap<String, Statement>,
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        match e.code() {
            Some(c) if *c == postgres::error::SqlState::UNIQUE_VIOLATION => {
                StoreError::Taken(e.as_db_error().map_or("a value".into(), |d| {
                    d.constraint().unwrap_or("a value").to_owned()
                }))
            }
            _ => StoreError::Database(e.to_string()),
        }
    }
}

impl Postgres {
    /// Connects (a `postgres://` URL) and brings the schema up to date.
    pub fn open(url: &str) -> Result<Self> {
        let pg = Postgres {
            url: url.to_owned(),
            idle: Mutex::new(Vec::new()),
        };
        let mut c = pg.connect()?;
        migrate(&mut c.client)?;
        pg.give_back(c);
        Ok(pg)
    }

    fn connect(&self) -> Result<Conn> {
        let client = Client::connect(&self.url, NoTls)
            .map_err(|e| StoreError::Database(format!("cannot connect to PostgreSQL: {e}")))?;
        Ok(Conn {
            client,
            prepared: HashMap::new(),
        })
    }

    fn take(&self) -> Result<Conn> {
        let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
        match idle {
            Some(c) if !c.client.is_closed() => Ok(c),
            _ => self.connect(),
        }
    }

    fn give_back(&self, c: Conn) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < POOL && !c.client.is_closed() {
                idle.push(c);
            }
        }
    }

    /// Runs `f` in a transaction of its own, committed if it succeeds.
    fn write<T>(&self, f: impl FnOnce(&Pg<postgres::Transaction>) -> Result<T>) -> Result<T> {
        let mut c = self.take()?;
        let out = (|| {
            let tx = c.client.transaction()?;
            let pg = Pg {
                c: RefCell::new(tx),
                prepared: RefCell::new(&mut c.prepared),
            };
            let out = f(&pg)?;
            pg.c.into_inner().commit()?;
            Ok(out)
        })();
        self.give_back(c);
        out
    }

    /// Runs `f`, one statement, without a transaction around it: a
    /// lookup needs no BEGIN and COMMIT, two more round trips.
    fn read<T>(&self, f: impl FnOnce(&Pg<Client>) -> Result<T>) -> Result<T> {
        let Conn {
            client,
            mut prepared,
        } = self.take()?;
        let pg = Pg {
            c: RefCell::new(client),
            prepared: RefCell::new(&mut prepared),
        };
        let out = f(&pg);
        let client = pg.c.into_inner();
        self.give_back(Conn { client, prepared });
        out
    }
}

fn migrate(c: &mut Client) -> Result<()> {
    let mut tx = c.transaction()?;
    // Every process starting at once waits here for the first.
    tx.batch_execute(
        "SELECT pg_advisory_xact_lock(7263746);
         CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)",
    )?;
    let at: i64 = tx
        .query_opt("SELECT version FROM schema_version", &[])?
        .map_or(0, |r| r.get(0));
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(at as usize) {
        tx.batch_execute(sql)?;
        tx.execute("DELETE FROM schema_version", &[])?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&(i as i64 + 1)],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// A connection in use (an open transaction, or not), with the
/// statements prepared on it; each write inside it in a savepoint.
struct Pg<'a, C: GenericClient> {
    c: RefCell<C>,
    prepared: RefCell<&'a mut HashMap<String, Statement>>,
}

type Params<'p> = &'p [&'p (dyn postgres::types::ToSql + Sync)];

impl<C: GenericClient> Pg<'_, C> {
    fn savepoint<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        self.c.borrow_mut().batch_execute("SAVEPOINT one_write")?;
        match f() {
            Ok(v) => {
                self.c.borrow_mut().batch_execute("RELEASE one_write")?;
                Ok(v)
            }
            Err(e) => {
                self.c
                    .borrow_mut()
                    .batch_execute("ROLLBACK TO one_write; RELEASE one_write")?;
                Err(e)
            }
        }
    }

    /// `sql` prepared once per connection.
    fn statement(&self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.prepared.borrow().get(sql) {
            return Ok(s.clone());
        }
        let s = self.c.borrow_mut().prepare(sql)?;
        self.prepared.borrow_mut().insert(sql.to_owned(), s.clone());
        Ok(s)
    }

    fn exec(&self, sql: &str, params: Params) -> Result<u64> {
        let s = self.statement(sql)?;
        Ok(self.c.borrow_mut().execute(&s, params)?)
    }

    fn rows(&self, sql: &str, params: Params) -> Result<Vec<Row>> {
        let s = self.statement(sql)?;
        Ok(self.c.borrow_mut().query(&s, params)?)
    }

    fn row(&self, sql: &str, params: Params) -> Result<Option<Row>> {
        let s = self.statement(sql)?;
        Ok(self.c.borrow_mut().query_opt(&s, params)?)
    }

    fn get_locked(&self, kind: Kind, id: &str) -> Result<Option<Stored>> {
        let sql = format!(
            "SELECT {} FROM {} WHERE id = $1 FOR UPDATE",
            cols(kind),
            table(kind)
        );
        Ok(self.row(&sql, &[&id])?.map(|r| stored(&r)))
    }

    fn put_members(&self, group: &str, doc: &Value) -> Result<()> {
        let have = self
            .rows(
                "SELECT member_id FROM memberships WHERE group_id = $1",
                &[&group],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let (added, dropped) = member_changes(have, doc);
        // One statement per change set, not one round trip per member.
        let unknown = self.row(
            "SELECT m FROM unnest($1::text[]) AS m
             WHERE NOT EXISTS (SELECT 1 FROM users WHERE id = m)
               AND NOT EXISTS (SELECT 1 FROM groups WHERE id = m) LIMIT 1",
            &[&added],
        )?;
        if let Some(r) = unknown {
            return Err(StoreError::NoSuchMember(r.get(0)));
        }
        self.exec(
            "INSERT INTO memberships (group_id, member_id) SELECT $1, unnest($2::text[])
             ON CONFLICT DO NOTHING",
            &[&group, &added],
        )?;
        self.exec(
            "DELETE FROM memberships WHERE group_id = $1 AND member_id = ANY($2)",
            &[&group, &dropped],
        )?;
        Ok(())
    }

    /// Which unique value kept a new user out.
    fn why_not_inserted(&self, doc: &Value, key: &str) -> Result<StoreError> {
        let name_taken = self
            .row("SELECT 1 FROM users WHERE user_name_key = $1", &[&key])?
            .is_some();
        Ok(StoreError::Taken(if name_taken {
            format!(
                "the userName {:?}",
                text(doc, "userName").unwrap_or_default()
            )
        } else {
            "the activation code".into()
        }))
    }

    fn put_secrets(&self, id: &str, s: &Secrets) -> Result<()> {
        if let Some(h) = &s.password_hash {
            self.exec(
                "UPDATE users SET password_hash = $2 WHERE id = $1",
                &[&id, h],
            )?;
            self.exec("DELETE FROM sessions WHERE user_id = $1", &[&id])?;
        }
        if let Some((hash, expires)) = &s.activation {
            self.exec(
                "UPDATE users SET activation_hash = $2, activation_expires = $3 WHERE id = $1",
                &[&id, hash, expires],
            )
            .map_err(|e| match e {
                StoreError::Taken(_) => StoreError::Taken("the activation code".into()),
                e => e,
            })?;
        }
        if let Some(m) = s.must_change {
            self.exec(
                "UPDATE users SET must_change = $2 WHERE id = $1",
                &[&id, &m],
            )?;
        }
        if s.unlock {
            self.exec(
                "UPDATE users SET locked = NULL, failed_sign_ins = 0 WHERE id = $1",
                &[&id],
            )?;
        }
        Ok(())
    }

    fn drop_member(&self, member: &str, at: &str) -> Result<()> {
        let groups = self.rows(
            "SELECT group_id FROM memberships WHERE member_id = $1",
            &[&member],
        )?;
        for g in groups {
            let g: String = g.get(0);
            let Some(mut s) = self.get_locked(Kind::Group, &g)? else {
                continue;
            };
            if let Some(Value::Array(m)) = s.doc.get_mut("members") {
                m.retain(|m| text(m, "value").as_deref() != Some(member));
            }
            self.exec(
                "UPDATE groups SET doc = $2, version = version + 1, modified = $3 WHERE id = $1",
                &[&g, &s.doc.to_string(), &at],
            )?;
        }
        self.exec("DELETE FROM memberships WHERE member_id = $1", &[&member])?;
        Ok(())
    }
}

/// New users' columns, one array each, for `unnest`.
#[derive(Default)]
struct NewUsers {
    id: Vec<String>,
    key: Vec<String>,
    external: Vec<Option<String>>,
    doc: Vec<String>,
    password: Vec<Option<String>>,
    code: Vec<Option<String>>,
    expires: Vec<Option<String>>,
    must_change: Vec<Option<bool>>,
}

impl NewUsers {
    fn push(&mut self, id: String, doc: &Value, s: &Secrets) {
        let (code, expires) = s.activation.clone().unzip();
        self.id.push(id);
        self.key
            .push(user_name_key(&text(doc, "userName").unwrap_or_default()));
        self.external.push(text(doc, "externalId"));
        self.doc.push(doc.to_string());
        self.password.push(s.password_hash.clone());
        self.code.push(code);
        self.expires.push(expires.flatten());
        self.must_change.push(s.must_change);
    }
}

fn cols(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "id, version, created, modified, doc, last_sign_in, locked, activated",
        Kind::Group => "id, version, created, modified, doc, NULL::text, NULL::text, NULL::text",
    }
}

fn stored(r: &Row) -> Stored {
    let doc: String = r.get(4);
    Stored {
        id: r.get(0),
        version: r.get(1),
        created: r.get(2),
        modified: r.get(3),
        doc: serde_json::from_str(&doc).unwrap_or(Value::Null),
        state: SignInState {
            last_sign_in: r.get(5),
            locked: r.get(6),
            activated: r.get(7),
        },
    }
}

impl<C: GenericClient> Resources for Pg<'_, C> {
    fn create(&self, kind: Kind, doc: Value, secrets: Secrets) -> Result<Stored> {
        if kind == Kind::User {
            let mut made = self.create_users(vec![(doc, secrets)])?;
            return made.pop().expect("one answer for one user");
        }
        let id = new_id()?;
        let at = now();
        self.savepoint(|| {
            self.exec(
                "INSERT INTO groups (id, display_name, external_id, version, created, modified, doc)
                 VALUES ($1, $2, $3, 1, $4, $4, $5)",
                &[&id, &text(&doc, "displayName").unwrap_or_default(), &text(&doc, "externalId"), &at, &doc.to_string()],
            )?;
            self.put_members(&id, &doc)
        })?;
        Ok(Stored {
            id,
            version: 1,
            created: at.clone(),
            modified: at,
            doc,
            state: SignInState::default(),
        })
    }

    /// One statement for them all, their credentials with them, and no
    /// savepoint: a taken userName or code inserts nothing instead of
    /// failing, so the rest go on in the same transaction. (A statement
    /// and a savepoint a user cost four round trips, and past 64
    /// savepoints in one transaction PostgreSQL's subtransaction cache
    /// overflows.)
    fn create_users(&self, users: Vec<(Value, Secrets)>) -> Result<Vec<Result<Stored>>> {
        let at = now();
        let mut rows = NewUsers::default();
        for (doc, s) in &users {
            rows.push(new_id()?, doc, s);
        }
        let inserted: std::collections::HashSet<String> = self
            .rows(
                "INSERT INTO users (id, user_name_key, external_id, version, created, modified, doc,
                                    password_hash, activation_hash, activation_expires, must_change)
                 SELECT id, k, e, 1, $1, $1, d, p, a, x, COALESCE(m, false)
                 FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                             $7::text[], $8::text[], $9::bool[])
                      WITH ORDINALITY AS u(id, k, e, d, p, a, x, m, n)
                 ORDER BY n
                 ON CONFLICT DO NOTHING
                 RETURNING id",
                &[&at, &rows.id, &rows.key, &rows.external, &rows.doc, &rows.password,
                  &rows.code, &rows.expires, &rows.must_change],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut answers = Vec::with_capacity(users.len());
        for ((doc, _), (id, key)) in users.into_iter().zip(rows.id.into_iter().zip(rows.key)) {
            answers.push(if inserted.contains(&id) {
                Ok(Stored {
                    id,
                    version: 1,
                    created: at.clone(),
                    modified: at.clone(),
                    doc,
                    state: SignInState::default(),
                })
            } else {
                Err(self.why_not_inserted(&doc, &key)?)
            });
        }
        Ok(answers)
    }

    fn get(&self, kind: Kind, id: &str) -> Result<Option<Stored>> {
        let sql = format!("SELECT {} FROM {} WHERE id = $1", cols(kind), table(kind));
        Ok(self.row(&sql, &[&id])?.map(|r| stored(&r)))
    }

    fn replace(
        &self,
        kind: Kind,
        id: &str,
        expect: Expect,
        doc: Value,
        secrets: Secrets,
    ) -> Result<Stored> {
        self.savepoint(|| {
            // The version and creation time, not the document: a group's
            // is 5 MB with 100,000 members, and a PATCH need not parse it.
            let row = self
                .row(
                    &format!("SELECT version, created FROM {} WHERE id = $1 FOR UPDATE", table(kind)),
                    &[&id],
                )?
                .ok_or(StoreError::NotFound)?;
            let (version, created): (i64, String) = (row.get(0), row.get(1));
            check(&expect, version)?;
            let at = now();
            let external = text(&doc, "externalId");
            match kind {
                Kind::User => {
                    let user_name = text(&doc, "userName").unwrap_or_default();
                    self.exec(
                        "UPDATE users SET user_name_key = $2, external_id = $3, version = version + 1,
                         modified = $4, doc = $5 WHERE id = $1",
                        &[&id, &user_name_key(&user_name), &external, &at, &doc.to_string()],
                    )
                    .map_err(|e| match e {
                        StoreError::Taken(_) => StoreError::Taken(format!("the userName {user_name:?}")),
                        e => e,
                    })?;
                    self.put_secrets(id, &secrets)?;
                    if doc.get("active").and_then(Value::as_bool) == Some(false) {
                        self.exec("DELETE FROM sessions WHERE user_id = $1", &[&id])?;
                    }
                }
                Kind::Group => {
                    self.exec(
                        "UPDATE groups SET display_name = $2, external_id = $3, version = version + 1,
                         modified = $4, doc = $5 WHERE id = $1",
                        &[&id, &text(&doc, "displayName").unwrap_or_default(), &external, &at, &doc.to_string()],
                    )?;
                    self.put_members(id, &doc)?;
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
            self.get(kind, id)?.ok_or(StoreError::NotFound)
        })
    }

    fn delete(&self, kind: Kind, id: &str, expect: Expect) -> Result<()> {
        self.savepoint(|| {
            let old = self.get_locked(kind, id)?.ok_or(StoreError::NotFound)?;
            check(&expect, old.version)?;
            self.drop_member(id, &now())?;
            self.exec(
                &format!("DELETE FROM {} WHERE id = $1", table(kind)),
                &[&id],
            )?;
            Ok(())
        })
    }

    fn find(&self, kind: Kind, narrow: &Narrow) -> Result<Vec<Stored>> {
        let t = table(kind);
        let c = cols(kind);
        let (sql, arg): (String, Option<String>) = match (narrow, kind) {
            (Narrow::All, _) => (format!("SELECT {c} FROM {t} ORDER BY seq"), None),
            (Narrow::UserName(u), Kind::User) => (
                format!("SELECT {c} FROM users WHERE user_name_key = $1"),
                Some(user_name_key(u)),
            ),
            (Narrow::UserName(_), Kind::Group) => return Ok(Vec::new()),
            (Narrow::DisplayName(_), Kind::User) => {
                (format!("SELECT {c} FROM users ORDER BY seq"), None)
            }
            (Narrow::DisplayName(d), Kind::Group) => (
                format!(
                    "SELECT {c} FROM groups WHERE lower(display_name) = lower($1) ORDER BY seq"
                ),
                Some(d.clone()),
            ),
            (Narrow::ExternalId(e), _) => (
                format!("SELECT {c} FROM {t} WHERE external_id = $1 ORDER BY seq"),
                Some(e.clone()),
            ),
            (Narrow::Id(id), _) => (
                format!("SELECT {c} FROM {t} WHERE id = $1"),
                Some(id.clone()),
            ),
            (Narrow::ModifiedSince { at, inclusive }, _) => (
                format!(
                    "SELECT {c} FROM {t} WHERE modified {} $1 ORDER BY modified, seq",
                    if *inclusive { ">=" } else { ">" }
                ),
                Some(at.clone()),
            ),
        };
        let rows = match &arg {
            Some(a) => self.rows(&sql, &[a])?,
            None => self.rows(&sql, &[])?,
        };
        Ok(rows.iter().map(stored).collect())
    }

    fn groups_of(&self, id: &str) -> Result<Vec<(String, String)>> {
        Ok(self
            .rows(
                "SELECT g.id, g.display_name FROM memberships m JOIN groups g ON g.id = m.group_id
                 WHERE m.member_id = $1 ORDER BY g.display_name",
                &[&id],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    fn page(&self, kind: Kind, skip: usize, count: usize) -> Result<(usize, Vec<Stored>)> {
        let t = table(kind);
        let total: i64 = self
            .row(&format!("SELECT count(*) FROM {t}"), &[])?
            .map_or(0, |r| r.get(0));
        let rows = self.rows(
            &format!(
                "SELECT {} FROM {t} ORDER BY seq LIMIT $1 OFFSET $2",
                cols(kind)
            ),
            &[&(count as i64), &(skip as i64)],
        )?;
        Ok((total as usize, rows.iter().map(stored).collect()))
    }
}

impl Resources for Postgres {
    fn create(&self, kind: Kind, doc: Value, secrets: Secrets) -> Result<Stored> {
        self.write(|t| t.create(kind, doc, secrets))
    }

    fn create_users(&self, users: Vec<(Value, Secrets)>) -> Result<Vec<Result<Stored>>> {
        self.write(|t| t.create_users(users))
    }

    fn get(&self, kind: Kind, id: &str) -> Result<Option<Stored>> {
        self.read(|t| t.get(kind, id))
    }

    fn replace(
        &self,
        kind: Kind,
        id: &str,
        expect: Expect,
        doc: Value,
        secrets: Secrets,
    ) -> Result<Stored> {
        self.write(|t| t.replace(kind, id, expect, doc, secrets))
    }

    fn delete(&self, kind: Kind, id: &str, expect: Expect) -> Result<()> {
        self.write(|t| t.delete(kind, id, expect))
    }

    fn find(&self, kind: Kind, narrow: &Narrow) -> Result<Vec<Stored>> {
        self.read(|t| t.find(kind, narrow))
    }

    fn groups_of(&self, id: &str) -> Result<Vec<(String, String)>> {
        self.read(|t| t.groups_of(id))
    }

    fn page(&self, kind: Kind, skip: usize, count: usize) -> Result<(usize, Vec<Stored>)> {
        self.write(|t| t.page(kind, skip, count))
    }
}

/// Moves a user's version and lastModified on (its sign-in state changed).
const TOUCH: &str = "version = version + 1, modified = $2";

fn account(r: &Row) -> Account {
    let doc: String = r.get(1);
    Account {
        id: r.get(0),
        doc: serde_json::from_str(&doc).unwrap_or(Value::Null),
        password_hash: r.get(2),
        must_change: r.get(3),
        failed_sign_ins: r.get(4),
        locked: r.get(5),
        activation_expires: r.get(6),
    }
}

impl Accounts for Postgres {
    fn account(&self, key: AccountKey) -> Result<Option<Account>> {
        let (column, value) = match key {
            AccountKey::UserName(u) => ("user_name_key", user_name_key(u)),
            AccountKey::Id(id) => ("id", id.to_owned()),
            AccountKey::Activation(h) => ("activation_hash", h.to_owned()),
        };
        self.read(|t| {
            Ok(t.row(
                &format!(
                    "SELECT id, doc, password_hash, must_change, failed_sign_ins, locked, activation_expires
                     FROM users WHERE {column} = $1"
                ),
                &[&value],
            )?
            .map(|r| account(&r)))
        })
    }

    fn failed_sign_in(&self, id: &str, lock_after: i64) -> Result<bool> {
        self.write(|t| {
            t.exec(
                "UPDATE users SET failed_sign_ins = failed_sign_ins + 1 WHERE id = $1",
                &[&id],
            )?;
            let n = t.exec(
                &format!(
                    "UPDATE users SET locked = $2, {TOUCH} WHERE id = $1 AND locked IS NULL
                     AND failed_sign_ins >= $3"
                ),
                &[&id, &now(), &lock_after],
            )?;
            Ok(n > 0)
        })
    }

    fn signed_in(&self, id: &str, session_hash: &str, expires: &str) -> Result<bool> {
        // One statement, atomic on its own: no BEGIN and COMMIT, so one
        // round trip where a sign-in competes with argon2 for the cores.
        self.read(|t| {
            let n: i64 = t
                .row(
                    &format!(
                        "WITH u AS (UPDATE users SET failed_sign_ins = 0, last_sign_in = $2, {TOUCH}
                                    WHERE id = $1 AND locked IS NULL RETURNING id),
                              s AS (INSERT INTO sessions (hash, user_id, created, expires)
                                    SELECT $3::text, id, $2::text, $4::text FROM u),
                              d AS (DELETE FROM sessions WHERE expires < $2)
                         SELECT count(*) FROM u"
                    ),
                    &[&id, &now(), &session_hash, &expires],
                )?
                .map_or(0, |r| r.get(0));
            Ok(n > 0)
        })
    }

    fn set_password(&self, id: &str, password_hash: &str) -> Result<()> {
        self.write(|t| {
            t.exec(
                &format!("UPDATE users SET password_hash = $3, must_change = false, {TOUCH} WHERE id = $1"),
                &[&id, &now(), &password_hash],
            )?;
            t.exec("DELETE FROM sessions WHERE user_id = $1", &[&id])?;
            Ok(())
        })
    }

    fn activate(&self, code_hash: &str, password_hash: &str) -> Result<Option<String>> {
        self.write(|t| {
            Ok(t.row(
                &format!(
                    "UPDATE users SET password_hash = $3, must_change = false, activation_hash = NULL,
                     activation_expires = NULL, activated = $2, locked = NULL, failed_sign_ins = 0, {TOUCH}
                     WHERE activation_hash = $1 AND (activation_expires IS NULL OR activation_expires > $2)
                     RETURNING id"
                ),
                &[&code_hash, &now(), &password_hash],
            )?
            .map(|r| r.get(0)))
        })
    }

    fn unlock(&self, user_name: &str) -> Result<bool> {
        self.write(|t| {
            let n = t.exec(
                &format!(
                    "UPDATE users SET locked = NULL, failed_sign_ins = 0, {TOUCH}
                     WHERE user_name_key = $1 AND locked IS NOT NULL"
                ),
                &[&user_name_key(user_name), &now()],
            )?;
            Ok(n > 0)
        })
    }

    fn start_session(&self, hash: &str, user_id: &str, expires: &str) -> Result<()> {
        self.write(|t| {
            let at = now();
            t.exec(
                "INSERT INTO sessions (hash, user_id, created, expires) VALUES ($1, $2, $3, $4)",
                &[&hash, &user_id, &at, &expires],
            )?;
            t.exec("DELETE FROM sessions WHERE expires < $1", &[&at])?;
            Ok(())
        })
    }

    fn session_user(&self, hash: &str) -> Result<Option<String>> {
        self.read(|t| {
            Ok(t.row(
                "SELECT user_id FROM sessions WHERE hash = $1 AND expires > $2",
                &[&hash, &now()],
            )?
            .map(|r| r.get(0)))
        })
    }

    fn end_session(&self, hash: &str) -> Result<()> {
        self.write(|t| {
            t.exec("DELETE FROM sessions WHERE hash = $1", &[&hash])?;
            Ok(())
        })
    }

    fn start_reset(&self, hash: &str, user_id: &str, expires: &str) -> Result<()> {
        self.write(|t| {
            t.exec(
                "UPDATE password_resets SET used = $2 WHERE user_id = $1 AND used IS NULL",
                &[&user_id, &now()],
            )?;
            t.exec(
                "INSERT INTO password_resets (hash, user_id, expires) VALUES ($1, $2, $3)",
                &[&hash, &user_id, &expires],
            )?;
            Ok(())
        })
    }

    fn finish_reset(&self, hash: &str, password_hash: &str) -> Result<Option<String>> {
        self.write(|t| {
            let at = now();
            let id: Option<String> = t
                .row(
                    "UPDATE password_resets SET used = $2
                     WHERE hash = $1 AND used IS NULL AND expires > $2 RETURNING user_id",
                    &[&hash, &at],
                )?
                .map(|r| r.get(0));
            if let Some(id) = &id {
                t.exec(
                    &format!(
                        "UPDATE users SET password_hash = $3, must_change = false, locked = NULL,
                         failed_sign_ins = 0, {TOUCH} WHERE id = $1"
                    ),
                    &[id, &at, &password_hash],
                )?;
                t.exec("DELETE FROM sessions WHERE user_id = $1", &[id])?;
                t.exec(
                    "UPDATE password_resets SET used = $2 WHERE user_id = $1 AND used IS NULL",
                    &[id, &at],
                )?;
            }
            Ok(id)
        })
    }

    fn setting(&self, key: &str) -> Result<Option<String>> {
        self.read(|t| {
            Ok(t.row("SELECT value FROM settings WHERE key = $1", &[&key])?
                .map(|r| r.get(0)))
        })
    }

    fn settings(&self, keys: &[&str]) -> Result<Vec<Option<String>>> {
        let found: HashMap<String, String> = self.read(|t| {
            Ok(t.rows(
                "SELECT key, value FROM settings WHERE key = ANY($1)",
                &[&keys],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
        })?;
        Ok(keys.iter().map(|k| found.get(*k).cloned()).collect())
    }

    fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.write(|t| {
            t.exec(
                "INSERT INTO settings (key, value) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&key, &value],
            )?;
            Ok(())
        })
    }
}

impl Storage for Postgres {
    fn batch(&self, work: &mut dyn FnMut(&dyn Resources) -> Result<()>) -> Result<()> {
        self.write(|t| work(t))
    }

    fn create_token(&self, name: &str, hash: &str) -> Result<()> {
        self.write(|t| {
            t.exec(
                "INSERT INTO tokens (name, hash, created) VALUES ($1, $2, $3)",
                &[&name, &hash, &now()],
            )
            .map_err(|e| match e {
                StoreError::Taken(_) => StoreError::Taken(format!("the token name {name:?}")),
                e => e,
            })?;
            Ok(())
        })
    }

    fn use_token(&self, hash: &str) -> Result<Option<String>> {
        self.write(|t| {
            let Some(r) = t.row(
                "SELECT name, last_used FROM tokens WHERE hash = $1 AND revoked IS NULL",
                &[&hash],
            )?
            else {
                return Ok(None);
            };
            let (name, last_used): (String, Option<String>) = (r.get(0), r.get(1));
            let at = now();
            if last_used.is_none_or(|u| u < minute_before(&at)) {
                t.exec(
                    "UPDATE tokens SET last_used = $2 WHERE name = $1",
                    &[&name, &at],
                )?;
            }
            Ok(Some(name))
        })
    }

    fn tokens(&self) -> Result<Vec<TokenInfo>> {
        self.write(|t| {
            Ok(t.rows(
                "SELECT name, created, last_used, revoked FROM tokens ORDER BY created, name",
                &[],
            )?
            .iter()
            .map(|r| TokenInfo {
                name: r.get(0),
                created: r.get(1),
                last_used: r.get(2),
                revoked: r.get(3),
            })
            .collect())
        })
    }

    fn revoke_token(&self, name: &str) -> Result<bool> {
        self.write(|t| {
            let n = t.exec(
                "UPDATE tokens SET revoked = $2 WHERE name = $1 AND revoked IS NULL",
                &[&name, &now()],
            )?;
            Ok(n > 0)
        })
    }
}
