//! The change journal's read side: accounts whose version, person or group
//! moved since the server last acknowledged them, as documents to send.

use rusqlite::{Connection, Row};
use serde_json::Value;

use super::document::{self, Credentials, Dialect, Local};
use crate::accounts::lifecycle::{Flags, State};
use crate::people::Kind;
use crate::Result;

/// What the server last acknowledged of an account.
#[derive(Clone, Debug)]
pub struct Acknowledged {
    pub remote_id: String,
    pub etag: Option<String>,
    pub pushed: Value,
    pub credentials: String,
}

/// One account with something to send (or only to record).
#[derive(Clone, Debug)]
pub struct Pending {
    pub account_id: i64,
    pub key: String,
    pub username: String,
    pub version: i64,
    pub person_digest: i64,
    pub doc: Value,
    pub credentials: Credentials,
    pub known: Option<Acknowledged>,
}

// CROSS JOIN keeps the journal the outer loop: left to itself, the planner
// may scan every account and look each up in the journal (0.9 s, not 0.1).
const PENDING: &str = "
    SELECT a.id, a.username, a.state, a.flags, a.password_hash, a.must_change_password,
           a.activation_hash, a.activation_expires, a.unlock_requested, a.version, a.group_id,
           p.id, p.kind, p.source, p.sis_id, p.given_name, p.middle_name, p.family_name,
           p.preferred_name, p.email, p.schools, p.year_level, p.home_group, p.digest,
           s.remote_id, s.etag, s.pushed, s.credentials
    FROM sync_due d
    CROSS JOIN account a ON a.id = d.account_id
    JOIN person p ON p.id = a.person_id
    LEFT JOIN sync_account s ON s.account_id = a.id
    WHERE d.account_id > ?1
    ORDER BY d.account_id LIMIT ?2";

/// Up to `limit` accounts after the account id `after` that may have a
/// change the server has not acknowledged (the journal, `sync_due`), in id
/// order: each document is compared with what the server acknowledged, so
/// one with nothing new is only taken out of the journal. Read a page at a
/// time, a push of 200,000 accounts never holds them all.
pub fn pending(
    conn: &Connection,
    dialect: Dialect,
    after: i64,
    limit: usize,
) -> Result<Vec<Pending>> {
    let mut links = conn.prepare_cached(LINKS)?;
    let mut st = conn.prepare_cached(PENDING)?;
    let mut rows = st.query(rusqlite::params![after, limit as i64])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let person_id: i64 = r.get(11)?;
        let mut p = pending_row(r, dialect)?;
        if dialect.school {
            p.0.links = links
                .query_map([person_id], link)?
                .collect::<rusqlite::Result<_>>()?;
        }
        let mut pending = p.1;
        pending.doc = document::user(&p.0, dialect);
        out.push(pending);
    }
    Ok(out)
}

fn pending_row(r: &Row, dialect: Dialect) -> Result<(Local, Pending)> {
    let kind = Kind::parse(&r.get::<_, String>(12)?).unwrap_or(Kind::Student);
    let source: String = r.get(13)?;
    let sis_id: String = r.get(14)?;
    let key = crate::accounts::key(kind, &source, &sis_id);
    let flags = Flags::parse(&r.get::<_, String>(3)?);
    let local = Local {
        key: key.clone(),
        username: r.get(1)?,
        given_name: r.get(15)?,
        middle_name: r.get(16)?,
        family_name: r.get(17)?,
        preferred_name: r.get(18)?,
        email: r.get(19)?,
        role: kind.account_word().into(),
        sis_id,
        sis_source: source,
        school: r.get(20)?,
        year: r.get(21)?,
        home_group: r.get(22)?,
        enabled: State::parse(&r.get::<_, String>(2)?) == Some(State::Enabled),
        access_restricted: flags.access_restricted,
        no_reports: flags.no_reports,
        links: Vec::new(),
    };
    let credentials = match dialect.credentials {
        true => Credentials {
            password_hash: r.get(4)?,
            must_change_password: r.get(5)?,
            activation_hash: r.get(6)?,
            activation_expires: r.get(7)?,
            unlock: r.get(8)?,
        },
        false => Credentials::default(),
    };
    let known = match r.get::<_, Option<String>>(24)? {
        Some(remote_id) => Some(Acknowledged {
            remote_id,
            etag: r.get(25)?,
            pushed: serde_json::from_str(&r.get::<_, String>(26)?).unwrap_or(Value::Null),
            credentials: r.get(27)?,
        }),
        None => None,
    };
    let pending = Pending {
        account_id: r.get(0)?,
        key,
        username: local.username.clone(),
        version: r.get(9)?,
        person_digest: r.get(23)?,
        doc: Value::Null,
        credentials,
        known,
    };
    Ok((local, pending))
}

/// Takes an account out of the journal once the server holds all of it:
/// this version, this person, this group, no unlock waiting. A change made
/// meanwhile (another window, another process) keeps it in.
pub(super) fn settled(conn: &Connection, account_id: i64) -> Result<()> {
    exec(
        conn,
        "DELETE FROM sync_due WHERE account_id = ?1 AND EXISTS (
             SELECT 1 FROM account a JOIN person p ON p.id = a.person_id
             JOIN sync_account s ON s.account_id = a.id
             WHERE a.id = ?1 AND s.version = a.version AND s.person_digest = p.digest
               AND a.unlock_requested = 0 AND s.group_id IS a.group_id)",
        [account_id],
    )?;
    Ok(())
}

/// A person's family: their children (for an adult) and adults (for a
/// student) who have accounts, by Keyroll's account key.
const LINKS: &str = "
    SELECT o.kind, o.source, o.sis_id, o.preferred_name, o.given_name, o.family_name, 'child'
    FROM relationship r JOIN person o ON o.id = r.student_id
    JOIN account oa ON oa.person_id = o.id
    WHERE r.contact_id = ?1
    UNION ALL
    SELECT o.kind, o.source, o.sis_id, o.preferred_name, o.given_name, o.family_name, 'parent'
    FROM relationship r JOIN person o ON o.id = r.contact_id
    JOIN account oa ON oa.person_id = o.id
    WHERE r.student_id = ?1
    ORDER BY 7, 3";

fn link(r: &Row) -> rusqlite::Result<(String, &'static str, String)> {
    let kind = Kind::parse(&r.get::<_, String>(0)?).unwrap_or(Kind::Student);
    let key = crate::accounts::key(kind, &r.get::<_, String>(1)?, &r.get::<_, String>(2)?);
    let preferred: String = r.get(3)?;
    let given: String = r.get(4)?;
    let family: String = r.get(5)?;
    let first = if preferred.is_empty() {
        given
    } else {
        preferred
    };
    let kind = match r.get::<_, String>(6)?.as_str() {
        "child" => "child",
        _ => "parent",
    };
    Ok((key, kind, format!("{first} {family}").trim().to_owned()))
}

/// The account an `externalId` names, if it is one of this database's.
pub fn account_by_key(conn: &Connection, key: &str) -> Result<Option<i64>> {
    use rusqlite::OptionalExtension;
    let Some((word, rest)) = key.split_once(':') else {
        return Ok(None);
    };
    let Some((source, sis_id)) = rest.split_once(':') else {
        return Ok(None);
    };
    let kind = match word {
        "parent" => "contact",
        w => w,
    };
    Ok(conn
        .query_row(
            "SELECT a.id FROM person p JOIN account a ON a.person_id = p.id
             WHERE p.source = ?1 AND p.sis_id = ?2 AND p.kind = ?3",
            [source, sis_id, kind],
            |r| r.get(0),
        )
        .optional()?)
}

/// Runs a statement from the connection's cache: the journal writes one
/// row per account, and parsing the same SQL 200,000 times shows.
pub(super) fn exec(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<usize> {
    Ok(conn.prepare_cached(sql)?.execute(p)?)
}
