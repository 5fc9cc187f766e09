//! `keyroll accounts …`: list, generate, batch actions, reset, rename,
//! delete, and the account policy.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use keyroll_core::accounts::{self, password, policy};
use keyroll_core::{audit, people, Store};

use crate::output::{line, print_json, row, JsonArray};
use crate::select::{Batch, Filters, OnePerson};

#[derive(Subcommand)]
pub enum AccountsCommand {
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
    /// Mark the chosen accounts' invitations as not sent (to send them
    /// again): NEW again, unless a letter was printed or they signed in.
    ClearInvitation(Batch),
    /// Bring the chosen accounts back from the recycle bin (disabled).
    Restore(Batch),
    /// Give the chosen accounts a new initial password or activation code
    /// (by their kind's policy). Only hashes are stored: the new secrets go
    /// to a hand-out sheet (--out) or the screen (--show-secrets), and then
    /// exist nowhere.
    Reset {
        #[command(flatten)]
        batch: Batch,
        /// Print the new passwords and codes (CSV on standard output) for
        /// handing out.
        #[arg(long)]
        show_secrets: bool,
        /// Save the hand-out sheet with the new passwords and codes here
        /// (CSV, readable by you only), before anything is reset.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Delete one account from the recycle bin for good; its username is not
    /// given out again for a year. One at a time: there is no bulk delete.
    Delete(OnePerson),
    /// Rename one person's account: the only way a username changes (a new
    /// name in the SIS never renames an account). The old name is not given
    /// out again for a year.
    Rename {
        #[command(flatten)]
        person: OnePerson,
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
pub enum PolicyCommand {
    /// Print the policy in force (JSON): save it to a file to edit or copy.
    Show,
    /// Replace the policy with one from a file (JSON), after checking it.
    Set { file: PathBuf },
    /// How hard the policy's passwords are to guess, in bits, for random
    /// characters and for passphrases.
    Strength {
        #[arg(long)]
        json: bool,
    },
}

pub fn run(store: &mut Store, command: AccountsCommand) -> Result<ExitCode> {
    match command {
        AccountsCommand::List {
            filters,
            limit,
            json,
        } => list(store, filters, limit, json),
        AccountsCommand::Generate {
            dry_run,
            report,
            json,
        } => generate(store, dry_run, report, json),
        AccountsCommand::Reset {
            batch,
            show_secrets,
            out,
        } => reset(store, batch, show_secrets, out),
        AccountsCommand::Delete(person) => {
            let username = accounts::delete_permanently(
                store,
                &audit::current_actor(),
                person.kind.into(),
                &person.id,
                person.source.as_deref(),
            )?;
            eprintln!(
                "Deleted the account {username} for good (the person stays). The username is not given out again for a year."
            );
            Ok(ExitCode::SUCCESS)
        }
        AccountsCommand::Rename {
            person,
            to,
            by_policy: _,
            dry_run,
            json,
        } => {
            let id = person.find(store)?;
            let new = match to {
                Some(u) => accounts::NewUsername::Given(u),
                None => accounts::NewUsername::ByPolicy,
            };
            let r = accounts::rename(store, &audit::current_actor(), id, &new, dry_run)?;
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
        AccountsCommand::Policy { command } => policy(store, command),
        batch_action => {
            let (action, batch) = match batch_action {
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
                _ => unreachable!("every other command is matched above"),
            };
            batch_run(store, action, batch)
        }
    }
}

fn list(store: &Store, filters: Filters, limit: Option<u64>, json: bool) -> Result<ExitCode> {
    let q = people::PeopleQuery {
        limit,
        ..filters.query(store)?
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
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = out;
    let widths = [8, 14, 30, 9];
    let header = row(&[
        ("KIND", widths[0]),
        ("SIS ID", widths[1]),
        ("NAME", widths[2]),
        ("STATUS", widths[3]),
        ("USERNAME", 0),
    ]);
    line(&mut out, &header)?;
    let mut n = 0u64;
    people::for_each(store.conn(), &q, |p| {
        n += 1;
        let name = format!("{}, {}", p.family_name, p.given_name);
        let text = row(&[
            (p.kind, widths[0]),
            (&p.sis_id, widths[1]),
            (&name, widths[2]),
            (&p.status, widths[3]),
            (p.username.as_deref().unwrap_or("-"), 0),
        ]);
        line(&mut out, &text)
    })?;
    out.flush()?;
    eprintln!("{n} people");
    Ok(ExitCode::SUCCESS)
}

fn generate(
    store: &mut Store,
    dry_run: bool,
    report: Option<PathBuf>,
    json: bool,
) -> Result<ExitCode> {
    // A line every two seconds, so that a large school's run shows progress.
    let mut last = std::time::Instant::now();
    let g = accounts::generate(
        store,
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
        accounts::write_report(path, &g.entries, store.path())?;
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
            "{}: {} accounts created, {} enabled, {} disabled, {} reviewed again, {} moved to the \
             recycle bin, {} with changed flags, {} unchanged; {} people qualify but got no \
             account (listed above).",
            if dry_run {
                "Would change (dry run, nothing written)"
            } else {
                "Done"
            },
            g.created,
            g.enabled,
            g.disabled,
            g.reviewed,
            g.recycled,
            g.flags_changed,
            g.unchanged,
            g.problems
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn batch_run(store: &mut Store, action: accounts::Action, batch: Batch) -> Result<ExitCode> {
    let (dry_run, report, json) = (batch.dry_run, batch.report.clone(), batch.json);
    let q = batch.query(store, action.name())?;
    let o = accounts::batch(store, &audit::current_actor(), &action, &q, dry_run)?;
    if let Some(path) = &report {
        accounts::write_report(path, &o.entries, store.path())?;
    }
    if json {
        print_json(&o)?;
        return Ok(ExitCode::SUCCESS);
    }
    for e in o.entries.iter().filter(|e| e.action != "skip").take(50) {
        println!(
            "  {}",
            row(&[
                (e.kind, 8),
                (&e.sis_id, 12),
                (&e.name, 28),
                (&e.username, 20),
                (&e.state, 0)
            ])
        );
    }
    println!(
        "{} {}: {} chosen, {} changed, {} already so, {} skipped (no account, left, or in the recycle bin).",
        if dry_run { "Would" } else { "Done:" },
        o.action,
        o.matched,
        o.changed,
        o.unchanged,
        o.skipped
    );
    Ok(ExitCode::SUCCESS)
}

fn reset(
    store: &mut Store,
    batch: Batch,
    show_secrets: bool,
    out: Option<PathBuf>,
) -> Result<ExitCode> {
    let (dry_run, report) = (batch.dry_run, batch.report.clone());
    let q = batch.query(store, "reset")?;
    // Only hashes are kept: secrets nobody is given are thrown away, and the
    // accounts they were set on cannot be used.
    anyhow::ensure!(
        dry_run || show_secrets || out.is_some(),
        "a reset makes new passwords and codes that are stored only as hashes, so they must go \
         somewhere: give --out FILE for a hand-out sheet, or --show-secrets to print them (or \
         --dry-run to see who would get one)"
    );
    let mut last = std::time::Instant::now();
    // The sheet is saved, and the secrets printed, before the reset is
    // committed: if either fails, no account is left with a secret nobody saw.
    let o = accounts::reset_to_sheet(
        store,
        &audit::current_actor(),
        &q,
        dry_run,
        out.as_deref(),
        &mut |done, total| {
            if last.elapsed().as_secs() >= 2 {
                eprintln!("Hashing passwords: {done} of {total}…");
                last = std::time::Instant::now();
            }
            true
        },
        &mut |handouts| match show_secrets {
            true => accounts::write_handouts(std::io::stdout().lock(), handouts),
            false => Ok(()),
        },
    )?;
    if let Some(path) = &report {
        accounts::write_report(path, &o.entries, store.path())?;
    }
    eprintln!(
        "{} reset: {} chosen, {} {}, {} skipped (no account, or in the recycle bin).{}",
        if dry_run { "Would" } else { "Done:" },
        o.matched,
        o.changed,
        if dry_run {
            "would get a new password or code"
        } else {
            "got a new password or code"
        },
        o.skipped,
        match (&out, dry_run) {
            (Some(path), false) => format!(" The hand-out sheet is {}.", path.display()),
            _ => String::new(),
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn policy(store: &mut Store, command: PolicyCommand) -> Result<ExitCode> {
    match command {
        PolicyCommand::Show => {
            print_json(&policy::load(store.conn())?)?;
        }
        PolicyCommand::Set { file } => {
            let policy = policy::Policy::from_file(&file)?;
            let changed = store.write(&audit::current_actor(), |w| policy::save(w, &policy))?;
            eprintln!(
                "{}",
                if changed {
                    "The account policy was saved. Run `keyroll accounts generate --dry-run` to see what it changes."
                } else {
                    "The account policy is already this one; nothing changed."
                }
            );
        }
        PolicyCommand::Strength { json } => {
            let p = policy::load(store.conn())?;
            let s = password::strength(&p.passwords);
            if json {
                let mut v = serde_json::to_value(s)?;
                v["bits"] = s.in_force.into();
                v["passphrase_in_force"] = p.passwords.passphrase.into();
                print_json(&v)?;
            } else {
                println!(
                    "Random characters: {:.0} bits; passphrases: {:.0} bits. In force: {}, {:.0} bits.",
                    s.random,
                    s.passphrase,
                    if p.passwords.passphrase { "passphrases" } else { "random characters" },
                    s.in_force
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
