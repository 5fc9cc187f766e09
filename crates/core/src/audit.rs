//! The audit log: who changed what, when, with the record before and after.
//! Entries are written by [`crate::store::Writer::audit`] inside the same
//! transaction as the change, so a change and its entry land or fail together.

use rusqlite::Connection;
use serde::Serialize;

use crate::error::Result;

#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_key: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub import_id: Option<i64>,
}

/// Now, as RFC 3339 UTC with milliseconds (sorts as text).
pub fn now() -> String {
    let t = time::OffsetDateTime::now_utc();
    t.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    ))
    .expect("formatting a UTC time cannot fail")
}

/// The office user for the audit log: the OS account name.
pub fn current_actor() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

/// Entries at or after `since` (RFC 3339 text prefix such as `2026-11-21`), oldest first.
pub fn list(conn: &Connection, since: Option<&str>) -> Result<Vec<AuditEntry>> {
    let mut out = Vec::new();
    for_each(conn, since, |e| {
        out.push(e);
        Ok(())
    })?;
    Ok(out)
}

/// Like [`list`], one entry at a time (the log of a large school does not fit
/// comfortably in memory at once).
pub fn for_each(
    conn: &Connection,
    since: Option<&str>,
    mut f: impl FnMut(AuditEntry) -> Result<()>,
) -> Result<()> {
    let mut st = conn.prepare(&format!("{SELECT} WHERE at >= ?1 ORDER BY id"))?;
    let mut rows = st.query([since.unwrap_or("")])?;
    while let Some(r) = rows.next()? {
        let mut e = entry(r)?;
        complete(conn, &mut e)?;
        f(e)?;
    }
    Ok(())
}

type Record = serde_json::Map<String, serde_json::Value>;

/// The record an `entity` under `key` was created with, by creation entry
/// `entry_id` (creation entries keep no copy of the row): `now` (the record
/// as it is, None if it cannot be found), or what the entry that deleted it
/// kept, with every field a later entry changed set back to that entry's
/// `before`, the earliest first. Later entries end where the same key was
/// created again (removed, then imported anew). `keep` names the fields a
/// creation state holds.
pub(crate) fn state_at_creation(
    conn: &Connection,
    entity: &str,
    key: &str,
    entry_id: i64,
    keep: impl Fn(&str) -> bool,
    now: impl FnOnce() -> Result<Option<Record>>,
) -> Result<Option<Record>> {
    let (created, deleted) = (format!("{entity}.create"), format!("{entity}.delete"));
    let mut st = conn.prepare_cached(
        "SELECT action, before FROM audit WHERE entity = ?1 AND entity_key = ?2 AND id > ?3
         ORDER BY id",
    )?;
    let mut rows = st.query(rusqlite::params![entity, key, entry_id])?;
    let mut first_before = Record::new();
    let mut removed = None;
    while let Some(r) = rows.next()? {
        let action: String = r.get(0)?;
        if action == created {
            break;
        }
        let before: Record = r
            .get::<_, Option<String>>(1)?
            .and_then(|b| serde_json::from_str(&b).ok())
            .unwrap_or_default();
        if action == deleted {
            removed = Some(before);
            break;
        }
        for (field, value) in before {
            if keep(&field) {
                first_before.entry(field).or_insert(value);
            }
        }
    }
    drop(rows);
    let Some(mut state) = (match removed {
        Some(record) => Some(record),
        None => now()?,
    }) else {
        return Ok(None);
    };
    state.extend(first_before);
    Ok(Some(state))
}

/// Puts the creation state into a person's or an account's creation entry,
/// which keep no copy of the row ([`crate::people::audit_created`],
/// [`crate::accounts::creation_state`]).
fn complete(conn: &Connection, e: &mut AuditEntry) -> Result<()> {
    let state = match (e.entity.as_str(), e.action.as_str()) {
        ("person", "person.create") => crate::people::creation_state(conn, &e.entity_key, e.id)?,
        ("account", "account.create") => {
            let account = e.after.as_ref().and_then(|a| a["account"].as_i64());
            crate::accounts::creation_state(conn, &e.entity_key, e.id, account)?
        }
        _ => return Ok(()),
    };
    let Some(mut state) = state else {
        return Ok(());
    };
    if let Some(serde_json::Value::Object(stored)) = e.after.take() {
        state.extend(stored);
    }
    e.after = Some(serde_json::Value::Object(state));
    Ok(())
}

/// The columns [`entry`] reads.
const SELECT: &str =
    "SELECT id, at, actor, action, entity, entity_key, before, after, import_id FROM audit";

fn entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
    Ok(AuditEntry {
        id: r.get(0)?,
        at: r.get(1)?,
        actor: r.get(2)?,
        action: r.get(3)?,
        entity: r.get(4)?,
        entity_key: r.get(5)?,
        before: parse(r.get(6)?),
        after: parse(r.get(7)?),
        import_id: r.get(8)?,
    })
}

/// How many entries the log holds.
pub fn count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT count(*) FROM audit", [], |r| r.get(0))?)
}

/// The entries about one person and their account, oldest first: the
/// account panel's history.
pub fn for_person(conn: &Connection, person_id: i64) -> Result<Vec<AuditEntry>> {
    let (source, sis_id, kind): (String, String, String) = conn.query_row(
        "SELECT source, sis_id, kind FROM person WHERE id = ?1",
        [person_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let word = crate::people::Kind::parse(&kind)
        .unwrap_or(crate::people::Kind::Contact)
        .account_word();
    let mut st = conn.prepare(&format!(
        "{SELECT} WHERE (entity = 'person' AND entity_key = ?1)
                     OR (entity = 'account' AND entity_key = ?2) ORDER BY id"
    ))?;
    let keys = [format!("{source}:{sis_id}"), format!("{word}:{sis_id}")];
    let rows = st.query_map(keys, entry)?;
    let mut out: Vec<AuditEntry> = rows.collect::<rusqlite::Result<_>>()?;
    for e in &mut out {
        complete(conn, e)?;
    }
    Ok(out)
}
