//! The one error the app's commands return: a message for the office, as
//! the core library words it (what happened, what to do next).

use serde::Serialize;

/// A failed command, as the webview receives it: its message.
#[derive(Debug)]
pub struct Error(String);

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<keyroll_core::Error> for Error {
    fn from(e: keyroll_core::Error) -> Error {
        Error(e.to_string())
    }
}

impl From<keyroll_core::store::Error> for Error {
    fn from(e: keyroll_core::store::Error) -> Error {
        Error(e.to_string())
    }
}

impl From<tauri::Error> for Error {
    fn from(e: tauri::Error) -> Error {
        Error(format!("The window could not do that: {e}"))
    }
}

impl From<String> for Error {
    fn from(message: String) -> Error {
        Error(message)
    }
}

impl From<&str> for Error {
    fn from(message: &str) -> Error {
        Error(message.to_owned())
    }
}
