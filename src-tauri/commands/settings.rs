//! The Settings screen: the account policy, its live examples and password
//! strength, and the policy as a file.

use std::path::PathBuf;

use keyroll_core::accounts::{self, password, policy};
use keyroll_core::people;
use tauri::{AppHandle, Manager, State, WebviewWindow};

use super::dialogs::{ask_open_path, ask_save_path};
use crate::error::Result;
use crate::state::AppState;

/// The account policy in force (the defaults until one is saved).
#[tauri::command(async)]
pub fn account_policy(state: State<'_, AppState>) -> Result<policy::Policy> {
    state.with_reader(|s| policy::load(s.conn()))
}

/// Checks and saves the account policy; the problems, in plain words, if
/// it does not make sense.
#[tauri::command(async)]
pub fn save_account_policy(state: State<'_, AppState>, policy: policy::Policy) -> Result<bool> {
    state.exclusive(|store, actor| store.write(actor, |w| policy::save(w, &policy)))
}

/// Usernames an edited (unsaved) policy would give the first people of a
/// kind, from the school's own data.
#[tauri::command(async)]
pub fn username_examples(
    state: State<'_, AppState>,
    policy: policy::Policy,
    kind: people::Kind,
) -> Result<Vec<accounts::Example>> {
    state.with_reader(|s| accounts::examples(s.conn(), &policy, kind, 6))
}

/// How hard an edited (unsaved) policy's passwords are to guess, in bits,
/// for each way of making them.
#[tauri::command]
pub fn password_strength(policy: policy::Policy) -> password::Strength {
    password::strength(&policy.passwords)
}

/// Saves the policy shown in Settings (as edited) as a file where the
/// office chooses: to keep, or to give another school's Keyroll.
#[tauri::command]
pub async fn export_policy(
    app: AppHandle,
    window: WebviewWindow,
    policy: policy::Policy,
) -> Result<Option<String>> {
    let title = "Save the account policy";
    let Some(path) = ask_save_path(&app, window, title, "keyroll-account-policy.json").await?
    else {
        return Ok(None);
    };
    let database = app.state::<AppState>().database();
    policy::export(&path, &policy, &database)?;
    Ok(Some(path.display().to_string()))
}

/// Reads a policy file the office chooses, for Settings to show: nothing is
/// saved until they review it and press Save. (`open_from` is set only by
/// the end-to-end test: WebDriver cannot answer the native dialog.)
#[tauri::command]
pub async fn import_policy(
    app: AppHandle,
    window: WebviewWindow,
    open_from: Option<PathBuf>,
) -> Result<Option<policy::Policy>> {
    let title = "Open an account policy";
    let path = match open_from {
        Some(path) => path,
        None => match ask_open_path(&app, window, title, ("Account policy", &["json"])).await? {
            Some(path) => path,
            None => return Ok(None),
        },
    };
    Ok(Some(policy::Policy::from_file(&path)?))
}
