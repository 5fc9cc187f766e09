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
    /// Classes put back as they were (or removed, if the import made them).
    pub classes: u64,
}

struct Entry {
    action: String,
    entity: String,
    key: String,
    before: Option<String>,
    after: Option<String>,
}

/// Rolls back import `import_id` as `actor`, in one transaction that holds
/// the write lock from the first read: what it checks and undoes is what is
/// in force when it writes, whatever another process (the app, the command
/// line) committed a moment before. The rollback is recorded like an import
/// (`imports list` shows it), and its audit entries carry its own id.
pub fn rollback(store: &mut Store, import_id: i64, actor: &str, dry_run: bool) -> Result<Rollback> {
    let mut w = store.writer(actor)?;
    check(w.conn(), import_id)?;
    let entries = entries_of(w.conn(), import_id)?;
    // People by their audit key (`source:sis_id`; a source may itself hold
    // a colon, so the key is matched whole).
    let ids: HashMap<String, i64> = w
        .conn()
        .prepare("SELECT source || ':' || sis_id, id FROM person")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    // (Whether a person it would remove has an account is then asked per
    // person; none at all is the common case.)
    let has_accounts: bool =
        w.conn()
            .query_row("SELECT EXISTS (SELECT 1 FROM account)", [], |r| r.get(0))?;
    w.conn().execute(
        "INSERT INTO import (started_at, actor, format, files, rollback_of)
         VALUES (?1, ?2, 'rollback', '[]', ?3)",
        params![w.at(), w.actor(), import_id],
    )?;
    let own_id = w.conn().last_insert_rowid();
    w.set_import(own_id);
    let mut out = Rollback {
        import_id,
        dry_run,
        ..Default::default()
    };
    // Classes likewise, as (source, SIS id).
    let classes: HashMap<String, (String, String)> = w
        .conn()
        .prepare("SELECT source || ':' || sis_id, source, sis_id FROM class")?
        .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?
        .collect::<rusqlite::Result<_>>()?;
    for e in &entries {
        undo(&w, e, &ids, &classes, has_accounts, &mut out)?;
    }
    w.conn().execute(
        "UPDATE import SET rolled_back_at = ?2, rolled_back_by = ?3 WHERE id = ?1",
        params![import_id, w.at(), w.actor()],
    )?;
    let summary = serde_json::to_string(&out).expect("counts serialise");
    w.conn().execute(
        "UPDATE import SET counts = ?2 WHERE id = ?1",
        params![own_id, summary],
    )?;
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

/// Refuses the rollback of `import_id` unless it is an import, not rolled
/// back yet, that nothing later still in force depends on.
fn check(conn: &rusqlite::Connection, import_id: i64) -> Result<()> {
    let state: Option<(Option<String>, Option<i64>)> = conn
        .query_row(
            "SELECT rolled_back_at, rollback_of FROM import WHERE id = ?1",
            [import_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match state {
        None => {
            return Err(Error::Invalid(format!(
                "There is no import {import_id}; `keyroll imports list` shows them."
            )))
        }
        Some((_, Some(of))) => {
            return Err(Error::Invalid(format!(
                "{import_id} is the rollback of import {of}, not an import; to bring those \
                 changes back, import the files again."
            )))
        }
        Some((Some(at), None)) => {
            return Err(Error::Invalid(format!(
                "Import {import_id} was already rolled back ({at})."
            )))
        }
        Some((None, None)) => {}
    }
    // Anything that changed the same records later, and is itself still in
    // force, depends on this import: including the people it created and the
    // links it made with them, whom its grouped creation entries name. (A rollback's own entries only undo a
    // rolled-back import: they never count.)
    // The keys this import's grouped creation entries name, of one kind: a
    // subquery that does not depend on the row tested, so it runs once.
    let created = |what: &str| {
        format!(
            "SELECT item.value ->> 'key' FROM audit b,
                    json_each(b.after, CASE b.entity WHEN 'import' THEN '$.people'
                                       ELSE '$.created' END) item
             WHERE b.import_id = ?1 AND b.entity IN ('import', 'batch')
               AND b.action = '{what}.create'"
        )
    };
    let (created_people, created_links) = (created("person"), created("relationship"));
    let later: Option<(String, String, Option<i64>, String)> = conn
        .query_row(
            &format!(
                "SELECT a.action, a.entity_key, a.import_id, a.at FROM audit a
             WHERE a.id > (SELECT max(id) FROM audit WHERE import_id = ?1)
               AND (a.import_id IS NULL
                    OR a.import_id NOT IN (SELECT id FROM import
                                           WHERE rolled_back_at IS NOT NULL
                                              OR rollback_of IS NOT NULL))
               AND a.entity NOT IN ('import', 'mapping', 'batch')
               AND (EXISTS (SELECT 1 FROM audit b WHERE b.import_id = ?1
                            AND b.entity = a.entity AND b.entity_key = a.entity_key)
                    OR (a.entity = 'person' AND a.entity_key IN ({created_people}))
                    OR (a.entity = 'relationship' AND a.entity_key IN ({created_links})))
             ORDER BY a.id DESC LIMIT 1"
            ),
            params![import_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    if let Some((action, key, by, at)) = later {
        return Err(Error::Invalid(match by {
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
    Ok(())
}

/// What import `import_id` did, newest first, the people it created last
/// (after the links made with them: it created them before anything else
/// it did to them).
fn entries_of(conn: &rusqlite::Connection, import_id: i64) -> Result<Vec<Entry>> {
    let mut entries: Vec<Entry> = conn
        .prepare(
            "SELECT action, entity, entity_key, before, after FROM audit
             WHERE import_id = ?1 AND entity NOT IN ('import', 'batch') ORDER BY id DESC",
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
    for key in crate::audit::created_by(conn, import_id, "person")? {
        entries.push(Entry {
            action: "person.create".to_owned(),
            entity: "person".to_owned(),
            key,
            before: None,
            after: None,
        });
    }
    Ok(entries)
}

fn undo(
    w: &Writer,
    e: &Entry,
    ids: &HashMap<String, i64>,
    classes: &HashMap<String, (String, String)>,
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
                    return Err(Error::Invalid(format!(
                        "{} has an account now, made after this import. Nothing was rolled back.",
                        e.key
                    )));
                }
            }
            // This import's own classes are undone by now (their entries came
            // after the people's): a class the person is still in is a later
            // import's doing.
            let class: Option<String> = conn
                .query_row(
                    "SELECT c.source || ':' || c.sis_id FROM enrollment e
                     JOIN class c ON c.id = e.class_id WHERE e.person_id = ?1 LIMIT 1",
                    [id],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(class) = class {
                return Err(Error::Invalid(format!(
                    "{} is in class {class} since a later import: roll that import back first. \
                     Nothing was rolled back.",
                    e.key
                )));
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
        ("class", action) => {
            let Some((source, sis_id)) = classes.get(&e.key) else {
                return Ok(());
            };
            match (action, e.before.as_deref()) {
                ("class.create", _) => {
                    people::delete_class(w, source, sis_id)?;
                }
                (_, Some(before)) => people::restore_class(w, source, sis_id, before)?,
                _ => return Ok(()),
            }
            out.classes += 1;
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
