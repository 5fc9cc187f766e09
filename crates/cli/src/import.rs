//! `keyroll import`, `keyroll imports` and `keyroll mappings`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use keyroll_core::import::{self, mapping};
use keyroll_core::{audit, Store};

use crate::output::{print_json, row};

/// Import SIS export files or folders. Nothing is imported if any row is
/// rejected, unless --skip-invalid is given.
#[derive(clap::Args)]
pub struct ImportArgs {
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// auto detects the format from file names; or oneroster, cases21,
    /// clever, sds (v2 and v2.1), sds-classic (SDS v1, US or UK), csv (any
    /// CSV or spreadsheet, with a column mapping).
    #[arg(long, default_value = "auto")]
    format: String,
    /// A column mapping (JSON) for a plain CSV file or spreadsheet; see
    /// `keyroll mappings suggest`. Saved under its name once the import
    /// is applied, and used again for files with the same header.
    #[arg(long, value_name = "FILE")]
    mapping: Option<PathBuf>,
    /// Show what would change without changing anything.
    #[arg(long)]
    dry_run: bool,
    /// Import the valid rows and list the rejected ones (default: import nothing).
    #[arg(long)]
    skip_invalid: bool,
    /// Also write the rejected rows, and those imported with a warning, to
    /// this CSV file (its outcome column says which).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Print the outcome as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub enum ImportsCommand {
    /// Applied imports (and rollbacks), oldest first.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Undo one import: people it added are removed, people it changed get
    /// their earlier details back. Refused while a later change depends on it.
    Rollback {
        /// The import's id, from `imports list`.
        id: i64,
        /// Show what would change without changing anything.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum MappingsCommand {
    /// Saved mappings, with the columns they read.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Print a first-guess mapping for a file (JSON), to check and edit, then
    /// use with `import --mapping`.
    Suggest {
        file: PathBuf,
        /// The worksheet to read, for a workbook.
        #[arg(long)]
        sheet: Option<String>,
    },
    /// Print a saved mapping (JSON), to use on another computer.
    Export { name: String },
}

pub fn import(store: &mut Store, a: ImportArgs) -> Result<ExitCode> {
    let summary = match run_import(store, &a) {
        Ok(summary) => summary,
        // Refused at file level (an unknown format, a missing file, a zip
        // that cannot be read): still one JSON document, saying so.
        Err(e) if a.json => {
            let errors = refusal_errors(&e);
            if let Some(path) = &a.report {
                import::write_report(path, &errors, store.path())?;
            }
            for line in &errors {
                eprintln!("{line}");
            }
            print_json(&serde_json::json!({
                "refused": true,
                "applied": false,
                "dry_run": a.dry_run,
                "errors": errors,
            }))?;
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(e),
    };
    print_outcome(store, &a, &summary)
}

/// Why an import was refused as a whole, as rows of its report: each
/// problem with its file, line, column and field where they are known.
fn refusal_errors(e: &anyhow::Error) -> Vec<import::RowError> {
    let whole = |file: String, reason: String| import::RowError {
        file,
        line: 0,
        column: 0,
        field: String::new(),
        reason,
        outcome: import::Outcome::Rejected,
    };
    match e.downcast_ref::<keyroll_core::Error>() {
        Some(keyroll_core::Error::Rows(rows)) => rows.clone(),
        Some(keyroll_core::Error::Io { path, cause }) => {
            vec![whole(path.display().to_string(), cause.to_string())]
        }
        _ => vec![whole(String::new(), format!("{e:#}"))],
    }
}

/// Reads the arguments and runs the import.
fn run_import(store: &mut Store, a: &ImportArgs) -> Result<import::Summary> {
    let format = match a.format.as_str() {
        "auto" => None,
        f => Some(import::formats::by_name(f).with_context(|| {
            let names: Vec<&str> = import::FORMATS.iter().map(|f| f.name()).collect();
            format!(
                "--format {f}: unknown format (use auto, {})",
                names.join(", ")
            )
        })?),
    };
    let mapping = a
        .mapping
        .as_ref()
        .map(|m| mapping::Mapping::from_file(m))
        .transpose()?;
    let format = match (format, &mapping) {
        (None, Some(_)) => import::formats::by_name(import::formats::mapped::NAME),
        (f, _) => f,
    };
    let opts = import::Options {
        format,
        on_error: if a.skip_invalid {
            import::OnError::SkipInvalid
        } else {
            import::OnError::Stop
        },
        dry_run: a.dry_run,
        expect: None,
        mapping,
    };
    Ok(import::run(
        store,
        &a.paths,
        &opts,
        &audit::current_actor(),
        &mut |_| true,
    )?)
}

fn print_outcome(store: &Store, a: &ImportArgs, summary: &import::Summary) -> Result<ExitCode> {
    if let Some(path) = &a.report {
        import::write_report(path, &summary.errors, store.path())?;
    }
    for e in &summary.errors {
        match e.outcome {
            import::Outcome::Warning if !summary.refused => {
                eprintln!("{e} (imported with warning)")
            }
            _ => eprintln!("{e}"),
        }
    }
    if a.json {
        print_json(&summary)?;
    } else {
        print_summary(summary);
    }
    Ok(if summary.refused {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub fn imports(store: &mut Store, command: ImportsCommand) -> Result<ExitCode> {
    match command {
        ImportsCommand::List { json } => {
            let list = import::history(store.conn())?;
            if json {
                print_json(&list)?;
            } else {
                for i in list {
                    let note = match (&i.rolled_back_at, i.rollback_of) {
                        (_, Some(of)) => format!("  (the rollback of import {of})"),
                        (Some(at), None) => format!("  (rolled back {at})"),
                        (None, None) => String::new(),
                    };
                    println!(
                        "{:>4}  {}  {:<10} {}  {}{note}",
                        i.id, i.started_at, i.format, i.actor, i.counts
                    );
                }
            }
        }
        ImportsCommand::Rollback { id, dry_run, json } => {
            let r = import::rollback::rollback(store, id, &audit::current_actor(), dry_run)?;
            if json {
                print_json(&r)?;
            } else {
                println!(
                    "{} import {id}: {} people removed, {} people restored, {} links restored, {} schools restored.",
                    if dry_run { "Would roll back (dry run, nothing written)" } else { "Rolled back" },
                    r.removed, r.restored, r.links, r.orgs
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn mappings(store: Option<&Store>, command: MappingsCommand) -> Result<ExitCode> {
    match command {
        MappingsCommand::List { json } => {
            let list = mapping::saved(store.expect("opened for list").conn())?;
            if json {
                print_json(&list)?;
            } else if list.is_empty() {
                eprintln!(
                    "No saved mappings yet: one is saved when an import with --mapping is applied."
                );
            } else {
                for m in list {
                    let cols: Vec<String> =
                        m.columns.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    println!(
                        "{}  ({} contacts per row; source {})  {}",
                        m.name,
                        m.contacts.len(),
                        m.source_name(),
                        cols.join(", ")
                    );
                }
            }
        }
        MappingsCommand::Suggest { file, sheet } => {
            let src = import::Source::File(file);
            let sample = mapping::sample(&src, sheet.as_deref(), 20)?;
            let m = mapping::suggest(&sample);
            if let Some(note) = mapping::kind_note(&m) {
                eprintln!("{note}");
            }
            print_json(&m)?;
        }
        MappingsCommand::Export { name } => {
            let m = mapping::saved(store.expect("opened for export").conn())?
                .into_iter()
                .find(|m| m.name.eq_ignore_ascii_case(&name))
                .with_context(|| {
                    format!("no saved mapping is called \"{name}\" (see `keyroll mappings list`)")
                })?;
            print_json(&m)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether a mappings command needs the database (`suggest` reads a file only).
pub fn mappings_need_store(command: &MappingsCommand) -> bool {
    !matches!(command, MappingsCommand::Suggest { .. })
}

fn print_summary(s: &import::Summary) {
    let c = &s.counts;
    let read: Vec<String> = s
        .read
        .iter()
        .map(|f| match &f.sheet {
            Some(sheet) => format!("{} ({}, sheet \"{sheet}\")", f.file, f.encoding),
            None => format!("{} ({}, {})", f.file, f.encoding, f.delimiter),
        })
        .collect();
    println!("Read {} as {}.", read.join(", "), s.format_title);
    let verb = if s.dry_run && s.refused {
        "Dry run: the import would be refused: nothing would be imported (fix the rows above, \
         or use --skip-invalid to import the valid rows). Found"
    } else if s.dry_run {
        "Would change (dry run, nothing written)"
    } else if s.applied && c.rejected > 0 {
        "Imported the valid rows; the rejected rows above were left out. Imported"
    } else if s.applied && c.warnings > 0 {
        "Imported, without what the warnings above say was dropped. Imported"
    } else if s.applied {
        "Imported"
    } else if s.refused {
        "Nothing imported: fix the rows above (or use --skip-invalid to import the valid rows). Found"
    } else if !s.errors.is_empty() {
        "Nothing imported: the valid rows hold nothing new; fix the rows above. Found"
    } else {
        "Nothing to change: the database already matches these files. Found"
    };
    println!(
        "{verb}: {} new, {} updated, {} leaving, {} unchanged; {} rejected, {} with warnings; {} new links, {} removed links; {} new orgs.",
        c.new, c.updated, c.leaving, c.unchanged, c.rejected, c.warnings, c.links_new, c.links_removed, c.orgs_new
    );
    if c.classes_new + c.classes_updated + c.classes_removed > 0 {
        println!(
            "Classes: {} new, {} changed, {} removed.",
            c.classes_new, c.classes_updated, c.classes_removed
        );
    }
    // A dry run lists who changes, field by field (the first few; --json has them all).
    if s.dry_run {
        const SHOWN: usize = 50;
        for ch in s.changes.iter().filter(|c| c.change != "new").take(SHOWN) {
            let fields: Vec<String> = ch
                .fields
                .iter()
                .map(|f| format!("{}: \"{}\" -> \"{}\"", f.field, f.before, f.after))
                .collect();
            println!(
                "  {}",
                row(&[
                    (ch.change, 8),
                    (ch.kind, 7),
                    (&ch.sis_id, 12),
                    (&format!("{}: {}", ch.name, fields.join("; ")), 0)
                ])
            );
        }
        let listed = s.changes.iter().filter(|c| c.change != "new").count();
        if listed > SHOWN {
            println!("  … and {} more; --json lists them all.", listed - SHOWN);
        }
    }
}
