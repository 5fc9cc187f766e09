//! The Import screen: choose files, inspect them (the mapping step for a
//! plain list), preview, confirm, cancel; the history with rollbacks; the
//! demo school.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use keyroll_core::audit;
use keyroll_core::import::{self, mapping};
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State, WebviewWindow};

use super::dialogs::{ask_save_path, native_dialog};
use super::Progress;
use crate::error::{Error, Result};
use crate::state::AppState;

/// The native dialog for an import's files or folder.
#[tauri::command]
pub async fn choose_import_paths(
    app: AppHandle,
    window: WebviewWindow,
    folder: bool,
) -> Result<Vec<String>> {
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

/// How an import runs.
#[derive(Clone, Default)]
struct Mode {
    skip_invalid: bool,
    dry_run: bool,
    /// What the preview showed, when applying what the user confirmed.
    expect: Option<import::Preview>,
    /// The column mapping chosen for a plain CSV file or spreadsheet.
    mapping: Option<mapping::Mapping>,
}

/// Imports files or folders; progress goes to `on_progress`. With `dry_run`
/// nothing is written: the summary is the preview the user confirms, and
/// its `preview` comes back as `expect` to apply exactly that.
#[tauri::command]
pub async fn import_paths(
    app: AppHandle,
    paths: Vec<String>,
    skip_invalid: bool,
    dry_run: bool,
    expect: Option<import::Preview>,
    mapping: Option<mapping::Mapping>,
    on_progress: Channel<Progress>,
) -> Result<import::Summary> {
    let paths = paths.into_iter().map(PathBuf::from).collect();
    let mode = Mode {
        skip_invalid,
        dry_run,
        expect,
        mapping,
    };
    run_import(app, on_progress, move |_| Ok((paths, None)), mode).await
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
    format: &'static str,
    format_title: &'static str,
    /// For a plain list: its header and first rows.
    sample: Option<mapping::Sample>,
    /// The saved mapping for this header, or a first guess.
    mapping: Option<mapping::Mapping>,
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
) -> Result<Inspection> {
    let paths: Vec<PathBuf> = paths.into_iter().map(PathBuf::from).collect();
    let files = import::expand(&paths)?;
    let format = import::formats::detect(&files)?;
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
        format: format.name(),
        format_title: format.title(),
        sample: None,
        mapping: None,
        saved: false,
        person_fields: fields(mapping::PERSON_FIELDS),
        contact_fields: fields(mapping::CONTACT_FIELDS),
    };
    if format.needs_mapping() {
        let sample = mapping::sample(&files[0], sheet.as_deref(), 5)?;
        let saved = state.with_reader(|s| mapping::matching(s.conn(), &sample.headers))?;
        out.saved = saved.is_some();
        out.mapping = Some(saved.unwrap_or_else(|| mapping::suggest(&sample)));
        out.sample = Some(sample);
    }
    Ok(out)
}

/// Writes the demo school to a temporary folder and imports it.
#[tauri::command]
pub async fn load_demo(
    app: AppHandle,
    students: u64,
    on_progress: Channel<Progress>,
) -> Result<import::Summary> {
    run_import(
        app,
        on_progress,
        move |progress| {
            let _ = progress.send(Progress::Generating);
            let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
            keyroll_demo::generate(dir.path(), students.clamp(1, 100_000), 1)
                .map_err(|e| e.to_string())?;
            Ok((vec![dir.path().to_owned()], Some(dir)))
        },
        Mode::default(),
    )
    .await
}

/// The progress dialog's Cancel: whatever long task it shows (an import,
/// letters, or a send of emails) stops.
#[tauri::command]
pub fn cancel_import(state: State<'_, AppState>) {
    state.cancel.store(true, Ordering::SeqCst);
    state.send_cancel.store(true, Ordering::SeqCst);
}

/// Saves the last import's rejected rows as CSV where the user chooses.
#[tauri::command]
pub async fn save_report(app: AppHandle, window: WebviewWindow) -> Result<Option<String>> {
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
    import::write_report(&path, &errors, &state.database())?;
    Ok(Some(path.display().to_string()))
}

type Prepared = (Vec<PathBuf>, Option<tempfile::TempDir>);

async fn run_import(
    app: AppHandle,
    progress: Channel<Progress>,
    prepare: impl FnOnce(&Channel<Progress>) -> Result<Prepared> + Send + 'static,
    mode: Mode,
) -> Result<import::Summary> {
    let state = app.state::<AppState>();
    if state.busy.swap(true, Ordering::SeqCst) {
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
        let on_progress = &mut |p: import::Progress| {
            let _ = progress.send(match p.stage {
                import::Stage::Reading => Progress::Reading {
                    done_bytes: p.done_bytes,
                    total_bytes: p.total_bytes,
                },
                import::Stage::Saving => Progress::Saving,
            });
            !cancel.load(Ordering::SeqCst)
        };
        Ok::<_, Error>(import::run(
            &mut store,
            &paths,
            &opts,
            &audit::current_actor(),
            on_progress,
        )?)
    })
    .await
    .map_err(|e| Error::from(e.to_string()))
    .and_then(|r| r);
    if let Ok(summary) = &result {
        if let Ok(mut last) = state.last_errors.lock() {
            last.clone_from(&summary.errors);
        }
    }
    state.busy.store(false, Ordering::SeqCst);
    result
}

/// Applied imports and rollbacks, newest first, for the Import screen.
#[tauri::command(async)]
pub fn import_history(state: State<'_, AppState>) -> Result<Vec<import::ImportRecord>> {
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
) -> Result<import::rollback::Rollback> {
    state.exclusive(|store, actor| import::rollback::rollback(store, id, actor, dry_run))
}
