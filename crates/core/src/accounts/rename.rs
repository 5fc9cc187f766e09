//! The two ways a username or an account goes: an explicit, checked
//! rename (usernames never change by themselves), and deleting one account
//! from the recycle bin for good. A name given up rests a year.

use rusqlite::params;
use serde::Serialize;

use super::lifecycle::State;
use super::naming::{taken_usernames, Namer};
use super::{policy, stored};
use crate::error::{Error, Result};
use crate::people::{self, Kind};
use crate::store::{Store, Writer};

/// What an account's new username is to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NewUsername {
    /// This one, as the office typed it.
    Given(String),
    /// What the policy's pattern gives the person's details now (after a
    /// change of name in the SIS, say).
    ByPolicy,
}

/// A renamed account (or, in a dry run, the name it would get).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Renamed {
    pub dry_run: bool,
    pub from: String,
    pub to: String,
}

/// Renames the account of person `person_id`: the only way a username
/// changes (the SIS changing a name never does it). The new name passes the
/// same checks as a generated one (length, Windows device names, the
/// blocklist, unique across every account and the recycle bin, and not a
/// name retired in the last year); the old name is retired for a year, so
/// that mail for it never reaches someone else.
pub fn rename(
    store: &mut Store,
    actor: &str,
    person_id: i64,
    to: &NewUsername,
    dry_run: bool,
) -> Result<Renamed> {
    let policy = policy::load(store.conn())?;
    let w = store.writer(actor)?;
    let found = rusqlite::OptionalExtension::optional(w.conn().query_row(
        "SELECT a.id, a.username, a.state, p.kind FROM account a JOIN person p ON p.id = a.person_id
         WHERE a.person_id = ?1",
        [person_id],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        },
    ))?;
    let Some((account_id, from, state, kind)) = found else {
        return Err(Error::Invalid(
            "this person has no account yet: generate accounts first".into(),
        ));
    };
    if State::parse(&state) == Some(State::Recycled) {
        return Err(Error::Invalid(format!(
            "{from} is in the recycle bin: restore it before renaming it"
        )));
    }
    let kind = Kind::parse(&kind).unwrap_or(Kind::Contact);
    let mut taken = taken_usernames(w.conn(), w.at())?;
    // Its own name is not in the way (a change of case is a rename too).
    taken.remove(&from.to_lowercase());
    let mut namer = Namer::new(&policy, taken)?;
    let refused = |why: String| Error::Invalid(format!("{from} cannot be renamed: {why}"));
    let to = match to {
        NewUsername::ByPolicy => {
            let (_, record) = crate::people::load(w.conn(), person_id)?;
            namer.pick(kind, &record).map_err(refused)?
        }
        NewUsername::Given(u) => {
            let u = u.trim();
            if u.is_empty()
                || !u
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-@+'".contains(c))
            {
                return Err(refused(format!(
                    "\"{u}\" is not a username: use letters a–z, digits and . _ - @ + ' only"
                )));
            }
            if u.chars().count() > policy.max_length {
                return Err(refused(format!(
                    "\"{u}\" is longer than the policy's {} characters",
                    policy.max_length
                )));
            }
            if !namer.free(u) {
                return Err(refused(format!(
                    "\"{u}\" is taken, reserved, blocked, or was given up less than a year ago"
                )));
            }
            u.to_owned()
        }
    };
    if to == from {
        return Err(Error::Invalid(format!(
            "{from} already has that name; nothing to change"
        )));
    }
    w.conn().execute(
        "UPDATE account SET username = ?2, version = version + 1 WHERE id = ?1",
        params![account_id, to],
    )?;
    if !to.eq_ignore_ascii_case(&from) {
        retire(&w, &from)?;
    }
    let (source, sis_id): (String, String) = w.conn().query_row(
        "SELECT source, sis_id FROM person WHERE id = ?1",
        [person_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    w.audit(
        "account.rename",
        "account",
        &stored::key(kind, &source, &sis_id),
        Some(&serde_json::json!({ "username": from }).to_string()),
        Some(&serde_json::json!({ "username": to }).to_string()),
    )?;
    if dry_run {
        w.rollback()?;
    } else {
        w.commit()?;
    }
    Ok(Renamed { dry_run, from, to })
}

/// Deletes one account from the recycle bin for good (the person stays, as
/// the SIS has them). Its username is not given out again for a year. Only
/// one at a time, by kind and SIS id (and the SIS source, where two sources
/// use the same id): there is no bulk permanent delete.
pub fn delete_permanently(
    store: &mut Store,
    actor: &str,
    kind: Kind,
    sis_id: &str,
    source: Option<&str>,
) -> Result<String> {
    store.write(actor, |w| {
        // Of the people with this SIS id, the one with an account (two
        // sources may share an id while only one has an account).
        let with_account: Vec<(i64, String, String, String)> = w
            .conn()
            .prepare(
                "SELECT a.id, a.username, a.state, p.source FROM account a
                 JOIN person p ON p.id = a.person_id
                 WHERE p.sis_id = ?1 AND p.kind = ?2 AND (?3 IS NULL OR p.source = ?3)",
            )?
            .query_map(params![sis_id, kind.as_str(), source], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let (id, username, state, source) = match <[_; 1]>::try_from(with_account) {
            Ok([one]) => one,
            // Nobody: find_one says whether there is such a person at all.
            Err(none) if none.is_empty() => {
                people::find_one(w.conn(), kind, sis_id, source)?;
                return Err(Error::Invalid(format!(
                    "no {} with SIS id \"{sis_id}\" has an account",
                    kind.account_word()
                )));
            }
            Err(several) => {
                let sources: Vec<&str> = several.iter().map(|f| f.3.as_str()).collect();
                return Err(Error::Invalid(format!(
                    "{} {}s with SIS id \"{sis_id}\" have accounts, from different SIS exports \
                     ({}): say which with --source",
                    several.len(),
                    kind.account_word(),
                    sources.join(", ")
                )));
            }
        };
        if State::parse(&state) != Some(State::Recycled) {
            return Err(Error::Invalid(format!(
                "{username} is {state}, not in the recycle bin: only an account in the recycle bin \
                 can be deleted (disable it; it goes there after the grace period)"
            )));
        }
        let before: String = w.conn().query_row(
            "SELECT json_object('username', username, 'state', state, 'reason', state_reason,
                                'flags', flags,
                                'group', (SELECT name FROM user_group g WHERE g.id = group_id))
             FROM account WHERE id = ?1",
            [id],
            |r| r.get(0),
        )?;
        w.conn()
            .execute("DELETE FROM account WHERE id = ?1", [id])?;
        retire(w, &username)?;
        w.audit(
            "account.delete",
            "account",
            &stored::key(kind, &source, sis_id),
            Some(&before),
            None,
        )?;
        Ok(username)
    })
}

/// Keeps `username` from being given out again for a year.
fn retire(w: &Writer, username: &str) -> Result<()> {
    w.conn().execute(
        "INSERT INTO retired_username (username, retired_at) VALUES (?1, ?2)
         ON CONFLICT (username) DO UPDATE SET retired_at = ?2",
        params![username, w.at()],
    )?;
    Ok(())
}
