//! The rows an import listed as a CSV report (file, line, column, field,
//! reason, outcome), safe to open in a spreadsheet. The outcome says what
//! became of the row: `rejected` (nothing of it imported) or `imported with
//! warning` (imported without what the reason says was dropped).

use std::path::Path;

use super::RowError;
use crate::error::{Error, Result};
use crate::output::{self, FileKind};

/// What an import report is, for [`output::check`].
pub const REPORT: FileKind = FileKind {
    name: "report of rejected rows",
    header: "file,line,column,field,reason,outcome",
    replaces: true,
};

/// Writes `errors` to `path` (never over the database at `database`, nor a
/// file of another kind).
pub fn write_report(path: &Path, errors: &[RowError], database: &Path) -> Result<()> {
    use crate::text::spreadsheet_safe as safe;
    output::write(path, REPORT, database, |out| {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(REPORT.header.split(','))?;
        for e in errors {
            w.write_record([
                safe(&e.file).as_ref(),
                &e.line.to_string(),
                &e.column.to_string(),
                safe(&e.field).as_ref(),
                safe(&e.reason).as_ref(),
                e.outcome.as_str(),
            ])?;
        }
        w.flush().map_err(|e| Error::io(path, e))
    })
}
