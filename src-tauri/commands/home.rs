//! The Home screen: the database in use, who is in it, and what needs doing.

use keyroll_core::store::Upgrade;
use keyroll_core::{audit, home, import, people};
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::State;

use crate::error::Result;
use crate::state::AppState;

#[derive(Serialize)]
pub struct AppStatus {
    db_path: String,
    totals: people::Totals,
    /// True when started with --demo: the UI loads the demo school if empty.
    demo: bool,
    last_import: Option<import::ImportRecord>,
}

// Sync commands run on the main thread unless marked async: these touch the
// database (and the keychain), so they must not freeze the window.

/// Opens the database, the window's first call: an upgrade to this build's
/// schema sends its steps to `progress` (nothing is sent otherwise).
#[tauri::command(async)]
pub fn open_database(state: State<'_, AppState>, progress: Channel<Upgrade>) -> Result<()> {
    state.open_reader(&mut |u| {
        let _ = progress.send(u);
    })
}

#[tauri::command(async)]
pub fn app_status(state: State<'_, AppState>) -> Result<AppStatus> {
    state.with_reader(|s| {
        Ok(AppStatus {
            db_path: s.path().display().to_string(),
            totals: people::totals(s.conn())?,
            demo: state.launch.demo,
            last_import: import::last(s.conn())?,
        })
    })
}

/// What needs doing. It reads everyone (who qualifies for an account), so
/// on its own connection: the people table stays quick meanwhile.
#[tauri::command(async)]
pub fn home_todo(state: State<'_, AppState>) -> Result<Vec<home::Item>> {
    let store = state.open()?;
    Ok(home::todo(store.conn())?)
}

/// A page of the audit log, newest first, for the Audit screen.
#[tauri::command(async)]
pub fn audit_page(
    state: State<'_, AppState>,
    before: Option<i64>,
    limit: Option<u32>,
) -> Result<Vec<audit::AuditEntry>> {
    state.with_reader(|s| {
        Ok(audit::recent(
            s.conn(),
            before,
            limit.unwrap_or(100).min(500),
        )?)
    })
}
