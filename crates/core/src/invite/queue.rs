//! Putting invitations in the outbox: who gets one (and who not, with
//! why), the credential each carries by the letters' rules, rendered and
//! stored in one transaction with the credential's hash. A code or password
//! issued here exists only in the outbox's encrypted row until the SMTP
//! server accepts the message.

use std::collections::HashMap;

use rusqlite::params;
use serde::Serialize;

use super::render::render;
use super::templates::{self, InvitationTemplate};
use crate::error::{Error, Result};
use crate::letters::recipients::{recipients, Per, Recipient, Skipped};
use crate::letters::{issue_and_deliver, issues, settings as letter_settings, Delivery, Handing};
use crate::people::PeopleQuery;
use crate::store::{Store, Writer};

/// What to send, to whom.
#[derive(Clone, Debug, Default)]
pub struct SendRequest {
    pub query: PeopleQuery,
    /// A template for everyone; None: each kind's own invitation.
    pub template: Option<InvitationTemplate>,
    /// When to send (RFC 3339); None: now.
    pub at: Option<String>,
    /// Also invite again those invited at least this many days ago who have
    /// not accepted (with a new code: the old one stops working).
    pub resend_after_days: Option<u32>,
    /// Give accounts handed out before a new password or code.
    pub new_passwords: bool,
    /// The schedule this run is for.
    pub schedule_id: Option<i64>,
}

/// Who gets an email in a send, and who does not.
#[derive(Default, Serialize)]
pub struct Plan {
    #[serde(skip)]
    pub recipients: Vec<Recipient>,
    /// Per recipient: the template it gets.
    #[serde(skip)]
    pub templates: Vec<InvitationTemplate>,
    /// Per recipient: whether it gets a fresh credential.
    #[serde(skip)]
    pub fresh: Vec<bool>,
    pub count: usize,
    pub invitations: usize,
    pub messages: usize,
    /// New passwords or codes issued.
    pub issuing: usize,
    /// Of those, accounts handed out before (their old one stops working).
    pub replacing: usize,
    pub skipped: Vec<Skipped>,
    pub warnings: Vec<String>,
}

/// An account's invitation standing, as far as sending goes.
struct Standing {
    invitation: String,
    invited_at: Option<String>,
    /// An invitation already waiting in the outbox (queued, retrying,
    /// being sent or maybe sent).
    waiting: bool,
}

fn standings(conn: &rusqlite::Connection, ids: &[i64]) -> Result<HashMap<i64, Standing>> {
    let mut st = conn.prepare(
        "SELECT a.person_id, a.invitation, a.invited_at,
                EXISTS (SELECT 1 FROM outbox o WHERE o.person_id = a.person_id
                        AND o.purpose = 'invitation'
                        AND o.status IN ('queued', 'sending', 'retry', 'unsure'))
         FROM account a WHERE a.person_id IN (SELECT value FROM json_each(?1))",
    )?;
    let list = serde_json::to_string(ids).expect("ids serialise");
    let rows = st.query_map([list], |r| {
        Ok((
            r.get(0)?,
            Standing {
                invitation: r.get(1)?,
                invited_at: r.get(2)?,
                waiting: r.get(3)?,
            },
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Why `r` gets no email with `t` now, if so; else whether it gets a fresh
/// credential.
fn decide(
    r: &Recipient,
    t: &InvitationTemplate,
    standing: Option<&Standing>,
    req: &SendRequest,
    cutoff: Option<&str>,
) -> std::result::Result<bool, String> {
    if r.email.trim().is_empty() {
        return Err("no email address in the SIS".into());
    }
    if r.email.trim().parse::<lettre::Address>().is_err() {
        return Err(format!(
            "the SIS's email address {:?} cannot be sent to",
            r.email
        ));
    }
    if !t.suits(r.kind) {
        return Err(format!(
            "{:?} is not written for {}",
            t.name,
            r.kind.account_word()
        ));
    }
    if !t.invitation {
        return Ok(false);
    }
    let Some(s) = standing else {
        return Err("no account".into());
    };
    if s.waiting {
        return Err("an invitation is already waiting in the outbox".into());
    }
    match s.invitation.as_str() {
        "accepted" => Err("already accepted an invitation".into()),
        "sent" => match (cutoff, s.invited_at.as_deref()) {
            (Some(cutoff), Some(at)) if at <= cutoff => Ok(true),
            (Some(_), _) => Err("invited too recently to invite again".into()),
            (None, at) => Err(format!(
                "already invited{}: add --resend-after DAYS to invite again those who have \
                 not accepted",
                at.map(|a| format!(" on {}", crate::letters::long_date(a)))
                    .unwrap_or_default()
            )),
        },
        _ => Ok(issues(r, req.new_passwords)),
    }
}

/// Who a send reaches, with the template and credential each gets.
pub fn plan(store: &Store, req: &SendRequest) -> Result<Plan> {
    let conn = store.conn();
    let chosen = recipients(conn, &req.query, Per::Account)?;
    let ids: Vec<i64> = chosen.recipients.iter().map(|r| r.person_id).collect();
    let standing = standings(conn, &ids)?;
    let cutoff = req
        .resend_after_days
        .map(|d| crate::accounts::lifecycle::days_before(&crate::store::now(), i64::from(d)));
    let mut p = Plan {
        skipped: chosen.skipped,
        ..Default::default()
    };
    for r in chosen.recipients {
        let t = req
            .template
            .clone()
            .unwrap_or_else(|| templates::default_for(r.kind));
        match decide(&r, &t, standing.get(&r.person_id), req, cutoff.as_deref()) {
            Err(reason) => p.skipped.push(Skipped {
                sis_id: r.sis_id.clone(),
                name: r.name(),
                kind: r.kind,
                reason,
            }),
            Ok(fresh) => {
                if t.invitation {
                    p.invitations += 1;
                } else {
                    p.messages += 1;
                }
                if fresh {
                    p.issuing += 1;
                    if !r.new {
                        p.replacing += 1;
                    }
                }
                p.fresh.push(fresh);
                p.templates.push(t);
                p.recipients.push(r);
            }
        }
    }
    p.count = p.recipients.len();
    if p.replacing > 0 {
        p.warnings.push(format!(
            "{} accounts were handed out before: their invitation carries a new password or \
             code, and the old one stops working",
            p.replacing
        ));
    }
    if letter_settings::load(conn)?.activation_base().is_empty() && p.invitations > 0 {
        p.warnings.push(
            "there is no activation or sign-in address in the letter settings, so invitations \
             carry only a code to type: set the school's addresses first"
                .into(),
        );
    }
    Ok(p)
}

/// What queueing did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Queued {
    pub queued: usize,
    pub invitations: usize,
    pub messages: usize,
    pub skipped: usize,
    /// When they go out (RFC 3339).
    pub due_at: String,
}

/// Puts the planned emails in the outbox, issuing fresh credentials (hashed
/// on every core, `progress(done, total)`) in the same transaction: all of
/// it, or none.
pub fn queue(
    store: &mut Store,
    actor: &str,
    req: &SendRequest,
    progress: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<Queued> {
    let smtp = super::smtp::load(store.conn())?;
    if !smtp.is_set() {
        return Err(Error::Invalid(
            "the SMTP server is not set up yet: `keyroll smtp set …` or Settings › Email".into(),
        ));
    }
    let p = plan(store, req)?;
    if p.recipients.is_empty() {
        return Err(Error::Invalid(
            "nobody chosen can be sent an email (the preview says why); nothing was queued".into(),
        ));
    }
    let settings = letter_settings::load(store.conn())?;
    let due_at = req.at.clone().unwrap_or_else(crate::store::now);
    let domain = domain_of(&smtp.from);
    let delivery = Delivery {
        handing: Handing::Invitation,
        what: "invitation",
        file: std::path::Path::new("outbox"),
    };
    let mut deliver = |w: &Writer, creds: &[crate::letters::Cred]| -> Result<()> {
        let mut insert = w.conn().prepare_cached(
            "INSERT INTO outbox (person_id, account_key, purpose, template, to_addr, to_name,
                                 subject, body_text, body_html, secret, message_id, status,
                                 due_at, queued_at, schedule_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'queued', ?12, ?13, ?14)",
        )?;
        for ((r, t), c) in p.recipients.iter().zip(&p.templates).zip(creds) {
            let m = render(t, r, c, &settings);
            let message_id = message_id(&domain)?;
            insert.execute(params![
                r.person_id,
                r.key,
                if t.invitation {
                    "invitation"
                } else {
                    "message"
                },
                t.name,
                r.email.trim(),
                r.name(),
                m.subject,
                m.text.as_str(),
                m.html.as_str(),
                !matches!(c, crate::letters::Cred::Unchanged),
                message_id,
                due_at,
                w.at(),
                req.schedule_id,
            ])?;
            w.audit(
                "outbox.queue",
                "outbox",
                &w.conn().last_insert_rowid().to_string(),
                None,
                Some(
                    &serde_json::json!({
                        "account": r.key, "to": r.email.trim(), "template": t.name,
                        "due_at": due_at, "message_id": message_id,
                    })
                    .to_string(),
                ),
            )?;
        }
        Ok(())
    };
    // Messages hand nothing out: only invitations record a hand-out.
    let (invites, messages): (Vec<usize>, Vec<usize>) =
        (0..p.recipients.len()).partition(|&i| p.templates[i].invitation);
    if invites.is_empty() {
        let w = store.writer(actor)?;
        let none: Vec<crate::letters::Cred> = messages
            .iter()
            .map(|_| crate::letters::Cred::Unchanged)
            .collect();
        deliver(&w, &none)?;
        w.commit()?;
    } else if messages.is_empty() {
        issue_and_deliver(
            store,
            actor,
            &p.recipients,
            &p.fresh,
            &delivery,
            progress,
            &mut deliver,
        )?;
    } else {
        return Err(Error::Invalid(
            "one send is either invitations or a message, not both: choose one template".into(),
        ));
    }
    Ok(Queued {
        queued: p.count,
        invitations: p.invitations,
        messages: p.messages,
        skipped: p.skipped.len(),
        due_at,
    })
}

/// A new Message-ID: random, so it says nothing about the person. A resend
/// of the same message keeps it, so mail clients see one message.
fn message_id(domain: &str) -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Invalid(format!("the system's random numbers failed: {e}")))?;
    Ok(format!("<{}@{domain}>", hex::encode(bytes)))
}

/// The domain part of a From address, for Message-IDs.
fn domain_of(from: &str) -> String {
    from.parse::<lettre::message::Mailbox>()
        .map(|m| m.email.domain().to_owned())
        .unwrap_or_else(|_| "keyroll.invalid".into())
}
