//! `keyroll`: every Keyroll capability from the command line, scriptable, with
//! `--json` output. It only parses arguments and prints; the work is in
//! keyroll-core. Exit codes: 0 success, 1 failure (message on stderr), 2 bad usage.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use keyroll_core::{accounts, audit, demo, import, people, Store};

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
    /// Account groups: every account is in exactly one.
    Groups {
        #[command(subcommand)]
        command: GroupsCommand,
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
enum GroupsCommand {
    /// Groups with how many accounts each holds.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Create a group.
    Create { name: String },
    /// Rename a group; its accounts stay in it.
    Rename { from: String, to: String },
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

impl From<KindArg> for people::Kind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::Student => people::Kind::Student,
            KindArg::Staff => people::Kind::Staff,
            KindArg::Parent => people::Kind::Contact,
        }
    }
}

/// Which people: the same filters everywhere people are chosen.
#[derive(clap::Args, Clone, Default)]
struct Filters {
    #[arg(long, value_enum)]
    kind: Option<KindArg>,
    /// active, future, leaving, left or inactive.
    #[arg(long)]
    status: Option<String>,
    /// enabled, disabled, suspended, archived, recycled, or none (no account).
    #[arg(long)]
    state: Option<String>,
    /// Only accounts flagged NEW (not yet signed in or sent anything).
    #[arg(long)]
    new: bool,
    /// The account's group.
    #[arg(long)]
    group: Option<String>,
    /// A school's SIS id.
    #[arg(long)]
    school: Option<String>,
    /// Year level or grade.
    #[arg(long)]
    year: Option<String>,
    #[arg(long)]
    home_group: Option<String>,
    /// Words to find in names, email, SIS id or username (accents and case ignored).
    #[arg(long)]
    search: Option<String>,
    /// Only this person, by SIS id (repeat for more).
    #[arg(long = "id", value_name = "SIS_ID")]
    ids: Vec<String>,
}

impl Filters {
    fn query(self) -> Result<people::PeopleQuery> {
        let status = self
            .status
            .map(|s| {
                people::Status::parse(&s).with_context(|| {
                    format!("--status {s}: use active, future, leaving, left or inactive")
                })
            })
            .transpose()?;
        if let Some(s) = &self.state {
            anyhow::ensure!(
                [
                    "enabled",
                    "disabled",
                    "suspended",
                    "archived",
                    "recycled",
                    "none"
                ]
                .contains(&s.as_str()),
                "--state {s}: use enabled, disabled, suspended, archived, recycled or none"
            );
        }
        Ok(people::PeopleQuery {
            kind: self.kind.map(Into::into),
            status,
            search: self.search,
            state: self.state,
            new: self.new,
            group: self.group,
            school: self.school,
            year: self.year,
            home_group: self.home_group,
            sis_ids: self.ids,
            ..Default::default()
        })
    }

    fn is_empty(&self) -> bool {
        self.kind.is_none()
            && self.status.is_none()
            && self.state.is_none()
            && !self.new
            && self.group.is_none()
            && self.school.is_none()
            && self.year.is_none()
            && self.home_group.is_none()
            && self.search.is_none()
            && self.ids.is_empty()
    }
}

/// A batch action's options: which people, and preview or apply.
#[derive(clap::Args)]
struct Batch {
    #[command(flatten)]
    filters: Filters,
    /// Every account (needed when no filter or --id is given).
    #[arg(long)]
    all: bool,
    /// Show what would change without changing anything.
    #[arg(long)]
    dry_run: bool,
    /// Write who changed (or would) to this CSV file.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum AccountsCommand {
    /// List people with their account (if any).
    List {
        #[command(flatten)]
        filters: Filters,
        /// At most this many people (the first, in list order).
        #[arg(long)]
        limit: Option<u64>,
        #[arg(long)]
        json: bool,
    },
    /// Make the accounts people qualify for by the school's policy, and keep
    /// every account in step with the SIS (leavers disabled, never deleted).
    Generate {
        /// Show what would change without changing anything.
        #[arg(long)]
        dry_run: bool,
        /// Write every change (and every problem) to this CSV file.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Enable the chosen accounts (for parents: after review).
    Enable(Batch),
    /// Disable the chosen accounts (never deletes them).
    Disable(Batch),
    /// Suspend the chosen accounts: blocked until the office enables them;
    /// account generation leaves them alone whatever the SIS says.
    Suspend(Batch),
    /// Archive the chosen accounts: kept for the record, out of use, never
    /// changed or recycled by account generation.
    Archive(Batch),
    /// Make the chosen accounts change their password at the next sign-in.
    ForcePasswordChange(Batch),
    /// Move the chosen accounts to a group.
    MoveGroup {
        /// The group to move them to.
        #[arg(value_name = "GROUP")]
        to_group: String,
        #[command(flatten)]
        batch: Batch,
    },
    /// Mark the chosen accounts' invitations as not sent.
    ClearInvitation(Batch),
    /// Bring the chosen accounts back from the recycle bin (disabled).
    Restore(Batch),
    /// Give the chosen accounts a new initial password or activation code
    /// (by their kind's policy). Only hashes are stored: the new secrets are
    /// shown once, with --show-secrets, and then exist nowhere.
    Reset {
        #[command(flatten)]
        batch: Batch,
        /// Print the new passwords and codes (CSV on standard output) for
        /// handing out. Without it they are set but never shown.
        #[arg(long)]
        show_secrets: bool,
    },
    /// Delete one account from the recycle bin for good; its username is not
    /// given out again for a year. One at a time: there is no bulk delete.
    Delete {
        #[arg(long, value_enum)]
        kind: KindArg,
        /// The person's SIS id.
        #[arg(long = "id", value_name = "SIS_ID")]
        id: String,
    },
    /// Rename one person's account: the only way a username changes (a new
    /// name in the SIS never renames an account). The old name is not given
    /// out again for a year.
    Rename {
        #[arg(long, value_enum)]
        kind: KindArg,
        /// The person's SIS id.
        #[arg(long = "id", value_name = "SIS_ID")]
        id: String,
        /// The new username.
        #[arg(
            long,
            value_name = "USERNAME",
            conflicts_with = "by_policy",
            required_unless_present = "by_policy"
        )]
        to: Option<String>,
        /// The username the policy's pattern gives their details now.
        #[arg(long)]
        by_policy: bool,
        /// Show the new name without renaming.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// The account policy: usernames, groups, passwords, who gets an account.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Print the policy in force (JSON): save it to a file to edit or copy.
    Show,
    /// Replace the policy with one from a file (JSON), after checking it.
    Set { file: PathBuf },
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
        Command::Groups { command } => {
            let mut store = open(&cli.db)?;
            let actor = audit::current_actor();
            match command {
                GroupsCommand::List { json } => {
                    let list = accounts::groups(store.conn())?;
                    if json {
                        print_json(&list)?;
                    } else {
                        for g in list {
                            let default = g
                                .default_for
                                .map(|k| format!(" (new {k} accounts join it)"))
                                .unwrap_or_default();
                            println!("{:<30} {:>7} accounts{default}", g.name, g.accounts);
                        }
                    }
                }
                GroupsCommand::Create { name } => {
                    store.write(&actor, |w| accounts::create_group(w, &name))?;
                    eprintln!("Created the group \"{}\".", name.trim());
                }
                GroupsCommand::Rename { from, to } => {
                    store.write(&actor, |w| accounts::rename_group(w, &from, &to))?;
                    eprintln!("Renamed \"{from}\" to \"{}\".", to.trim());
                }
            }
            Ok(ExitCode::SUCCESS)
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
                AccountsCommand::Generate {
                    dry_run,
                    report,
                    json,
                },
        } => {
            let mut store = open(&cli.db)?;
            // A line every two seconds: a large school takes a few.
            let mut last = std::time::Instant::now();
            let g = accounts::generate(
                &mut store,
                &audit::current_actor(),
                dry_run,
                report.is_some(),
                &mut |step| {
                    if last.elapsed().as_secs() >= 2 {
                        last = std::time::Instant::now();
                        match step {
                            accounts::Step::Reading => eprintln!("Reading everyone…"),
                            accounts::Step::Deciding { done, total } => {
                                eprintln!("Deciding accounts: {done} of {total} people…")
                            }
                            accounts::Step::Saving { done, total } => {
                                eprintln!("Saving accounts: {done} of {total}…")
                            }
                        }
                    }
                    true
                },
            )?;
            if let Some(path) = &report {
                accounts::write_report(path, &g.entries)?;
            }
            for e in g.entries.iter().filter(|e| e.action == "problem") {
                eprintln!(
                    "{} {} ({}): no account: {}",
                    e.kind, e.sis_id, e.name, e.reason
                );
            }
            if json {
                print_json(&g)?;
            } else {
                println!(
                    "{}: {} accounts created, {} enabled, {} disabled, {} moved to the recycle bin, \
                     {} with changed flags, {} unchanged; {} people qualify but got no account (listed above).",
                    if dry_run { "Would change (dry run, nothing written)" } else { "Done" },
                    g.created, g.enabled, g.disabled, g.recycled, g.flags_changed, g.unchanged, g.problems
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Accounts {
            command:
                c @ (AccountsCommand::Enable(_)
                | AccountsCommand::Disable(_)
                | AccountsCommand::Suspend(_)
                | AccountsCommand::Archive(_)
                | AccountsCommand::ForcePasswordChange(_)
                | AccountsCommand::MoveGroup { .. }
                | AccountsCommand::ClearInvitation(_)
                | AccountsCommand::Restore(_)),
        } => {
            let (action, batch) = match c {
                AccountsCommand::Enable(b) => (accounts::Action::Enable, b),
                AccountsCommand::Disable(b) => (accounts::Action::Disable, b),
                AccountsCommand::Suspend(b) => (accounts::Action::Suspend, b),
                AccountsCommand::Archive(b) => (accounts::Action::Archive, b),
                AccountsCommand::ForcePasswordChange(b) => {
                    (accounts::Action::ForcePasswordChange, b)
                }
                AccountsCommand::MoveGroup { to_group, batch } => {
                    (accounts::Action::MoveGroup(to_group), batch)
                }
                AccountsCommand::ClearInvitation(b) => (accounts::Action::ClearInvitation, b),
                AccountsCommand::Restore(b) => (accounts::Action::Restore, b),
                _ => unreachable!("matched above"),
            };
            anyhow::ensure!(
                batch.all || !batch.filters.is_empty(),
                "choose whose accounts to {}: give filters (--kind, --state, --new, --group, \
                 --school, --year, --home-group, --search) or --id, or --all for everyone",
                action.name()
            );
            let q = batch.filters.query()?;
            let mut store = open(&cli.db)?;
            let o = accounts::batch(
                &mut store,
                &audit::current_actor(),
                &action,
                &q,
                batch.dry_run,
            )?;
            if let Some(path) = &batch.report {
                accounts::write_report(path, &o.entries)?;
            }
            if batch.json {
                print_json(&o)?;
            } else {
                for e in o.entries.iter().filter(|e| e.action != "skip").take(50) {
                    println!(
                        "  {:<8} {:<12} {:<28} {:<20} {}",
                        e.kind, e.sis_id, e.name, e.username, e.state
                    );
                }
                println!(
                    "{} {}: {} chosen, {} changed, {} already so, {} skipped (no account, left, or in the recycle bin).",
                    if batch.dry_run { "Would" } else { "Done:" },
                    o.action, o.matched, o.changed, o.unchanged, o.skipped
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Accounts {
            command:
                AccountsCommand::Reset {
                    batch,
                    show_secrets,
                },
        } => {
            anyhow::ensure!(
                batch.all || !batch.filters.is_empty(),
                "choose whose accounts to reset: give filters or --id, or --all for everyone"
            );
            let q = batch.filters.query()?;
            let mut store = open(&cli.db)?;
            let mut last = std::time::Instant::now();
            // Printed before the reset is committed: if standard output
            // fails, no account is left with a secret nobody saw.
            let mut deliver = |handouts: &[accounts::Handout]| {
                if show_secrets {
                    accounts::write_handouts(std::io::stdout().lock(), handouts)?;
                }
                Ok(())
            };
            let o = accounts::reset(
                &mut store,
                &audit::current_actor(),
                &q,
                batch.dry_run,
                &mut |done, total| {
                    if last.elapsed().as_secs() >= 2 {
                        eprintln!("Hashing passwords: {done} of {total}…");
                        last = std::time::Instant::now();
                    }
                    true
                },
                &mut deliver,
            )?;
            if let Some(path) = &batch.report {
                accounts::write_report(path, &o.entries)?;
            }
            eprintln!(
                "{} reset: {} chosen, {} {}, {} skipped (no account, or in the recycle bin).{}",
                if batch.dry_run { "Would" } else { "Done:" },
                o.matched,
                o.changed,
                if batch.dry_run {
                    "would get a new password or code"
                } else {
                    "got a new password or code"
                },
                o.skipped,
                if show_secrets || batch.dry_run {
                    ""
                } else {
                    " The new secrets were not shown and are kept nowhere; use --show-secrets to hand them out."
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Accounts {
            command: AccountsCommand::Delete { kind, id },
        } => {
            let kind = kind.into();
            let mut store = open(&cli.db)?;
            let username =
                accounts::delete_permanently(&mut store, &audit::current_actor(), kind, &id)?;
            eprintln!(
                "Deleted the account {username} for good (the person stays). The username is not given out again for a year."
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Accounts {
            command:
                AccountsCommand::Rename {
                    kind,
                    id,
                    to,
                    by_policy,
                    dry_run,
                    json,
                },
        } => {
            let mut store = open(&cli.db)?;
            let kind: people::Kind = kind.into();
            let q = people::PeopleQuery {
                kind: Some(kind),
                sis_ids: vec![id.clone()],
                ..Default::default()
            };
            let found = people::list(store.conn(), &q)?;
            let person = match found.as_slice() {
                [one] => one.id,
                [] => anyhow::bail!(
                    "there is no {} with SIS id \"{id}\"; `keyroll accounts list --search {id}` finds people",
                    kind.account_word()
                ),
                _ => anyhow::bail!(
                    "{} people of that kind have SIS id \"{id}\" (from different SIS exports); \
                     rename one in the app, where each has their own row",
                    found.len()
                ),
            };
            let new = match (to, by_policy) {
                (Some(u), _) => accounts::NewUsername::Given(u),
                (None, _) => accounts::NewUsername::ByPolicy,
            };
            let r = accounts::rename(&mut store, &audit::current_actor(), person, &new, dry_run)?;
            if json {
                print_json(&r)?;
            } else {
                eprintln!(
                    "{} {} to {}.{}",
                    if dry_run { "Would rename" } else { "Renamed" },
                    r.from,
                    r.to,
                    if dry_run {
                        ""
                    } else {
                        " The old name is not given out again for a year."
                    }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Accounts {
            command: AccountsCommand::Policy { command },
        } => {
            let mut store = open(&cli.db)?;
            match command {
                PolicyCommand::Show => {
                    print_json(&accounts::policy::load(store.conn())?)?;
                }
                PolicyCommand::Set { file } => {
                    let text = std::fs::read_to_string(&file)
                        .with_context(|| format!("cannot read {}", file.display()))?;
                    let policy =
                        accounts::policy::Policy::from_json(&text, &file.display().to_string())?;
                    let changed = store.write(&audit::current_actor(), |w| {
                        accounts::policy::save(w, &policy)
                    })?;
                    eprintln!(
                        "{}",
                        if changed {
                            "The account policy was saved. Run `keyroll accounts generate --dry-run` to see what it changes."
                        } else {
                            "The account policy is already this one; nothing changed."
                        }
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Accounts {
            command:
                AccountsCommand::List {
                    filters,
                    limit,
                    json,
                },
        } => {
            let store = open(&cli.db)?;
            let q = people::PeopleQuery {
                limit,
                ..filters.query()?
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
