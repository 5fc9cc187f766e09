//! The app's commands, one module per screen. Each only turns arguments into
//! a call to keyroll-core and its result back; long work runs on a blocking
//! thread and reports through a Channel ([`Progress`]).

pub mod dialogs;
pub mod home;
pub mod import;
pub mod invite;
pub mod letters;
pub mod people;
pub mod settings;
pub mod sync;

use keyroll_core::accounts;
use serde::Serialize;

/// Where long work is, for the progress bar.
#[derive(Clone, Serialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum Progress {
    Generating,
    Reading {
        done_bytes: u64,
        total_bytes: u64,
    },
    /// Every row is read; links, leavers and indexes are being saved.
    Saving,
    /// New passwords being hashed (argon2id, on every core).
    Hashing {
        done: usize,
        total: usize,
    },
    /// Accounts being worked out or written.
    Accounts(accounts::Step),
    /// Letters being laid out.
    Letters {
        done: usize,
        total: usize,
    },
}
