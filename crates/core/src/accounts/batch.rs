//! Batch actions on chosen accounts (enable, disable, suspend, archive,
//! restore, force a password change, move to a group, clear the
//! invitation), each decided by [`super::lifecycle`], previewed with a dry
//! run, audited, and reported.

use std::collections::HashSet;

use rusqlite::params;
use serde::Serialize;

use super::lifecycle::{self, HandoutEvent, Invitation, OfficeAction, Outcome, Rules, Standing};
use super::report::{display_name, Entry};
use super::stored::{self, AccountsOf, Held};
use super::{policy, standing};
use crate::error::{Error, Result};
use crate::people::{Chosen, PeopleQuery, Status, BULK_AFTER};
use crate::store::{Store, Writer};

/// A batch action on chosen accounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Enable,
    Disable,
    /// Blocked by the office for a while (misuse, a security concern). Account
    /// generation never changes a suspended account: only "enable" lifts it.
    Suspend,
    /// Kept for the record but out of use (a former pupil's work). Account
    /// generation never changes, re-enables or recycles an archived account.
    Archive,
    ForcePasswordChange,
    MoveGroup(String),
    /// Marks the invitation as not sent, to send it again: the account is
    /// NEW again unless a letter was printed or its owner has signed in.
    ClearInvitation,
    Restore,
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Enable => "enable",
            Action::Disable => "disable",
            Action::Suspend => "suspend",
            Action::Archive => "archive",
            Action::ForcePasswordChange => "force-password-change",
            Action::MoveGroup(_) => "move-group",
            Action::ClearInvitation => "clear-invitation",
            Action::Restore => "restore",
        }
    }

    /// The action by its CLI name (move-group needs its group).
    pub fn parse(name: &str, group: Option<String>) -> Option<Action> {
        Some(match name {
            "enable" => Action::Enable,
            "disable" => Action::Disable,
            "suspend" => Action::Suspend,
            "archive" => Action::Archive,
            "force-password-change" => Action::ForcePasswordChange,
            "move-group" => Action::MoveGroup(group?),
            "clear-invitation" => Action::ClearInvitation,
            "restore" => Action::Restore,
            _ => return None,
        })
    }

    fn office(&self) -> Option<OfficeAction> {
        Some(match self {
            Action::Enable => OfficeAction::Enable,
            Action::Disable => OfficeAction::Disable,
            Action::Suspend => OfficeAction::Suspend,
            Action::Archive => OfficeAction::Archive,
            Action::Restore => OfficeAction::Restore,
            _ => return None,
        })
    }
}

/// What a batch action did (or, in a dry run, would do).
#[derive(Clone, Debug, Default, Serialize)]
pub struct BatchOutcome {
    pub action: &'static str,
    pub dry_run: bool,
    /// People the filters chose.
    pub matched: u64,
    pub changed: u64,
    pub unchanged: u64,
    /// Chosen people the action does not apply to (no account, has left…).
    pub skipped: u64,
    #[serde(skip)]
    pub entries: Vec<Entry>,
}

/// One change to make: the column, its value before and after, and what
/// the report and the log say about it (for a state, the account's stored
/// reason).
struct Change {
    column: &'static str,
    before: String,
    after: String,
    why: String,
    /// The account's flags before and after, where the change moves them
    /// (NEW comes back when an invitation is cleared).
    flags: Option<(lifecycle::Flags, lifecycle::Flags)>,
}

impl Change {
    /// The audit entry's before and after: a state with its reason; any
    /// other column with a note of what it means, and flags that moved.
    fn audit_values(&self, held: &Held) -> (serde_json::Value, serde_json::Value) {
        use serde_json::json;
        let (mut b, mut a) = match self.column {
            "state" => (
                json!({ "state": self.before, "reason": held.account.reason.text() }),
                json!({ "state": self.after, "reason": self.why }),
            ),
            column => (
                json!({ column: self.before }),
                json!({ column: self.after }),
            ),
        };
        if self.column != "state" && !self.why.is_empty() {
            a["note"] = self.why.clone().into();
        }
        if let Some((before, after)) = self.flags {
            b["flags"] = before.text().into();
            a["flags"] = after.text().into();
        }
        (b, a)
    }
}

/// Applies `action` to the accounts of the people `query` chooses, in one
/// audited transaction (rolled back in a dry run). Who is chosen, and where
/// they stand, is read inside it.
pub fn batch(
    store: &mut Store,
    actor: &str,
    action: &Action,
    query: &PeopleQuery,
    dry_run: bool,
) -> Result<BatchOutcome> {
    let policy = policy::load(store.conn())?;
    let rules = Rules::from(&policy);
    let w = store.writer(actor)?;
    let chosen = crate::people::chosen(w.conn(), query)?;
    let target_group = match action {
        Action::MoveGroup(g) => Some(group_id(&w, g)?),
        _ => None,
    };
    let mut out = BatchOutcome {
        action: action.name(),
        dry_run,
        ..Default::default()
    };
    // Asked per person, each question reads their children's (large,
    // encrypted) rows at random: fine for a few, far too slow for many. So
    // for many, everyone's links come from one pass over the links and the
    // list index's statuses.
    // Only enabling asks where someone stands (lifecycle::office): the
    // other actions need no links read at all.
    let needs_links = matches!(action, Action::Enable);
    let bulk_links = match needs_links && chosen.len() > BULK_AFTER {
        true => Some(standing::everyone(w.conn(), students_current(w.conn())?)?),
        false => None,
    };
    let mut accounts = AccountsOf::new(w.conn(), chosen.len())?;
    for p in chosen {
        out.matched += 1;
        let links = match &bulk_links {
            Some(all) => all.get(&p.id).copied().unwrap_or_default(),
            None if needs_links => standing::of_person(w.conn(), p.id)?,
            None => Default::default(),
        };
        let standing = Standing {
            kind: p.kind,
            status: p.status,
            has_email: !p.email.trim().is_empty(),
            links,
        };
        let held = accounts.get(p.id)?;
        apply_one(
            &w,
            action,
            target_group,
            &rules,
            &p,
            &standing,
            held,
            &mut out,
        )?;
    }
    drop(accounts);
    if dry_run {
        w.rollback()?;
    } else {
        w.commit()?;
    }
    Ok(out)
}

/// Whether each student (by row id) is at the school, from the list index.
fn students_current(conn: &rusqlite::Connection) -> Result<impl Fn(i64) -> bool> {
    let mut st = conn
        .prepare("SELECT id, status FROM person INDEXED BY person_list WHERE kind = 'student'")?;
    let current: HashSet<i64> = st
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
        .filter_map(|r| match r {
            Ok((id, status)) => Status::parse(&status)
                .is_some_and(Status::is_current)
                .then_some(Ok(id)),
            Err(e) => Some(Err(e)),
        })
        .collect::<rusqlite::Result<_>>()?;
    Ok(move |id| current.contains(&id))
}

/// The group called `name` (case ignored), or an error naming the groups.
fn group_id(w: &Writer, name: &str) -> Result<i64> {
    let id: Option<i64> = rusqlite::OptionalExtension::optional(w.conn().query_row(
        "SELECT id FROM user_group WHERE name = ?1 COLLATE NOCASE",
        [name.trim()],
        |r| r.get(0),
    ))?;
    let names: Vec<String> = w
        .conn()
        .prepare("SELECT name FROM user_group ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    id.ok_or_else(|| {
        Error::Invalid(format!(
            "there is no group called \"{name}\" (the groups are: {}); create it first",
            names.join(", ")
        ))
    })
}

/// What `action` changes on `held`, or why it does not apply (Err).
fn change_for(
    action: &Action,
    rules: &Rules,
    standing: &Standing,
    held: &Held,
) -> std::result::Result<Option<Change>, String> {
    if let Some(office) = action.office() {
        return match lifecycle::office(&held.account, standing, rules, office) {
            Outcome::Skip(why) => Err(why.into_owned()),
            Outcome::Unchanged => Ok(None),
            Outcome::Change { state, reason } => Ok(Some(Change {
                column: "state",
                before: held.account.state.as_str().to_owned(),
                after: state.as_str().to_owned(),
                why: reason.text().into_owned(),
                flags: None,
            })),
        };
    }
    Ok(match action {
        Action::ForcePasswordChange => (!held.must_change).then(|| Change {
            column: "must_change_password",
            before: "0".into(),
            after: "1".into(),
            why: "must change the password at the next sign-in".into(),
            flags: None,
        }),
        Action::ClearInvitation if held.handout.invitation == Invitation::Accepted => {
            return Err(
                "the invitation was accepted: the account is in use, so there is \
                        nothing to send again"
                    .into(),
            );
        }
        Action::ClearInvitation => {
            let after = lifecycle::handed_out(held.handout, HandoutEvent::InvitationCleared);
            let flags = lifecycle::Flags {
                new: after.is_new(),
                ..held.account.flags
            };
            (after != held.handout).then(|| Change {
                column: "invitation",
                before: held.handout.invitation.as_str().to_owned(),
                after: after.invitation.as_str().to_owned(),
                why: match after.is_new() {
                    true => "invitation marked as not sent; NEW again".into(),
                    false => "invitation marked as not sent".into(),
                },
                flags: (flags != held.account.flags).then_some((held.account.flags, flags)),
            })
        }
        Action::MoveGroup(g) => (!held.group.eq_ignore_ascii_case(g.trim())).then(|| Change {
            column: "group",
            before: held.group.clone(),
            after: g.trim().to_owned(),
            why: String::new(),
            flags: None,
        }),
        _ => unreachable!("state actions are the lifecycle's"),
    })
}

#[allow(clippy::too_many_arguments)]
fn apply_one(
    w: &Writer,
    action: &Action,
    target_group: Option<i64>,
    rules: &Rules,
    p: &Chosen,
    standing: &Standing,
    held: Option<Held>,
    out: &mut BatchOutcome,
) -> Result<()> {
    let name = display_name(&p.preferred_name, &p.given_name, &p.family_name);
    let entry = |act: &'static str, username: &str, state: &str, group: &str, reason: &str| Entry {
        person_id: p.id,
        action: act,
        kind: p.kind.account_word(),
        sis_id: p.sis_id.clone(),
        name: name.clone(),
        username: username.to_owned(),
        state: state.to_owned(),
        group: group.to_owned(),
        flags: vec![],
        reason: reason.to_owned(),
    };
    let Some(held) = held else {
        out.skipped += 1;
        let e = entry("skip", "", "none", "", "no account yet: run generate first");
        out.entries.push(e);
        return Ok(());
    };
    let state = held.account.state.as_str();
    let change = match change_for(action, rules, standing, &held) {
        Err(why) => {
            out.skipped += 1;
            let e = entry("skip", &held.username, state, &held.group, &why);
            out.entries.push(e);
            return Ok(());
        }
        Ok(None) => {
            out.unchanged += 1;
            return Ok(());
        }
        Ok(Some(change)) => change,
    };
    write_change(w, &held, &change, target_group)?;
    let key = stored::key(p.kind, &p.source, &p.sis_id);
    let (b, a) = change.audit_values(&held);
    w.audit(
        &format!("account.{}", action.name()),
        "account",
        &key,
        Some(&b.to_string()),
        Some(&a.to_string()),
    )?;
    out.changed += 1;
    let (new_state, new_group) = match change.column {
        "state" => (change.after.as_str(), held.group.as_str()),
        "group" => (state, change.after.as_str()),
        _ => (state, held.group.as_str()),
    };
    let e = entry(
        action.name(),
        &held.username,
        new_state,
        new_group,
        &change.why,
    );
    out.entries.push(e);
    Ok(())
}

/// Writes one change. (Cached: a large batch runs these once per account.)
fn write_change(w: &Writer, held: &Held, c: &Change, target_group: Option<i64>) -> Result<()> {
    let conn = w.conn();
    match c.column {
        "state" => conn
            .prepare_cached(
                "UPDATE account SET state = ?2, state_reason = ?3, state_changed_at = ?4,
                        version = version + 1 WHERE id = ?1",
            )?
            .execute(params![held.id, c.after, c.why, w.at()])?,
        "must_change_password" => conn
            .prepare_cached(
                "UPDATE account SET must_change_password = 1, version = version + 1 WHERE id = ?1",
            )?
            .execute([held.id])?,
        "invitation" => {
            let flags = c.flags.map_or(held.account.flags, |(_, after)| after);
            conn.prepare_cached(
                "UPDATE account SET invitation = ?2, flags = ?3, version = version + 1
                 WHERE id = ?1",
            )?
            .execute(params![held.id, c.after, flags.text()])?
        }
        _ => conn
            .prepare_cached(
                "UPDATE account SET group_id = ?2, version = version + 1 WHERE id = ?1",
            )?
            .execute(params![held.id, target_group])?,
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::people::Kind;

    #[test]
    fn a_large_batch_decides_as_person_by_person_does() {
        // Over BULK_AFTER chosen, where parents stand comes from one pass
        // over everyone; in smaller batches, from a question per person.
        // Both must decide alike.
        let (_dir, mut store, _) = crate::testing::demo_school(700);
        let contacts = PeopleQuery {
            kind: Some(Kind::Contact),
            ..Default::default()
        };
        let ids: Vec<i64> = crate::people::list(store.conn(), &contacts)
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect();
        assert!(ids.len() > BULK_AFTER, "{} contacts", ids.len());
        let whole = batch(&mut store, "test", &Action::Enable, &contacts, true).unwrap();
        let (mut changed, mut skipped, mut entries) = (0, 0, Vec::new());
        for chunk in ids.chunks(BULK_AFTER / 2) {
            let q = PeopleQuery {
                ids: chunk.to_vec(),
                ..Default::default()
            };
            let part = batch(&mut store, "test", &Action::Enable, &q, true).unwrap();
            changed += part.changed;
            skipped += part.skipped;
            entries.extend(part.entries);
        }
        assert!(
            whole.changed > 0 && whole.skipped > 0,
            "both kinds of answer"
        );
        assert_eq!((whole.changed, whole.skipped), (changed, skipped));
        let key = |e: &Entry| (e.sis_id.clone(), e.action, e.reason.clone());
        let mut a: Vec<_> = whole.entries.iter().map(key).collect();
        let mut b: Vec<_> = entries.iter().map(key).collect();
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }
}
