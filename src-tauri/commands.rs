//! Tauri commands. Each one opens or borrows a core Store and calls the
//! library; long work runs on a blocking thread and reports through a Channel.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use keyroll_core::roster::{Roster, Sort};
use keyroll_core::{accounts, audit, demo, import, people, Store};
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State, WebviewWindow};

pub struct AppState {
    launch: crate::Launch,
    /// The connection the people table reads through (imports use their own).
    reader: Mutex<Option<Store>>,
    /// Everyone, in memory, for the table's filters and sorts; loaded again
    /// when another connection has committed since.
    roster: Mutex<Option<Arc<Roster>>>,
    importing: AtomicBool,
    cancel: Arc<AtomicBool>,
    /// The last import's rejected rows, for "Save report…".
    last_errors: Mutex<Vec<import::RowError>>,
}

impl AppState {
    pub fn new(launch: crate::Launch) -> Self {
        AppState {
            launch,
            reader: Mutex::new(None),
            roster: Mutex::new(None),
            importing: AtomicBool::new(false),
            cancel: Arc::new(AtomicBool::new(false)),
            last_errors: Mutex::new(Vec::new()),
        }
    }

    fn open(&self) -> Result<Store, String> {
        keyroll_core::open_with(self.launch.db.as_deref(), self.launch.key.as_ref())
            .map_err(|e| e.to_string())
    }

    /// Runs `f` as the app's only writer: an import, a rollback and an
    /// account change never interleave (each is one transaction anyway; this
    /// says so at once instead of waiting on the database lock).
    fn exclusive<T>(
        &self,
        f: impl FnOnce(&mut Store, &str) -> keyroll_core::Result<T>,
    ) -> Result<T, String> {
        if self.importing.swap(true, Ordering::SeqCst) {
            return Err("An import is running; wait for it to finish.".into());
        }
        let result = self.open().and_then(|mut store| {
            f(&mut store, &audit::current_actor()).map_err(|e| e.to_string())
        });
        self.importing.store(false, Ordering::SeqCst);
        result
    }

    fn with_reader<T>(
        &self,
        f: impl FnOnce(&Store) -> keyroll_core::Result<T>,
    ) -> Result<T, String> {
        let mut guard = self
            .reader
            .lock()
            .map_err(|_| "internal error: lock poisoned")?;
        if guard.is_none() {
            let store = self.open()?;
            // The table's reads stay warm in a larger cache: the list index
            // of a large district is some 30 MB.
            store
                .conn()
                .execute_batch("PRAGMA cache_size = -98304")
                .map_err(|e| e.to_string())?;
            *guard = Some(store);
            // A roster is current only for the connection it was loaded through.
            *self
                .roster
                .lock()
                .map_err(|_| "internal error: lock poisoned")? = None;
        }
        f(guard.as_ref().expect("opened above")).map_err(|e| e.to_string())
    }

    /// Like [`AppState::with_reader`], with the roster of everyone, loaded
    /// (again) if the database changed since it was.
    fn with_roster<T>(
        &self,
        f: impl FnOnce(&Store, &Roster) -> keyroll_core::Result<T>,
    ) -> Result<T, String> {
        self.with_reader(|s| {
            let mut roster = self
                .roster
                .lock()
                .map_err(|_| keyroll_core::Error::Import("internal error: lock poisoned".into()))?;
            let stale = match roster.as_ref() {
                Some(r) => !r.is_current(s.conn())?,
                None => true,
            };
            if stale {
                // Account changes are patched in; anything else loads afresh.
                let patched = match roster.as_ref() {
                    Some(r) => r.refreshed(s.conn())?,
                    None => None,
                };
                let loaded = Arc::new(match patched {
                    Some(r) => r,
                    None => Roster::load(s.conn())?,
                });
                let sorts = loaded.clone();
                std::thread::spawn(move || sorts.prepare_sorts());
                *roster = Some(loaded);
            }
            f(s, roster.as_ref().expect("loaded above"))
        })
    }
}

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
#[tauri::command(async)]
pub fn app_status(state: State<'_, AppState>) -> Result<AppStatus, String> {
    state.with_reader(|s| {
        Ok(AppStatus {
            db_path: s.path().display().to_string(),
            totals: people::totals(s.conn())?,
            demo: state.launch.demo,
            last_import: import::last(s.conn())?,
        })
    })
}

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
) -> Result<PeoplePage, String> {
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

/// The native dialog for an import's files or folder ([`native_dialog`]).
#[tauri::command]
pub async fn choose_import_paths(
    app: AppHandle,
    window: WebviewWindow,
    folder: bool,
) -> Result<Vec<String>, String> {
    let picked: Vec<PathBuf> = if folder {
        let title = "Choose the folder with your SIS export";
        native_dialog(&app, window, title, |d| async move {
            d.pick_folder().await.map(|f| vec![f.path().to_owned()])
        })
        .await?
    } else {
        let title = "Choose your SIS export files";
        native_dialog(&app, window, title, |d| async move {
            d.add_filter(
                "SIS exports (CSV, Excel or zip)",
                &["csv", "tsv", "txt", "zip", "xlsx", "xls", "xlsm", "ods"],
            )
            .pick_files()
            .await
            .map(|fs| fs.iter().map(|f| f.path().to_owned()).collect())
        })
        .await?
    }
    .unwrap_or_default();
    Ok(picked.iter().map(|p| p.display().to_string()).collect())
}

#[derive(Clone, Serialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum ImportEvent {
    Generating,
    Reading {
        done_bytes: u64,
        total_bytes: u64,
    },
    /// Every row is read; links, leavers and indexes are being saved.
    Saving,
    /// New passwords being hashed (argon2id, on every core).
    Hashing {
        done: usize,
        total: usize,
    },
    /// Accounts being worked out or written.
    Accounts(accounts::Step),
}

/// Imports files or folders; progress goes to `on_progress`. With `dry_run`
/// nothing is written: the summary is the preview the user confirms.
#[tauri::command]
pub async fn import_paths(
    app: AppHandle,
    paths: Vec<String>,
    skip_invalid: bool,
    dry_run: bool,
    expect: Option<import::Counts>,
    mapping: Option<import::mapped::Mapping>,
    on_progress: Channel<ImportEvent>,
) -> Result<import::Summary, String> {
    let paths = paths.into_iter().map(PathBuf::from).collect();
    let mode = ImportMode {
        skip_invalid,
        dry_run,
        expect,
        mapping,
    };
    run_import(app, on_progress, move |_| Ok((paths, None)), mode).await
}

#[derive(Clone, Default)]
struct ImportMode {
    skip_invalid: bool,
    dry_run: bool,
    /// The preview's counts, when applying what the user confirmed.
    expect: Option<import::Counts>,
    /// The column mapping chosen for a plain CSV file or spreadsheet.
    mapping: Option<import::mapped::Mapping>,
}

/// A field the mapping step offers: (key, label, required).
#[derive(Serialize)]
pub struct MappingField {
    key: &'static str,
    label: &'static str,
    required: bool,
}

/// What the import wizard needs before its preview: the format, and for a
/// plain list, the file's columns and a mapping to start from.
#[derive(Serialize)]
pub struct Inspection {
    format: import::Format,
    format_title: &'static str,
    /// For a plain list: its header and first rows.
    sample: Option<import::mapped::Sample>,
    /// The saved mapping for this header, or a first guess.
    mapping: Option<import::mapped::Mapping>,
    /// Whether `mapping` is a saved one.
    saved: bool,
    person_fields: Vec<MappingField>,
    contact_fields: Vec<MappingField>,
}

/// Detects the format of the chosen files; for a plain list, reads its header
/// for the mapping step. Nothing is imported.
#[tauri::command(async)]
pub fn inspect_import(
    state: State<'_, AppState>,
    paths: Vec<String>,
    sheet: Option<String>,
) -> Result<Inspection, String> {
    use import::mapped;
    let paths: Vec<PathBuf> = paths.into_iter().map(PathBuf::from).collect();
    let files = import::expand(&paths).map_err(|e| e.to_string())?;
    let format = import::detect(&files).map_err(|e| e.to_string())?;
    let fields = |list: &[(&'static str, &'static str, bool)]| {
        list.iter()
            .map(|&(key, label, required)| MappingField {
                key,
                label,
                required,
            })
            .collect()
    };
    let mut out = Inspection {
        format,
        format_title: format.title(),
        sample: None,
        mapping: None,
        saved: false,
        person_fields: fields(mapped::PERSON_FIELDS),
        contact_fields: fields(mapped::CONTACT_FIELDS),
    };
    if format == import::Format::Csv {
        let sample = mapped::sample(&files[0], sheet.as_deref(), 5).map_err(|e| e.to_string())?;
        let saved = state.with_reader(|s| mapped::matching(s.conn(), &sample.headers))?;
        out.saved = saved.is_some();
        out.mapping = Some(saved.unwrap_or_else(|| mapped::suggest(&sample)));
        out.sample = Some(sample);
    }
    Ok(out)
}

/// Writes the demo school to a temporary folder and imports it.
#[tauri::command]
pub async fn load_demo(
    app: AppHandle,
    students: u64,
    on_progress: Channel<ImportEvent>,
) -> Result<import::Summary, String> {
    run_import(
        app,
        on_progress,
        move |progress| {
            let _ = progress.send(ImportEvent::Generating);
            let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
            demo::generate(dir.path(), students.clamp(1, 100_000), 1).map_err(|e| e.to_string())?;
            Ok((vec![dir.path().to_owned()], Some(dir)))
        },
        ImportMode::default(),
    )
    .await
}

#[tauri::command]
pub fn cancel_import(state: State<'_, AppState>) {
    state.cancel.store(true, Ordering::SeqCst);
}

/// Shows a native dialog (rfd) and waits for the answer (None: cancelled).
/// GTK dialogs must be made on the main thread: `ask` runs there, and the
/// runtime drives its future; the answer comes back through a channel.
async fn native_dialog<T, Fut>(
    app: &AppHandle,
    window: WebviewWindow,
    title: &'static str,
    ask: impl FnOnce(rfd::AsyncFileDialog) -> Fut + Send + 'static,
) -> Result<Option<T>, String>
where
    T: Send + 'static,
    Fut: std::future::Future<Output = Option<T>> + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    app.run_on_main_thread(move || {
        let answer = ask(rfd::AsyncFileDialog::new()
            .set_title(title)
            .set_parent(&window));
        tauri::async_runtime::spawn(async move {
            let _ = tx.send(answer.await);
        });
    })
    .map_err(|e| e.to_string())?;
    tauri::async_runtime::spawn_blocking(move || rx.recv().ok().flatten())
        .await
        .map_err(|e| e.to_string())
}

/// The native "Save as" dialog, suggesting `file_name`.
async fn ask_save_path(
    app: &AppHandle,
    window: WebviewWindow,
    title: &'static str,
    file_name: &'static str,
) -> Result<Option<PathBuf>, String> {
    native_dialog(app, window, title, move |d| async move {
        d.set_file_name(file_name)
            .save_file()
            .await
            .map(|f| f.path().to_owned())
    })
    .await
}

/// The native "Open" dialog for one file of `kind` (a name, extensions).
async fn ask_open_path(
    app: &AppHandle,
    window: WebviewWindow,
    title: &'static str,
    kind: (&'static str, &'static [&'static str]),
) -> Result<Option<PathBuf>, String> {
    native_dialog(app, window, title, move |d| async move {
        d.add_filter(kind.0, kind.1)
            .pick_file()
            .await
            .map(|f| f.path().to_owned())
    })
    .await
}

/// Saves the policy shown in Settings (as edited) as a file where the
/// office chooses: to keep, or to give another school's Keyroll.
#[tauri::command]
pub async fn export_policy(
    app: AppHandle,
    window: WebviewWindow,
    policy: accounts::policy::Policy,
) -> Result<Option<String>, String> {
    let title = "Save the account policy";
    let Some(path) = ask_save_path(&app, window, title, "keyroll-account-policy.json").await?
    else {
        return Ok(None);
    };
    let text = serde_json::to_string_pretty(&policy).map_err(|e| e.to_string())?;
    std::fs::write(&path, text + "\n").map_err(|e| {
        format!(
            "Could not save {}: {e}. Choose another folder.",
            path.display()
        )
    })?;
    Ok(Some(path.display().to_string()))
}

/// Reads a policy file the office chooses, for Settings to show: nothing is
/// saved until they review it and press Save.
#[tauri::command]
pub async fn import_policy(
    app: AppHandle,
    window: WebviewWindow,
) -> Result<Option<accounts::policy::Policy>, String> {
    let title = "Open an account policy";
    let Some(path) = ask_open_path(&app, window, title, ("Account policy", &["json"])).await?
    else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("Could not read {}: {e}", path.display()))?;
    accounts::policy::Policy::from_json(&text, &path.display().to_string())
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Saves the last import's rejected rows as CSV where the user chooses.
#[tauri::command]
pub async fn save_report(app: AppHandle, window: WebviewWindow) -> Result<Option<String>, String> {
    let title = "Save the list of rejected rows";
    let Some(path) = ask_save_path(&app, window, title, "keyroll-import-report.csv").await? else {
        return Ok(None);
    };
    let state = app.state::<AppState>();
    let errors = state
        .last_errors
        .lock()
        .map_err(|_| "lock poisoned")?
        .clone();
    let database = (state.launch.db.clone()).unwrap_or_else(keyroll_core::store::default_path);
    import::write_report(&path, &errors, &database).map_err(|e| e.to_string())?;
    Ok(Some(path.display().to_string()))
}

type Prepared = (Vec<PathBuf>, Option<tempfile::TempDir>);

async fn run_import(
    app: AppHandle,
    progress: Channel<ImportEvent>,
    prepare: impl FnOnce(&Channel<ImportEvent>) -> Result<Prepared, String> + Send + 'static,
    mode: ImportMode,
) -> Result<import::Summary, String> {
    let state = app.state::<AppState>();
    if state.importing.swap(true, Ordering::SeqCst) {
        return Err("An import is already running; wait for it to finish.".into());
    }
    state.cancel.store(false, Ordering::SeqCst);
    let cancel = state.cancel.clone();
    let app2 = app.clone();
    let result = tauri::async_runtime::spawn_blocking(move || {
        let (paths, _keep_until_imported) = prepare(&progress)?;
        let state = app2.state::<AppState>();
        let mut store = state.open()?;
        let opts = import::Options {
            on_error: if mode.skip_invalid {
                import::OnError::SkipInvalid
            } else {
                import::OnError::Stop
            },
            dry_run: mode.dry_run,
            expect: mode.expect,
            mapping: mode.mapping,
            ..Default::default()
        };
        import::run(
            &mut store,
            &paths,
            &opts,
            &audit::current_actor(),
            &mut |p| {
                let _ = progress.send(match p.stage {
                    import::Stage::Reading => ImportEvent::Reading {
                        done_bytes: p.done_bytes,
                        total_bytes: p.total_bytes,
                    },
                    import::Stage::Saving => ImportEvent::Saving,
                });
                !cancel.load(Ordering::SeqCst)
            },
        )
        .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r);
    if let Ok(summary) = &result {
        if let Ok(mut last) = state.last_errors.lock() {
            last.clone_from(&summary.errors);
        }
    }
    state.importing.store(false, Ordering::SeqCst);
    result
}

/// Applied imports, newest first, for the history on the Import screen.
#[tauri::command(async)]
pub fn import_history(state: State<'_, AppState>) -> Result<Vec<import::ImportRecord>, String> {
    state.with_reader(|s| {
        let mut list = import::history(s.conn())?;
        list.reverse();
        Ok(list)
    })
}

/// Rolls back one import (or, with `dry_run`, says what that would do).
#[tauri::command(async)]
pub fn rollback_import(
    state: State<'_, AppState>,
    id: i64,
    dry_run: bool,
) -> Result<import::rollback::Rollback, String> {
    state.exclusive(|store, actor| import::rollback::rollback(store, id, actor, dry_run))
}

/// What an accounts run did, with the first entries for the dialog.
#[derive(Serialize)]
pub struct AccountsOutcome<T: Serialize> {
    #[serde(flatten)]
    outcome: T,
    /// The first changes (and every problem first), for the preview list.
    entries: Vec<accounts::Entry>,
}

const SHOWN_ENTRIES: usize = 300;

fn first_entries(entries: &[accounts::Entry]) -> Vec<accounts::Entry> {
    let mut out: Vec<accounts::Entry> = entries
        .iter()
        .filter(|e| e.action == "problem")
        .take(SHOWN_ENTRIES)
        .cloned()
        .collect();
    out.extend(
        entries
            .iter()
            .filter(|e| e.action != "problem" && e.action != "skip")
            .take(SHOWN_ENTRIES.saturating_sub(out.len()))
            .cloned(),
    );
    out
}

/// Makes the accounts people qualify for (or, with `dry_run`, says what it
/// would do). One writer at a time, like an import.
#[tauri::command(async)]
pub fn generate_accounts(
    state: State<'_, AppState>,
    dry_run: bool,
    on_progress: Channel<ImportEvent>,
) -> Result<AccountsOutcome<accounts::Generated>, String> {
    let cancel = state.cancel.clone();
    let g = state.exclusive(|store, actor| {
        // Only now, as the only writer: an import's Cancel stays its own.
        cancel.store(false, Ordering::SeqCst);
        accounts::generate(store, actor, dry_run, false, &mut |step| {
            let _ = on_progress.send(ImportEvent::Accounts(step));
            !cancel.load(Ordering::SeqCst)
        })
    })?;
    Ok(AccountsOutcome {
        entries: first_entries(&g.entries),
        outcome: g,
    })
}

/// A batch action on the people `query` chooses (a filter, or chosen rows
/// by SIS id), previewed with `dry_run`.
#[tauri::command(async)]
pub fn account_action(
    state: State<'_, AppState>,
    action: String,
    group: Option<String>,
    query: people::PeopleQuery,
    dry_run: bool,
) -> Result<AccountsOutcome<accounts::BatchOutcome>, String> {
    let action = match action.as_str() {
        "enable" => accounts::Action::Enable,
        "disable" => accounts::Action::Disable,
        "suspend" => accounts::Action::Suspend,
        "archive" => accounts::Action::Archive,
        "force-password-change" => accounts::Action::ForcePasswordChange,
        "move-group" => {
            accounts::Action::MoveGroup(group.ok_or("Choose the group to move them to.")?)
        }
        "clear-invitation" => accounts::Action::ClearInvitation,
        "restore" => accounts::Action::Restore,
        other => return Err(format!("unknown action {other}")),
    };
    let query = people::PeopleQuery {
        offset: 0,
        limit: None,
        ..query
    };
    let o =
        state.exclusive(|store, actor| accounts::batch(store, actor, &action, &query, dry_run))?;
    Ok(AccountsOutcome {
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
/// writes it before the reset is committed: no account gets a secret that
/// nobody has.
#[tauri::command]
pub async fn reset_accounts(
    app: AppHandle,
    window: WebviewWindow,
    query: people::PeopleQuery,
    dry_run: bool,
    save_to: Option<String>,
    on_progress: Channel<ImportEvent>,
) -> Result<ResetDone, String> {
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
        let mut written = false;
        let result = state.exclusive(|store, actor| {
            // Only now, as the only writer: an import's Cancel stays its own.
            cancel.store(false, Ordering::SeqCst);
            accounts::reset(
                store,
                actor,
                &query,
                dry_run,
                &mut |done, total| {
                    let _ = on_progress.send(ImportEvent::Hashing { done, total });
                    !cancel.load(Ordering::SeqCst)
                },
                &mut |handouts| match &saved {
                    Some(path) => {
                        written = true;
                        accounts::save_handouts(path, handouts)
                    }
                    None => Ok(()),
                },
            )
        });
        // A sheet written for a reset that then failed holds secrets that
        // were never set: it must not be handed out.
        if let (Err(_), true, Some(path)) = (&result, written, &saved) {
            let _ = std::fs::remove_file(path);
        }
        result
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
) -> Result<accounts::Renamed, String> {
    let new = match to {
        Some(u) => accounts::NewUsername::Given(u),
        None => accounts::NewUsername::ByPolicy,
    };
    state.exclusive(|store, actor| accounts::rename(store, actor, person_id, &new, dry_run))
}

/// The account groups, for the filter and "Move to group".
#[tauri::command(async)]
pub fn account_groups(state: State<'_, AppState>) -> Result<Vec<accounts::Group>, String> {
    state.with_reader(|s| accounts::groups(s.conn()))
}

/// The account policy in force (the defaults until one is saved).
#[tauri::command(async)]
pub fn account_policy(state: State<'_, AppState>) -> Result<accounts::policy::Policy, String> {
    state.with_reader(|s| accounts::policy::load(s.conn()))
}

/// Checks and saves the account policy; the problems, in plain words, if
/// it does not make sense.
#[tauri::command(async)]
pub fn save_account_policy(
    state: State<'_, AppState>,
    policy: accounts::policy::Policy,
) -> Result<bool, String> {
    policy.check().map_err(|p| p.join("; "))?;
    state.exclusive(|store, actor| store.write(actor, |w| accounts::policy::save(w, &policy)))
}

/// Usernames an edited (unsaved) policy would give the first people of a
/// kind, from the school's own data.
#[tauri::command(async)]
pub fn username_examples(
    state: State<'_, AppState>,
    policy: accounts::policy::Policy,
    kind: people::Kind,
) -> Result<Vec<accounts::Example>, String> {
    state.with_reader(|s| accounts::examples(s.conn(), &policy, kind, 6))
}

/// One person's history (their SIS record and account), for the account panel.
#[tauri::command(async)]
pub fn person_history(
    state: State<'_, AppState>,
    id: i64,
) -> Result<Vec<audit::AuditEntry>, String> {
    state.with_reader(|s| audit::for_person(s.conn(), id))
}
