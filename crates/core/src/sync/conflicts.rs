//! Conflicts the office decides, and the office's own requests to the
//! server (an unlock) that wait for the next push.

use serde_json::{json, Value};

use super::pull;
use crate::store::{Store, Writer};
use crate::{Error, Result};

/// A field both sides changed since the last sync.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Conflict {
    pub id: i64,
    pub account_id: i64,
    pub username: String,
    pub field: String,
    pub keyroll: String,
    pub server: String,
    /// When the server's copy last changed.
    pub server_since: String,
    /// In the office's words: "Keyroll says …, the server says … since …".
    pub summary: String,
}

/// Which side the office keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    Keyroll,
    Server,
}

pub fn conflicts(store: &Store) -> Result<Vec<Conflict>> {
    of_account(store.conn(), None)
}

/// The conflicts of one account, or (None) of every account.
pub(super) fn of_account(
    conn: &rusqlite::Connection,
    account: Option<i64>,
) -> Result<Vec<Conflict>> {
    let mut st = conn.prepare(
        "SELECT c.id, c.account_id, a.username, c.field, c.keyroll, c.server, c.server_since
         FROM sync_conflict c JOIN account a ON a.id = c.account_id
         WHERE ?1 IS NULL OR c.account_id = ?1 ORDER BY c.id",
    )?;
    let rows = st.query_map([account], |r| {
        let field: String = r.get(3)?;
        let keyroll: String = r.get(4)?;
        let server: String = r.get(5)?;
        let since: String = r.get(6)?;
        Ok(Conflict {
            id: r.get(0)?,
            account_id: r.get(1)?,
            username: r.get(2)?,
            summary: summary(&field, &keyroll, &server, &since),
            field,
            keyroll,
            server,
            server_since: since,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn summary(field: &str, keyroll: &str, server: &str, since: &str) -> String {
    let words = |v: &str| match (field, v) {
        ("active", "true") => "enabled".to_owned(),
        ("active", _) => "disabled".to_owned(),
        (_, v) => serde_json::from_str::<String>(v).unwrap_or_else(|_| v.to_owned()),
    };
    let what = match field {
        "userName" => "the username is",
        _ => "it is",
    };
    let since = match since.get(..10) {
        Some(day) => format!(" since {day}"),
        None => String::new(),
    };
    format!(
        "Keyroll says {what} {}, the server says {}{since}",
        words(keyroll),
        words(server)
    )
}

/// Keeps one side of a conflict (`id`), or of every conflict (None). The
/// kept value goes to the other side on the next sync; audited.
pub fn resolve(store: &mut Store, actor: &str, id: Option<i64>, keep: Keep) -> Result<usize> {
    let chosen: Vec<Conflict> = conflicts(store)?
        .into_iter()
        .filter(|c| id.is_none_or(|id| c.id == id))
        .collect();
    if chosen.is_empty() {
        return Err(Error::Invalid(match id {
            Some(id) => format!("there is no conflict {id}: see `keyroll sync conflicts`"),
            None => "there are no conflicts to resolve".into(),
        }));
    }
    store.write(actor, |w| {
        for c in &chosen {
            settle(w, c, keep)?;
        }
        Ok::<_, Error>(())
    })?;
    Ok(chosen.len())
}

fn settle(w: &Writer, c: &Conflict, keep: Keep) -> Result<()> {
    let server: Value = serde_json::from_str(&c.server).unwrap_or(Value::Null);
    if keep == Keep::Server {
        match c.field.as_str() {
            "active" => {
                let state: String = w.conn().query_row(
                    "SELECT state FROM account WHERE id = ?1",
                    [c.account_id],
                    |r| r.get(0),
                )?;
                pull::take_active(w, c.account_id, &c.username, &state, server == json!(true))?;
            }
            _ => rename(w, c, server.as_str().unwrap_or_default())?,
        }
    }
    // The base becomes the server's value: the next pull sees no change
    // there, and the next push (the account marked pending) sends
    // Keyroll's if it still differs.
    let pushed: String = w.conn().query_row(
        "SELECT pushed FROM sync_account WHERE account_id = ?1",
        [c.account_id],
        |r| r.get(0),
    )?;
    let mut pushed: Value = serde_json::from_str(&pushed).unwrap_or(json!({}));
    pushed[c.field.as_str()] = server;
    w.conn().execute(
        "UPDATE sync_account SET pushed = ?2, version = -1 WHERE account_id = ?1",
        rusqlite::params![c.account_id, pushed.to_string()],
    )?;
    w.conn()
        .execute("DELETE FROM sync_conflict WHERE id = ?1", [c.id])?;
    w.audit(
        "sync.conflict_resolved",
        "account",
        &c.username,
        Some(&json!({"field": c.field, "keyroll": c.keyroll, "server": c.server}).to_string()),
        Some(
            &json!({"kept": match keep { Keep::Keyroll => "keyroll", Keep::Server => "server" }})
                .to_string(),
        ),
    )?;
    Ok(())
}

fn rename(w: &Writer, c: &Conflict, to: &str) -> Result<()> {
    if to.is_empty() {
        return Err(Error::Invalid(format!(
            "the server has no username for {}: keep Keyroll's",
            c.username
        )));
    }
    let taken: bool = w.conn().query_row(
        "SELECT EXISTS (SELECT 1 FROM account WHERE username = ?1 AND id != ?2)",
        rusqlite::params![to, c.account_id],
        |r| r.get(0),
    )?;
    if taken {
        return Err(Error::Invalid(format!(
            "{to} (the server's username for {}) belongs to another account in Keyroll: \
             keep Keyroll's, or rename that account first",
            c.username
        )));
    }
    w.conn().execute(
        "UPDATE account SET username = ?2, version = version + 1 WHERE id = ?1",
        rusqlite::params![c.account_id, to],
    )?;
    w.audit(
        "account.renamed",
        "account",
        &c.username,
        Some(&json!({"username": c.username}).to_string()),
        Some(&json!({"username": to, "by": "the school server"}).to_string()),
    )?;
    Ok(())
}

/// Asks the server to unlock these accounts (by username) on the next
/// push. Returns how many were locked or already waiting.
pub fn request_unlock(store: &mut Store, actor: &str, usernames: &[String]) -> Result<usize> {
    store.write(actor, |w| {
        let mut n = 0;
        for u in usernames {
            let changed = w.conn().execute(
                "UPDATE account SET unlock_requested = 1 WHERE username = ?1",
                [u],
            )?;
            if changed == 0 {
                return Err(Error::Invalid(format!("there is no account {u}")));
            }
            w.audit("sync.unlock_requested", "account", u, None, None)?;
            n += changed;
        }
        Ok(n)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conflict_is_said_in_the_offices_words() {
        assert_eq!(
            summary("active", "false", "true", "2026-03-03T08:00:00Z"),
            "Keyroll says it is disabled, the server says enabled since 2026-03-03"
        );
        assert_eq!(
            summary("userName", "\"ng.alex\"", "\"alex.ng\"", ""),
            "Keyroll says the username is ng.alex, the server says alex.ng"
        );
    }
}
