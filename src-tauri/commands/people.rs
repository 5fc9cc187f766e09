//! The People & Accounts screen: the table's pages, generating accounts,
//! batch actions, resets with their hand-out sheet, renames, a person's
//! history.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use keyroll_core::people::roster::Sort;
use keyroll_core::{accounts, audit, people};
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State, WebviewWindow};

use super::dialogs::ask_save_path;
use super::Progress;
use crate::error::Result;
use crate::state::AppState;

#[derive(Serialize)]
pub struct PeoplePage {
    /// People of the chosen kind, before the search.
    total: u64,
    /// People matching the filter and search.
    matching: u64,
    rows: Vec<people::ListedPerson>,
}

/// One page of the people table. Only the visible page crosses to the webview.
#[tauri::command(async)]
pub fn people_page(
    state: State<'_, AppState>,
    query: people::PeopleQuery,
    sort: Option<Sort>,
) -> Result<PeoplePage> {
    let q = people::PeopleQuery {
        limit: Some(query.limit.unwrap_or(100).min(500)),
        ..query
    };
    // Filters, searches and sorts run on the roster in memory; only the
    // page's rows are read from the database.
    state.with_roster(|s, roster| {
        let page = roster.query(&q, sort.unwrap_or_default());
        Ok(PeoplePage {
            total: roster.total(q.kind),
            matching: page.matching,
            rows: people::by_ids(s.conn(), &page.ids)?,
        })
    })
}

/// What an accounts run did, with the first entries for the dialog.
#[derive(Serialize)]
pub struct Outcome<T: Serialize> {
    #[serde(flatten)]
    outcome: T,
    /// The first changes (and every problem first), for the preview's table.
    entries: Vec<accounts::Entry>,
}

const SHOWN_ENTRIES: usize = 2000;

/// The entries a preview lists: problems first, then the changes, then
/// who is skipped and why.
fn first_entries(entries: &[accounts::Entry]) -> Vec<accounts::Entry> {
    let mut out = Vec::new();
    for wanted in [
        |a: &str| a == "problem",
        |a: &str| a != "problem" && a != "skip",
        |a: &str| a == "skip",
    ] {
        let room = SHOWN_ENTRIES.saturating_sub(out.len());
        out.extend(
            entries
                .iter()
                .filter(|e| wanted(e.action))
                .take(room)
                .cloned(),
        );
    }
    out
}

/// Makes the accounts people qualify for (or, with `dry_run`, says what it
/// would do). One writer at a time, like an import.
#[tauri::command(async)]
pub fn generate_accounts(
    state: State<'_, AppState>,
    dry_run: bool,
    on_progress: Channel<Progress>,
) -> Result<Outcome<accounts::Generated>> {
    let cancel = state.cancel.clone();
    let g = state.exclusive(|store, actor| {
        // Only now, as the only writer: an import's Cancel stays its own.
        cancel.store(false, Ordering::SeqCst);
        accounts::generate(store, actor, dry_run, false, &mut |step| {
            let _ = on_progress.send(Progress::Accounts(step));
            !cancel.load(Ordering::SeqCst)
        })
    })?;
    Ok(Outcome {
        entries: first_entries(&g.entries),
        outcome: g,
    })
}

/// A batch action on the people `query` chooses (a filter, or ticked rows
/// by row id), previewed with `dry_run`.
#[tauri::command(async)]
pub fn account_action(
    state: State<'_, AppState>,
    action: String,
    group: Option<String>,
    query: people::PeopleQuery,
    dry_run: bool,
) -> Result<Outcome<accounts::BatchOutcome>> {
    let action = match (action.as_str(), accounts::Action::parse(&action, group)) {
        (_, Some(a)) => a,
        ("move-group", None) => return Err("Choose the group to move them to.".into()),
        (other, None) => return Err(format!("unknown action {other}").into()),
    };
    let query = people::PeopleQuery {
        offset: 0,
        limit: None,
        ..query
    };
    let o =
        state.exclusive(|store, actor| accounts::batch(store, actor, &action, &query, dry_run))?;
    Ok(Outcome {
        entries: first_entries(&o.entries),
        outcome: o,
    })
}

/// What resetting passwords or activation codes did, or would do.
#[derive(Serialize)]
pub struct ResetDone {
    #[serde(flatten)]
    outcome: accounts::ResetOutcome,
    entries: Vec<accounts::Entry>,
    /// Where the hand-out sheet was saved; None in a preview, or when the
    /// office cancelled the "Save as" dialog (then nothing was reset).
    sheet: Option<String>,
}

/// Gives the chosen accounts new passwords or activation codes. The new
/// secrets exist only in memory, so applying first asks where to save the
/// hand-out sheet (`save_to` skips the dialog: the end-to-end test) and
/// writes it, through the same check as every file Keyroll writes, before
/// the reset is committed: no account gets a secret that nobody has.
#[tauri::command]
pub async fn reset_accounts(
    app: AppHandle,
    window: WebviewWindow,
    query: people::PeopleQuery,
    dry_run: bool,
    save_to: Option<String>,
    on_progress: Channel<Progress>,
) -> Result<ResetDone> {
    let query = people::PeopleQuery {
        offset: 0,
        limit: None,
        ..query
    };
    let sheet = match (dry_run, save_to) {
        (true, _) => None,
        (false, Some(path)) => Some(PathBuf::from(path)),
        (false, None) => {
            let title = "Save the hand-out sheet with the new passwords";
            match ask_save_path(&app, window, title, "keyroll-new-passwords.csv").await? {
                Some(path) => Some(path),
                None => {
                    return Ok(ResetDone {
                        outcome: accounts::ResetOutcome::default(),
                        entries: Vec::new(),
                        sheet: None,
                    })
                }
            }
        }
    };
    let app2 = app.clone();
    let saved = sheet.clone();
    let o = tauri::async_runtime::spawn_blocking(move || {
        let state = app2.state::<AppState>();
        let cancel = state.cancel.clone();
        state.exclusive(|store, actor| {
            // Only now, as the only writer: an import's Cancel stays its own.
            cancel.store(false, Ordering::SeqCst);
            accounts::reset_to_sheet(
                store,
                actor,
                &query,
                dry_run,
                saved.as_deref(),
                &mut |done, total| {
                    let _ = on_progress.send(Progress::Hashing { done, total });
                    !cancel.load(Ordering::SeqCst)
                },
                &mut |_| Ok(()),
            )
        })
    })
    .await
    .map_err(|e| e.to_string())??;
    Ok(ResetDone {
        entries: first_entries(&o.entries),
        outcome: o,
        sheet: sheet.map(|p| p.display().to_string()),
    })
}

/// Renames a person's account: to `to`, or (None) to what the policy's
/// pattern gives their details now. A dry run says what the name would be.
#[tauri::command(async)]
pub fn rename_account(
    state: State<'_, AppState>,
    person_id: i64,
    to: Option<String>,
    dry_run: bool,
) -> Result<accounts::Renamed> {
    let new = match to {
        Some(u) => accounts::NewUsername::Given(u),
        None => accounts::NewUsername::ByPolicy,
    };
    state.exclusive(|store, actor| accounts::rename(store, actor, person_id, &new, dry_run))
}

/// The account groups, for the filter and "Move to group".
#[tauri::command(async)]
pub fn account_groups(state: State<'_, AppState>) -> Result<Vec<accounts::Group>> {
    state.with_reader(|s| accounts::groups(s.conn()))
}

/// The classes the SIS lists, for the class filter.
#[tauri::command(async)]
pub fn classes(state: State<'_, AppState>) -> Result<Vec<people::ListedClass>> {
    state.with_reader(|s| people::classes(s.conn()))
}

/// The classes one person is in, for their panel.
#[tauri::command(async)]
pub fn person_classes(state: State<'_, AppState>, id: i64) -> Result<Vec<people::PersonClass>> {
    state.with_reader(|s| people::classes_of(s.conn(), id))
}

/// One person's history (their SIS record and account), for their panel.
#[tauri::command(async)]
pub fn person_history(state: State<'_, AppState>, id: i64) -> Result<Vec<audit::AuditEntry>> {
    state.with_reader(|s| accounts::history(s.conn(), id))
}
