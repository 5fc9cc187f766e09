//! Accounts as stored: their audit key, and the chosen people's accounts as
//! a batch action or a reset reads them.

use std::collections::HashMap;

use super::lifecycle::{Account, Flags, HandoutState, Invitation, Reason, State};
use crate::error::Result;
use crate::people::{Kind, BULK_AFTER};

/// An account's audit key: its kind and its person's (`parent:oneroster:g1`).
/// The SIS source is part of it: two systems may use the same id for two
/// different people, who must never share a history.
pub fn key(kind: Kind, source: &str, sis_id: &str) -> String {
    format!(
        "{}:{}",
        kind.account_word(),
        crate::people::person_key(source, sis_id)
    )
}

/// A chosen person's account as a batch or a reset needs it.
#[derive(Clone)]
pub(super) struct Held {
    pub id: i64,
    pub username: String,
    pub account: Account,
    pub must_change: bool,
    pub handout: HandoutState,
    pub group: String,
}

/// Chosen people's accounts: asked one by one for a few people, read in one
/// pass for many (as [`crate::people::chosen`] reads their rows).
pub(super) struct AccountsOf<'c> {
    one: rusqlite::CachedStatement<'c>,
    all: Option<HashMap<i64, Held>>,
}

impl<'c> AccountsOf<'c> {
    const SQL: &'static str = "SELECT a.person_id, a.id, a.username, a.state, a.state_reason,
                a.state_changed_at, a.flags, a.must_change_password, a.invitation,
                a.letter_printed_at IS NOT NULL, a.last_sign_in_at IS NOT NULL, coalesce(g.name, '')
         FROM account a LEFT JOIN user_group g ON g.id = a.group_id";

    fn held(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, Held)> {
        Ok((
            r.get(0)?,
            Held {
                id: r.get(1)?,
                username: r.get(2)?,
                account: Account {
                    state: State::parse(r.get_ref(3)?.as_str()?).unwrap_or(State::Disabled),
                    reason: Reason::parse(r.get_ref(4)?.as_str()?),
                    since: r.get(5)?,
                    flags: Flags::parse(r.get_ref(6)?.as_str()?),
                },
                must_change: r.get(7)?,
                handout: HandoutState {
                    invitation: Invitation::parse(r.get_ref(8)?.as_str()?),
                    letter_printed: r.get(9)?,
                    signed_in: r.get(10)?,
                },
                group: r.get(11)?,
            },
        ))
    }

    pub(super) fn new(conn: &'c rusqlite::Connection, chosen: usize) -> Result<Self> {
        let all = if chosen > BULK_AFTER {
            let mut st = conn.prepare(Self::SQL)?;
            let rows = st.query_map([], Self::held)?;
            Some(rows.collect::<rusqlite::Result<_>>()?)
        } else {
            None
        };
        Ok(AccountsOf {
            one: conn.prepare_cached(&format!("{} WHERE a.person_id = ?1", Self::SQL))?,
            all,
        })
    }

    pub(super) fn get(&mut self, person_id: i64) -> Result<Option<Held>> {
        Ok(match &mut self.all {
            Some(all) => all.remove(&person_id),
            None => {
                rusqlite::OptionalExtension::optional(self.one.query_row([person_id], Self::held))?
                    .map(|(_, held)| held)
            }
        })
    }
}
