//! Accounts: who gets one, their usernames, states, groups and flags, by the
//! school's policy. Everything is previewed (a dry run) before it is
//! written, audited, and reported.
//!
//! - [`lifecycle`]: the rules, as pure functions (state, reason, flags, NEW);
//! - [`generate`]: make the accounts people qualify for and keep every one
//!   in step with the SIS (leavers disabled, never deleted);
//! - [`batch`]: enable, disable, suspend, archive, restore, move to a group,
//!   force a password change, clear the invitation;
//! - [`reset`], [`save_handouts`]: new passwords or activation codes, and
//!   the hand-out sheet that carries them;
//! - [`rename`], [`delete_permanently`]: the only ways a username goes;
//! - [`groups`], [`create_group`], [`rename_group`]: account groups;
//! - [`policy`], [`username`], [`password`]: the school's rules and what
//!   they make; [`examples`]: the usernames a policy would give;
//! - [`history`]: a person's and their account's audit entries.

mod batch;
mod generate;
mod groups;
mod history;
pub mod lifecycle;
mod naming;
pub mod password;
pub mod policy;
mod rename;
mod report;
mod reset;
mod standing;
mod stored;
pub mod username;

pub use batch::{batch, Action, BatchOutcome};
pub use generate::{generate, preview, Generated, Step};
pub use groups::{create_group, groups, rename_group, Group};
pub use history::history;
pub use naming::{examples, Example, REUSE_AFTER_DAYS};
pub use rename::{delete_permanently, rename, NewUsername, Renamed};
pub use report::{display_name, write_report, Entry, REPORT};
pub use reset::{
    reset, reset_to_sheet, reset_within, save_handouts, write_handouts, Handout, ResetOutcome,
    SHEET,
};
pub use stored::key;

#[cfg(test)]
mod tests;
