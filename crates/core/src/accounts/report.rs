//! What an accounts run did, person by person ([`Entry`]), and the CSV
//! report of it, safe to open in a spreadsheet. Never holds a password or
//! token.

use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::output::{self, FileKind};

/// What a run did (or, in a dry run, would do) to one person's account.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Entry {
    /// The person's row id (to open their panel).
    pub person_id: i64,
    /// create, enable, disable, review, recycle, flags, problem, skip, or
    /// the batch action's name.
    pub action: &'static str,
    /// student, staff or parent.
    pub kind: &'static str,
    pub sis_id: String,
    pub name: String,
    pub username: String,
    pub state: String,
    pub group: String,
    pub flags: Vec<&'static str>,
    /// Why: "left the school", "waiting for review", or the problem.
    pub reason: String,
}

/// What an accounts report is, for [`output::check`].
pub const REPORT: FileKind = FileKind {
    name: "accounts report",
    header: "action,kind,sis_id,name,username,state,group,flags,reason",
    replaces: true,
};

/// Writes `entries` as a CSV report at `path` (never over the database at
/// `database`, nor a file of another kind).
pub fn write_report(path: &Path, entries: &[Entry], database: &Path) -> Result<()> {
    use crate::text::spreadsheet_safe as safe;
    output::write(path, REPORT, database, |out| {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(REPORT.header.split(','))?;
        for e in entries {
            w.write_record([
                e.action,
                e.kind,
                safe(&e.sis_id).as_ref(),
                safe(&e.name).as_ref(),
                safe(&e.username).as_ref(),
                &e.state,
                safe(&e.group).as_ref(),
                &e.flags.join(" "),
                safe(&e.reason).as_ref(),
            ])?;
        }
        w.flush().map_err(|e| Error::io(path, e))
    })
}

/// A name as the office says it: the preferred name, else the given one.
pub fn display_name(preferred: &str, given: &str, family: &str) -> String {
    let first = if preferred.is_empty() {
        given
    } else {
        preferred
    };
    format!("{first} {family}").trim().to_owned()
}
