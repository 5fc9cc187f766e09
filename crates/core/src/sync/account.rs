//! One account as the school server last told Keyroll about it, for the
//! account's panel: sign-in state is the server's, so it is shown, not
//! edited (but for an unlock, which travels on the next push).

use rusqlite::OptionalExtension;

use super::conflicts::{of_account, Conflict};
use super::settings;
use crate::store::Store;
use crate::Result;

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ServerView {
    pub server: String,
    /// The server has this account (a sync has sent it).
    pub on_server: bool,
    pub last_sign_in: Option<String>,
    pub locked: bool,
    /// An unlock made in Keyroll, waiting for the next sync.
    pub unlock_requested: bool,
    pub invitation_accepted: Option<String>,
    /// In sync's journal: the next sync looks at it (and sends what changed).
    pub pending: bool,
    pub conflicts: Vec<Conflict>,
}

/// The server's view of `person_id`'s account; None when no school server
/// is set up or the person has no account.
pub fn server_view(store: &Store, person_id: i64) -> Result<Option<ServerView>> {
    let server = settings::load(store.conn())?.server;
    if server.is_empty() {
        return Ok(None);
    }
    let row = store
        .conn()
        .query_row(
            "SELECT a.id, s.account_id IS NOT NULL, a.last_sign_in_at, a.locked,
                    a.unlock_requested, a.invitation_accepted_at,
                    EXISTS (SELECT 1 FROM sync_due d WHERE d.account_id = a.id)
             FROM account a
             LEFT JOIN sync_account s ON s.account_id = a.id
             WHERE a.person_id = ?1",
            [person_id],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    ServerView {
                        server: server.clone(),
                        on_server: r.get(1)?,
                        last_sign_in: r.get(2)?,
                        locked: r.get(3)?,
                        unlock_requested: r.get(4)?,
                        invitation_accepted: r.get(5)?,
                        pending: r.get(6)?,
                        conflicts: Vec::new(),
                    },
                ))
            },
        )
        .optional()?;
    let Some((account_id, mut view)) = row else {
        return Ok(None);
    };
    view.conflicts = of_account(store.conn(), Some(account_id))?;
    Ok(Some(view))
}
