//! Welcome letters: templates with merge fields, laid out with typst as
//! print-ready PDF (a letter per account or per family, credential slips,
//! class lists), credentials made at print time, and the exports that
//! carry the same fields to word processors and other systems.
//!
//! - [`fields`]: the merge fields, one list for the picker, the parser and
//!   the exports;
//! - [`template`], [`templates`]: a template's markup, the built-in ones and
//!   the school's, stored and moved as files;
//! - [`settings`]: the school's address, sign-in and activation addresses,
//!   logo, paper, and how accounts map onto Google, Entra and LDAP;
//! - [`recipients`]: who gets a letter (per account, per family), and who
//!   does not, with why;
//! - [`Renderer`]: typst with Keyroll's layouts and fonts;
//! - [`preview`], [`sample`], [`print`]: a run's preview, its first pages
//!   live, and the PDF with fresh credentials, all or nothing;
//! - [`export`]: mail merge (CSV, XLSX), Google Workspace, Microsoft Entra
//!   ID, LDIF.

pub mod export;
pub mod fields;
mod issue;
mod parts;
mod print;
pub mod recipients;
mod render;
pub mod settings;
pub mod template;
pub mod templates;

pub(crate) use issue::{issue_and_deliver, issues, Delivery};
pub use issue::{Cred, Handing};
pub use parts::PART;
pub use print::{
    activation_link, long_date, merge_fields, preview, print, sample, Layout, Preview, PreviewLine,
    Request, Unprintable, LETTERS,
};
pub use recipients::{Per, Recipient, Skipped};
pub use render::Renderer;
pub use settings::{LetterSettings, Paper};
pub use templates::{Audience, Template};

#[cfg(test)]
mod tests;
