//! Errors that tell an office user what happened and what to do next.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "Keyroll could not open {path}: {why}\nNothing was changed. {next}",
        path = path.display()
    )]
    CannotOpenDatabase {
        path: PathBuf,
        why: String,
        next: &'static str,
    },

    #[error(
        "{path} was made by a newer version of Keyroll (schema {found}, this version knows up to {known}).\n\
         Nothing was changed. Install the newer Keyroll to open it.",
        path = path.display()
    )]
    NewerDatabase {
        path: PathBuf,
        found: i64,
        known: i64,
    },

    #[error("The database key could not be read: {0}")]
    Key(String),

    #[error("{0}")]
    Import(String),

    #[error("Could not read or write {path}: {source}", path = path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("Database error: {0}")]
    Sqlite(#[from] rusqlite::Error),

    #[error("{0}")]
    Csv(#[from] csv::Error),

    #[error("Cancelled; nothing was changed.")]
    Cancelled,
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
