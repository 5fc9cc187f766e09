//! `accounts generate`: makes the accounts people qualify for and keeps every
//! account in step with the SIS, by [`super::lifecycle::decide`]. It reads
//! everyone, decides (names are chosen in list order: students, staff,
//! parents, each by name, so who gets the number is stable and
//! explainable), then writes, in one audited transaction. A dry run only
//! reads, in one snapshot of the database.

use std::collections::{HashMap, HashSet};

use rusqlite::params;
use serde::Serialize;

use super::groups::ensure_groups;
use super::lifecycle::{self, Decision, Flags, Reason, Rules, Standing, State};
use super::naming::{taken_usernames, Namer};
use super::policy::{self, Credential, Policy};
use super::report::{display_name, Entry};
use super::{standing, stored};
use crate::error::{Error, Result};
use crate::people::{Kind, PersonRecord, RawFields, Status};
use crate::store::{Store, Writer};

/// The outcome of `generate`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Generated {
    pub dry_run: bool,
    pub created: u64,
    pub enabled: u64,
    pub disabled: u64,
    /// Disabled accounts whose reason changed (back to waiting for review,
    /// or another reason the account cannot be used).
    pub reviewed: u64,
    pub recycled: u64,
    pub flags_changed: u64,
    pub unchanged: u64,
    /// People who qualify but got no account (no email, a taken email…).
    pub problems: u64,
    #[serde(skip)]
    pub entries: Vec<Entry>,
}

/// Where a run of [`generate`] is, for a progress bar. Returning false from
/// the callback cancels the run (nothing is changed).
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Reading everyone and their accounts.
    Reading,
    /// Deciding who gets an account, and its username.
    Deciding { done: usize, total: usize },
    /// Writing the new accounts.
    Saving { done: usize, total: usize },
}

/// How often a long loop reports: often enough for a smooth bar, rarely
/// enough to cost nothing.
const REPORT_EVERY: usize = 4096;

/// How many entries a run keeps when the caller wants no full report: the
/// preview's list (problems are always kept).
const PREVIEW_ENTRIES: usize = 5000;

/// The fields an account's creation entry keeps, in order.
const CREATED_FIELDS: [&str; 5] = ["username", "state", "reason", "group", "flags"];

/// Makes and updates accounts by the policy as `actor`. `full_report`:
/// keep an entry for every change (for `--report`), not only the first
/// [`PREVIEW_ENTRIES`] and the problems.
pub fn generate(
    store: &mut Store,
    actor: &str,
    dry_run: bool,
    full_report: bool,
    progress: &mut dyn FnMut(Step) -> bool,
) -> Result<Generated> {
    let mut report = |step| match progress(step) {
        true => Ok(()),
        false => Err(Error::Cancelled),
    };
    report(Step::Reading)?;
    let policy = policy::load(store.conn())?;
    if dry_run {
        let snapshot = store.snapshot()?;
        let now = crate::store::now();
        let plan = plan(&snapshot, &policy, &now, full_report, &mut report)?;
        return Ok(Generated {
            dry_run,
            ..plan.outcome
        });
    }
    // Each account links a person and a group this run read in its own
    // transaction (see Store::with_foreign_keys_off).
    store.with_foreign_keys_off(|store| {
        // A first run into an empty account table only adds pages: like a
        // first import, it writes them once (see Store::begin_first_load).
        let first =
            store
                .conn()
                .query_row("SELECT NOT EXISTS (SELECT 1 FROM account)", [], |r| {
                    r.get::<_, bool>(0)
                })?;
        let mut run = |store: &mut Store| -> Result<Generated> {
            let w = store.writer(actor)?;
            let groups = ensure_groups(&w, &policy)?;
            let now = w.at().to_owned();
            let plan = plan(w.conn(), &policy, &now, full_report, &mut report)?;
            let outcome = write(&w, plan, &groups, &policy, &mut report)?;
            w.commit()?;
            Ok(outcome)
        };
        match first {
            true => store.with_first_load(run),
            false => run(store),
        }
    })
}

/// A person as generation sees them.
struct Person {
    id: i64,
    kind: Kind,
    status: Status,
    source: String,
    record: PersonRecord,
    raw_json: String,
    /// Boxed: most people have none on a first run, and the record is
    /// large (everyone is held at once).
    account: Option<Box<Held>>,
}

struct Held {
    id: i64,
    username: String,
    account: lifecycle::Account,
    group: String,
}

/// Everyone, in list order, with their account. `with_raw`: also the raw
/// SIS fields (only a pattern naming one needs them, and they are large).
#[allow(clippy::vec_box)]
fn load_people(conn: &rusqlite::Connection, with_raw: bool) -> Result<Vec<Box<Person>>> {
    // The list order decides who gets a username without a number. The
    // list index holds it already: one pass over that small index gives
    // each person their place, and one pass over the table in row order
    // (not the index's order, which would visit the large encrypted rows at
    // random) fills the places.
    let mut place: HashMap<i64, usize> = HashMap::new();
    let mut st =
        conn.prepare("SELECT id FROM person INDEXED BY person_list ORDER BY sort_key, id")?;
    for id in st.query_map([], |r| r.get::<_, i64>(0))? {
        let next = place.len();
        place.insert(id?, next);
    }
    // Boxed: the places are filled out of order, and moving pointers rather
    // than whole records keeps one copy of everyone in memory.
    let mut slots: Vec<Option<Box<Person>>> =
        std::iter::repeat_with(|| None).take(place.len()).collect();
    let mut st = conn.prepare(
        "SELECT p.id, p.kind, p.status, p.sis_id, p.given_name, p.middle_name, p.family_name,
                p.preferred_name, p.email, p.year_level, p.home_group,
                CASE WHEN ?1 THEN p.raw ELSE '{}' END, p.source,
                a.id, a.username, a.state, a.state_reason, a.state_changed_at, a.flags, g.name
         FROM person p
         LEFT JOIN account a ON a.person_id = p.id
         LEFT JOIN user_group g ON g.id = a.group_id",
    )?;
    let mut rows = st.query([with_raw])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let kind = Kind::parse(r.get_ref(1)?.as_str()?).unwrap_or(Kind::Contact);
        let status = Status::parse(r.get_ref(2)?.as_str()?).unwrap_or(Status::Active);
        let account = match r.get::<_, Option<i64>>(13)? {
            Some(account_id) => Some(Box::new(Held {
                id: account_id,
                username: r.get(14)?,
                account: lifecycle::Account {
                    state: State::parse(r.get_ref(15)?.as_str()?).unwrap_or(State::Disabled),
                    reason: Reason::parse(r.get_ref(16)?.as_str()?),
                    since: r.get(17)?,
                    flags: Flags::parse(r.get_ref(18)?.as_str()?),
                },
                group: r.get::<_, Option<String>>(19)?.unwrap_or_default(),
            })),
            None => None,
        };
        let Some(&at) = place.get(&id) else {
            continue; // (one transaction: the index and the table agree)
        };
        slots[at] = Some(Box::new(Person {
            id,
            kind,
            status,
            source: r.get(12)?,
            record: PersonRecord {
                sis_id: r.get(3)?,
                kind: Some(kind),
                given_name: r.get(4)?,
                middle_name: r.get(5)?,
                family_name: r.get(6)?,
                preferred_name: r.get(7)?,
                email: r.get(8)?,
                year_level: r.get(9)?,
                home_group: r.get(10)?,
                status: Some(status),
                ..Default::default()
            },
            raw_json: r.get(11)?,
            account,
        }));
    }
    Ok(slots.into_iter().flatten().collect())
}

/// An account to create, once every username is chosen.
struct NewAccount {
    person_id: i64,
    username: String,
    state: State,
    reason: Reason,
    kind: Kind,
    flags: Flags,
    /// The audit log's key.
    key: String,
}

/// An account to change.
struct Changed {
    id: i64,
    key: String,
    before: lifecycle::Account,
    after: lifecycle::Account,
    action: &'static str,
}

/// What a run will do.
struct Plan {
    creates: Vec<NewAccount>,
    changes: Vec<Changed>,
    outcome: Generated,
}

/// What generating would do now, from one read of `conn` (wrap it in a
/// transaction for one moment of the database): nothing is written, no
/// group is made. For the Home screen's "who qualifies but has no account".
pub fn preview(conn: &rusqlite::Connection) -> Result<Generated> {
    let policy = policy::load(conn)?;
    let now = crate::store::now();
    let plan = plan(conn, &policy, &now, true, &mut |_| Ok(()))?;
    Ok(Generated {
        dry_run: true,
        ..plan.outcome
    })
}

/// Reads everyone and decides what to do, writing nothing.
fn plan(
    conn: &rusqlite::Connection,
    policy: &Policy,
    now: &str,
    full_report: bool,
    report: &mut dyn FnMut(Step) -> Result<()>,
) -> Result<Plan> {
    let mut namer = Namer::new(policy, taken_usernames(conn, now)?)?;
    // Raw SIS fields are read only when a pattern names one.
    let needs_raw: HashSet<Kind> = namer.kinds_needing_raw();
    let people = load_people(conn, !needs_raw.is_empty())?;
    let current: HashSet<i64> = people
        .iter()
        .filter(|p| p.status.is_current())
        .map(|p| p.id)
        .collect();
    let links = standing::everyone(conn, |id| current.contains(&id))?;
    let rules = Rules::from(policy);
    let mut plan = Plan {
        creates: Vec::new(),
        changes: Vec::new(),
        outcome: Generated::default(),
    };
    let total = people.len();
    for (done, mut person) in people.into_iter().enumerate() {
        if done % REPORT_EVERY == 0 {
            report(Step::Deciding { done, total })?;
        }
        if person.account.is_none() && needs_raw.contains(&person.kind) {
            person.record.raw = RawFields::from_json(std::mem::take(&mut person.raw_json));
        }
        let standing = Standing {
            kind: person.kind,
            status: person.status,
            has_email: !person.record.email.trim().is_empty(),
            links: links.get(&person.id).copied().unwrap_or_default(),
        };
        let account = person.account.as_ref().map(|h| &h.account);
        let decision = lifecycle::decide(account, &standing, &rules, now);
        decide_one(
            &mut plan,
            &mut namer,
            policy,
            &person,
            decision,
            full_report,
        );
    }
    Ok(plan)
}

/// Adds `person`'s decision to the plan.
fn decide_one(
    plan: &mut Plan,
    namer: &mut Namer,
    policy: &Policy,
    person: &Person,
    decision: Decision,
    full_report: bool,
) {
    let out = &mut plan.outcome;
    let kind = person.kind;
    let entry =
        |action, username: &str, state: &str, group: &str, flags: Flags, reason: &str| Entry {
            person_id: person.id,
            action,
            kind: kind.account_word(),
            sis_id: person.record.sis_id.clone(),
            name: display_name(
                &person.record.preferred_name,
                &person.record.given_name,
                &person.record.family_name,
            ),
            username: username.to_owned(),
            state: state.to_owned(),
            group: group.to_owned(),
            flags: flags.names(),
            reason: reason.to_owned(),
        };
    let keep_entry = |out: &Generated| full_report || out.entries.len() < PREVIEW_ENTRIES;
    match decision {
        Decision::Nothing => {}
        Decision::Keep => out.unchanged += 1,
        Decision::Create {
            state,
            reason,
            flags,
        } => {
            let username = match namer.pick(kind, &person.record) {
                Ok(u) => u,
                Err(why) => {
                    out.problems += 1;
                    let e = entry("problem", "", "none", "", Flags::default(), &why);
                    out.entries.push(e);
                    return;
                }
            };
            out.created += 1;
            if keep_entry(out) {
                let group = policy.for_kind(kind).group.trim();
                let e = entry(
                    "create",
                    &username,
                    state.as_str(),
                    group,
                    flags,
                    &reason.text(),
                );
                out.entries.push(e);
            }
            plan.creates.push(NewAccount {
                person_id: person.id,
                username,
                state,
                reason,
                kind,
                flags,
                key: stored::key(kind, &person.source, &person.record.sis_id),
            });
        }
        Decision::Change {
            state,
            reason,
            flags,
            change,
        } => {
            let held = person.account.as_ref().expect("a change is to an account");
            match change {
                lifecycle::Transition::Disable => out.disabled += 1,
                lifecycle::Transition::Enable => out.enabled += 1,
                lifecycle::Transition::Review => out.reviewed += 1,
                lifecycle::Transition::Recycle => out.recycled += 1,
                lifecycle::Transition::Flags => out.flags_changed += 1,
            }
            if keep_entry(out) {
                let e = entry(
                    change.word(),
                    &held.username,
                    state.as_str(),
                    &held.group,
                    flags,
                    &reason.text(),
                );
                out.entries.push(e);
            }
            let after = lifecycle::Account {
                state,
                reason,
                since: held.account.since.clone(),
                flags,
            };
            plan.changes.push(Changed {
                id: held.id,
                key: stored::key(kind, &person.source, &person.record.sis_id),
                before: held.account.clone(),
                after,
                action: change.action(),
            });
        }
    }
}

/// Writes the plan: the changes, then the new accounts (in row order: each
/// insert checks its person exists, and in name order those checks would
/// read the encrypted rows at random), with one creation entry per
/// [`crate::audit::PER_ROW`] of them.
fn write(
    w: &Writer,
    plan: Plan,
    groups: &HashMap<String, i64>,
    policy: &Policy,
    report: &mut dyn FnMut(Step) -> Result<()>,
) -> Result<Generated> {
    let now = w.at().to_owned();
    let mut update = w.conn().prepare(
        "UPDATE account SET state = ?2, state_reason = ?3, state_changed_at = ?4, flags = ?5,
                version = version + 1
         WHERE id = ?1",
    )?;
    for c in &plan.changes {
        let state_changed = (c.before.state, &c.before.reason) != (c.after.state, &c.after.reason);
        let since = if state_changed { &now } else { &c.before.since };
        let (before, after) = (&c.before, &c.after);
        update.execute(params![
            c.id,
            after.state.as_str(),
            after.reason.text(),
            since,
            after.flags.text()
        ])?;
        let json = |a: &lifecycle::Account| {
            serde_json::json!({ "state": a.state.as_str(), "reason": a.reason.text(),
                                "flags": a.flags.text() })
            .to_string()
        };
        w.audit(
            c.action,
            "account",
            &c.key,
            Some(&json(before)),
            Some(&json(after)),
        )?;
    }
    drop(update);
    let mut creates = plan.creates;
    creates.sort_by_key(|c| c.person_id);
    let mut insert = w.conn().prepare(
        "INSERT INTO account (person_id, username, state, group_id, must_change_password,
                              invitation, flags, state_reason, state_changed_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'not_sent', ?6, ?7, ?8, ?8)",
    )?;
    let total = creates.len();
    let mut created = Vec::with_capacity(total);
    for (done, c) in creates.into_iter().enumerate() {
        if done % REPORT_EVERY == 0 {
            report(Step::Saving { done, total })?;
        }
        let k = policy.for_kind(c.kind);
        let group = k.group.trim();
        insert.execute(params![
            c.person_id,
            c.username,
            c.state.as_str(),
            groups[&group.to_lowercase()],
            k.credential == Credential::InitialPassword,
            c.flags.text(),
            c.reason.text(),
            now
        ])?;
        let values = [
            c.username.as_str(),
            c.state.as_str(),
            &c.reason.text(),
            group,
            &c.flags.text(),
        ];
        created.push(crate::audit::Created {
            key: c.key,
            values: serde_json::to_string(&values).expect("strings serialise"),
            extra: String::new(),
        });
    }
    drop(insert);
    crate::audit::record_created(w, "account", &now, &CREATED_FIELDS, created)?;
    Ok(plan.outcome)
}
