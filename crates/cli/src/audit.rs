//! `keyroll audit`: the audit log, every change, who made it and when.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use keyroll_core::{audit, Store};

use crate::output::{line, row, JsonArray};

/// The audit log: every change, who made it and when.
#[derive(clap::Args)]
pub struct AuditArgs {
    /// Only entries at or after this time (e.g. 2026-11-21 or 2026-11-21T09:00).
    #[arg(long)]
    since: Option<String>,
    #[arg(long)]
    json: bool,
}

pub fn run(store: &Store, a: AuditArgs) -> Result<ExitCode> {
    let out = std::io::BufWriter::new(std::io::stdout().lock());
    if a.json {
        let mut array = JsonArray::new(out)?;
        audit::for_each(store.conn(), a.since.as_deref(), |e| {
            array
                .push(&e)
                .map_err(|e| keyroll_core::Error::io("standard output", e))
        })?;
        array.finish()?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = out;
    audit::for_each(store.conn(), a.since.as_deref(), |e| {
        let after = e.after.as_ref().map(|v| v.to_string()).unwrap_or_default();
        let text = row(&[
            (&e.at, 24),
            (&e.actor, 10),
            (&e.action, 20),
            (&e.entity_key, 0),
        ]);
        line(&mut out, &format!("{text}  {after}"))
    })?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
