//! `keyroll todo`: what needs doing, as the app's Home screen lists it.

use std::process::ExitCode;

use anyhow::Result;
use keyroll_core::{home, Store};

use crate::output::print_json;

/// What needs doing: parents waiting for review, people who qualify but have
/// no account (and why), accounts never handed out, the last import's
/// rejected rows.
#[derive(clap::Args)]
pub struct TodoArgs {
    #[arg(long)]
    json: bool,
}

pub fn run(store: &Store, a: TodoArgs) -> Result<ExitCode> {
    let items = home::todo(store.conn())?;
    if a.json {
        print_json(&items)?;
    } else if items.is_empty() {
        println!("Nothing needs doing.");
    } else {
        for i in items {
            println!("- {}. {}", i.title_text(), i.detail);
        }
    }
    Ok(ExitCode::SUCCESS)
}
