//! The Sync screen: the school server and its sign-in, what waits to be
//! sent (by kind of change), the conflicts to decide, and "Sync now" with
//! progress and Cancel; the account panel's view of the server. A sync is
//! the app's one writer while it runs, like an import.

use std::sync::atomic::Ordering;

use keyroll_core::sync::{self, Conflict, Keep, ServerView, Status, Synced};
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};

use crate::error::Result;
use crate::state::AppState;

#[derive(Serialize)]
pub struct SyncView {
    status: Status,
    conflicts: Vec<Conflict>,
}

#[tauri::command(async)]
pub fn sync_status(state: State<'_, AppState>) -> Result<SyncView> {
    state.with_reader(|s| {
        Ok(SyncView {
            status: sync::status(s.conn())?,
            conflicts: sync::conflicts(s)?,
        })
    })
}

/// Connects to `server` with `token` (checked against the server at once);
/// the token goes to the OS keychain, never the database.
#[tauri::command]
pub async fn sync_login(app: AppHandle, server: String, token: String) -> Result<SyncView> {
    let token = zeroize::Zeroizing::new(token);
    let app2 = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let state = app2.state::<AppState>();
        state.exclusive(|store, actor| {
            sync::login(store, actor, server.trim(), token.trim()).map(drop)
        })
    })
    .await
    .map_err(|e| e.to_string())??;
    sync_status(app.state::<AppState>())
}

/// Pulls, then pushes; `dry_run` only counts what would be sent.
#[tauri::command]
pub async fn sync_now(
    app: AppHandle,
    dry_run: bool,
    progress: Channel<sync::Progress>,
) -> Result<Synced> {
    tauri::async_runtime::spawn_blocking(move || {
        let state = app.state::<AppState>();
        state.cancel.store(false, Ordering::SeqCst);
        let cancel = state.cancel.clone();
        state.exclusive(|store, actor| {
            sync::sync(store, actor, dry_run, &mut |p| {
                let _ = progress.send(p);
                !cancel.load(Ordering::SeqCst)
            })
        })
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Keeps one side of a conflict (`id`), or of all of them (None).
#[tauri::command(async)]
pub fn sync_resolve(state: State<'_, AppState>, id: Option<i64>, keep: String) -> Result<usize> {
    let keep = match keep.as_str() {
        "keyroll" => Keep::Keyroll,
        "server" => Keep::Server,
        _ => return Err(format!("keep {keep:?}: choose keyroll or server").into()),
    };
    state.exclusive(|store, actor| sync::resolve(store, actor, id, keep))
}

/// Asks the server to unlock these accounts on the next sync.
#[tauri::command(async)]
pub fn sync_unlock(state: State<'_, AppState>, usernames: Vec<String>) -> Result<usize> {
    state.exclusive(|store, actor| sync::request_unlock(store, actor, &usernames))
}

/// The server's view of a person's account, for their panel.
#[tauri::command(async)]
pub fn account_server_view(state: State<'_, AppState>, id: i64) -> Result<Option<ServerView>> {
    state.with_reader(|s| sync::server_view(s, id))
}
