//! `keyroll`: every Keyroll capability from the command line, scriptable, with
//! `--json` output. It only parses arguments and prints; the work is in
//! keyroll-core. Exit codes: 0 success, 1 failure (message on stderr), 2 bad usage.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use keyroll_core::{audit, demo, import, people, Store};

// An import allocates each record on its reading thread and frees it on the
// writing one; glibc's malloc handles that cross-thread traffic poorly.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "keyroll",
    version,
    about = "Turn SIS exports into student, staff and parent accounts."
)]
struct Cli {
    /// The database file [default: keyroll.db in your user data folder].
    /// Its key comes from the OS keychain, or KEYROLL_DB_KEY (64 hex characters).
    #[arg(long, global = true, env = "KEYROLL_DB", value_name = "PATH")]
    db: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a synthetic school (OneRoster 1.1 CSV) to try Keyroll with.
    Demo {
        /// How many students.
        #[arg(long, default_value_t = 500)]
        students: u64,
        /// The folder to write the CSV files into.
        #[arg(long)]
        out: PathBuf,
        /// The same seed always gives the same school.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// oneroster (a district, UTF-8) or cases21 (one school, Windows-1252).
        #[arg(long, default_value = "oneroster")]
        format: String,
    },
    /// Import SIS export files or folders. Nothing is imported if any row is
    /// rejected, unless --skip-invalid is given.
    Import {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// auto detects the format from file names; or oneroster, cases21,
        /// clever, sds, csv (any CSV or spreadsheet, with a column mapping).
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
        /// Also write the rejected rows to this CSV file.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// Print the outcome as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Column mappings for plain CSV files and spreadsheets.
    Mappings {
        #[command(subcommand)]
        command: MappingsCommand,
    },
    /// Imports applied so far.
    Imports {
        #[command(subcommand)]
        command: ImportsCommand,
    },
    /// People and their accounts.
    Accounts {
        #[command(subcommand)]
        command: AccountsCommand,
    },
    /// The audit log: every change, who made it and when.
    Audit {
        /// Only entries at or after this time (e.g. 2026-11-21 or 2026-11-21T09:00).
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ImportsCommand {
    /// Applied imports, oldest first.
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
enum MappingsCommand {
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

#[derive(Clone, Copy, ValueEnum)]
enum KindArg {
    Student,
    Staff,
    Parent,
}

#[derive(Subcommand)]
enum AccountsCommand {
    /// List people with their account (if any).
    List {
        #[arg(long, value_enum)]
        kind: Option<KindArg>,
        /// active, future, leaving, left or inactive.
        #[arg(long)]
        status: Option<String>,
        /// Words to find in names, email or SIS id (accents and case ignored).
        #[arg(long)]
        search: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli) {
        Ok(code) => code,
        // `keyroll … | head` closing the pipe early is not a failure.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("keyroll: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn open(cli_db: &Option<PathBuf>) -> Result<Store> {
    Ok(keyroll_core::open(cli_db.as_deref())?)
}

/// Writes one JSON array, an element at a time, so large lists stream.
struct JsonArray<W: Write> {
    out: W,
    first: bool,
}

impl<W: Write> JsonArray<W> {
    fn new(mut out: W) -> std::io::Result<Self> {
        out.write_all(b"[")?;
        Ok(JsonArray { out, first: true })
    }

    fn push(&mut self, item: &impl serde::Serialize) -> std::io::Result<()> {
        self.out
            .write_all(if self.first { b"\n" } else { b",\n" })?;
        self.first = false;
        serde_json::to_writer_pretty(&mut self.out, item)?;
        Ok(())
    }

    fn finish(mut self) -> std::io::Result<()> {
        self.out.write_all(b"\n]\n")?;
        self.out.flush()?;
        Ok(())
    }
}

fn print_json(value: &impl serde::Serialize) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Demo {
            students,
            out,
            seed,
            format,
        } => {
            let s = match format.as_str() {
                "oneroster" => demo::generate(&out, students, seed)?,
                "cases21" => demo::generate_cases21(&out, students, seed)?,
                f => anyhow::bail!("demo --format {f}: use oneroster or cases21"),
            };
            eprintln!(
                "Wrote a demo school to {}: {} students, {} staff, {} guardians, {} relatives in {} families, {} school(s).",
                out.display(),
                s.students,
                s.staff,
                s.guardians,
                s.relatives,
                s.families,
                s.schools
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Import {
            paths,
            format,
            mapping,
            dry_run,
            skip_invalid,
            report,
            json,
        } => {
            let format = match format.as_str() {
                "auto" => None,
                f => Some(import::Format::parse(f).with_context(|| {
                    format!(
                        "--format {f}: unknown format (use auto, oneroster, cases21, clever, sds \
                         or csv)"
                    )
                })?),
            };
            let mapping = mapping
                .map(|m| import::mapped::Mapping::from_file(&m))
                .transpose()?;
            let format = match (format, &mapping) {
                (None, Some(_)) => Some(import::Format::Csv),
                (f, _) => f,
            };
            let opts = import::Options {
                format,
                on_error: if skip_invalid {
                    import::OnError::SkipInvalid
                } else {
                    import::OnError::Stop
                },
                dry_run,
                expect: None,
                mapping,
            };
            let mut store = open(&cli.db)?;
            let summary = import::run(
                &mut store,
                &paths,
                &opts,
                &audit::current_actor(),
                &mut |_| true,
            )?;
            if let Some(path) = &report {
                import::write_report(path, &summary.errors, store.path())?;
            }
            for e in &summary.errors {
                eprintln!("{e}");
            }
            if json {
                print_json(&summary)?;
            } else {
                print_summary(&summary);
            }
            Ok(if summary.refused {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Mappings { command } => {
            use import::mapped;
            match command {
                MappingsCommand::List { json } => {
                    let store = open(&cli.db)?;
                    let list = mapped::saved(store.conn())?;
                    if json {
                        print_json(&list)?;
                    } else if list.is_empty() {
                        eprintln!("No saved mappings yet: one is saved when an import with --mapping is applied.");
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
                    let sample = mapped::sample(&src, sheet.as_deref(), 20)?;
                    print_json(&mapped::suggest(&sample))?;
                }
                MappingsCommand::Export { name } => {
                    let store = open(&cli.db)?;
                    let m = mapped::saved(store.conn())?
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
        Command::Imports {
            command: ImportsCommand::List { json },
        } => {
            let store = open(&cli.db)?;
            let list = import::history(store.conn())?;
            if json {
                print_json(&list)?;
            } else {
                for i in list {
                    let rolled_back = i
                        .rolled_back_at
                        .map(|at| format!("  (rolled back {at})"))
                        .unwrap_or_default();
                    println!(
                        "{:>4}  {}  {:<10} {}  {}{rolled_back}",
                        i.id, i.started_at, i.format, i.actor, i.counts
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Imports {
            command: ImportsCommand::Rollback { id, dry_run, json },
        } => {
            let mut store = open(&cli.db)?;
            let r = import::rollback::rollback(&mut store, id, &audit::current_actor(), dry_run)?;
            if json {
                print_json(&r)?;
            } else {
                println!(
                    "{} import {id}: {} people removed, {} people restored, {} links restored, {} schools restored.",
                    if dry_run { "Would roll back (dry run, nothing written)" } else { "Rolled back" },
                    r.removed, r.restored, r.links, r.orgs
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Accounts {
            command:
                AccountsCommand::List {
                    kind,
                    status,
                    search,
                    json,
                },
        } => {
            let store = open(&cli.db)?;
            let status = status
                .map(|s| {
                    people::Status::parse(&s).with_context(|| {
                        format!("--status {s}: use active, future, leaving, left or inactive")
                    })
                })
                .transpose()?;
            let q = people::PeopleQuery {
                kind: kind.map(|k| match k {
                    KindArg::Student => people::Kind::Student,
                    KindArg::Staff => people::Kind::Staff,
                    KindArg::Parent => people::Kind::Contact,
                }),
                status,
                search,
                ..Default::default()
            };
            let out = std::io::BufWriter::new(std::io::stdout().lock());
            if json {
                let mut array = JsonArray::new(out)?;
                people::for_each(store.conn(), &q, |p| {
                    array
                        .push(&p)
                        .map_err(|e| keyroll_core::Error::io("standard output", e))
                })?;
                array.finish()?;
            } else {
                let mut out = out;
                writeln!(
                    out,
                    "{:<8} {:<14} {:<30} {:<9} USERNAME",
                    "KIND", "SIS ID", "NAME", "STATUS"
                )?;
                let mut n = 0u64;
                people::for_each(store.conn(), &q, |p| {
                    n += 1;
                    let name = format!("{}, {}", p.family_name, p.given_name);
                    writeln!(
                        out,
                        "{:<8} {:<14} {:<30} {:<9} {}",
                        p.kind,
                        p.sis_id,
                        name,
                        p.status,
                        p.username.as_deref().unwrap_or("-")
                    )
                    .map_err(|e| keyroll_core::Error::io("standard output", e))
                })?;
                out.flush()?;
                eprintln!("{n} people");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit { since, json } => {
            let store = open(&cli.db)?;
            let out = std::io::BufWriter::new(std::io::stdout().lock());
            if json {
                let mut array = JsonArray::new(out)?;
                audit::for_each(store.conn(), since.as_deref(), |e| {
                    array
                        .push(&e)
                        .map_err(|e| keyroll_core::Error::io("standard output", e))
                })?;
                array.finish()?;
            } else {
                let mut out = out;
                audit::for_each(store.conn(), since.as_deref(), |e| {
                    writeln!(
                        out,
                        "{}  {:<10} {:<20} {}  {}",
                        e.at,
                        e.actor,
                        e.action,
                        e.entity_key,
                        e.after.as_ref().map(|v| v.to_string()).unwrap_or_default()
                    )
                    .map_err(|e| keyroll_core::Error::io("standard output", e))
                })?;
                out.flush()?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
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
    let verb = if s.dry_run {
        "Would change (dry run, nothing written)"
    } else if s.applied && !s.errors.is_empty() {
        "Imported the valid rows; the rows above were left out. Imported"
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
        "{verb}: {} new, {} updated, {} leaving, {} unchanged; {} rejected; {} new links, {} removed links; {} new orgs.",
        c.new, c.updated, c.leaving, c.unchanged, c.rejected, c.links_new, c.links_removed, c.orgs_new
    );
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
                "  {:<8} {:<7} {:<12} {}: {}",
                ch.change,
                ch.kind,
                ch.sis_id,
                ch.name,
                fields.join("; ")
            );
        }
        let listed = s.changes.iter().filter(|c| c.change != "new").count();
        if listed > SHOWN {
            println!("  … and {} more; --json lists them all.", listed - SHOWN);
        }
    }
}
