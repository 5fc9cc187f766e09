//! Exports: the letters' merge fields as a mail merge (CSV or XLSX) for a
//! word processor, and accounts as the bulk files of Google Workspace,
//! Microsoft Entra ID and LDAP directories. Credentials follow the
//! letters' rule ([`super::issue`]); every spreadsheet cell that would run
//! as a formula is neutralised ([`crate::text::spreadsheet_safe`]).

mod columns;
pub mod ldif;
mod write;

use serde::Serialize;

use super::issue::{issue_and_deliver, issues, Cred, Delivery, Handing, Tally};
use super::recipients::{recipients, Per, Recipient, Skipped};
use super::settings::{self, LetterSettings};
use crate::error::{Error, Result};
use crate::output::FileKind;
use crate::people::PeopleQuery;
use crate::store::Store;

pub use columns::{table, Table};
pub use write::{write_csv, write_xlsx};

/// Which export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    MailMerge,
    Google,
    Entra,
    Ldif,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "mail-merge" | "mailmerge" => Format::MailMerge,
            "google" | "google-workspace" => Format::Google,
            "entra" | "azure" | "microsoft" => Format::Entra,
            "ldif" | "ldap" => Format::Ldif,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::MailMerge => "mail-merge",
            Format::Google => "google",
            Format::Entra => "entra",
            Format::Ldif => "ldif",
        }
    }

    /// What the file is, for [`crate::output::check`]: never replacing
    /// one (it may hold the only copy of new passwords).
    pub fn kind(self, xlsx: bool) -> FileKind {
        let (name, header) = match (self, xlsx) {
            (Format::MailMerge, true) => ("mail merge", "PK\u{3}\u{4}"),
            (Format::MailMerge, false) => ("mail merge", columns::MAIL_MERGE_FIRST),
            (Format::Google, _) => ("Google Workspace upload", columns::GOOGLE_HEADER),
            (Format::Entra, _) => ("Microsoft Entra bulk create", "version:v1.0"),
            (Format::Ldif, _) => ("LDIF", "version: 1"),
        };
        FileKind {
            name,
            header,
            replaces: false,
        }
    }

    /// A provisioning file hands nothing to the account's owner; a mail
    /// merge is for letters.
    fn handing(self) -> Handing {
        match self {
            Format::MailMerge => Handing::Letter,
            _ => Handing::Provisioning,
        }
    }
}

/// An export, as the office chose it.
#[derive(Clone, Debug)]
pub struct ExportRequest {
    pub query: PeopleQuery,
    pub format: Format,
    /// Mail merge: one row per account or per family.
    pub per: Per,
    /// Mail merge as XLSX rather than CSV.
    pub xlsx: bool,
    pub new_passwords: bool,
}

/// What an export will write (or wrote).
#[derive(Clone, Debug, Default, Serialize)]
pub struct ExportOutcome {
    pub dry_run: bool,
    pub rows: usize,
    pub issuing: usize,
    pub replacing: usize,
    pub skipped: Vec<Skipped>,
    pub warnings: Vec<String>,
}

fn plan(
    store: &Store,
    req: &ExportRequest,
) -> Result<(LetterSettings, Vec<Recipient>, ExportOutcome)> {
    let conn = store.conn();
    crate::people::check_filters(conn, &req.query)?;
    let settings = settings::load(conn)?;
    let per = if req.format == Format::MailMerge {
        req.per
    } else {
        Per::Account
    };
    let found = recipients(conn, &req.query, per)?;
    let mut out = ExportOutcome {
        skipped: found.skipped,
        ..Default::default()
    };
    let mut kept = Vec::new();
    for r in found.recipients {
        match columns::refused(req.format, &settings, &r, req.new_passwords) {
            Some(reason) => out.skipped.push(Skipped {
                sis_id: r.sis_id.clone(),
                name: r.name(),
                kind: r.kind,
                reason,
            }),
            None => kept.push(r),
        }
    }
    let tally = Tally::of(&kept, req.new_passwords);
    (out.issuing, out.replacing) = (tally.issuing, tally.replacing);
    out.rows = kept.len();
    out.warnings = columns::warnings(req.format, &settings);
    out.warnings.extend(tally.warning());
    Ok((settings, kept, out))
}

/// What an export would write: makes no secret, writes nothing.
pub fn preview(store: &Store, req: &ExportRequest) -> Result<ExportOutcome> {
    let (_, _, mut out) = plan(store, req)?;
    out.dry_run = true;
    Ok(out)
}

/// Writes the export to `out` (a new file), with fresh credentials by the
/// letters' rule, all or nothing: the file is synced before the new hashes
/// commit, and removed if the commit then fails.
pub fn export(
    store: &mut Store,
    actor: &str,
    req: &ExportRequest,
    out: &std::path::Path,
    progress: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<ExportOutcome> {
    let database = store.path().to_owned();
    let kind = req.format.kind(req.xlsx);
    crate::output::check(out, kind, &database)?;
    let (settings, recipients, outcome) = plan(store, req)?;
    if recipients.is_empty() {
        return Err(Error::Invalid(
            "nobody chosen can be exported (see the preview for why); nothing was written".into(),
        ));
    }
    let delivery = Delivery {
        handing: req.format.handing(),
        what: req.format.as_str(),
        file: out,
    };
    let mut written = false;
    let fresh: Vec<bool> = recipients
        .iter()
        .map(|r| issues(r, req.new_passwords))
        .collect();
    let result = issue_and_deliver(
        store,
        actor,
        &recipients,
        &fresh,
        &delivery,
        progress,
        &mut |_, creds: &[Cred]| {
            crate::output::write(out, kind, &database, |w| match req.format {
                Format::Ldif => write::write_ldif(w, &settings, &recipients, creds),
                _ => {
                    let t = table(req.format, &settings, &recipients, creds);
                    if req.xlsx {
                        write_xlsx(w, &t)
                    } else {
                        write_csv(w, &t)
                    }
                }
            })?;
            written = true;
            Ok(())
        },
    );
    if result.is_err() && written {
        let _ = std::fs::remove_file(out);
    }
    result?;
    Ok(outcome)
}
