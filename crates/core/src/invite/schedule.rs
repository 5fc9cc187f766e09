//! Recurring invitations: every day or week, invite the accounts that
//! became eligible since the last run (new parents, new staff), and
//! optionally again those who have not accepted after N days. They run
//! while the app is open, and with `keyroll outbox run` from the OS's
//! scheduler.

use rusqlite::params;
use serde::Serialize;

use super::queue::{plan, queue, Queued, SendRequest};
use super::templates;
use crate::error::{Error, Result};
use crate::people::PeopleQuery;
use crate::store::Store;

/// How often a schedule runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Every {
    Day,
    Week,
}

impl Every {
    pub fn parse(s: &str) -> Option<Every> {
        match s {
            "day" | "daily" => Some(Every::Day),
            "week" | "weekly" => Some(Every::Week),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Every::Day => "day",
            Every::Week => "week",
        }
    }

    fn days(self) -> i64 {
        match self {
            Every::Day => 1,
            Every::Week => 7,
        }
    }
}

/// A recurring invitation.
#[derive(Clone, Debug, Serialize)]
pub struct Schedule {
    pub id: i64,
    pub every: Every,
    pub query: PeopleQuery,
    /// "" for each kind's own invitation.
    pub template: String,
    pub resend_after_days: Option<u32>,
    pub last_run_at: Option<String>,
    pub next_run_at: String,
}

/// Adds a schedule (its template checked now); its first run is due at
/// once.
pub fn add(
    store: &mut Store,
    actor: &str,
    every: Every,
    query: &PeopleQuery,
    template: &str,
    resend_after_days: Option<u32>,
) -> Result<i64> {
    if !template.is_empty() {
        templates::get(store, template)?;
    }
    let filter = serde_json::to_string(query).expect("queries serialise");
    let w = store.writer(actor)?;
    w.conn().execute(
        "INSERT INTO invite_schedule (every, filter, template, resend_after_days, created_at, next_run_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![every.as_str(), filter, template, resend_after_days, w.at()],
    )?;
    let id = w.conn().last_insert_rowid();
    w.audit(
        "invite_schedule.create",
        "invite_schedule",
        &id.to_string(),
        None,
        Some(&serde_json::json!({ "every": every.as_str(), "filter": query, "template": template, "resend_after_days": resend_after_days }).to_string()),
    )?;
    w.commit()?;
    Ok(id)
}

pub fn list(store: &Store) -> Result<Vec<Schedule>> {
    let mut st = store.conn().prepare(
        "SELECT id, every, filter, template, resend_after_days, last_run_at, next_run_at
         FROM invite_schedule ORDER BY id",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<u32>>(4)?,
            r.get::<_, Option<String>>(5)?,
            r.get::<_, String>(6)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, every, filter, template, resend_after_days, last_run_at, next_run_at) = row?;
        out.push(Schedule {
            id,
            every: Every::parse(&every).unwrap_or(Every::Week),
            query: serde_json::from_str(&filter).unwrap_or_default(),
            template,
            resend_after_days,
            last_run_at,
            next_run_at,
        });
    }
    Ok(out)
}

pub fn remove(store: &mut Store, actor: &str, id: i64) -> Result<()> {
    let w = store.writer(actor)?;
    let n = w
        .conn()
        .execute("DELETE FROM invite_schedule WHERE id = ?1", [id])?;
    if n == 0 {
        return Err(Error::Invalid(format!(
            "there is no schedule {id} (`keyroll invite schedule list` shows them)"
        )));
    }
    // Its queued messages stay; they simply no longer name it.
    w.conn().execute(
        "UPDATE outbox SET schedule_id = NULL WHERE schedule_id = ?1",
        [id],
    )?;
    w.audit(
        "invite_schedule.delete",
        "invite_schedule",
        &id.to_string(),
        Some("{}"),
        None,
    )?;
    Ok(w.commit()?)
}

/// What one due schedule did.
#[derive(Clone, Debug, Serialize)]
pub struct ScheduleRun {
    pub id: i64,
    pub queued: usize,
    /// Why it queued nothing, when it could not run.
    pub error: Option<String>,
}

/// Runs every schedule that is due: queues invitations for whoever is
/// eligible now, and moves its next run on.
pub fn run_due(store: &mut Store, actor: &str) -> Result<Vec<ScheduleRun>> {
    let now = crate::store::now();
    let due: Vec<Schedule> = list(store)?
        .into_iter()
        .filter(|s| s.next_run_at <= now)
        .collect();
    let mut out = Vec::new();
    for s in due {
        let template = match s.template.as_str() {
            "" => None,
            name => Some(templates::get(store, name)?),
        };
        let req = SendRequest {
            query: s.query.clone(),
            template,
            resend_after_days: s.resend_after_days,
            schedule_id: Some(s.id),
            ..Default::default()
        };
        let planned = plan(store, &req)?.count;
        let result: Result<Queued> = if planned == 0 {
            Ok(Queued::default())
        } else {
            queue(store, actor, &req, &mut |_, _| true)
        };
        let next = crate::accounts::lifecycle::days_before(&now, -s.every.days());
        let w = store.writer(actor)?;
        w.conn().execute(
            "UPDATE invite_schedule SET last_run_at = ?2, next_run_at = ?3 WHERE id = ?1",
            params![s.id, now, next],
        )?;
        w.commit()?;
        out.push(match result {
            Ok(q) => ScheduleRun {
                id: s.id,
                queued: q.queued,
                error: None,
            },
            Err(e) => ScheduleRun {
                id: s.id,
                queued: 0,
                error: Some(e.to_string()),
            },
        });
    }
    Ok(out)
}
