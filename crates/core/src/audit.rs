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
        if is_import_creation(r)? {
            for mut e in people_created(r, None)? {
                complete(conn, &mut e)?;
                f(e)?;
            }
            continue;
        }
        let mut e = entry(r)?;
        complete(conn, &mut e)?;
        f(e)?;
    }
    Ok(())
}

/// Whether the row is an import's one entry for the people it created
/// ([`crate::people::audit_created`]).
fn is_import_creation(r: &rusqlite::Row<'_>) -> rusqlite::Result<bool> {
    Ok(r.get_ref(4)?.as_str()? == "import" && r.get_ref(3)?.as_str()? == crate::people::CREATED)
}

/// An import's creation entry as the `person.create` entries it stands for,
/// one per person, each with the entry's id, time, actor and import, and a
/// contact's children; with `only`, just that person's.
fn people_created(r: &rusqlite::Row<'_>, only: Option<&str>) -> rusqlite::Result<Vec<AuditEntry>> {
    let (id, at, actor, import_id): (i64, String, String, Option<i64>) =
        (r.get(0)?, r.get(1)?, r.get(2)?, r.get(8)?);
    let people = crate::people::created_in(r.get_ref(7)?.as_str_or_null()?.unwrap_or("{}"));
    Ok(people
        .into_iter()
        .filter(|p| only.is_none_or(|k| p.key == k))
        .map(|p| AuditEntry {
            id,
            at: at.clone(),
            actor: actor.clone(),
            action: crate::people::CREATED.to_owned(),
            entity: "person".to_owned(),
            entity_key: p.key,
            before: None,
            after: (!p.children.is_empty()).then(|| serde_json::json!({ "children": p.children })),
            import_id,
        })
        .collect())
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
    let rows = st.query_map(rusqlite::params![keys[0], keys[1]], entry)?;
    let mut out: Vec<AuditEntry> = rows.collect::<rusqlite::Result<_>>()?;
    // Their creation is in an entry of the import that created them (one per
    // 5,000 people it created), found by looking inside those entries: first
    // for their key as the entry's JSON spells it (a quick text search), then
    // parsed, which only the entry that names them takes.
    let mut st = conn.prepare(&format!(
        "{SELECT} WHERE entity = 'import' AND action = ?1 AND instr(after, ?3) > 0
             AND EXISTS (SELECT 1 FROM json_each(after, '$.people') WHERE value ->> 'key' = ?2)
         ORDER BY id"
    ))?;
    let quoted = serde_json::to_string(&keys[0]).expect("a string serialises");
    let mut rows = st.query(rusqlite::params![crate::people::CREATED, keys[0], quoted])?;
    while let Some(r) = rows.next()? {
        out.extend(people_created(r, Some(&keys[0]))?);
    }
    drop(rows);
    out.sort_by_key(|e| e.id);
    for e in &mut out {
        complete(conn, e)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_an_import_created_are_each_in_the_log_and_their_history() {
        // Over 5,000 people: their creation takes two entries.
        let (_dir, store, _) = crate::testing::imported_school(2500);
        let conn = store.conn();
        // One row of the log per 5,000 people the import created...
        let rows: i64 = conn
            .query_row(
                "SELECT count(*) FROM audit WHERE action = 'person.create'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(rows, 2);
        // ...which the log shows as one entry per person, with their fields.
        let people: i64 = conn
            .query_row("SELECT count(*) FROM person", [], |r| r.get(0))
            .unwrap();
        assert!((5001..=10_000).contains(&people), "{people}");
        let created: Vec<AuditEntry> = list(conn, None)
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "person.create")
            .collect();
        assert_eq!(created.len() as i64, people);
        assert!(created
            .iter()
            .all(|e| e.entity == "person" && e.import_id == Some(1)));
        let (id, key, given): (i64, String, String) = conn
            .query_row(
                "SELECT p.id, p.source || ':' || p.sis_id, p.given_name FROM person p
                 WHERE kind = 'contact' AND EXISTS (SELECT 1 FROM relationship WHERE contact_id = p.id)
                 ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        let listed = created.iter().find(|e| e.entity_key == key).unwrap();
        assert_eq!(listed.after.as_ref().unwrap()["given_name"], given.as_str());
        assert!(listed.after.as_ref().unwrap()["children"]
            .as_array()
            .is_some_and(|c| !c.is_empty()));
        // A contact's history starts with their creation, children and all.
        let history = for_person(conn, id).unwrap();
        assert_eq!(history.len(), 1, "{history:?}");
        assert_eq!(history[0].action, "person.create");
        assert_eq!(history[0].entity_key, key);
        assert_eq!(history[0].after, listed.after);
    }
}
