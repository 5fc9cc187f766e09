//! `keyroll`: every Keyroll capability from the command line, scriptable, with
//! `--json` output. It only parses arguments and prints; the work is in
//! keyroll-core. Exit codes: 0 success, 1 failure (message on stderr), 2 bad
//! usage. One file per command group; [`output`] prints.

mod accounts;
mod audit;
mod classes;
mod demo;
mod groups;
mod import;
mod invite;
mod letters;
mod output;
mod select;
mod sync;
mod todo;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use keyroll_core::Store;

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

// Parsed once per run: the size of its largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    Demo(demo::DemoArgs),
    Import(import::ImportArgs),
    /// Column mappings for plain CSV files and spreadsheets.
    Mappings {
        #[command(subcommand)]
        command: import::MappingsCommand,
    },
    /// Imports applied so far.
    Imports {
        #[command(subcommand)]
        command: import::ImportsCommand,
    },
    /// People and their accounts.
    Accounts {
        #[command(subcommand)]
        command: accounts::AccountsCommand,
    },
    /// Classes and home groups, as the SIS lists them.
    Classes {
        #[command(subcommand)]
        command: classes::ClassesCommand,
    },
    /// Account groups: every account is in exactly one.
    Groups {
        #[command(subcommand)]
        command: groups::GroupsCommand,
    },
    Letters(letters::LettersArgs),
    Export(letters::ExportArgs),
    /// The school's SMTP server, which sends invitations.
    Smtp {
        #[command(subcommand)]
        command: invite::SmtpCommand,
    },
    /// Invitations by email.
    Invite {
        #[command(subcommand)]
        command: invite::InviteCommand,
    },
    /// Emails waiting, sent, failed or that may have been sent.
    Outbox {
        #[command(subcommand)]
        command: invite::OutboxCommand,
    },
    /// Sync with the school server over SCIM 2.0 (pull, then push).
    Sync(sync::SyncArgs),
    Todo(todo::TodoArgs),
    Audit(audit::AuditArgs),
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

fn open(db: &Option<PathBuf>) -> Result<Store> {
    // An upgrade of a large database can take a while: say so, on stderr
    // (stdout may be JSON).
    let mut upgrading = |u: keyroll_core::store::Upgrade| {
        if u.done == 0 {
            eprintln!("Updating your database to this version of Keyroll…");
        } else if u.done == u.steps {
            eprintln!("Database updated ({} steps).", u.steps);
        }
    };
    Ok(keyroll_core::open_upgrading(
        db.as_deref(),
        None,
        &mut upgrading,
    )?)
}

fn run(cli: Cli) -> Result<ExitCode> {
    let db = &cli.db;
    match cli.command {
        Command::Demo(a) => demo::run(a),
        Command::Import(a) => import::import(&mut open(db)?, a),
        Command::Imports { command } => import::imports(&mut open(db)?, command),
        Command::Mappings { command } => {
            let store = match import::mappings_need_store(&command) {
                true => Some(open(db)?),
                false => None,
            };
            import::mappings(store.as_ref(), command)
        }
        Command::Accounts { command } => accounts::run(&mut open(db)?, command),
        Command::Groups { command } => groups::run(&mut open(db)?, command),
        Command::Classes { command } => classes::run(&open(db)?, command),
        Command::Letters(a) => letters::letters(&mut open(db)?, a),
        Command::Export(a) => letters::export_cmd(&mut open(db)?, a),
        Command::Smtp { command } => invite::smtp_cmd(&mut open(db)?, command),
        Command::Invite { command } => invite::invite_cmd(&mut open(db)?, command),
        Command::Outbox { command } => invite::outbox_cmd(&mut open(db)?, command),
        Command::Sync(a) => sync::run(&mut open(db)?, a),
        Command::Todo(a) => todo::run(&open(db)?, a),
        Command::Audit(a) => audit::run(&open(db)?, a),
    }
}
