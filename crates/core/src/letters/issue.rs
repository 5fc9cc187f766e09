//! Credentials at print time. Only hashes are stored, so a letter can show
//! a password only if it is made for that letter: accounts never handed out
//! (NEW) get a fresh initial password or activation code by their kind's
//! policy; accounts already handed out get one only when the office asks
//! (`--new-passwords`, whose preview says the old one stops working).
//!
//! The file that carries them is written and synced before their hashes
//! commit, in the same transaction that records the hand-out: if writing
//! fails or is cancelled, no account changes.

use std::collections::HashMap;

use rusqlite::params;
use zeroize::Zeroizing;

use super::recipients::Recipient;
use crate::accounts::lifecycle::{handed_out, Flags, HandoutEvent, HandoutState};
use crate::accounts::policy::Credential;
use crate::accounts::{reset_within, Handout};
use crate::error::Result;
use crate::people::PeopleQuery;
use crate::store::{Store, Writer};

/// What a letter says about signing in.
pub enum Cred {
    Password(Zeroizing<String>),
    /// An activation code, and when it expires (RFC 3339).
    Code(Zeroizing<String>, Option<String>),
    /// Nothing new was issued: the account was handed out before.
    Unchanged,
}

impl Cred {
    /// What a letter or a row prints of it: "password", "code" or "none";
    /// the secret ("" for none); when a code expires (RFC 3339).
    pub fn parts(&self) -> (&'static str, &str, Option<&str>) {
        match self {
            Cred::Password(p) => ("password", p.as_str(), None),
            Cred::Code(code, expires) => ("code", code.as_str(), expires.as_deref()),
            Cred::Unchanged => ("none", "", None),
        }
    }
}

/// Whether a recipient gets a fresh secret in this run.
pub fn issues(r: &Recipient, new_passwords: bool) -> bool {
    r.new || new_passwords
}

/// How a run's recipients fare: a fresh secret (never handed out), a new
/// one replacing what they were given, or none.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tally {
    pub issuing: usize,
    pub replacing: usize,
    pub unchanged: usize,
}

impl Tally {
    pub fn of(rs: &[Recipient], new_passwords: bool) -> Tally {
        let mut t = Tally::default();
        for r in rs {
            match (issues(r, new_passwords), r.new) {
                (true, true) => t.issuing += 1,
                (true, false) => t.replacing += 1,
                (false, _) => t.unchanged += 1,
            }
        }
        t
    }

    /// What the preview says first when old passwords stop working.
    pub fn warning(&self) -> Option<String> {
        (self.replacing > 0).then(|| {
            format!(
                "{} accounts were handed out before: they get a new password, and the old one \
                 stops working",
                self.replacing
            )
        })
    }
}

/// How a delivery hands accounts out.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Handing {
    /// A letter (or a mail merge for one): the account is handed out, NEW
    /// clears, and "letter printed" is recorded.
    Letter,
    /// A file for another system (Google, Entra, LDAP): the account is not
    /// handed to its owner yet, so it stays NEW; new secrets are audited.
    Provisioning,
    /// An invitation put in the outbox: the account is handed out only when
    /// the SMTP server accepts it (invite::send), so it stays NEW until then.
    Invitation,
}

/// What the hand-out audit entries say, besides who and when.
pub struct Delivery<'a> {
    pub handing: Handing,
    /// "letter", "slips", "list", "mail-merge", "google"…
    pub what: &'a str,
    pub file: &'a std::path::Path,
}

/// Issues fresh secrets to the `recipients` whose `fresh` is true (one per
/// recipient: [`issues`] for a letter), hashes them (`progress(done,
/// total)`), then calls `deliver` with the open transaction and every
/// recipient's credential (in order) to write the file or the outbox; then
/// records the hand-out and commits. All or nothing.
pub fn issue_and_deliver(
    store: &mut Store,
    actor: &str,
    recipients: &[Recipient],
    fresh: &[bool],
    delivery: &Delivery,
    progress: &mut dyn FnMut(usize, usize) -> bool,
    deliver: &mut dyn FnMut(&Writer, &[Cred]) -> Result<()>,
) -> Result<()> {
    assert_eq!(
        fresh.len(),
        recipients.len(),
        "one fresh flag per recipient"
    );
    let ids: Vec<i64> = recipients
        .iter()
        .zip(fresh)
        .filter(|(_, f)| **f)
        .map(|(r, _)| r.person_id)
        .collect();
    let mut finish = |w: &Writer, handouts: &[Handout]| -> Result<()> {
        let mut by_key: HashMap<&str, &Handout> =
            handouts.iter().map(|h| (h.key.as_str(), h)).collect();
        let creds: Vec<Cred> = recipients
            .iter()
            .map(|r| match by_key.remove(r.key.as_str()) {
                Some(h) if h.credential == Credential::InitialPassword => {
                    Cred::Password(h.secret.clone())
                }
                Some(h) => Cred::Code(h.secret.clone(), h.expires.clone()),
                None => Cred::Unchanged,
            })
            .collect();
        if creds
            .iter()
            .zip(fresh)
            .any(|(c, f)| matches!(c, Cred::Unchanged) && *f)
        {
            return Err(crate::Error::Invalid(
                "an account changed while its new password was being made, so nothing was \
                 printed; try again"
                    .into(),
            ));
        }
        deliver(w, &creds)?;
        record(w, recipients, &creds, delivery)
    };
    if ids.is_empty() {
        // Nothing to reset, but the hand-out is recorded all the same.
        let w = store.writer(actor)?;
        finish(&w, &[])?;
        return Ok(w.commit()?);
    }
    let query = PeopleQuery {
        ids,
        ..Default::default()
    };
    reset_within(store, actor, &query, false, progress, &mut finish)?;
    Ok(())
}

/// Records the hand-out of every recipient: for a letter, NEW clears and
/// the account remembers when its letter was printed; each gets one audit
/// entry (never with a secret).
fn record(w: &Writer, recipients: &[Recipient], creds: &[Cred], d: &Delivery) -> Result<()> {
    let file = d
        .file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut read = w
        .conn()
        .prepare_cached("SELECT flags, letter_printed_at FROM account WHERE person_id = ?1")?;
    let mut set = w.conn().prepare_cached(
        "UPDATE account SET flags = ?2, letter_printed_at = ?3, version = version + 1
         WHERE person_id = ?1",
    )?;
    for (r, c) in recipients.iter().zip(creds) {
        let issued = match c {
            Cred::Password(_) => "new initial password",
            Cred::Code(..) => "new activation code",
            Cred::Unchanged => "none",
        };
        let mut after = serde_json::json!({ "file": file, "credential": issued, "as": d.what });
        let mut before = serde_json::Value::Null;
        if d.handing == Handing::Letter {
            let (flags, printed): (String, Option<String>) =
                read.query_row([r.person_id], |row| Ok((row.get(0)?, row.get(1)?)))?;
            let mut f = Flags::parse(&flags);
            let handout = HandoutState {
                letter_printed: printed.is_some(),
                ..Default::default()
            };
            f.new = f.new && handed_out(handout, HandoutEvent::LetterPrinted).is_new();
            set.execute(params![r.person_id, f.text(), w.at()])?;
            before = serde_json::json!({ "flags": flags, "letter_printed_at": printed });
            after["flags"] = f.text().into();
            after["letter_printed_at"] = w.at().into();
        }
        let action = match d.handing {
            Handing::Letter => "account.letter_printed",
            Handing::Provisioning => "account.exported",
            Handing::Invitation => "account.invitation_queued",
        };
        w.audit(
            action,
            "account",
            &r.key,
            (!before.is_null()).then(|| before.to_string()).as_deref(),
            Some(&after.to_string()),
        )?;
    }
    Ok(())
}
