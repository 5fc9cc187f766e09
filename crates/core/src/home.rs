//! What needs doing, for the Home screen: parents waiting for review,
//! people who qualify for an account but have none (and why), accounts
//! never handed out, parent accounts the SIS took away, the last import's
//! rejected rows. Each item says how many, in the office's words, and which
//! people it means (a filter the app opens as a list).

use serde::Serialize;

use crate::accounts::lifecycle::Reason;
use crate::error::Result;
use crate::people::{Kind, PeopleQuery};

/// One thing to do.
#[derive(Clone, Debug, Serialize)]
pub struct Item {
    /// What it is, for the app: parents_waiting, no_account, cannot_have,
    /// not_handed_out, standing_lost, emails_failed, emails_unsure,
    /// sync_conflicts, sync_pending, import_rejected.
    pub what: &'static str,
    pub count: u64,
    /// In the office's words, with `{count}` where the number goes (the app
    /// writes it as the computer's language does; [`Item::title_text`]
    /// writes 1,204).
    pub title: String,
    /// More about it: the reasons, or what to do.
    pub detail: String,
    /// The people it means, as the people table's filter (None: not a list
    /// of people, such as an import's rejected rows).
    pub people: Option<PeopleQuery>,
}

impl Item {
    /// The title with its number written in.
    pub fn title_text(&self) -> String {
        self.title.replace("{count}", &format_count(self.count))
    }
}

/// Everything that needs doing now, most urgent first; nothing is written.
/// (Working out who qualifies reads everyone, which takes a while for a
/// large school.)
pub fn todo(conn: &rusqlite::Connection) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    let count = |q: &PeopleQuery| crate::people::count(conn, q);
    let recycle_days = crate::accounts::policy::load(conn)?.recycle_after_days;
    let waiting = PeopleQuery {
        kind: Some(Kind::Contact),
        state: Some("disabled".into()),
        reasons: vec![Reason::WaitingForReview.text().into_owned()],
        ..Default::default()
    };
    let n = count(&waiting)?;
    if n > 0 {
        items.push(Item {
            what: "parents_waiting",
            count: n,
            title: format!(
                "{} waiting for review",
                plural(n, "parent account is", "parent accounts are")
            ),
            detail: "Check each parent's children and contact details, then enable their accounts."
                .into(),
            people: Some(waiting),
        });
    }
    let lost = PeopleQuery {
        kind: Some(Kind::Contact),
        state: Some("disabled".into()),
        reasons: [
            Reason::NoResponsibility,
            Reason::NotPrimary,
            Reason::NotLinked,
            Reason::AllChildrenLeft,
            Reason::ContactLeft,
        ]
        .iter()
        .map(|r| r.text().into_owned())
        .collect(),
        ..Default::default()
    };
    let n = count(&lost)?;
    if n > 0 {
        items.push(Item {
            what: "standing_lost",
            count: n,
            title: format!(
                "{} disabled because the SIS changed",
                plural(n, "parent account was", "parent accounts were")
            ),
            detail: format!(
                "Their parental responsibility or primary role was withdrawn, their links were \
                 removed, or they or their children left. If the SIS gives it back, the account \
                 waits for review again; one whose links were removed, or who or whose children \
                 left, goes to the recycle bin {} days after it was disabled.",
                recycle_days
            ),
            people: Some(lost),
        });
    }
    let plan = crate::accounts::preview(conn)?;
    if plan.created > 0 {
        items.push(Item {
            what: "no_account",
            count: plan.created,
            title: format!(
                "{} for an account and {} none yet",
                plural(plan.created, "person qualifies", "people qualify"),
                if plan.created == 1 { "has" } else { "have" }
            ),
            detail: "Generate accounts to make them (you will see a preview first).".into(),
            people: Some(PeopleQuery {
                ids: plan
                    .entries
                    .iter()
                    .filter(|e| e.action == "create")
                    .map(|e| e.person_id)
                    .collect(),
                ..Default::default()
            }),
        });
    }
    if plan.problems > 0 {
        let mut reasons: Vec<(String, u64)> = Vec::new();
        for e in plan.entries.iter().filter(|e| e.action == "problem") {
            let why = problem_kind(&e.reason);
            match reasons.iter_mut().find(|(r, _)| *r == why) {
                Some((_, n)) => *n += 1,
                None => reasons.push((why, 1)),
            }
        }
        reasons.sort_by_key(|r| std::cmp::Reverse(r.1));
        let detail: Vec<String> = reasons.iter().map(|(r, n)| format!("{r}: {n}")).collect();
        items.push(Item {
            what: "cannot_have",
            count: plan.problems,
            title: format!(
                "{} for an account but cannot get one",
                plural(plan.problems, "person qualifies", "people qualify")
            ),
            detail: detail.join("; "),
            people: Some(PeopleQuery {
                ids: plan
                    .entries
                    .iter()
                    .filter(|e| e.action == "problem")
                    .map(|e| e.person_id)
                    .collect(),
                ..Default::default()
            }),
        });
    }
    let not_handed_out = PeopleQuery {
        new: true,
        ..Default::default()
    };
    let n = count(&not_handed_out)?;
    if n > 0 {
        items.push(Item {
            what: "not_handed_out",
            count: n,
            title: format!(
                "{} never sent a letter or an invitation",
                plural(n, "account was", "accounts were")
            ),
            detail: "They are flagged NEW until a letter is printed, an invitation is sent or the \
                     owner signs in."
                .into(),
            people: Some(not_handed_out),
        });
    }
    for (status, what, title, detail) in [
        (
            "failed",
            "emails_failed",
            ("email failed", "emails failed"),
            "The school's email server refused them: the Invitations screen's outbox shows its \
             reason for each. Correct the address in the SIS, or retry.",
        ),
        (
            "unsure",
            "emails_unsure",
            ("email may have been sent", "emails may have been sent"),
            "Keyroll stopped while sending them. Resend them (the same link, so a second copy \
             is harmless) or dismiss them, in the Invitations screen's outbox.",
        ),
    ] {
        let ids: Vec<i64> = conn
            .prepare_cached("SELECT DISTINCT person_id FROM outbox WHERE status = ?1")?
            .query_map([status], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if !ids.is_empty() {
            let n = ids.len() as u64;
            items.push(Item {
                what,
                count: n,
                title: plural(n, title.0, title.1),
                detail: detail.into(),
                people: Some(PeopleQuery {
                    ids,
                    ..Default::default()
                }),
            });
        }
    }
    sync_items(conn, &mut items)?;
    if let Some(last) = crate::import::last(conn)? {
        // Rows, not problems: a row with two is one row left out. (Imports
        // recorded before counts had rows say only how many problems.)
        let rejected = match last.counts.get("warnings") {
            Some(_) => last.counts["rejected"].as_u64().unwrap_or(0),
            None => last.exceptions.as_array().map_or(0, Vec::len) as u64,
        };
        if rejected > 0 && last.rolled_back_at.is_none() {
            items.push(Item {
                what: "import_rejected",
                count: rejected,
                title: format!(
                    "The last import (number {}) left out {}",
                    last.id,
                    plural(rejected, "row", "rows")
                ),
                detail: "Correct them in the SIS and import again; the Import screen lists each \
                         one by file, line and column."
                    .into(),
                people: None,
            });
        }
    }
    Ok(items)
}

/// Once a school server is set up: conflicts to decide, then what waits
/// for the next sync (the Sync screen shows both).
fn sync_items(conn: &rusqlite::Connection, items: &mut Vec<Item>) -> Result<()> {
    let s = crate::sync::status(conn)?;
    if s.server.is_empty() {
        return Ok(());
    }
    if s.conflicts > 0 {
        items.push(Item {
            what: "sync_conflicts",
            count: s.conflicts,
            title: plural(
                s.conflicts,
                "change was made both here and on the school server",
                "changes were made both here and on the school server",
            ),
            detail: "Nothing is sent either way until the office decides: the Sync screen shows \
                     both sides, to keep one."
                .into(),
            people: None,
        });
    }
    let pending = s.pending;
    if pending > 0 {
        let last = match &s.last_sync {
            Some(at) => format!("since the last sync ({})", &at[..at.len().min(10)]),
            None => "never synced yet".into(),
        };
        items.push(Item {
            what: "sync_pending",
            count: pending,
            title: format!(
                "{} to send to the school server",
                plural(pending, "account change waits", "account changes wait")
            ),
            detail: format!(
                "{} new, {} changed, {} unlocks, {last}. Sync when this computer is online.",
                s.to_create, s.to_update, s.unlocks
            ),
            people: None,
        });
    }
    Ok(())
}

/// A problem's reason without the particular name ("the username \"x\" is
/// taken" is "the username is taken").
fn problem_kind(reason: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    for c in reason.chars() {
        match c {
            '"' => quoted = !quoted,
            _ if quoted => {}
            _ => out.push(c),
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// "{count} rows", or "{count} row" for one.
fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{{count}} {}", if n == 1 { one } else { many })
}

/// 1204 as "1,204".
fn format_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_school_is_told_what_to_do_in_order() {
        let (_dir, store, _) = crate::testing::imported_school(40);
        let items = todo(store.conn()).unwrap();
        let what: Vec<&str> = items.iter().map(|i| i.what).collect();
        assert_eq!(what[0], "no_account", "{items:?}");
        let n = crate::accounts::preview(store.conn()).unwrap().created;
        assert_eq!(items[0].count, n);
        assert_eq!(
            crate::people::count(store.conn(), items[0].people.as_ref().unwrap()).unwrap(),
            n,
            "the list it opens has them all"
        );

        let (_dir, store, _) = crate::testing::demo_school(40);
        let items = todo(store.conn()).unwrap();
        let waiting = items.iter().find(|i| i.what == "parents_waiting").unwrap();
        assert!(
            waiting.title.ends_with("waiting for review"),
            "{}",
            waiting.title
        );
        let q = waiting.people.as_ref().unwrap();
        assert_eq!(
            crate::people::count(store.conn(), q).unwrap(),
            waiting.count
        );
        assert!(items.iter().any(|i| i.what == "not_handed_out"));
        assert!(!items.iter().any(|i| i.what == "no_account"), "{items:?}");
    }

    #[test]
    fn problems_are_grouped_without_names() {
        assert_eq!(
            problem_kind("the username \"zoe.lee\" is taken"),
            "the username is taken"
        );
        assert_eq!(format_count(1204), "1,204");
        assert_eq!(plural(1, "row", "rows"), "{count} row");
        let item = Item {
            what: "import_rejected",
            count: 262_311,
            title: plural(262_311, "row", "rows"),
            detail: String::new(),
            people: None,
        };
        assert_eq!(item.title_text(), "262,311 rows");
    }
}
