//! SIS import: files in, people out, all or nothing. The SIS is the source
//! of truth.
//!
//! - [`formats`]: one file per SIS format behind one trait, in one registry
//!   ([`formats::FORMATS`], [`formats::detect`], [`formats::by_name`]);
//! - [`run`]: reads the files on one thread and applies them on another, in
//!   one transaction ([`Options`], [`Summary`], [`Preview`]);
//! - [`rollback::rollback`]: undoes one import from its audit entries;
//! - [`mapping`]: saved column mappings for plain lists;
//! - [`history`], [`last`]: imports applied so far; [`write_report`]: the
//!   rejected rows as CSV.
//!
//! Underneath: [`source`] (files and zip entries), [`csvfile`] (encodings,
//! delimiters, workbooks), [`fields`] (dates, emails, secret columns), and
//! the records a format produces ([`records`]).

mod apply;
mod classes;
mod contact_key;
pub mod csvfile;
pub mod fields;
pub mod formats;
mod history;
pub mod mapping;
mod pipeline;
mod records;
mod report;
pub mod rollback;
pub mod source;

pub use apply::{Change, Counts, MAX_CHANGES};
pub use formats::{Format, FORMATS};
pub use history::{history, last, ImportRecord};
pub use pipeline::{run, OnError, Options, Preview, Progress, Stage, Summary};
pub use records::{
    ClassLists, ClassRecord, EnrollmentRecord, FastMap, FileHeader, FileInfo, LinkAt, LinkFamily,
    LinkRecord, Loader, OrgRecord, Outcome, RowError, Scope, Spot,
};
pub use report::{write_report, REPORT};
pub use source::{expand, Source};
