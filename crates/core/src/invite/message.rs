//! An outbox row made into the bytes that go over SMTP: From, Reply-To,
//! To, Subject, the row's own Message-ID (kept across resends), and the
//! plain-text and HTML parts as one multipart/alternative message.

use lettre::address::Envelope;
use lettre::message::{Mailbox, MultiPart};

use super::smtp::SmtpSettings;

/// What the sender needs of a queued row.
pub struct Outgoing {
    pub id: i64,
    pub envelope: Envelope,
    pub bytes: Vec<u8>,
}

/// The parts of a row.
pub struct Parts<'a> {
    pub to: &'a str,
    pub name: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    pub message_id: &'a str,
}

/// Builds the message, or says why it cannot be (a failure of this row,
/// not of the run).
pub fn build(s: &SmtpSettings, id: i64, p: &Parts) -> Result<Outgoing, String> {
    let from: Mailbox = s
        .from
        .parse()
        .map_err(|e| format!("the From address {:?}: {e}", s.from))?;
    let address: lettre::Address =
        p.to.parse()
            .map_err(|e| format!("the address {:?}: {e}", p.to))?;
    let to = Mailbox::new((!p.name.is_empty()).then(|| p.name.to_owned()), address);
    let mut b = lettre::Message::builder()
        .message_id(Some(p.message_id.to_owned()))
        .from(from)
        .to(to)
        .subject(p.subject);
    if !s.reply_to.is_empty() {
        let reply_to: Mailbox = s
            .reply_to
            .parse()
            .map_err(|e| format!("the Reply-To address {:?}: {e}", s.reply_to))?;
        b = b.reply_to(reply_to);
    }
    let m = b
        .multipart(MultiPart::alternative_plain_html(
            p.text.to_owned(),
            p.html.to_owned(),
        ))
        .map_err(|e| format!("the message could not be made: {e}"))?;
    Ok(Outgoing {
        id,
        envelope: m.envelope().clone(),
        bytes: m.formatted(),
    })
}
