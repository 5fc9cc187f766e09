//! The imports applied so far, as `imports list` and the app's history show
//! them.

use serde::Serialize;

use crate::error::Result;

/// One applied import, as `imports list` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct ImportRecord {
    pub id: i64,
    pub started_at: String,
    pub actor: String,
    pub format: String,
    pub files: serde_json::Value,
    pub counts: serde_json::Value,
    pub exceptions: serde_json::Value,
    /// When it was rolled back, if it was.
    pub rolled_back_at: Option<String>,
    /// For a rollback (recorded like an import, so that its own entries
    /// carry its own id): the import it undid.
    pub rollback_of: Option<i64>,
}

/// Applied imports, oldest first.
pub fn history(conn: &rusqlite::Connection) -> Result<Vec<ImportRecord>> {
    imports(conn, "ORDER BY id")
}

/// The latest applied import (not a rollback).
pub fn last(conn: &rusqlite::Connection) -> Result<Option<ImportRecord>> {
    Ok(imports(conn, "WHERE rollback_of IS NULL ORDER BY id DESC LIMIT 1")?.pop())
}

fn imports(conn: &rusqlite::Connection, order: &str) -> Result<Vec<ImportRecord>> {
    let mut st = conn.prepare(&format!(
        "SELECT id, started_at, actor, format, files, counts, exceptions, rolled_back_at,
                rollback_of
         FROM import {order}"
    ))?;
    let json = |s: String| serde_json::from_str(&s).unwrap_or(serde_json::Value::Null);
    let rows = st.query_map([], |r| {
        Ok(ImportRecord {
            id: r.get(0)?,
            started_at: r.get(1)?,
            actor: r.get(2)?,
            format: r.get(3)?,
            files: json(r.get(4)?),
            counts: json(r.get(5)?),
            exceptions: json(r.get(6)?),
            rolled_back_at: r.get(7)?,
            rollback_of: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
