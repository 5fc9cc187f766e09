//! Sync with the school server over SCIM 2.0 (RFC 7643/7644): accounts made
//! offline are pushed when the office is online, and what happened on the
//! server (invitations accepted, sign-ins, locks) comes back.
//!
//! - [`login`]: the server's address (kept in the database) and its token
//!   (kept in the OS keychain only);
//! - [`sync`]: pull, then push, resumable at any point ([`push`] says how);
//! - [`status`]: the server, the last sync, what is waiting;
//! - [`conflicts`], [`resolve`]: fields both sides changed, for the office
//!   to decide;
//! - [`request_unlock`]: the office's unlock, sent on the next push;
//! - [`server_view`]: one account as the server last told Keyroll.
//!
//! The journal is `sync_due`, kept by triggers: every account whose copy
//! on the server may be behind (its version, its person's digest, its
//! family or its group moved since the server acknowledged it in
//! `sync_account`). A sync reads only those, so one with nothing to send
//! costs little however big the school.

mod account;
mod client;
mod conflicts;
mod document;
mod local;
mod merge;
mod pull;
mod push;
mod settings;
mod wire;

pub use account::{server_view, ServerView};
pub use client::{Provider, Sent};
pub use conflicts::{conflicts, request_unlock, resolve, Conflict, Keep};
pub use document::{changes, user, Credentials, Dialect, Local};
pub use merge::{decide, Decision, SHARED};
pub use pull::Pulled;
pub use push::{Failure, Pushed};
pub use settings::{check_server, load as settings, SyncSettings, TOKEN_ENV};

use crate::store::Store;
use crate::Result;

/// What a sync did (or, dry, would do).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Synced {
    pub server: String,
    pub dry_run: bool,
    pub pulled: Pulled,
    pub pushed: Pushed,
    pub requests: Sent,
}

/// Progress of a sync: the stage ("pull", "push"), done and total.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Progress {
    pub stage: &'static str,
    pub done: u64,
    pub total: u64,
}

/// Checks the server and token (reading its ServiceProviderConfig), then
/// keeps both: the address in the database, the token in the keychain.
pub fn login(store: &mut Store, actor: &str, server: &str, token: &str) -> Result<Provider> {
    let server = settings::check_server(server)?;
    let mut client = client::Client::new(&server, zeroize::Zeroizing::new(token.to_owned()));
    let provider = client.discover()?;
    // A scheduled sync on a machine with no keychain gives the token in
    // the environment every time: nothing to keep.
    if std::env::var_os(TOKEN_ENV).is_none() {
        settings::save_token(&server, token)?;
    }
    store.write(actor, |w| {
        let mut s = settings::load(w.conn())?;
        if s.server != server {
            // Another server: its cursor and acknowledgements mean nothing.
            s = SyncSettings {
                server: server.clone(),
                ..SyncSettings::default()
            };
            forget_server(w)?;
        }
        settings::save(w, &s)
    })?;
    Ok(provider)
}

fn forget_server(w: &crate::store::Writer) -> Result<()> {
    w.conn().execute_batch(
        "DELETE FROM sync_account; DELETE FROM sync_group; DELETE FROM sync_conflict;",
    )?;
    Ok(())
}

/// Pulls the server's changes, then pushes Keyroll's. `dry_run` reads the
/// server but writes nothing anywhere: it counts the requests a sync would
/// make. `progress` returning false stops after the request in flight.
pub fn sync(
    store: &mut Store,
    actor: &str,
    dry_run: bool,
    progress: &mut dyn FnMut(Progress) -> bool,
) -> Result<Synced> {
    let s = settings::load(store.conn())?;
    if s.server.is_empty() {
        return Err(crate::Error::Invalid(
            "no school server is set up: sign in with `keyroll sync login --server URL \
             --token-stdin` or in Sync"
                .into(),
        ));
    }
    let mut client = client::Client::new(&s.server, settings::token(&s.server)?);
    let provider = client.discover()?;
    let mut out = Synced {
        server: s.server.clone(),
        dry_run,
        ..Synced::default()
    };
    if !dry_run {
        let (pulled, cursor) = pull::pull(
            store,
            actor,
            &mut client,
            &provider,
            s.cursor.as_deref(),
            &mut |done, total| {
                progress(Progress {
                    stage: "pull",
                    done,
                    total,
                })
            },
        )?;
        out.pulled = pulled;
        store.write(actor, |w| {
            let mut now = settings::load(w.conn())?;
            now.cursor = cursor;
            settings::save(w, &now)
        })?;
    }
    out.pushed = push::push(
        store,
        actor,
        &mut client,
        &provider,
        dry_run,
        &mut |stage, done, total| progress(Progress { stage, done, total }),
    )?;
    out.requests = client.sent;
    if !dry_run {
        store.write(actor, |w| {
            let mut now = settings::load(w.conn())?;
            now.last_sync = Some(w.at().to_owned());
            settings::save(w, &now)?;
            let counts = serde_json::json!({"pulled": out.pulled, "pushed": out.pushed});
            w.audit("sync", "sync", &now.server, None, Some(&counts.to_string()))?;
            Ok::<_, crate::Error>(())
        })?;
    }
    Ok(out)
}

/// Where sync stands, without the network.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Status {
    pub server: String,
    pub last_sync: Option<String>,
    /// Accounts the server has never had.
    pub to_create: u64,
    /// Accounts changed since the server acknowledged them.
    pub to_update: u64,
    pub unlocks: u64,
    pub group_moves: u64,
    /// Account changes waiting to be sent: Home's and the Sync screen's
    /// one figure (a group move is counted with its account's change).
    pub pending: u64,
    pub conflicts: u64,
    pub locked: u64,
}

pub fn status(conn: &rusqlite::Connection) -> Result<Status> {
    let s = settings::load(conn)?;
    let count =
        |sql: &str| -> Result<u64> { Ok(conn.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64) };
    // Only the journal's accounts can be waiting (local::settled).
    const DUE: &str = "FROM sync_due d CROSS JOIN account a ON a.id = d.account_id
                       LEFT JOIN sync_account s ON s.account_id = a.id";
    let mut out = Status {
        to_create: count(&format!("SELECT count(*) {DUE} WHERE s.account_id IS NULL"))?,
        to_update: count(&format!(
            "SELECT count(*) {DUE} JOIN person p ON p.id = a.person_id
             WHERE s.version != a.version OR s.person_digest != p.digest"
        ))?,
        unlocks: count(&format!(
            "SELECT count(*) {DUE} WHERE a.unlock_requested = 1"
        ))?,
        group_moves: count(&format!(
            "SELECT count(*) {DUE} WHERE s.account_id IS NOT NULL AND s.group_id IS NOT a.group_id"
        ))?,
        conflicts: count("SELECT count(*) FROM sync_conflict")?,
        locked: count("SELECT count(*) FROM account WHERE locked = 1")?,
        server: s.server,
        last_sync: s.last_sync,
        ..Status::default()
    };
    out.pending = out.to_create + out.to_update + out.unlocks;
    Ok(out)
}

#[cfg(test)]
mod tests;
