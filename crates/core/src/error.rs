//! What the domain library's work can fail with, in words that tell an
//! office user what happened and what to do next. (Opening and writing the
//! database has its own, [`crate::store::Error`], carried inside.)

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] crate::store::Error),

    /// What was asked cannot be done with these files, this data or this
    /// policy; the message says why and what to do.
    #[error("{0}")]
    Invalid(String),

    // Not a `source`: the message names the cause already, and an error
    // chain printed whole would name it twice.
    #[error("Could not read or write {path}: {cause}", path = path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },

    #[error("Database error: {0}")]
    Sqlite(#[from] rusqlite::Error),

    #[error("{0}")]
    Csv(#[from] csv::Error),

    /// Files that cannot be read at all (a required column missing): each
    /// problem, located.
    #[error("{}", rows_text(.0))]
    Rows(Vec<crate::import::RowError>),

    #[error("Cancelled; nothing was changed.")]
    Cancelled,
}

impl From<rusqlite::types::FromSqlError> for Error {
    fn from(e: rusqlite::types::FromSqlError) -> Error {
        Error::Sqlite(e.into())
    }
}

fn rows_text(rows: &[crate::import::RowError]) -> String {
    let lines: Vec<String> = rows.iter().map(ToString::to_string).collect();
    lines.join("\n")
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            cause: source,
        }
    }
}
