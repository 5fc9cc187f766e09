//! Account groups: every account is in exactly one; each kind's new
//! accounts join the group its policy names (created when missing).

use std::collections::HashMap;

use rusqlite::params;
use serde::Serialize;

use super::policy::{self, Policy};
use crate::error::{Error, Result};
use crate::people::Kind;
use crate::store::Writer;

/// A group with how many accounts it holds.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    /// student, staff or parent when it is that kind's default group.
    pub default_for: Option<String>,
    pub accounts: u64,
}

pub fn groups(conn: &rusqlite::Connection) -> Result<Vec<Group>> {
    let mut st = conn.prepare(
        "SELECT g.name, g.default_for, (SELECT count(*) FROM account a WHERE a.group_id = g.id)
         FROM user_group g ORDER BY g.name COLLATE NOCASE",
    )?;
    let rows = st.query_map([], |r| {
        Ok(Group {
            name: r.get(0)?,
            default_for: r.get(1)?,
            accounts: r.get::<_, i64>(2)? as u64,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn check_group_name(name: &str) -> Result<&str> {
    let name = name.trim();
    if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
        return Err(Error::Invalid(
            "a group name needs 1 to 64 characters, without line breaks".into(),
        ));
    }
    Ok(name)
}

/// Creates a group (audited); an existing name (case ignored) is an error.
pub fn create_group(w: &Writer, name: &str) -> Result<()> {
    let name = check_group_name(name)?;
    let added = w.conn().execute(
        "INSERT INTO user_group (name) VALUES (?1) ON CONFLICT (name) DO NOTHING",
        [name],
    )?;
    if added == 0 {
        return Err(Error::Invalid(format!(
            "there is already a group called \"{name}\""
        )));
    }
    let after = serde_json::json!({ "name": name });
    Ok(w.audit(
        "group.create",
        "group",
        name,
        None,
        Some(&after.to_string()),
    )?)
}

/// Renames a group (audited); its accounts stay in it.
pub fn rename_group(w: &Writer, from: &str, to: &str) -> Result<()> {
    let to = check_group_name(to)?;
    let clash: bool = w.conn().query_row(
        "SELECT EXISTS (SELECT 1 FROM user_group WHERE name = ?1 COLLATE NOCASE
                        AND name <> ?2 COLLATE NOCASE)",
        params![to, from.trim()],
        |r| r.get(0),
    )?;
    if clash {
        return Err(Error::Invalid(format!(
            "there is already a group called \"{to}\""
        )));
    }
    let changed = w.conn().execute(
        "UPDATE user_group SET name = ?2 WHERE name = ?1 COLLATE NOCASE",
        params![from.trim(), to],
    )?;
    if changed == 0 {
        return Err(Error::Invalid(format!(
            "there is no group called \"{from}\""
        )));
    }
    let (b, a) = (
        serde_json::json!({ "name": from.trim() }),
        serde_json::json!({ "name": to }),
    );
    w.audit(
        "group.rename",
        "group",
        to,
        Some(&b.to_string()),
        Some(&a.to_string()),
    )?;
    // A kind's default group keeps being its default under the new name.
    let mut p = policy::load(w.conn())?;
    for k in [&mut p.students, &mut p.staff, &mut p.parents] {
        if k.group.trim().eq_ignore_ascii_case(from.trim()) {
            k.group = to.to_owned();
        }
    }
    policy::save(w, &p)?;
    Ok(())
}

/// The group ids by name, creating the policy's groups if they are missing.
pub(super) fn ensure_groups(w: &Writer, policy: &Policy) -> Result<HashMap<String, i64>> {
    for (kind, k) in [
        (Kind::Student, &policy.students),
        (Kind::Staff, &policy.staff),
        (Kind::Contact, &policy.parents),
    ] {
        let added = w.conn().execute(
            "INSERT INTO user_group (name, kind, default_for) VALUES (?1, ?2, ?2)
             ON CONFLICT (name) DO NOTHING",
            params![k.group.trim(), kind.account_word()],
        )?;
        if added > 0 {
            let after = serde_json::json!({ "name": k.group.trim(), "kind": kind.account_word() });
            w.audit(
                "group.create",
                "group",
                k.group.trim(),
                None,
                Some(&after.to_string()),
            )?;
        }
    }
    let mut st = w.conn().prepare("SELECT name, id FROM user_group")?;
    let rows = st.query_map([], |r| {
        Ok((r.get::<_, String>(0)?.to_lowercase(), r.get(1)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
