//! `keyroll groups …`: every account is in exactly one group.

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use keyroll_core::{accounts, audit, Store};

use crate::output::{print_json, row};

#[derive(Subcommand)]
pub enum GroupsCommand {
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

pub fn run(store: &mut Store, command: GroupsCommand) -> Result<ExitCode> {
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
                    let count = format!("{:>7} accounts{default}", g.accounts);
                    println!("{}", row(&[(&g.name, 30), (&count, 0)]));
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
