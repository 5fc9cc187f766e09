//! The SIS formats Keyroll reads, one file each behind one small trait
//! ([`Format`]), in one registry ([`FORMATS`]) that detection, `--format`
//! and the app all read. Each format turns its files into the same records,
//! pushed into a [`Loader`] (as atuin's importers do for shell histories).
//!
//! Files several formats share are read once, here: roles.csv ([`roles`]),
//! demographics.csv ([`demographics`]), classes and rosters ([`classes`]) and
//! plain lists of schools ([`schools`]).

pub mod cases21;
pub mod classes;
pub mod clever;
pub mod clever_sections;
pub mod demographics;
pub mod mapped;
pub mod oneroster;
pub mod roles;
pub mod schools;
pub mod sds;
pub mod sds_classic;
pub mod sds_classic_sections;

use super::mapping::Mapping;
use super::{Loader, Source};
use crate::error::{Error, Result};

/// What a format may need besides its files.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadWith<'a> {
    /// For a plain list: which column holds what.
    pub mapping: Option<&'a Mapping>,
}

/// One SIS format.
pub trait Format: Sync {
    /// The name `--format` uses.
    fn name(&self) -> &'static str;
    /// The name people know it by ("CASES21 eduHub").
    fn title(&self) -> &'static str;
    /// What its export holds, for the message when no format fits ("a
    /// OneRoster export has manifest.csv, orgs.csv and users.csv").
    fn files_hint(&self) -> &'static str;
    /// Whether these files look like this format.
    fn detect(&self, files: &[Source]) -> bool;
    /// Whether it reads files only with a column mapping.
    fn needs_mapping(&self) -> bool {
        false
    }
    /// The source system people from it are stored under.
    fn source(&self, with: ReadWith) -> String;
    /// Bytes it will read, for the progress bar.
    fn total_bytes(&self, files: &[Source]) -> u64 {
        files.iter().map(Source::size).sum()
    }
    /// Reads and checks the files, pushing what they hold into `loader`.
    fn load(&self, files: &[Source], with: ReadWith, loader: &mut dyn Loader) -> Result<()>;
}

impl std::fmt::Debug for dyn Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Every format, in the order detection tries them: the most particular
/// first (CASES21 and SDS classic name their files apart from everyone else;
/// SDS has roles.csv as OneRoster 1.2 does, or users.csv with orgs.csv as
/// OneRoster 1.1 does, but no manifest.csv), a plain list last.
pub static FORMATS: &[&dyn Format] = &[
    &cases21::Cases21,
    &sds_classic::SdsClassic,
    &sds::Sds,
    &oneroster::OneRoster,
    &clever::Clever,
    &mapped::Mapped,
];

/// The format `--format` names (case ignored; a plain list also answers to
/// csv, excel, xlsx and mapped).
pub fn by_name(name: &str) -> Option<&'static dyn Format> {
    let name = name.to_ascii_lowercase();
    let name = match name.as_str() {
        "excel" | "xlsx" | "mapped" => mapped::NAME,
        n => n,
    };
    FORMATS.iter().copied().find(|f| f.name() == name)
}

/// Which format these files are in.
pub fn detect(files: &[Source]) -> Result<&'static dyn Format> {
    if let Some(f) = FORMATS.iter().copied().find(|f| f.detect(files)) {
        return Ok(f);
    }
    let names: Vec<String> = files.iter().map(|f| f.file_name().to_owned()).collect();
    let hints: Vec<&str> = FORMATS.iter().map(|f| f.files_hint()).collect();
    let mut hints = hints.join("; ");
    if let Some(first) = hints.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    Err(Error::Invalid(format!(
        "These files match no SIS format Keyroll knows ({}). {hints}. Choose the folder that \
         holds them.",
        if names.is_empty() {
            "no files".into()
        } else {
            names.join(", ")
        }
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_is_found_by_its_name_and_names_are_unique() {
        for f in FORMATS {
            assert_eq!(by_name(f.name()).map(|g| g.name()), Some(f.name()));
        }
        let mut names: Vec<&str> = FORMATS.iter().map(|f| f.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), FORMATS.len());
        assert_eq!(by_name("XLSX").map(|f| f.name()), Some("csv"));
        assert!(by_name("sims").is_none());
    }
}
