//! The Letters screen: templates and merge fields, the live preview of the
//! first page, printing to PDF (and opening it to print), and exports.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use keyroll_core::letters::export::{self, ExportOutcome, ExportRequest, Format};
use keyroll_core::letters::{self, fields, templates, Audience, Layout, Paper, Per};
use keyroll_core::people;
use serde::{Deserialize, Serialize};
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State, WebviewWindow};

use super::dialogs::ask_save_path;
use super::Progress;
use crate::error::Result;
use crate::state::AppState;

/// A letter run as the screen sets it up.
#[derive(Deserialize)]
pub struct LetterChoice {
    query: people::PeopleQuery,
    per: Per,
    layout: Layout,
    /// A stored or built-in template by name; None: each kind's own.
    template: Option<String>,
    /// The editor's text, unsaved (the live preview), for `audience`.
    text: Option<String>,
    audience: Option<Audience>,
    /// "a4", "letter", or None for the settings' (the OS locale's).
    paper: Option<String>,
    new_passwords: bool,
}

impl LetterChoice {
    fn request(self, store: &keyroll_core::Store) -> keyroll_core::Result<letters::Request> {
        let template = match (self.text, self.template) {
            (Some(text), name) => Some(letters::Template::new(
                name.unwrap_or_else(|| "(being edited)".into()),
                self.audience.unwrap_or(Audience::Student),
                text,
            )?),
            (None, Some(name)) => Some(templates::get(store, &name)?),
            (None, None) => None,
        };
        Ok(letters::Request {
            query: people::PeopleQuery {
                offset: 0,
                limit: None,
                ..self.query
            },
            per: self.per,
            layout: self.layout,
            template,
            paper: self.paper.as_deref().and_then(Paper::parse),
            new_passwords: self.new_passwords,
        })
    }
}

#[tauri::command(async)]
pub fn letter_templates(state: State<'_, AppState>) -> Result<Vec<templates::Template>> {
    state.with_reader(templates::list)
}

#[tauri::command]
pub fn letter_fields() -> Vec<fields::Field> {
    fields::FIELDS.to_vec()
}

#[derive(Serialize)]
pub struct Sample {
    /// The first page as SVG (none when nobody is chosen).
    pages: Vec<String>,
    /// Who gets what, when asked for (the choice changed, not the text).
    preview: Option<letters::Preview>,
}

/// The first page of a run from the school's real data, with example
/// secrets (none is made for a preview), and, with `counts`, the run's
/// preview (which reads everyone chosen: not at every keystroke).
#[tauri::command(async)]
pub fn letters_sample(
    state: State<'_, AppState>,
    choice: LetterChoice,
    counts: bool,
) -> Result<Sample> {
    let renderer = state.renderer();
    state.with_reader(|store| {
        let req = choice.request(store)?;
        let pages = letters::sample(store, renderer, &req, 1)?;
        let preview = if counts {
            Some(letters::preview(store, renderer, &req)?)
        } else {
            None
        };
        Ok(Sample { pages, preview })
    })
}

/// What letters say about the school (the logo as its format only).
#[tauri::command(async)]
pub fn letter_settings(state: State<'_, AppState>) -> Result<letters::LetterSettings> {
    let mut s = state.with_reader(|store| letters::settings::load(store.conn()))?;
    s.logo = if s.logo.is_empty() {
        String::new()
    } else {
        "set".into()
    };
    Ok(s)
}

/// Saves the school's details for letters; `logo`: choose a new logo
/// (the native "Open" dialog) and keep it.
#[tauri::command]
pub async fn save_letter_settings(
    app: AppHandle,
    window: WebviewWindow,
    school_name: String,
    school_address: String,
    sign_in_url: String,
    activation_url: String,
    logo: bool,
) -> Result<()> {
    let logo_file = if logo {
        let kind = ("Images", &["png", "jpg", "jpeg", "svg"][..]);
        match super::dialogs::ask_open_path(&app, window, "Choose the school's logo", kind).await? {
            Some(p) => Some(p),
            None => return Ok(()),
        }
    } else {
        None
    };
    let app2 = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let state = app2.state::<AppState>();
        state.exclusive(|store, actor| {
            let mut s = letters::settings::load(store.conn())?;
            s.school_name = school_name.trim().to_owned();
            s.school_address = school_address.trim().to_owned();
            s.sign_in_url = sign_in_url.trim().to_owned();
            s.activation_url = activation_url.trim().to_owned();
            if let Some(f) = &logo_file {
                s.set_logo(f)?;
            }
            store.write(actor, |w| letters::settings::save(w, &s))
        })
    })
    .await
    .map_err(|e| e.to_string())??;
    Ok(())
}

#[tauri::command(async)]
pub fn save_letter_template(
    state: State<'_, AppState>,
    name: String,
    audience: Audience,
    text: String,
) -> Result<templates::Template> {
    state.exclusive(|store, actor| templates::save(store, actor, &name, audience, &text))
}

/// Prints the run to a PDF the office chooses (`save_to` skips the dialog:
/// the end-to-end test). None when no file was chosen.
#[tauri::command]
pub async fn print_letters(
    app: AppHandle,
    window: WebviewWindow,
    choice: LetterChoice,
    save_to: Option<String>,
    on_progress: Channel<Progress>,
) -> Result<Option<letters::Preview>> {
    let out = match save_to {
        Some(p) => PathBuf::from(p),
        None => match ask_save_path(&app, window, "Save the letters", "welcome-letters.pdf").await?
        {
            Some(p) => p,
            None => return Ok(None),
        },
    };
    let app2 = app.clone();
    let done = tauri::async_runtime::spawn_blocking(move || {
        let state = app2.state::<AppState>();
        let cancel = state.cancel.clone();
        let renderer = state.renderer();
        state.exclusive(|store, actor| {
            cancel.store(false, Ordering::SeqCst);
            let req = choice.request(store)?;
            letters::print(
                store,
                renderer,
                actor,
                &req,
                &out,
                &mut |step, done, total| {
                    let _ = on_progress.send(match step {
                        "passwords" => Progress::Hashing { done, total },
                        _ => Progress::Letters { done, total },
                    });
                    !cancel.load(Ordering::SeqCst)
                },
            )
        })
    })
    .await
    .map_err(|e| e.to_string())??;
    if let Ok(mut saved) = app.state::<AppState>().saved_letters.lock() {
        saved.extend(done.files.iter().cloned());
    }
    Ok(Some(done))
}

#[derive(Serialize)]
pub struct Exported {
    outcome: ExportOutcome,
    file: Option<String>,
}

/// An export as the screen sets it up.
#[derive(Deserialize)]
pub struct ExportChoice {
    query: people::PeopleQuery,
    format: Format,
    xlsx: bool,
    per: Per,
    new_passwords: bool,
}

/// An export of the chosen accounts (a preview first: `dry_run`).
#[tauri::command]
pub async fn export_accounts(
    app: AppHandle,
    window: WebviewWindow,
    choice: ExportChoice,
    dry_run: bool,
    save_to: Option<String>,
) -> Result<Exported> {
    let (format, xlsx) = (choice.format, choice.xlsx);
    let req = ExportRequest {
        query: people::PeopleQuery {
            offset: 0,
            limit: None,
            ..choice.query
        },
        format,
        per: choice.per,
        xlsx,
        new_passwords: choice.new_passwords,
    };
    if dry_run {
        let state = app.state::<AppState>();
        let outcome = state.with_reader(|s| export::preview(s, &req))?;
        return Ok(Exported {
            outcome,
            file: None,
        });
    }
    let name = match (format, xlsx) {
        (Format::MailMerge, true) => "mail-merge.xlsx",
        (Format::MailMerge, false) => "mail-merge.csv",
        (Format::Google, _) => "google-workspace-users.csv",
        (Format::Entra, _) => "entra-bulk-create.csv",
        (Format::Ldif, _) => "users.ldif",
    };
    let out = match save_to {
        Some(p) => PathBuf::from(p),
        None => match ask_save_path(&app, window, "Save the export", name).await? {
            Some(p) => p,
            None => {
                return Ok(Exported {
                    outcome: ExportOutcome::default(),
                    file: None,
                })
            }
        },
    };
    let app2 = app.clone();
    let path = out.clone();
    let outcome = tauri::async_runtime::spawn_blocking(move || {
        let state = app2.state::<AppState>();
        state.exclusive(|store, actor| export::export(store, actor, &req, &path, &mut |_, _| true))
    })
    .await
    .map_err(|e| e.to_string())??;
    Ok(Exported {
        outcome,
        file: Some(out.display().to_string()),
    })
}

/// Opens letters saved in this session in the OS's own viewer, to print
/// them from its print dialog. Only those: the webview cannot open any
/// other file.
#[tauri::command]
pub fn open_file(state: State<'_, AppState>, path: String) -> Result<()> {
    let path = PathBuf::from(path);
    let saved = state
        .saved_letters
        .lock()
        .map(|s| s.contains(&path))
        .unwrap_or(false);
    if !saved || !path.is_file() {
        return Err(format!(
            "{} is not letters saved in this session; save them first",
            path.display()
        )
        .into());
    }
    // explorer.exe takes the path as one argument: no shell parses it.
    #[cfg(target_os = "windows")]
    let mut c = std::process::Command::new("explorer.exe");
    #[cfg(target_os = "macos")]
    let mut c = std::process::Command::new("open");
    #[cfg(all(unix, not(target_os = "macos")))]
    let mut c = std::process::Command::new("xdg-open");
    c.arg(&path)
        .spawn()
        .map_err(|e| format!("{} could not be opened: {e}", path.display()))?;
    Ok(())
}
