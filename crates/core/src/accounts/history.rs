//! A person's history for their panel: the entries about their SIS record
//! and about their account, oldest first.

use crate::audit::AuditEntry;
use crate::error::Result;
use crate::people::Kind;

/// Everything the log holds about person `person_id` and their account.
pub fn history(conn: &rusqlite::Connection, person_id: i64) -> Result<Vec<AuditEntry>> {
    let (source, sis_id, kind): (String, String, String) = conn.query_row(
        "SELECT source, sis_id, kind FROM person WHERE id = ?1",
        [person_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let kind = Kind::parse(&kind).unwrap_or(Kind::Contact);
    let person = crate::people::person_key(&source, &sis_id);
    let account = super::stored::key(kind, &source, &sis_id);
    Ok(crate::audit::history(
        conn,
        &[("person", &person), ("account", &account)],
    )?)
}
