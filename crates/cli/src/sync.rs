//! `keyroll sync`: the school server over SCIM 2.0.

use std::io::Read;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use keyroll_core::{audit, sync, Store};

use crate::output::print_json;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SyncArgs {
    #[command(subcommand)]
    command: Option<SyncCommand>,
    /// List what would be sent, as requests by kind; write nothing.
    #[arg(long)]
    dry_run: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub enum SyncCommand {
    /// Sign in to a school server: its SCIM address, and a token (from
    /// `keyroll-server token create`, or the provider's admin page) on
    /// standard input, kept in the OS keychain.
    Login {
        #[arg(long, value_name = "URL")]
        server: String,
        #[arg(long, required = true)]
        token_stdin: bool,
    },
    /// The server, the last sync and what is waiting (no network).
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Fields changed both in Keyroll and on the server since the last sync.
    Conflicts {
        #[arg(long)]
        json: bool,
    },
    /// Keep one side of a conflict (by its number), or of all of them.
    Resolve {
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<i64>,
        #[arg(long)]
        all: bool,
        #[arg(long, value_enum)]
        keep: Side,
    },
    /// Unlock accounts locked on the server after failed sign-ins (sent on
    /// the next sync).
    Unlock {
        #[arg(required = true)]
        usernames: Vec<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Side {
    Keyroll,
    Server,
}

pub fn run(store: &mut Store, a: SyncArgs) -> Result<ExitCode> {
    inner(store, a).map(|()| ExitCode::SUCCESS)
}

fn inner(store: &mut Store, a: SyncArgs) -> Result<()> {
    let actor = audit::current_actor();
    match a.command {
        None => sync_now(store, &actor, a.dry_run, a.json),
        Some(SyncCommand::Login { server, .. }) => {
            let mut token = zeroize::Zeroizing::new(String::new());
            std::io::stdin().read_to_string(&mut token)?;
            let token = token.trim();
            anyhow::ensure!(!token.is_empty(), "no token came on standard input");
            let p = sync::login(store, &actor, &server, token)?;
            println!("Signed in to {}.", server.trim_end_matches('/'));
            match p.bulk {
                Some((ops, size)) => println!(
                    "It takes Bulk requests ({ops} operations, {} KB at most).",
                    size / 1024
                ),
                None => println!("It does not take Bulk requests: changes go one by one."),
            }
            if p.dialect.credentials {
                println!("It takes initial passwords and activation codes (as hashes only).");
            }
            Ok(())
        }
        Some(SyncCommand::Status { json }) => {
            let s = sync::status(store.conn())?;
            if json {
                return print_json(&s);
            }
            if s.server.is_empty() {
                println!("No school server yet: `keyroll sync login --server URL --token-stdin`.");
                return Ok(());
            }
            println!("Server:      {}", s.server);
            println!("Last sync:   {}", s.last_sync.as_deref().unwrap_or("never"));
            println!("To create:   {}", s.to_create);
            println!("To update:   {}", s.to_update);
            println!("Group moves: {}", s.group_moves);
            println!("Unlocks:     {}", s.unlocks);
            println!("Locked:      {}", s.locked);
            println!("Conflicts:   {}", s.conflicts);
            Ok(())
        }
        Some(SyncCommand::Conflicts { json }) => {
            let c = sync::conflicts(store)?;
            if json {
                return print_json(&c);
            }
            if c.is_empty() {
                println!("No conflicts.");
            }
            for c in c {
                println!("{:>5}  {}: {}", c.id, c.username, c.summary);
            }
            Ok(())
        }
        Some(SyncCommand::Resolve { id, keep, .. }) => {
            let keep = match keep {
                Side::Keyroll => sync::Keep::Keyroll,
                Side::Server => sync::Keep::Server,
            };
            let n = sync::resolve(store, &actor, id, keep)?;
            println!("{n} conflict(s) resolved; the next sync sends the kept values.");
            Ok(())
        }
        Some(SyncCommand::Unlock { usernames }) => {
            let n = sync::request_unlock(store, &actor, &usernames)?;
            println!("{n} account(s) will be unlocked on the server at the next sync.");
            Ok(())
        }
    }
}

fn sync_now(store: &mut Store, actor: &str, dry_run: bool, json: bool) -> Result<()> {
    let mut last = (String::new(), 0);
    let mut progress = |p: sync::Progress| {
        // A line per stage and per tenth: enough for a terminal or a log.
        let tenth = (p.done * 10).checked_div(p.total).unwrap_or(10);
        if !json && (last.0 != p.stage || last.1 != tenth) {
            eprintln!("{}: {} of {}", p.stage, p.done, p.total);
            last = (p.stage.to_owned(), tenth);
        }
        true
    };
    let out = sync::sync(store, actor, dry_run, &mut progress)?;
    if json {
        return print_json(&out);
    }
    let p = &out.pushed;
    let verb = if dry_run { "would send" } else { "sent" };
    println!(
        "{}: {verb} {} new and {} changed account(s), {} group(s) new and {} renamed, {} membership change(s).",
        out.server, p.users_created, p.users_updated, p.groups_created, p.groups_renamed, p.membership_changes
    );
    if !dry_run {
        let q = &out.pulled;
        println!(
            "Back from the server: {} account(s) with new sign-in state, {} enabled or disabled there, {} conflict(s).",
            q.updated, q.taken, q.conflicts
        );
        println!(
            "{} request(s): {} read(s), {} write(s), {} retried.",
            out.requests.reads + out.requests.writes,
            out.requests.reads,
            out.requests.writes,
            out.requests.retries
        );
    }
    for f in &p.failed {
        eprintln!("not sent: {} ({}): {}", f.username, f.status, f.detail);
    }
    if out.pulled.conflicts > 0 {
        println!("Decide the conflicts with `keyroll sync conflicts` and `keyroll sync resolve`.");
    }
    anyhow::ensure!(
        p.failed.is_empty(),
        "{} change(s) were refused by the server (above); the rest were sent",
        p.failed.len()
    );
    Ok(())
}
