//! Schema migrations: the .sql files in `migrations/`, in order, and the few
//! steps that need code (re-deriving keys a newer rule computes). Version N
//! is the database after step N; each opening applies what is missing in one
//! transaction. An upgrade tells whoever opened the database how it goes
//! ([`Upgrade`]), so the app and the CLI can say "Updating your database…"
//! while a large one is upgraded.

use rusqlite::Transaction;

use super::error::Result;
use crate::text;

enum Step {
    Sql(&'static str),
    Code(fn(&Transaction) -> Result<()>),
}

const STEPS: &[Step] = &[
    Step::Sql(include_str!("migrations/001_schema.sql")),
    Step::Sql(include_str!("migrations/002_rollback.sql")),
    Step::Sql(include_str!("migrations/003_mappings.sql")),
    Step::Sql(include_str!("migrations/004_person_digest.sql")),
    Step::Sql(include_str!("migrations/005_account_states.sql")),
    Step::Sql(include_str!("migrations/006_list_index.sql")),
    Step::Sql(include_str!("migrations/007_checks_as_comparisons.sql")),
    Step::Sql(include_str!("migrations/008_sort_key_rank.sql")),
    Step::Sql(include_str!("migrations/009_list_index_covers_import.sql")),
    Step::Sql(include_str!("migrations/010_rollbacks_and_handouts.sql")),
    // v11: names in any script are folded by transliteration now.
    Step::Code(refold_people),
    // v12: an account's audit key names its SIS source.
    Step::Code(account_keys_with_source),
    Step::Sql(include_str!("migrations/013_classes.sql")),
    Step::Sql(include_str!("migrations/014_letter_templates.sql")),
    Step::Sql(include_str!("migrations/015_outbox.sql")),
    Step::Sql(include_str!("migrations/016_sync.sql")),
    Step::Sql(include_str!("migrations/017_sync_due.sql")),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = STEPS.len() as i64;

/// How an upgrade goes: `done` of `steps` applied (the first report has
/// `done` 0; the last, `done == steps`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Upgrade {
    pub done: usize,
    pub steps: usize,
}

/// Applies the steps after version `from`, in one transaction, telling
/// `progress` before each and once done.
pub(super) fn migrate(
    conn: &mut rusqlite::Connection,
    from: i64,
    progress: &mut dyn FnMut(Upgrade),
) -> Result<()> {
    if from == SCHEMA_VERSION {
        return Ok(());
    }
    let steps = (SCHEMA_VERSION - from) as usize;
    let tx = conn.transaction()?;
    for (i, step) in STEPS.iter().enumerate().skip(from as usize) {
        progress(Upgrade {
            done: i - from as usize,
            steps,
        });
        match step {
            Step::Sql(sql) => tx.execute_batch(sql)?,
            Step::Code(f) => f(&tx)?,
        }
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
    }
    // Tells every connection to reload the schema, which a writable_schema
    // edit does not do by itself (harmless after ordinary migrations).
    let schema: i64 = tx.query_row("PRAGMA schema_version", [], |r| r.get(0))?;
    tx.pragma_update(None, "schema_version", schema + 1)?;
    tx.pragma_update(None, "application_id", super::APPLICATION_ID)?;
    tx.commit()?;
    progress(Upgrade { done: steps, steps });
    Ok(())
}

/// Search and sort keys as [`text`] folds them now: names in Cyrillic, Greek
/// or Chinese were kept as they were, so "dmitrii" could not find Дмитрий.
fn refold_people(tx: &Transaction) -> Result<()> {
    let mut read = tx.prepare(
        "SELECT id, kind, given_name, preferred_name, middle_name, family_name, email, sis_id
         FROM person",
    )?;
    let mut write = tx.prepare("UPDATE person SET sort_key = ?2, search = ?3 WHERE id = ?1")?;
    let mut rows = read.query([])?;
    while let Some(r) = rows.next()? {
        let part = |i| -> rusqlite::Result<String> { r.get(i) };
        // A frozen copy of the kinds' sort ranks as they were at v11: a
        // migration must mean the same thing whatever people::Kind becomes.
        let rank = match part(1)?.as_str() {
            "student" => '1',
            "staff" => '2',
            _ => '3',
        };
        let (given, family) = (part(2)?, part(5)?);
        let search =
            text::person_search_key(&given, &part(3)?, &part(4)?, &family, &part(6)?, &part(7)?);
        let sort = text::sort_key(rank, &family, &given);
        write.execute(rusqlite::params![r.get::<_, i64>(0)?, sort, search])?;
    }
    Ok(())
}

/// Account entries were keyed `parent:ID`, which two SIS sources using the
/// same id shared. Each becomes `parent:SOURCE:ID` where one person alone
/// has that kind and id (where two do, the old key cannot say whose it was,
/// and it stays).
fn account_keys_with_source(tx: &Transaction) -> Result<()> {
    use std::collections::HashMap;
    let mut sources: HashMap<(String, String), Vec<String>> = HashMap::new();
    // The account words ('parent' for a contact) as they were at v12, frozen
    // here for the same reason as the ranks above.
    let mut st = tx.prepare(
        "SELECT CASE kind WHEN 'contact' THEN 'parent' ELSE kind END, sis_id, source FROM person",
    )?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        sources
            .entry((r.get(0)?, r.get(1)?))
            .or_default()
            .push(r.get(2)?);
    }
    drop(rows);
    let mut st = tx.prepare("SELECT id, entity_key FROM audit WHERE entity = 'account'")?;
    let entries: Vec<(i64, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut write = tx.prepare("UPDATE audit SET entity_key = ?2 WHERE id = ?1")?;
    for (id, key) in entries {
        let Some((word, sis_id)) = key.split_once(':') else {
            continue;
        };
        if let Some([source]) = sources
            .get(&(word.to_owned(), sis_id.to_owned()))
            .map(Vec::as_slice)
        {
            write.execute(rusqlite::params![id, format!("{word}:{source}:{sis_id}")])?;
        }
    }
    Ok(())
}
