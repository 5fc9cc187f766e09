//! `imports rollback ID`: undoes one applied import from its audit entries,
//! newest first, while nothing later depends on what it changed.
//!
//! The audit log already holds every before and after, so a rollback needs no
//! snapshot: people the import created are removed (with their links), updated
//! people get their earlier fields back, links and schools are restored. The
//! rollback is itself one audited transaction.

use std::collections::HashMap;

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::people::{self, LinkAttrs, PreparedPerson};
use crate::store::{Store, Writer};

/// What a rollback changed (or, in a dry run, would change).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Rollback {
    pub import_id: i64,
    pub dry_run: bool,
    /// People the import created, now removed.
    pub removed: u64,
    /// People whose earlier details (or status) are back.
    pub restored: u64,
    /// Student–parent links put back as they were.
    pub links: u64,
    /// Schools put back as they were.
    pub orgs: u64,
}

struct Entry {
    action: String,
    entity: String,
    key: String,
    before: Option<String>,
    after: Option<String>,
}

/// Rolls back import `import_id` as `actor`.
pub fn rollback(store: &mut Store, import_id: i64, actor: &str, dry_run: bool) -> Result<Rollback> {
    let conn = store.conn();
    let state: Option<Option<String>> = conn
        .query_row(
            "SELECT rolled_back_at FROM import WHERE id = ?1",
            [import_id],
            |r| r.get(0),
        )
        .optional()?;
    match state {
        None => {
            return Err(Error::Import(format!(
                "There is no import {import_id}; `keyroll imports list` shows them."
            )))
        }
        Some(Some(at)) => {
            return Err(Error::Import(format!(
                "Import {import_id} was already rolled back ({at})."
            )))
        }
        Some(None) => {}
    }
    // Anything that changed the same records later, and is itself still in
    // force, depends on this import: including the people it created, whom
    // its creation entries name.
    let later: Option<(String, String, Option<i64>, String)> = conn
        .query_row(
            "SELECT a.action, a.entity_key, a.import_id, a.at FROM audit a
             WHERE a.id > (SELECT max(id) FROM audit WHERE import_id = ?1)
               AND (a.import_id IS NULL
                    OR a.import_id NOT IN (SELECT id FROM import WHERE rolled_back_at IS NOT NULL))
               AND a.entity NOT IN ('import', 'mapping')
               AND (EXISTS (SELECT 1 FROM audit b WHERE b.import_id = ?1
                            AND b.entity = a.entity AND b.entity_key = a.entity_key)
                    OR (a.entity = 'person'
                        AND a.entity_key IN (SELECT p.value ->> 'key' FROM audit b,
                                                    json_each(b.after, '$.people') p
                                             WHERE b.import_id = ?1 AND b.entity = 'import'
                                               AND b.action = ?2)))
             ORDER BY a.id DESC LIMIT 1",
            params![import_id, people::CREATED],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    if let Some((action, key, by, at)) = later {
        return Err(Error::Import(match by {
            Some(later_import) => format!(
                "Import {later_import} changed {key} after import {import_id}. Roll back import \
                 {later_import} first, then this one."
            ),
            None => format!(
                "{key} was changed after import {import_id} ({action}, {at}), so rolling the \
                 import back would undo that change too. Nothing was rolled back."
            ),
        }));
    }
    // The import's creation entries, for the people it created.
    let created: Vec<String> = conn
        .prepare(
            "SELECT after FROM audit WHERE import_id = ?1 AND entity = 'import' AND action = ?2
             ORDER BY id DESC",
        )?
        .query_map(params![import_id, people::CREATED], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut entries: Vec<Entry> = conn
        .prepare(
            "SELECT action, entity, entity_key, before, after FROM audit
             WHERE import_id = ?1 AND entity <> 'import' ORDER BY id DESC",
        )?
        .query_map([import_id], |r| {
            Ok(Entry {
                action: r.get(0)?,
                entity: r.get(1)?,
                key: r.get(2)?,
                before: r.get(3)?,
                after: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    // The people it created go last, after the links made with them: the
    // import created them before anything else it did to them.
    for after in created {
        entries.extend(people::created_in(&after).into_iter().map(|p| Entry {
            action: people::CREATED.to_owned(),
            entity: "person".to_owned(),
            key: p.key,
            before: None,
            after: None,
        }));
    }
    // People by their audit key (`source:sis_id`; a source may itself hold
    // a colon, so the key is matched whole).
    let ids: HashMap<String, i64> = conn
        .prepare("SELECT source || ':' || sis_id, id FROM person")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let has_accounts: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM account a JOIN person p ON p.id = a.person_id
                        WHERE p.import_id = ?1)",
        [import_id],
        |r| r.get(0),
    )?;

    let mut out = Rollback {
        import_id,
        dry_run,
        ..Default::default()
    };
    let mut w = store.writer(actor)?;
    w.set_import(import_id);
    for e in &entries {
        undo(&w, e, &ids, has_accounts, &mut out)?;
    }
    w.conn().execute(
        "UPDATE import SET rolled_back_at = ?2, rolled_back_by = ?3 WHERE id = ?1",
        params![import_id, w.at(), w.actor()],
    )?;
    let summary = serde_json::to_string(&out).expect("counts serialise");
    w.audit(
        "import.rollback",
        "import",
        &import_id.to_string(),
        None,
        Some(&summary),
    )?;
    if dry_run {
        w.rollback()?;
    } else {
        w.commit()?;
    }
    Ok(out)
}

fn undo(
    w: &Writer,
    e: &Entry,
    ids: &HashMap<String, i64>,
    has_accounts: bool,
    out: &mut Rollback,
) -> Result<()> {
    let conn = w.conn();
    match (e.entity.as_str(), e.action.as_str()) {
        ("person", "person.create") => {
            let Some(&id) = ids.get(&e.key) else {
                return Ok(());
            };
            if has_accounts {
                let made: bool = conn.query_row(
                    "SELECT EXISTS (SELECT 1 FROM account WHERE person_id = ?1)",
                    [id],
                    |r| r.get(0),
                )?;
                if made {
                    return Err(Error::Import(format!(
                        "{} has an account now, made after this import. Nothing was rolled back.",
                        e.key
                    )));
                }
            }
            people::remove_created(w, id, &e.key)?;
            out.removed += 1;
        }
        ("person", "person.update") => {
            let Some(&id) = ids.get(&e.key) else {
                return Ok(());
            };
            let before: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(e.before.as_deref().unwrap_or("{}")).unwrap_or_default();
            let (source, mut record) = people::load(conn, id)?;
            for (field, value) in &before {
                record.set_field(field, value.as_str().unwrap_or_default());
            }
            let import_id = w.import_id().unwrap_or_default();
            let prepared = PreparedPerson::new(record);
            people::upsert(w, &source, &prepared, Some((id, 0)), import_id)?;
            out.restored += 1;
        }
        ("relationship", action) => {
            let pair = e
                .key
                .split_once('-')
                .and_then(|(s, c)| Some((s.parse().ok()?, c.parse().ok()?)));
            let Some(pair) = pair else { return Ok(()) };
            let exists: bool = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM relationship WHERE student_id = ?1 AND contact_id = ?2)",
                params![pair.0, pair.1],
                |r| r.get(0),
            )?;
            let now = e.after.as_deref().map(LinkAttrs::from_json);
            let then = e.before.as_deref().map(LinkAttrs::from_json);
            match action {
                // Already gone with a person this rollback removed.
                "relationship.create" if !exists => return Ok(()),
                "relationship.create" => people::set_link(w, pair, now.as_ref(), None)?,
                _ => people::set_link(
                    w,
                    pair,
                    exists.then_some(now).flatten().as_ref(),
                    then.as_ref(),
                )?,
            }
            out.links += 1;
        }
        ("org", action) => {
            let before: Option<super::OrgRecord> = e
                .before
                .as_deref()
                .and_then(|b| serde_json::from_str(b).ok());
            let id: Option<i64> = conn
                .query_row(
                    "SELECT id FROM org WHERE source || ':' || sis_id = ?1",
                    [&e.key],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(id) = id else { return Ok(()) };
            match (action, before) {
                ("org.create", _) => {
                    conn.execute("DELETE FROM org WHERE id = ?1", [id])?;
                }
                (_, Some(b)) => {
                    conn.execute(
                        "UPDATE org SET name = ?2, org_type = ?3, parent_sis_id = ?4, status = ?5
                         WHERE id = ?1",
                        params![id, b.name, b.org_type, b.parent_sis_id, b.status],
                    )?;
                }
                _ => return Ok(()),
            }
            w.audit(
                if action == "org.create" {
                    "org.delete"
                } else {
                    "org.update"
                },
                "org",
                &e.key,
                e.after.as_deref(),
                e.before.as_deref(),
            )?;
            out.orgs += 1;
        }
        _ => {}
    }
    Ok(())
}
