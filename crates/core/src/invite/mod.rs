//! Invitations by email: the school's SMTP server, templates with the
//! letters' merge fields, a crash-safe outbox and its sender, schedules.
//!
//! - [`smtp`]: the server's settings (the password in the OS keychain);
//!   [`oauth`]: XOAUTH2 access tokens from a refresh token;
//! - [`templates`]: invitation and message templates, built in and the
//!   school's; [`render`] makes one person's email of one;
//! - [`plan`], [`queue`]: who gets an email and the credential it carries,
//!   put in the outbox with its hash in one transaction;
//! - [`outbox`]: every message's state, the office's retry, cancel and
//!   dismiss;
//! - [`send`]: the sender (a few connections, the office's rate), and
//!   [`test_email`];
//! - [`schedule`]: recurring invitations; [`run`] is what `keyroll outbox
//!   run` and the app's timer do: due schedules, then the due messages.

mod connection;
mod message;
pub mod oauth;
pub mod outbox;
mod queue;
pub mod render;
pub mod schedule;
pub mod send;
pub mod smtp;
pub mod templates;

pub use connection::advice;
pub use queue::{plan, queue, Plan, Queued, SendRequest};
pub use send::{Progress, RunReport};
pub use smtp::SmtpSettings;
pub use templates::InvitationTemplate;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::store::Store;

/// What an outbox run did: the schedules it ran, then the sending.
#[derive(Debug, Serialize)]
pub struct OutboxRun {
    pub schedules: Vec<schedule::ScheduleRun>,
    #[serde(flatten)]
    pub sending: RunReport,
}

/// Runs the due schedules, then sends every due message.
pub fn run(
    store: &mut Store,
    actor: &str,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> Result<OutboxRun> {
    let schedules = schedule::run_due(store, actor)?;
    let sending = send::run(store, actor, progress)?;
    Ok(OutboxRun { schedules, sending })
}

/// Sends one test email with the stored settings, or says what the server
/// answered and what to do about it.
pub fn test_email(store: &Store, to: &str) -> Result<String> {
    let settings = smtp::load(store.conn())?;
    settings.check()?;
    let sign_in = smtp::SignIn::new(&settings)?;
    let secret = sign_in.secret().map_err(Error::Invalid)?;
    let school = crate::letters::settings::load(store.conn())?.school_name;
    let text = format!(
        "This is a test email from Keyroll{}.\n\nIf you can read it, invitations will reach \
         people through {}.\n",
        if school.is_empty() {
            String::new()
        } else {
            format!(" at {school}")
        },
        settings.host
    );
    let parts = message::Parts {
        to,
        name: "",
        subject: "Keyroll test email",
        text: &text,
        html: &format!(
            "<p>{}</p>",
            render::escape(&text).replace("\n\n", "</p><p>")
        ),
        message_id: &format!("<test-{}@keyroll.invalid>", std::process::id()),
    };
    let m = message::build(&settings, 0, &parts).map_err(Error::Invalid)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("the email connection's thread", e))?;
    let answer = runtime.block_on(async {
        let mut link = connection::open(&settings, secret.as_deref().map(|s| s.as_str())).await?;
        let a = link.send(&m.envelope, &m.bytes).await;
        link.close().await;
        Ok::<_, String>(a)
    });
    let fail = |why: String| {
        Error::Invalid(format!(
            "the test email was not sent. {}: {why} — {}",
            settings.host,
            advice(&why)
        ))
    };
    match answer {
        Ok(connection::Answer::Accepted) => {
            Ok(format!("{} accepted the test email to {to}", settings.host))
        }
        Ok(
            connection::Answer::Deferred(w)
            | connection::Answer::Refused(w)
            | connection::Answer::Lost(w),
        ) => Err(fail(w)),
        Err(w) => Err(fail(w)),
    }
}
