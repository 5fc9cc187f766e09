//! What opening and writing the database can fail with, in words an office
//! user can act on.

use std::path::PathBuf;

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

    // Not a `source`: the message names the cause already, and an error
    // chain printed whole would name it twice.
    #[error("Could not read or write {path}: {cause}", path = path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },

    #[error("Database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            cause: source,
        }
    }
}
