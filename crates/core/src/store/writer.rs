//! The one way to write: a transaction whose every change is recorded in the
//! audit log as it is made, so a change and its entry land or fail together.

use std::cell::RefCell;

use blake2::{Blake2s256, Digest};
use rusqlite::{Connection, Transaction};

use super::error::Result;

/// Now, as RFC 3339 UTC with milliseconds (sorts as text).
pub fn now() -> String {
    format_time(time::OffsetDateTime::now_utc())
}

/// A time as the database keeps it: RFC 3339 UTC with milliseconds.
pub fn format_time(t: time::OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        ))
        .expect("formatting a UTC time cannot fail")
}

/// An open write transaction. Every change made through it is recorded with
/// [`Writer::audit`]; dropping it without [`Writer::commit`] rolls back.
pub struct Writer<'a> {
    tx: Transaction<'a>,
    actor: String,
    at: String,
    import_id: Option<i64>,
    /// A digest of every entry recorded so far (not their time or ids):
    /// two runs that record the same changes have the same one, which is how
    /// a confirmed import knows it applies what was previewed. None until
    /// asked for ([`Writer::track_changes`]): most writes never compare.
    changes: Option<RefCell<Blake2s256>>,
}

impl<'a> Writer<'a> {
    pub(super) fn new(tx: Transaction<'a>, actor: &str) -> Writer<'a> {
        Writer {
            tx,
            actor: actor.to_owned(),
            at: now(),
            import_id: None,
            changes: None,
        }
    }

    pub fn conn(&self) -> &Connection {
        &self.tx
    }

    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// Timestamp of this transaction (all its audit entries share it).
    pub fn at(&self) -> &str {
        &self.at
    }

    /// The import (or rollback) this transaction's entries belong to, if any.
    pub fn import_id(&self) -> Option<i64> {
        self.import_id
    }

    /// Ties later audit entries of this transaction to an import or rollback.
    pub fn set_import(&mut self, import_id: i64) {
        self.import_id = Some(import_id);
    }

    /// Keeps a digest of every change recorded from now on
    /// ([`Writer::changes_digest`]).
    pub fn track_changes(&mut self) {
        self.changes
            .get_or_insert_with(|| RefCell::new(Blake2s256::new()));
    }

    /// Records one change. `before`/`after` are JSON documents (None for
    /// create/delete respectively).
    pub fn audit(
        &self,
        action: &str,
        entity: &str,
        entity_key: &str,
        before: Option<&str>,
        after: Option<&str>,
    ) -> Result<()> {
        let mut st = self.tx.prepare_cached(
            "INSERT INTO audit (at, actor, action, entity, entity_key, before, after, import_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        st.execute(rusqlite::params![
            self.at,
            self.actor,
            action,
            entity,
            entity_key,
            before,
            after,
            self.import_id
        ])?;
        if let Some(changes) = &self.changes {
            let mut changes = changes.borrow_mut();
            for part in [Some(action), Some(entity), Some(entity_key), before, after] {
                // Length-prefixed, so that no two different entries hash alike.
                let part = part.unwrap_or("\u{0}");
                changes.update((part.len() as u64).to_le_bytes());
                changes.update(part.as_bytes());
            }
        }
        Ok(())
    }

    /// A digest (hex) of every change recorded since
    /// [`Writer::track_changes`]; None if it was not asked for.
    pub fn changes_digest(&self) -> Option<String> {
        let changes = self.changes.as_ref()?;
        Some(hex::encode(changes.borrow().clone().finalize()))
    }

    pub fn commit(self) -> Result<()> {
        self.tx.commit()?;
        Ok(())
    }

    pub fn rollback(self) -> Result<()> {
        self.tx.rollback()?;
        Ok(())
    }
}
