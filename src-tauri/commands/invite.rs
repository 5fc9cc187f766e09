//! The Invitations screen: the SMTP settings and their test, templates, the
//! preview and "Send N invitations", and the outbox (retry, cancel,
//! dismiss). Sending runs on its own connection, not the one-writer-at-a-
//! time slot: a rate-limited send can take many minutes, and the office
//! keeps working meanwhile (the sender's transactions are short).

use std::sync::atomic::Ordering;

use keyroll_core::invite::outbox::{self, Event, Status, Which};
use keyroll_core::invite::{self, smtp, templates, InvitationTemplate, SendRequest};
use keyroll_core::people;
use serde::{Deserialize, Serialize};
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};

use crate::error::Result;
use crate::state::AppState;

#[derive(Serialize)]
pub struct SmtpView {
    settings: smtp::SmtpSettings,
    /// A password or token is kept in the OS keychain for the user.
    password_kept: bool,
}

#[tauri::command(async)]
pub fn smtp_settings(state: State<'_, AppState>) -> Result<SmtpView> {
    let settings = state.with_reader(|s| smtp::load(s.conn()))?;
    let password_kept = !settings.user.is_empty() && settings.secret().is_ok();
    Ok(SmtpView {
        settings,
        password_kept,
    })
}

/// Saves the settings; `password` (when given) goes to the OS keychain.
#[tauri::command(async)]
pub fn save_smtp_settings(
    state: State<'_, AppState>,
    settings: smtp::SmtpSettings,
    password: Option<String>,
) -> Result<()> {
    settings.check()?;
    if let Some(p) = password.filter(|p| !p.is_empty()) {
        let p = zeroize::Zeroizing::new(p);
        settings.save_secret(&p)?;
    }
    state.exclusive(|store, actor| store.write(actor, |w| smtp::save(w, &settings)))
}

/// The token address and scopes of a provider (`microsoft`, `google`).
#[tauri::command]
pub fn oauth_preset(provider: String, client_id: String) -> Result<invite::oauth::OAuth> {
    invite::oauth::OAuth::preset(&provider, &client_id).ok_or_else(|| {
        keyroll_core::Error::Invalid(format!("{provider} is not a provider Keyroll knows")).into()
    })
}

/// Sends a test email; the error is the server's own answer and advice.
#[tauri::command]
pub async fn smtp_test(app: AppHandle, to: String) -> Result<String> {
    // Off the async runtime's workers: the core's sender runs its own
    // runtime, which cannot start inside one.
    tauri::async_runtime::spawn_blocking(move || {
        let store = app.state::<AppState>().open()?;
        Ok(invite::test_email(&store, to.trim())?)
    })
    .await
    .map_err(|e| e.to_string())?
}

#[tauri::command(async)]
pub fn invitation_templates(state: State<'_, AppState>) -> Result<Vec<InvitationTemplate>> {
    state.with_reader(templates::list)
}

/// A send as the screen sets it up.
#[derive(Deserialize)]
pub struct InviteChoice {
    query: people::PeopleQuery,
    /// A template by name; None: each kind's own invitation.
    template: Option<String>,
    resend_after_days: Option<u32>,
    new_passwords: bool,
    /// RFC 3339; None: now.
    at: Option<String>,
}

impl InviteChoice {
    fn request(self, store: &keyroll_core::Store) -> keyroll_core::Result<SendRequest> {
        Ok(SendRequest {
            query: people::PeopleQuery {
                offset: 0,
                limit: None,
                ..self.query
            },
            template: self
                .template
                .map(|t| templates::get(store, &t))
                .transpose()?,
            at: self.at,
            resend_after_days: self.resend_after_days,
            new_passwords: self.new_passwords,
            schedule_id: None,
        })
    }
}

/// Who a send reaches (and who not, with why), and the first email as
/// its recipient would read it, rendered with example secrets.
#[derive(Serialize)]
pub struct InvitePreview {
    plan: invite::Plan,
    subject: Option<String>,
    text: Option<String>,
}

#[tauri::command(async)]
pub fn invite_preview(state: State<'_, AppState>, choice: InviteChoice) -> Result<InvitePreview> {
    state.with_reader(|store| {
        let req = choice.request(store)?;
        let plan = invite::plan(store, &req)?;
        let settings = keyroll_core::letters::settings::load(store.conn())?;
        let first = plan
            .recipients
            .first()
            .zip(plan.templates.first())
            .map(|(r, t)| {
                let example = match r.credential {
                    keyroll_core::accounts::policy::Credential::InitialPassword => {
                        keyroll_core::letters::Cred::Password("EXAMPLE-PASSWORD".to_owned().into())
                    }
                    keyroll_core::accounts::policy::Credential::Activation => {
                        keyroll_core::letters::Cred::Code("EXAMPLE-CODE".to_owned().into(), None)
                    }
                };
                invite::render::render(t, r, &example, &settings)
            });
        Ok(InvitePreview {
            subject: first.as_ref().map(|m| m.subject.clone()),
            text: first.as_ref().map(|m| m.text.to_string()),
            plan,
        })
    })
}

/// How a send is going, for the progress bar.
#[derive(Clone, Serialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum SendProgress {
    /// New codes and passwords being hashed.
    Issuing {
        done: usize,
        total: usize,
    },
    Sending(invite::Progress),
}

#[derive(Serialize)]
pub struct Sent {
    queued: invite::Queued,
    run: Option<invite::RunReport>,
}

/// Queues the send, then (unless it is for later) sends what is due.
#[tauri::command]
pub async fn invite_send(
    app: AppHandle,
    choice: InviteChoice,
    on_progress: Channel<SendProgress>,
) -> Result<Sent> {
    let later = choice.at.is_some();
    let app2 = app.clone();
    let progress = on_progress.clone();
    let queued = tauri::async_runtime::spawn_blocking(move || {
        let state = app2.state::<AppState>();
        state.exclusive(|store, actor| {
            let req = choice.request(store)?;
            invite::queue(store, actor, &req, &mut |done, total| {
                let _ = progress.send(SendProgress::Issuing { done, total });
                true
            })
        })
    })
    .await
    .map_err(|e| e.to_string())??;
    let run = if later {
        None
    } else {
        Some(send_due(app, on_progress).await?)
    };
    Ok(Sent { queued, run })
}

/// Runs the due schedules and sends what is due, on its own connection.
async fn send_due(app: AppHandle, on_progress: Channel<SendProgress>) -> Result<invite::RunReport> {
    tauri::async_runtime::spawn_blocking(move || {
        let state = app.state::<AppState>();
        if state.sending.swap(true, Ordering::SeqCst) {
            return Err("Emails are being sent already; this send joins them.".into());
        }
        state.send_cancel.store(false, Ordering::SeqCst);
        let result = (|| -> Result<invite::RunReport> {
            let mut store = state.open()?;
            let actor = keyroll_core::audit::current_actor();
            let run = invite::run(&mut store, &actor, &mut |p| {
                let _ = on_progress.send(SendProgress::Sending(p.clone()));
                !state.send_cancel.load(Ordering::SeqCst)
            })?;
            Ok(run.sending)
        })();
        state.sending.store(false, Ordering::SeqCst);
        result
    })
    .await
    .map_err(|e| e.to_string())?
}

/// What the app's timer calls every minute while it is open: due schedules
/// and due messages go out (quietly nothing when none is due, or no server
/// is set up, or a send is already running).
#[tauri::command]
pub async fn outbox_tick(
    app: AppHandle,
    on_progress: Channel<SendProgress>,
) -> Result<Option<invite::RunReport>> {
    let state = app.state::<AppState>();
    if state.sending.load(Ordering::SeqCst) {
        return Ok(None);
    }
    let (set, due) = state.with_reader(|s| {
        let set = smtp::load(s.conn())?.is_set();
        let counts = outbox::counts(s.conn())?;
        let schedules = invite::schedule::list(s)?;
        let now = keyroll_core::store::now();
        Ok((
            set,
            counts.due > 0 || schedules.iter().any(|x| x.next_run_at <= now),
        ))
    })?;
    if !set || !due {
        return Ok(None);
    }
    Ok(Some(send_due(app, on_progress).await?))
}

#[derive(Serialize)]
pub struct OutboxView {
    messages: Vec<outbox::Message>,
    counts: outbox::Counts,
}

#[tauri::command(async)]
pub fn outbox_list(state: State<'_, AppState>, status: Option<String>) -> Result<OutboxView> {
    let status = status.as_deref().and_then(Status::parse);
    state.with_reader(|s| {
        Ok(OutboxView {
            messages: outbox::list(s.conn(), status, 500)?,
            counts: outbox::counts(s.conn())?,
        })
    })
}

/// Retry, cancel or dismiss messages: by id, or every message in a status.
#[tauri::command(async)]
pub fn outbox_act(
    state: State<'_, AppState>,
    action: String,
    ids: Vec<i64>,
    all: Option<String>,
) -> Result<outbox::Changed> {
    let event = match action.as_str() {
        "retry" => Event::Retry,
        "cancel" => Event::Cancel,
        "dismiss" => Event::Dismiss,
        _ => return Err(format!("unknown outbox action {action:?}").into()),
    };
    let which = match all.as_deref().and_then(Status::parse) {
        Some(status) => Which::All(status),
        None => Which::Ids(ids),
    };
    state.exclusive(|store, actor| store.write(actor, |w| outbox::act(w, &which, event)))
}
