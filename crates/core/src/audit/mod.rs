//! The audit log: who changed what, when, with the record before and after.
//! Entries are written by [`crate::store::Writer::audit`] inside the same
//! transaction as the change, so a change and its entry land or fail
//! together. An entry is a record, not a view: it keeps what it was told,
//! and reading it back never consults the records as they are now.
//!
//! - [`list`], [`for_each`]: the log, oldest first;
//! - [`history`]: the entries about some records (a person's panel);
//! - [`record_created`]: many creation entries in a few rows ([`created`]).

mod created;

use rusqlite::Connection;
use serde::Serialize;

pub use created::{
    created_by, push_json_escaped, push_json_string, record_created, Created, CreatedRows, GROUPED,
    PER_ROW,
};

use crate::store::Result;

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
    /// The import (or rollback) the change was part of.
    pub import_id: Option<i64>,
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
        Ok::<_, crate::store::Error>(())
    })?;
    Ok(out)
}

/// Like [`list`], one entry at a time (the log of a large school does not fit
/// comfortably in memory at once). `f`'s error stops the walk and is returned.
pub fn for_each<E: From<crate::store::Error>>(
    conn: &Connection,
    since: Option<&str>,
    mut f: impl FnMut(AuditEntry) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    let mut st = conn
        .prepare(&format!("{SELECT} WHERE at >= ?1 ORDER BY id"))
        .map_err(crate::store::Error::from)?;
    let mut rows = st
        .query([since.unwrap_or("")])
        .map_err(crate::store::Error::from)?;
    while let Some(r) = rows.next().map_err(crate::store::Error::from)? {
        let e = entry(r).map_err(crate::store::Error::from)?;
        if created::is_grouped(&e.entity, &e.action) {
            for one in created::expand(e, None) {
                f(one)?;
            }
        } else {
            f(e)?;
        }
    }
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

/// The newest entries first: up to `limit` of them older than entry
/// `before` (None: from the newest), for the Audit screen. A group of
/// creation entries reads as one, its `after` saying how many records it
/// created (each one's own entry is in their history).
pub fn recent(conn: &Connection, before: Option<i64>, limit: u32) -> Result<Vec<AuditEntry>> {
    let mut st = conn.prepare_cached(
        "SELECT id, at, actor, action, entity, entity_key, before,
                CASE WHEN entity IN ('batch', 'import') AND action LIKE '%.create'
                     THEN json_object('created', json_array_length(after,
                              CASE entity WHEN 'import' THEN '$.people' ELSE '$.created' END))
                     ELSE after END,
                import_id
         FROM audit WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = st.query_map(rusqlite::params![before.unwrap_or(i64::MAX), limit], entry)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// How many rows the log holds (a group of creation entries is one).
pub fn count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT count(*) FROM audit", [], |r| r.get(0))?)
}

/// The entries about these records, each named by (entity, audit key),
/// oldest first, their creation entries included wherever they are grouped.
pub fn history(conn: &Connection, records: &[(&str, &str)]) -> Result<Vec<AuditEntry>> {
    let mut out = Vec::new();
    let mut direct = conn.prepare_cached(&format!(
        "{SELECT} WHERE entity = ?1 AND entity_key = ?2 ORDER BY id"
    ))?;
    // A record's creation is inside a group of up to PER_ROW, found by
    // looking for its key as the group's JSON spells it (a quick text
    // search), then parsed, which only a group that names it takes.
    let mut grouped = conn.prepare_cached(&format!(
        "{SELECT} WHERE entity IN ('batch', 'import') AND action = ?1 AND instr(after, ?2) > 0
         ORDER BY id"
    ))?;
    for (entity, key) in records {
        out.extend(
            direct
                .query_map(rusqlite::params![entity, key], entry)?
                .collect::<rusqlite::Result<Vec<_>>>()?,
        );
        let quoted = serde_json::to_string(key).expect("a string serialises");
        let rows =
            grouped.query_map(rusqlite::params![format!("{entity}.create"), quoted], entry)?;
        for row in rows {
            let row = row?;
            if created::is_grouped(&row.entity, &row.action) {
                out.extend(created::expand(row, Some(key)));
            }
        }
    }
    out.sort_by_key(|e| e.id);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, crate::Store) {
        let dir = tempfile::tempdir().unwrap();
        let key = crate::store::DbKey::random().unwrap();
        let store = crate::Store::open(&dir.path().join("k.db"), &key).unwrap();
        (dir, store)
    }

    #[test]
    fn grouped_creations_read_back_one_entry_each_with_their_record() {
        let (_dir, mut store) = store();
        let n = PER_ROW + 3;
        store
            .write("office", |w| {
                record_created(
                    w,
                    "person",
                    "7",
                    &["given_name", "middle_name"],
                    (0..n).map(|i| Created {
                        key: format!("src:p{i}"),
                        values: format!("[\"Name {i}\",\"\"]"),
                        extra: if i == 4 {
                            "\"children\":[\"s1\"]".into()
                        } else {
                            String::new()
                        },
                    }),
                )?;
                w.audit("person.update", "person", "src:p4", Some("{}"), Some("{}"))
            })
            .unwrap();
        assert_eq!(
            count(store.conn()).unwrap(),
            3,
            "two rows of creations, one update"
        );
        let log = list(store.conn(), None).unwrap();
        assert_eq!(log.len(), n + 1);
        let p4: Vec<&AuditEntry> = log.iter().filter(|e| e.entity_key == "src:p4").collect();
        assert_eq!(p4[0].action, "person.create");
        assert_eq!(p4[0].entity, "person");
        assert_eq!(
            p4[0].after,
            Some(serde_json::json!({ "given_name": "Name 4", "children": ["s1"] })),
            "empty fields are left out; what else was kept is there"
        );
        // A record's history finds its creation inside the group, and not
        // a record whose key merely contains it ("src:p40").
        let history = history(store.conn(), &[("person", "src:p4")]).unwrap();
        let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["person.create", "person.update"]);
        let last = format!("src:p{}", n - 1);
        let history = super::history(store.conn(), &[("person", &last)]).unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(
            history[0].after.as_ref().unwrap()["given_name"],
            format!("Name {}", n - 1)
        );
    }

    #[test]
    fn the_newest_come_first_and_a_group_reads_as_one() {
        let (_dir, mut store) = store();
        store
            .write("office", |w| {
                record_created(
                    w,
                    "account",
                    "run",
                    &["username"],
                    (0..3).map(|i| Created {
                        key: format!("k{i}"),
                        values: format!("[\"u{i}\"]"),
                        extra: String::new(),
                    }),
                )?;
                w.audit("account.enable", "account", "k1", Some("{}"), Some("{}"))
            })
            .unwrap();
        let page = recent(store.conn(), None, 10).unwrap();
        let actions: Vec<&str> = page.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["account.enable", "account.create"]);
        assert_eq!(page[1].after, Some(serde_json::json!({ "created": 3 })));
        let older = recent(store.conn(), Some(page[0].id), 10).unwrap();
        assert_eq!(older.len(), 1);
    }

    #[test]
    fn legacy_groups_read_back_with_their_children() {
        let (_dir, mut store) = store();
        let mut w = store.writer("office").unwrap();
        w.conn()
            .execute(
                "INSERT INTO import (id, started_at, actor, format, files)
                 VALUES (1, '2026-11-01T09:00:00Z', 'office', 'oneroster', '[]')",
                [],
            )
            .unwrap();
        w.set_import(1);
        w.audit(
            "person.create",
            "import",
            "1",
            None,
            Some(r#"{"people":[{"key":"src:c1","children":["s1"]},{"key":"src:s1"}]}"#),
        )
        .unwrap();
        w.commit().unwrap();
        let log = list(store.conn(), None).unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!(
            log[0].after,
            Some(serde_json::json!({ "children": ["s1"] }))
        );
        assert_eq!(log[1].after, None);
        // The people a legacy group names are the import's, for its rollback.
        assert_eq!(
            created_by(store.conn(), 1, "person").unwrap(),
            ["src:s1", "src:c1"]
        );
        assert!(created_by(store.conn(), 2, "person").unwrap().is_empty());
    }
}
