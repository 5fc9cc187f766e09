//! The outbox: every email is a row that moves through a few states, so a
//! message is never lost and never sent twice by accident.
//!
//! ```text
//! queued ──claim──▶ sending ──250──▶ sent
//!   ▲                  │ 4xx / connection lost ──▶ retry (at T) ──claim──▶ sending
//!   │                  │ 5xx ──▶ failed (the server's reason kept)
//!   │                  └ crash or kill ──▶ unsure ("may have been sent")
//!   └─ retry (office): failed, retry, unsure (the same message, same link)
//! cancel (office): queued, retry, failed, unsure ──▶ cancelled
//! dismiss (office): unsure ──▶ dismissed
//! ```
//! The transitions are one pure function ([`next`]); the rest of this file
//! reads and changes rows with it.

use rusqlite::{params, Connection};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::store::Writer;

/// Where a message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Queued,
    Sending,
    Sent,
    Retry,
    Failed,
    /// Caught in "sending" by a crash: it may have been sent.
    Unsure,
    Cancelled,
    Dismissed,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Queued,
        Status::Sending,
        Status::Sent,
        Status::Retry,
        Status::Failed,
        Status::Unsure,
        Status::Cancelled,
        Status::Dismissed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Sending => "sending",
            Status::Sent => "sent",
            Status::Retry => "retry",
            Status::Failed => "failed",
            Status::Unsure => "unsure",
            Status::Cancelled => "cancelled",
            Status::Dismissed => "dismissed",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// What the office reads.
    pub fn label(self) -> &'static str {
        match self {
            Status::Queued => "waiting to be sent",
            Status::Sending => "being sent",
            Status::Sent => "sent",
            Status::Retry => "will be tried again",
            Status::Failed => "failed",
            Status::Unsure => "may have been sent",
            Status::Cancelled => "cancelled",
            Status::Dismissed => "dismissed",
        }
    }

    /// Still to go out (or to be decided on).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Status::Queued | Status::Sending | Status::Retry | Status::Unsure
        )
    }
}

/// What happens to a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The sender takes it to send now.
    Claim,
    /// The server accepted it (250).
    Accepted,
    /// 4xx, or the connection broke: try again later.
    Deferred,
    /// 5xx: never.
    Refused,
    /// The sender stopped (Cancel, server unreachable) before trying it.
    Untried,
    /// Found in "sending" when no sender is running: a crash or kill.
    Crashed,
    /// The office: send it (again) now.
    Retry,
    Cancel,
    /// The office: it was sent, leave it.
    Dismiss,
}

/// A message's status after `event`, or None when the event does not apply
/// (a sent message cannot be cancelled).
pub fn next(status: Status, event: Event) -> Option<Status> {
    use Event as E;
    use Status as S;
    Some(match (status, event) {
        (S::Queued | S::Retry, E::Claim) => S::Sending,
        (S::Sending, E::Accepted) => S::Sent,
        (S::Sending, E::Deferred) => S::Retry,
        (S::Sending, E::Refused) => S::Failed,
        (S::Sending, E::Untried) => S::Queued,
        (S::Sending, E::Crashed) => S::Unsure,
        (S::Failed | S::Retry | S::Unsure, E::Retry) => S::Queued,
        (S::Queued | S::Retry | S::Failed | S::Unsure, E::Cancel) => S::Cancelled,
        (S::Unsure, E::Dismiss) => S::Dismissed,
        _ => return None,
    })
}

/// A message as the outbox view lists it (never its body).
#[derive(Clone, Debug, Serialize)]
pub struct Message {
    pub id: i64,
    pub purpose: String,
    pub status: Status,
    pub status_label: &'static str,
    pub to: String,
    pub name: String,
    pub username: String,
    pub subject: String,
    pub template: String,
    pub attempts: i64,
    pub due_at: String,
    pub queued_at: String,
    pub sent_at: Option<String>,
    /// The server's own answer, for a deferred or failed message.
    pub last_error: Option<String>,
    pub message_id: String,
}

/// Messages in `status` (any when None), newest first, at most `limit`.
pub fn list(conn: &Connection, status: Option<Status>, limit: u64) -> Result<Vec<Message>> {
    let mut st = conn.prepare(
        "SELECT o.id, o.purpose, o.status, o.to_addr, o.to_name, COALESCE(a.username, ''),
                o.subject, o.template, o.attempts, o.due_at, o.queued_at, o.sent_at,
                o.last_error, o.message_id
         FROM outbox o LEFT JOIN account a ON a.person_id = o.person_id
         WHERE ?1 IS NULL OR o.status = ?1
         ORDER BY o.id DESC LIMIT ?2",
    )?;
    let rows = st.query_map(params![status.map(Status::as_str), limit as i64], |r| {
        let status = Status::parse(r.get_ref(2)?.as_str()?).unwrap_or(Status::Failed);
        Ok(Message {
            id: r.get(0)?,
            purpose: r.get(1)?,
            status,
            status_label: status.label(),
            to: r.get(3)?,
            name: r.get(4)?,
            username: r.get(5)?,
            subject: r.get(6)?,
            template: r.get(7)?,
            attempts: r.get(8)?,
            due_at: r.get(9)?,
            queued_at: r.get(10)?,
            sent_at: r.get(11)?,
            last_error: r.get(12)?,
            message_id: r.get(13)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// How many messages are in each status.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Counts {
    pub queued: u64,
    pub sending: u64,
    pub sent: u64,
    pub retry: u64,
    pub failed: u64,
    pub unsure: u64,
    pub cancelled: u64,
    pub dismissed: u64,
    /// Queued or retrying, and due now.
    pub due: u64,
}

pub fn counts(conn: &Connection) -> Result<Counts> {
    let mut c = Counts::default();
    let mut st = conn.prepare("SELECT status, COUNT(*) FROM outbox GROUP BY status")?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let n: i64 = r.get(1)?;
        let n = n as u64;
        match Status::parse(r.get_ref(0)?.as_str()?) {
            Some(Status::Queued) => c.queued = n,
            Some(Status::Sending) => c.sending = n,
            Some(Status::Sent) => c.sent = n,
            Some(Status::Retry) => c.retry = n,
            Some(Status::Failed) => c.failed = n,
            Some(Status::Unsure) => c.unsure = n,
            Some(Status::Cancelled) => c.cancelled = n,
            Some(Status::Dismissed) => c.dismissed = n,
            None => {}
        }
    }
    c.due = conn.query_row(
        "SELECT COUNT(*) FROM outbox WHERE status IN ('queued', 'retry') AND due_at <= ?1",
        [crate::store::now()],
        |r| r.get::<_, i64>(0),
    )? as u64;
    Ok(c)
}

/// Which messages an office action is for.
pub enum Which {
    Ids(Vec<i64>),
    /// Every message in this status.
    All(Status),
}

/// What an office action did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Changed {
    pub changed: u64,
    /// Messages the action does not apply to, with why.
    pub refused: Vec<String>,
}

/// Applies an office action (retry, cancel, dismiss) to messages, audited.
/// A retried message goes out as it was queued: the same link and code, the
/// same Message-ID, so a second copy of one that was sent is harmless.
/// Cancelling or dismissing scrubs the message's secret parts.
pub fn act(w: &Writer, which: &Which, event: Event) -> Result<Changed> {
    let ids: Vec<(i64, String, String)> = {
        let mut st = w
            .conn()
            .prepare_cached("SELECT id, status, account_key FROM outbox WHERE id = ?1")?;
        let mut all = w.conn().prepare_cached(
            "SELECT id, status, account_key FROM outbox WHERE status = ?1 ORDER BY id",
        )?;
        let map = |r: &rusqlite::Row| Ok((r.get(0)?, r.get(1)?, r.get(2)?));
        match which {
            Which::Ids(ids) => {
                let mut out = Vec::new();
                for id in ids {
                    match st.query_row([id], map) {
                        Ok(row) => out.push(row),
                        Err(rusqlite::Error::QueryReturnedNoRows) => {
                            return Err(Error::Invalid(format!(
                                "there is no message {id} in the outbox (`keyroll outbox list` shows them)"
                            )))
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                out
            }
            Which::All(status) => all
                .query_map([status.as_str()], map)?
                .collect::<rusqlite::Result<_>>()?,
        }
    };
    let mut out = Changed::default();
    let scrub = matches!(event, Event::Cancel | Event::Dismiss);
    for (id, status, key) in ids {
        let from = Status::parse(&status).unwrap_or(Status::Failed);
        let Some(to) = next(from, event) else {
            out.refused
                .push(format!("message {id} is {}: nothing to do", from.label()));
            continue;
        };
        w.conn().execute(
            "UPDATE outbox SET status = ?2,
                    due_at = CASE WHEN ?2 = 'queued' THEN ?3 ELSE due_at END,
                    body_text = CASE WHEN ?4 THEN NULL ELSE body_text END,
                    body_html = CASE WHEN ?4 THEN NULL ELSE body_html END
             WHERE id = ?1",
            params![id, to.as_str(), w.at(), scrub],
        )?;
        let action = match event {
            Event::Retry => "outbox.retry",
            Event::Cancel => "outbox.cancel",
            _ => "outbox.dismiss",
        };
        w.audit(
            action,
            "outbox",
            &id.to_string(),
            Some(&serde_json::json!({ "status": from.as_str(), "account": key }).to_string()),
            Some(&serde_json::json!({ "status": to.as_str() }).to_string()),
        )?;
        out.changed += 1;
    }
    Ok(out)
}

/// Marks messages left in "sending" (by a sender that crashed or was
/// killed) as "may have been sent". Only called by a sender holding the
/// outbox's lock, so no other sender is running.
pub fn recover(w: &Writer) -> Result<u64> {
    let ids: Vec<(i64, String)> = w
        .conn()
        .prepare("SELECT id, account_key FROM outbox WHERE status = 'sending'")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, key) in &ids {
        w.conn()
            .execute("UPDATE outbox SET status = 'unsure' WHERE id = ?1", [id])?;
        w.audit(
            "outbox.unsure",
            "outbox",
            &id.to_string(),
            Some(&serde_json::json!({ "status": "sending", "account": key }).to_string()),
            Some(
                &serde_json::json!({ "status": "unsure", "note": "the sender stopped while sending it: it may have been sent" })
                    .to_string(),
            ),
        )?;
    }
    Ok(ids.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Event as E;
    use Status as S;

    #[test]
    fn every_transition_as_a_table() {
        let table: &[(Status, Event, Option<Status>)] = &[
            (S::Queued, E::Claim, Some(S::Sending)),
            (S::Retry, E::Claim, Some(S::Sending)),
            (S::Failed, E::Claim, None),
            (S::Unsure, E::Claim, None),
            (S::Sending, E::Accepted, Some(S::Sent)),
            (S::Sending, E::Deferred, Some(S::Retry)),
            (S::Sending, E::Refused, Some(S::Failed)),
            (S::Sending, E::Untried, Some(S::Queued)),
            (S::Sending, E::Crashed, Some(S::Unsure)),
            (S::Queued, E::Crashed, None),
            (S::Failed, E::Retry, Some(S::Queued)),
            (S::Unsure, E::Retry, Some(S::Queued)),
            (S::Retry, E::Retry, Some(S::Queued)),
            (S::Sent, E::Retry, None),
            (S::Sent, E::Cancel, None),
            (S::Sending, E::Cancel, None),
            (S::Queued, E::Cancel, Some(S::Cancelled)),
            (S::Unsure, E::Cancel, Some(S::Cancelled)),
            (S::Failed, E::Cancel, Some(S::Cancelled)),
            (S::Unsure, E::Dismiss, Some(S::Dismissed)),
            (S::Failed, E::Dismiss, None),
            (S::Cancelled, E::Retry, None),
        ];
        for (from, event, to) in table {
            assert_eq!(next(*from, *event), *to, "{from:?} on {event:?}");
        }
    }

    #[test]
    fn statuses_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
    }
}
