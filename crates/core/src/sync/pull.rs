//! Pull: what happened on the server since the cursor (or, on a server that
//! cannot filter by `meta.lastModified`, a paged read of every user): sign-in
//! state taken into Keyroll, shared fields merged, conflicts kept for the
//! office.

use rusqlite::OptionalExtension;
use serde_json::{json, Value};

use super::client::{Client, Provider};
use super::merge::{self, Decision};
use super::{document, local};
use crate::accounts::lifecycle::{self, Flags, HandoutEvent, HandoutState, Invitation};
use crate::store::{Store, Writer};
use crate::Result;

/// Users read per page.
const PAGE: usize = 1000;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Pulled {
    /// Users the server sent that are Keyroll's.
    pub seen: u64,
    /// Accounts whose server view changed (sign-in, lock, acceptance).
    pub updated: u64,
    /// Accounts enabled or disabled on the server, taken into Keyroll.
    pub taken: u64,
    pub conflicts: u64,
}

/// Reads the server's changes into `store`, one transaction per page.
/// Returns the counts and the new cursor.
pub fn pull(
    store: &mut Store,
    actor: &str,
    client: &mut Client,
    provider: &Provider,
    cursor: Option<&str>,
    go_on: &mut dyn FnMut(u64, u64) -> bool,
) -> Result<(Pulled, Option<String>)> {
    let mut filter = match (provider.filter, cursor) {
        (true, Some(c)) => Some(format!("meta.lastModified gt \"{c}\"")),
        _ => None,
    };
    let mut out = Pulled::default();
    let mut newest = cursor.map(str::to_owned);
    let mut start = 1;
    loop {
        let mut path = format!("/Users?startIndex={start}&count={PAGE}");
        if let Some(f) = &filter {
            path.push_str("&filter=");
            path.push_str(&super::client::encode(f));
        }
        let page = client.get(&path)?;
        if page.status == 400 && filter.is_some() {
            // It says it filters, but not on this: read everything.
            filter = None;
            continue;
        }
        client.check(&page, "the list of users")?;
        let users = page.body["Resources"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let total = page.body["totalResults"].as_u64().unwrap_or(0);
        let w = store.writer(actor)?;
        for user in &users {
            if let Some(m) = user["meta"]["lastModified"].as_str() {
                if newest.as_deref().is_none_or(|n| m > n) {
                    newest = Some(m.to_owned());
                }
            }
            if let Some(taken) = take(&w, user)? {
                out.seen += 1;
                out.updated += taken.updated as u64;
                out.taken += taken.taken as u64;
                out.conflicts += taken.conflicts as u64;
            }
        }
        w.commit()?;
        start += users.len();
        if users.is_empty() || start as u64 > total || !go_on(start as u64 - 1, total) {
            break;
        }
    }
    Ok((out, newest))
}

/// What taking one user changed.
#[derive(Default)]
pub struct Taken {
    pub updated: bool,
    pub taken: bool,
    pub conflicts: u32,
}

struct Here {
    id: i64,
    username: String,
    state: String,
    flags: String,
    invitation: String,
    locked: bool,
    last_sign_in: Option<String>,
    accepted: Option<String>,
    unlock_requested: bool,
}

/// Takes the server's copy of a user into Keyroll; None if it is not one of
/// this database's accounts.
pub fn take(w: &Writer, remote: &Value) -> Result<Option<Taken>> {
    let Some(remote_id) = remote["id"].as_str() else {
        return Ok(None);
    };
    let known: Option<(i64, String, Option<String>)> = w
        .conn()
        .query_row(
            "SELECT account_id, pushed, etag FROM sync_account WHERE remote_id = ?1",
            [remote_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let etag = remote["meta"]["version"].as_str();
    let (account_id, base) = match known {
        Some((_, _, Some(seen))) if Some(seen.as_str()) == etag => return Ok(None),
        Some((id, pushed, _)) => (id, serde_json::from_str(&pushed).unwrap_or(Value::Null)),
        None => {
            let key = remote["externalId"].as_str().unwrap_or_default();
            match local::account_by_key(w.conn(), key)? {
                Some(id) => {
                    adopt(w, id, remote_id, remote)?;
                    (id, Value::Null)
                }
                None => return Ok(None),
            }
        }
    };
    let Some(here) = here(w, account_id)? else {
        return Ok(None);
    };
    let mut taken = Taken {
        updated: server_view(w, &here, remote)?,
        ..Taken::default()
    };
    let mut base = base;
    for field in merge::SHARED {
        let keyroll = match field {
            "active" => json!(here.state == "enabled"),
            _ => json!(here.username),
        };
        let server = remote.get(field).cloned().unwrap_or(Value::Null);
        let base_value = base.get(field).map(Value::to_string);
        match merge::decide(
            field,
            base_value.as_deref(),
            &keyroll.to_string(),
            &server.to_string(),
        ) {
            Decision::Same | Decision::Keyroll => {}
            Decision::Server => {
                take_active(
                    w,
                    here.id,
                    &here.username,
                    &here.state,
                    server.as_bool() == Some(true),
                )?;
                base[field] = server.clone();
                taken.taken = true;
            }
            Decision::Conflict => {
                conflict(w, account_id, field, &keyroll, &server, remote)?;
                taken.conflicts += 1;
            }
        }
    }
    local::exec(
        w.conn(),
        "UPDATE sync_account SET etag = ?2, modified = ?3, pushed = ?4 WHERE account_id = ?1",
        rusqlite::params![
            account_id,
            etag,
            remote["meta"]["lastModified"].as_str(),
            base.to_string()
        ],
    )?;
    Ok(Some(taken))
}

/// A user the server already had (a push that crashed before its answer
/// was kept, or another Keyroll's): linked, with the server's copy as the
/// base and nothing marked as pushed, so the next push sends what differs.
pub fn adopt(w: &Writer, account_id: i64, remote_id: &str, remote: &Value) -> Result<()> {
    local::exec(
        w.conn(),
        "INSERT INTO sync_account (account_id, remote_id, etag, pushed, version, person_digest)
         VALUES (?1, ?2, ?3, ?4, -1, -1)
         ON CONFLICT (account_id) DO UPDATE SET remote_id = excluded.remote_id,
             etag = excluded.etag, pushed = excluded.pushed, version = -1, person_digest = -1",
        rusqlite::params![
            account_id,
            remote_id,
            remote["meta"]["version"].as_str(),
            document::owned_part(remote).to_string()
        ],
    )?;
    Ok(())
}

fn here(w: &Writer, account_id: i64) -> Result<Option<Here>> {
    Ok(w.conn()
        .query_row(
            "SELECT id, username, state, flags, invitation, locked, last_sign_in_at,
                    invitation_accepted_at, unlock_requested
             FROM account WHERE id = ?1",
            [account_id],
            |r| {
                Ok(Here {
                    id: r.get(0)?,
                    username: r.get(1)?,
                    state: r.get(2)?,
                    flags: r.get(3)?,
                    invitation: r.get(4)?,
                    locked: r.get(5)?,
                    last_sign_in: r.get(6)?,
                    accepted: r.get(7)?,
                    unlock_requested: r.get(8)?,
                })
            },
        )
        .optional()?)
}

/// Sign-in state is the server's: last sign-in, locked, invitation
/// accepted (which end NEW). Audited; not a change to push back.
fn server_view(w: &Writer, here: &Here, remote: &Value) -> Result<bool> {
    let school = &remote[keyroll_scim::schema::SCHOOL];
    let signed_in = school["lastSignIn"].as_str().map(str::to_owned);
    let accepted = school["invitationAccepted"].as_str().map(str::to_owned);
    // An unlock on its way to the server wins over the lock it will lift.
    let locked = school["locked"].as_bool().unwrap_or(false) && !here.unlock_requested;
    let signed_in = signed_in.or(here.last_sign_in.clone());
    let accepted = accepted.or(here.accepted.clone());
    if (signed_in.as_ref(), accepted.as_ref(), locked)
        == (
            here.last_sign_in.as_ref(),
            here.accepted.as_ref(),
            here.locked,
        )
    {
        return Ok(false);
    }
    let flags = Flags::parse(&here.flags);
    let mut handout = HandoutState {
        invitation: Invitation::parse(&here.invitation),
        letter_printed: !flags.new,
        signed_in: here.last_sign_in.is_some(),
    };
    if accepted.is_some() {
        handout = lifecycle::handed_out(handout, HandoutEvent::InvitationAccepted);
    }
    if signed_in.is_some() {
        handout = lifecycle::handed_out(handout, HandoutEvent::SignedIn);
    }
    let flags = Flags {
        new: flags.new && handout.is_new(),
        ..flags
    };
    local::exec(
        w.conn(),
        "UPDATE account SET last_sign_in_at = ?2, invitation_accepted_at = ?3, locked = ?4,
                invitation = ?5, flags = ?6
         WHERE id = ?1",
        rusqlite::params![
            here.id,
            signed_in,
            accepted,
            locked,
            handout.invitation.as_str(),
            flags.text()
        ],
    )?;
    w.audit(
        "sync.server_view",
        "account",
        &here.username,
        Some(
            &json!({"last_sign_in": here.last_sign_in, "invitation_accepted": here.accepted,
                     "locked": here.locked})
            .to_string(),
        ),
        Some(
            &json!({"last_sign_in": signed_in, "invitation_accepted": accepted,
                     "locked": locked})
            .to_string(),
        ),
    )?;
    Ok(true)
}

/// Enabled or disabled on the server: Keyroll follows, with the reason.
pub fn take_active(
    w: &Writer,
    here_id: i64,
    username: &str,
    from: &str,
    active: bool,
) -> Result<()> {
    let (state, reason) = match active {
        true => ("enabled", "enabled on the school server"),
        false => ("disabled", "disabled on the school server"),
    };
    local::exec(
        w.conn(),
        "UPDATE account SET state = ?2, state_reason = ?3, state_changed_at = ?4,
                version = version + 1
         WHERE id = ?1",
        rusqlite::params![here_id, state, reason, w.at()],
    )?;
    // The push must not send back what it was just told.
    local::exec(
        w.conn(),
        "UPDATE sync_account SET version = (SELECT version FROM account WHERE id = ?1)
         WHERE account_id = ?1 AND version = (SELECT version - 1 FROM account WHERE id = ?1)",
        [here_id],
    )?;
    Ok(w.audit(
        "sync.state_from_server",
        "account",
        username,
        Some(&json!({"state": from}).to_string()),
        Some(&json!({"state": state, "reason": reason}).to_string()),
    )?)
}

fn conflict(
    w: &Writer,
    account_id: i64,
    field: &str,
    keyroll: &Value,
    server: &Value,
    remote: &Value,
) -> Result<()> {
    local::exec(
        w.conn(),
        "INSERT INTO sync_conflict (account_id, field, keyroll, server, server_since, found_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (account_id, field) DO UPDATE SET keyroll = excluded.keyroll,
             server = excluded.server, server_since = excluded.server_since",
        rusqlite::params![
            account_id,
            field,
            keyroll.to_string(),
            server.to_string(),
            remote["meta"]["lastModified"].as_str().unwrap_or_default(),
            w.at()
        ],
    )?;
    Ok(())
}
