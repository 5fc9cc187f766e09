//! Resets: new initial passwords or activation codes by each kind's
//! policy, and the hand-out sheet that carries them to the office. A secret
//! exists only in memory until it is delivered; only its hash is stored.

use rusqlite::params;
use serde::Serialize;

use super::lifecycle::{days_before, State};
use super::report::{display_name, Entry};
use super::stored::{self, AccountsOf, Held};
use super::{password, policy};
use crate::error::{Error, Result};
use crate::output::{self, FileKind};
use crate::people::PeopleQuery;
use crate::store::{Store, Writer};

/// A new password or activation code to hand to one person. The secret is
/// wiped from memory when this is dropped; it is never stored or logged.
pub struct Handout {
    pub kind: &'static str,
    /// The account's audit key.
    pub key: String,
    pub sis_id: String,
    pub name: String,
    pub username: String,
    pub credential: policy::Credential,
    pub secret: zeroize::Zeroizing<String>,
    /// When an activation code stops working (RFC 3339), if it is one.
    pub expires: Option<String>,
}

/// What a reset did (or, in a dry run, would do).
#[derive(Default, Serialize)]
pub struct ResetOutcome {
    pub dry_run: bool,
    pub matched: u64,
    pub changed: u64,
    pub skipped: u64,
    #[serde(skip)]
    pub entries: Vec<Entry>,
    #[serde(skip)]
    pub handouts: Vec<Handout>,
}

/// Gives the chosen accounts a new initial password or activation code, by
/// their kind's policy: passwords hashed with argon2id on every core
/// (`progress(done, total)`), codes hashed, both only in memory otherwise.
///
/// `deliver` gets the new secrets before anything is committed (to print
/// them, or save the hand-out sheet the office chose): if it fails, nothing
/// is reset, so a secret is never set that nobody was given. It is not called
/// in a dry run.
pub fn reset(
    store: &mut Store,
    actor: &str,
    query: &PeopleQuery,
    dry_run: bool,
    progress: &mut dyn FnMut(usize, usize) -> bool,
    deliver: &mut dyn FnMut(&[Handout]) -> Result<()>,
) -> Result<ResetOutcome> {
    reset_within(store, actor, query, dry_run, progress, &mut |_, h| {
        deliver(h)
    })
}

/// [`reset`], with `deliver` also given the open transaction, to record in
/// it what the delivery did (a letter printed): all of it commits, or none.
pub fn reset_within(
    store: &mut Store,
    actor: &str,
    query: &PeopleQuery,
    dry_run: bool,
    progress: &mut dyn FnMut(usize, usize) -> bool,
    deliver: &mut dyn FnMut(&Writer, &[Handout]) -> Result<()>,
) -> Result<ResetOutcome> {
    let policy = policy::load(store.conn())?;
    // (As for a batch: read in bulk, never person by person at random.)
    let chosen = crate::people::chosen(store.conn(), query)?;
    let mut accounts = AccountsOf::new(store.conn(), chosen.len())?;
    let mut out = ResetOutcome {
        dry_run,
        ..Default::default()
    };
    let now = crate::store::now();
    let mut plans = Vec::new();
    for p in chosen {
        out.matched += 1;
        let kind = p.kind;
        let name = display_name(&p.preferred_name, &p.given_name, &p.family_name);
        let account = accounts.get(p.id)?;
        let entry = |action, username: &str, state: &str, reason: &str| Entry {
            person_id: p.id,
            action,
            kind: kind.account_word(),
            sis_id: p.sis_id.clone(),
            name: name.clone(),
            username: username.to_owned(),
            state: state.to_owned(),
            group: account
                .as_ref()
                .map(|a| a.group.clone())
                .unwrap_or_default(),
            flags: vec![],
            reason: reason.to_owned(),
        };
        let Some(Held {
            username, account, ..
        }) = account.clone()
        else {
            out.skipped += 1;
            out.entries.push(entry(
                "skip",
                "",
                "none",
                "no account yet: run generate first",
            ));
            continue;
        };
        let state = account.state.as_str();
        if account.state == State::Recycled {
            out.skipped += 1;
            out.entries.push(entry(
                "skip",
                &username,
                state,
                "in the recycle bin: restore it first",
            ));
            continue;
        }
        let k = policy.for_kind(kind);
        let (secret, expires, what) = match k.credential {
            policy::Credential::InitialPassword => (
                if dry_run {
                    Default::default()
                } else {
                    password::generate(&policy.passwords)?
                },
                None,
                "new initial password",
            ),
            policy::Credential::Activation => (
                if dry_run {
                    Default::default()
                } else {
                    password::activation_code()?
                },
                Some(days_before(&now, -i64::from(k.activation_days))),
                "new activation code",
            ),
        };
        out.entries.push(entry("reset", &username, state, what));
        plans.push(Handout {
            kind: kind.account_word(),
            key: stored::key(kind, &p.source, &p.sis_id),
            sis_id: p.sis_id.clone(),
            name,
            username,
            credential: k.credential,
            secret,
            expires,
        });
    }
    drop(accounts);
    out.changed = plans.len() as u64;
    if dry_run {
        return Ok(out);
    }
    // The slow part, before the database is locked for writing.
    let passwords: Vec<zeroize::Zeroizing<String>> = plans
        .iter()
        .filter(|h| h.credential == policy::Credential::InitialPassword)
        .map(|h| h.secret.clone())
        .collect();
    let mut hashes = password::hash_all(&passwords, progress)?.into_iter();
    let w = store.writer(actor)?;
    for h in &plans {
        let key = &h.key;
        // Chosen before the hashing: an account renamed or deleted since (by
        // another window or the command line) must not get a sheet line for
        // a secret that was never set.
        let set = match h.credential {
            policy::Credential::InitialPassword => {
                let hash = hashes.next().expect("one hash per password");
                w.conn().execute(
                    "UPDATE account SET password_hash = ?2, must_change_password = 1,
                            activation_hash = NULL, activation_expires = NULL, version = version + 1
                     WHERE username = ?1",
                    params![h.username, hash],
                )?
            }
            policy::Credential::Activation => w.conn().execute(
                "UPDATE account SET activation_hash = ?2, activation_expires = ?3,
                        password_hash = NULL, version = version + 1
                 WHERE username = ?1",
                params![h.username, password::hash_code(&h.secret), h.expires],
            )?,
        };
        if set != 1 {
            return Err(Error::Invalid(format!(
                "{} changed while the new passwords were being made, so nothing was reset; \
                 try again",
                h.username
            )));
        }
        // The audit log says a secret was set, never which.
        let after = serde_json::json!({ "credential": h.credential, "expires": h.expires });
        w.audit(
            "account.reset",
            "account",
            key,
            None,
            Some(&after.to_string()),
        )?;
    }
    // Dropping the writer on a failed delivery rolls every change back.
    deliver(&w, &plans)?;
    w.commit()?;
    out.handouts = plans;
    Ok(out)
}

/// What a hand-out sheet is, for [`output::check`]: it holds the only copy
/// of the new passwords until they are handed out.
pub const SHEET: FileKind = FileKind {
    name: "hand-out sheet",
    header: "kind,sis_id,name,username,credential,secret,expires",
    replaces: false,
};

/// [`reset`] with its secrets saved to the hand-out sheet at `sheet` (when
/// given) as well as handed to `also` (to print them): the sheet is checked
/// before anything else ([`output::check`]), saved before the reset commits,
/// and removed again if the reset then fails, since its secrets were never
/// set and it must not be handed out.
pub fn reset_to_sheet(
    store: &mut Store,
    actor: &str,
    query: &PeopleQuery,
    dry_run: bool,
    sheet: Option<&std::path::Path>,
    progress: &mut dyn FnMut(usize, usize) -> bool,
    also: &mut dyn FnMut(&[Handout]) -> Result<()>,
) -> Result<ResetOutcome> {
    let database = store.path().to_owned();
    if let Some(path) = sheet {
        output::check(path, SHEET, &database)?;
    }
    let mut written = false;
    let mut deliver = |handouts: &[Handout]| {
        if let Some(path) = sheet {
            save_handouts(path, handouts, &database)?;
            written = true;
        }
        also(handouts)
    };
    let result = reset(store, actor, query, dry_run, progress, &mut deliver);
    if let (Err(_), true, Some(path)) = (&result, written, sheet) {
        let _ = std::fs::remove_file(path);
    }
    result
}

/// Saves the hand-out sheet at `path`, readable by the office user only
/// where the OS has such permissions, on the disk before the reset is
/// committed; never over the database at `database`, a file of another
/// kind (a report, a letter) or an earlier sheet, which [`output::check`]
/// refuses.
pub fn save_handouts(
    path: &std::path::Path,
    handouts: &[Handout],
    database: &std::path::Path,
) -> Result<()> {
    output::write(path, SHEET, database, |out| write_handouts(out, handouts))
}

/// Writes new passwords and activation codes as CSV for handing out (or a
/// word processor's mail merge), safe to open in a spreadsheet.
pub fn write_handouts(out: impl std::io::Write, handouts: &[Handout]) -> Result<()> {
    use crate::text::spreadsheet_safe as safe;
    let mut w = csv::Writer::from_writer(out);
    let io =
        |e: csv::Error| Error::Invalid(format!("The hand-out sheet could not be written: {e}"));
    w.write_record(SHEET.header.split(',')).map_err(io)?;
    for h in handouts {
        let credential = match h.credential {
            policy::Credential::InitialPassword => "initial password",
            policy::Credential::Activation => "activation code",
        };
        w.write_record([
            h.kind,
            safe(&h.sis_id).as_ref(),
            safe(&h.name).as_ref(),
            safe(&h.username).as_ref(),
            credential,
            safe(&h.secret).as_ref(),
            h.expires.as_deref().unwrap_or(""),
        ])
        .map_err(io)?;
    }
    w.flush()
        .map_err(|e| Error::Invalid(format!("The hand-out sheet could not be written: {e}")))?;
    Ok(())
}
