//! Accounts: who gets one, their usernames, states, groups and flags, by the
//! school's policy. `generate` makes the accounts people qualify for and
//! keeps every account in step with the SIS (leavers disabled, never
//! deleted); batch actions change chosen accounts. Everything is previewed
//! (a dry run) before it is written, audited, and reported.

pub mod password;
pub mod policy;
pub mod username;

use std::collections::{HashMap, HashSet};

use rusqlite::params;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::people::{Kind, PersonRecord, RawFields, Status};
use crate::store::{Store, Writer};
use policy::{EmailPart, Numbering, ParentContacts, Policy, UsernameRule};
use username::Pattern;

/// A username is not given out again this long after its account is gone.
pub const REUSE_AFTER_DAYS: i64 = 365;

/// What `generate` does (or, in a dry run, would do) to one person's account.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Entry {
    /// create, enable, disable, recycle, flags, or problem.
    pub action: &'static str,
    /// student, staff or parent.
    pub kind: &'static str,
    pub sis_id: String,
    pub name: String,
    pub username: String,
    pub state: String,
    pub group: String,
    pub flags: Vec<&'static str>,
    /// Why: "left the school", "waiting for review", or the problem.
    pub reason: String,
}

/// The outcome of `generate`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Generated {
    pub dry_run: bool,
    pub created: u64,
    pub enabled: u64,
    pub disabled: u64,
    pub recycled: u64,
    pub flags_changed: u64,
    pub unchanged: u64,
    /// People who qualify but got no account (no email, a taken email…).
    pub problems: u64,
    #[serde(skip)]
    pub entries: Vec<Entry>,
}

/// A person as generation sees them.
struct Person {
    id: i64,
    kind: Kind,
    status: Status,
    record: PersonRecord,
    raw_json: String,
    /// Boxed: most people have none on a first run, and the record is
    /// large (a quarter of a million of them are held at once).
    account: Option<Box<Account>>,
}

struct Account {
    id: i64,
    username: String,
    state: String,
    reason: String,
    changed_at: String,
    flags: String,
    group: String,
}

/// What the links say about a person.
#[derive(Default, Clone, Copy)]
struct LinkFacts {
    /// Contact: holds parental responsibility for at least one student.
    responsible: bool,
    /// Contact: a primary contact with responsibility for at least one student.
    primary: bool,
    /// Contact: students they are responsible for who are current.
    current_children: u32,
    /// Contact: students they are responsible for.
    children: u32,
    access_restricted: bool,
    no_reports: bool,
}

/// What the links say about each person; `current` tells whether a student
/// (by row id) is at the school. (Statuses come from the caller, who has
/// read every person already: joining here would read the rows again.)
fn link_facts(
    conn: &rusqlite::Connection,
    current: impl Fn(i64) -> bool,
) -> Result<HashMap<i64, LinkFacts>> {
    let mut out: HashMap<i64, LinkFacts> = HashMap::new();
    let mut st = conn.prepare(
        "SELECT student_id, contact_id, parental_responsibility, primary_contact,
                access_restricted, no_reports
         FROM relationship",
    )?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let (student, contact): (i64, i64) = (r.get(0)?, r.get(1)?);
        let (responsible, primary, ar, nr): (bool, bool, bool, bool) =
            (r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?);
        let current = current(student);
        let c = out.entry(contact).or_default();
        if responsible {
            c.responsible = true;
            c.primary |= primary;
            c.children += 1;
            c.current_children += u32::from(current);
        }
        c.access_restricted |= ar;
        c.no_reports |= nr;
        out.entry(student).or_default().access_restricted |= ar;
    }
    Ok(out)
}

/// Everyone, in list order, with their account. `with_raw`: also the raw
/// SIS fields (only a pattern naming one needs them, and they are large).
#[allow(clippy::vec_box)]
fn load_people(conn: &rusqlite::Connection, with_raw: bool) -> Result<Vec<Box<Person>>> {
    // The list order (students, staff, parents, each by name) decides who
    // gets a username without a number. The list index holds it already:
    // one pass over that small index gives each person their place, and one
    // pass over the table in row order (not the index's order, which would
    // visit the large encrypted rows at random) fills the places. Sorting the
    // records by name instead took half a second for a large school.
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
                CASE WHEN ?1 THEN p.raw ELSE '{}' END,
                a.id, a.username, a.state, a.state_reason, a.state_changed_at, a.flags, g.name
         FROM person p
         LEFT JOIN account a ON a.person_id = p.id
         LEFT JOIN user_group g ON g.id = a.group_id",
    )?;
    let mut rows = st.query([with_raw])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let kind = Kind::parse(&r.get::<_, String>(1)?).unwrap_or(Kind::Contact);
        let status = Status::parse(&r.get::<_, String>(2)?).unwrap_or(Status::Active);
        let account = match r.get::<_, Option<i64>>(12)? {
            Some(id) => Some(Box::new(Account {
                id,
                username: r.get(13)?,
                state: r.get(14)?,
                reason: r.get(15)?,
                changed_at: r.get(16)?,
                flags: r.get(17)?,
                group: r.get::<_, Option<String>>(18)?.unwrap_or_default(),
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

/// Usernames not to give out: every account's (in any state, the recycle
/// bin too) and those retired less than a year ago, lower-cased.
fn taken_usernames(conn: &rusqlite::Connection, now: &str) -> Result<HashSet<String>> {
    let mut taken = HashSet::new();
    let mut st = conn.prepare("SELECT lower(username) FROM account")?;
    for u in st.query_map([], |r| r.get::<_, String>(0))? {
        taken.insert(u?);
    }
    let cutoff = days_before(now, REUSE_AFTER_DAYS);
    let mut st =
        conn.prepare("SELECT lower(username) FROM retired_username WHERE retired_at > ?1")?;
    for u in st.query_map([cutoff], |r| r.get::<_, String>(0))? {
        taken.insert(u?);
    }
    Ok(taken)
}

/// `now` (RFC 3339) minus `days`, as RFC 3339 text (sorts as text).
fn days_before(now: &str, days: i64) -> String {
    let format = time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::parse(now, &format)
        .map(|t| t - time::Duration::days(days))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// Picks usernames by the policy, avoiding `taken` (and adding each pick).
struct Namer<'a> {
    policy: &'a Policy,
    patterns: HashMap<Kind, Pattern>,
    taken: HashSet<String>,
    blocked: HashSet<String>,
    /// The last number given for each username base: a school with 70
    /// Emily Smiths must not try 2, 3… 69 again for the 70th.
    last_number: HashMap<String, u32>,
}

impl<'a> Namer<'a> {
    fn new(policy: &'a Policy, taken: HashSet<String>) -> Result<Namer<'a>> {
        let mut patterns = HashMap::new();
        for kind in [Kind::Student, Kind::Staff, Kind::Contact] {
            if let UsernameRule::Pattern(p) = &policy.for_kind(kind).username {
                let parsed = Pattern::parse(p).map_err(Error::Import)?;
                patterns.insert(kind, parsed);
            }
        }
        let blocked = policy
            .blocklist
            .iter()
            .map(|b| b.trim().to_lowercase())
            .collect();
        Ok(Namer {
            policy,
            patterns,
            taken,
            blocked,
            last_number: HashMap::new(),
        })
    }

    fn free(&self, u: &str) -> bool {
        let lower = u.to_lowercase();
        !self.taken.contains(&lower) && !self.blocked.contains(&lower) && !username::is_reserved(u)
    }

    /// A username for `p`, or why there is none.
    fn pick(&mut self, kind: Kind, p: &PersonRecord) -> std::result::Result<String, String> {
        let max = self.policy.max_length;
        let chosen = match &self.policy.for_kind(kind).username {
            UsernameRule::Email(part) => {
                let email = p.email.trim().to_lowercase();
                if email.is_empty() {
                    return Err("no email in the SIS, and usernames are the SIS email".into());
                }
                let u = match part {
                    EmailPart::WithDomain => email,
                    EmailPart::WithoutDomain => email.split('@').next().unwrap_or("").to_owned(),
                };
                if u.chars().count() > max {
                    return Err(format!("\"{u}\" is longer than {max} characters"));
                }
                if !self.free(&u) {
                    return Err(format!("the username \"{u}\" is taken"));
                }
                u
            }
            UsernameRule::Pattern(_) => {
                let pattern = &self.patterns[&kind];
                let spelling = &self.policy.spelling;
                let first = match self.policy.numbering {
                    Numbering::BlankThenTwo => None,
                    Numbering::Always => Some(1),
                };
                let base = pattern.render(p, None, spelling)?;
                let mut n = match self.last_number.get(&base) {
                    Some(&k) => Some(k + 1),
                    None => first,
                };
                let chosen = loop {
                    let mut u = pattern.render(p, n, spelling)?;
                    if u.chars().count() > max {
                        // Shorten the name part, keeping the number whole.
                        let digits = n.map_or(0, |n| n.to_string().len());
                        let keep: String = base.chars().take(max.saturating_sub(digits)).collect();
                        u = match n {
                            Some(n) if !pattern.has_counter() => format!("{keep}{n}"),
                            _ => u.chars().take(max).collect(),
                        };
                    }
                    if self.free(&u) {
                        break u;
                    }
                    n = Some(match n {
                        None => 2,
                        Some(k) if k >= 9999 => {
                            return Err(format!("every numbered \"{u}\" is taken"))
                        }
                        Some(k) => k + 1,
                    });
                };
                if let Some(k) = n {
                    self.last_number.insert(base, k);
                }
                chosen
            }
        };
        self.taken.insert(chosen.to_lowercase());
        Ok(chosen)
    }
}

fn flags_of(facts: &LinkFacts, kind: Kind, new: bool) -> Vec<&'static str> {
    let mut flags = Vec::new();
    if new {
        flags.push("NEW");
    }
    if facts.access_restricted {
        flags.push("AR");
    }
    if kind == Kind::Contact && facts.no_reports {
        flags.push("NR");
    }
    flags
}

/// A name as the office says it: the preferred name, else the given one.
fn display_name(preferred: &str, given: &str, family: &str) -> String {
    let first = if preferred.is_empty() {
        given
    } else {
        preferred
    };
    format!("{first} {family}").trim().to_owned()
}

fn name_of(p: &PersonRecord) -> String {
    display_name(&p.preferred_name, &p.given_name, &p.family_name)
}

/// Whether a contact qualifies for a parent account under `policy`.
fn parent_qualifies(policy: &Policy, facts: &LinkFacts, email: &str) -> bool {
    facts.responsible
        && !email.trim().is_empty()
        && (policy.parent_contacts == ParentContacts::All || facts.primary)
}

/// The group ids by name, creating the policy's groups if they are missing.
fn ensure_groups(w: &Writer, policy: &Policy) -> Result<HashMap<String, i64>> {
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

/// Makes the accounts people qualify for and keeps every account in step
/// with the SIS, in one audited transaction (rolled back in a dry run).
/// An account to create, once every username is chosen.
struct NewAccount {
    person_id: i64,
    username: String,
    state: &'static str,
    reason: &'static str,
    group_id: i64,
    must_change: bool,
    flags: String,
    /// The audit log's key.
    key: String,
    group: String,
}

/// How many entries a run keeps when the caller wants no full report: the
/// preview's list (problems are always kept).
const PREVIEW_ENTRIES: usize = 5000;

/// `full_report`: keep an entry for every change (for `--report`), not only
/// the first [`PREVIEW_ENTRIES`] and the problems.
pub fn generate(
    store: &mut Store,
    actor: &str,
    dry_run: bool,
    full_report: bool,
    progress: &mut dyn FnMut(Step) -> bool,
) -> Result<Generated> {
    // Each account links a person and a group this run read in its own
    // transaction (see Store::with_foreign_keys_off).
    store.with_foreign_keys_off(|store| {
        // A first run into an empty account table only adds pages: like a
        // first import, it writes them once (see Store::begin_first_load).
        let first = !dry_run
            && store
                .conn()
                .query_row("SELECT NOT EXISTS (SELECT 1 FROM account)", [], |r| {
                    r.get::<_, bool>(0)
                })?;
        if !first {
            return generate_in(store, actor, dry_run, full_report, progress);
        }
        store.with_first_load(|store| generate_in(store, actor, dry_run, full_report, progress))
    })
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

fn generate_in(
    store: &mut Store,
    actor: &str,
    dry_run: bool,
    full_report: bool,
    progress: &mut dyn FnMut(Step) -> bool,
) -> Result<Generated> {
    let mut report = |step| {
        if progress(step) {
            Ok(())
        } else {
            Err(Error::Cancelled)
        }
    };
    report(Step::Reading)?;
    let policy = policy::load(store.conn())?;
    let w = store.writer(actor)?;
    let now = w.at().to_owned();
    let groups = ensure_groups(&w, &policy)?;
    let mut namer = Namer::new(&policy, taken_usernames(w.conn(), &now)?)?;
    // Raw SIS fields are read only when a pattern names one.
    let needs_raw: HashSet<Kind> = namer
        .patterns
        .iter()
        .filter(|(_, p)| p.needs_raw())
        .map(|(k, _)| *k)
        .collect();
    let people = load_people(w.conn(), !needs_raw.is_empty())?;
    let current: HashSet<i64> = people
        .iter()
        .filter(|p| p.status.is_current())
        .map(|p| p.id)
        .collect();
    let facts = link_facts(w.conn(), |id| current.contains(&id))?;
    let recycle_before = days_before(&now, i64::from(policy.recycle_after_days));
    let mut out = Generated {
        dry_run,
        ..Default::default()
    };
    let mut insert = w.conn().prepare(
        "INSERT INTO account (person_id, username, state, group_id, must_change_password,
                              invitation, flags, state_reason, state_changed_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'not_sent', ?6, ?7, ?8, ?8)",
    )?;
    let mut update = w.conn().prepare(
        "UPDATE account SET state = ?2, state_reason = ?3, state_changed_at = ?4, flags = ?5,
                version = version + 1
         WHERE id = ?1",
    )?;
    let mut creates: Vec<NewAccount> = Vec::new();
    let total = people.len();
    for (done, mut person) in people.into_iter().enumerate() {
        if done % REPORT_EVERY == 0 {
            report(Step::Deciding { done, total })?;
        }
        let kind = person.kind;
        if person.account.is_none() && needs_raw.contains(&kind) {
            person.record.raw = RawFields::from_json(std::mem::take(&mut person.raw_json));
        }
        let person = person;
        let f = facts.get(&person.id).copied().unwrap_or_default();
        let current = person.status.is_current();
        let k = policy.for_kind(kind);
        let entry = |action, username: &str, state: &str, group: &str, flags, reason: &str| Entry {
            action,
            kind: kind.account_word(),
            sis_id: person.record.sis_id.clone(),
            name: name_of(&person.record),
            username: username.to_owned(),
            state: state.to_owned(),
            group: group.to_owned(),
            flags,
            reason: reason.to_owned(),
        };
        match &person.account {
            None => {
                // Who gets an account: current students and staff; contacts
                // with responsibility and an email, while a child is current.
                let qualifies = match kind {
                    Kind::Student | Kind::Staff => current,
                    Kind::Contact => {
                        parent_qualifies(&policy, &f, &person.record.email)
                            && f.current_children > 0
                    }
                };
                if !qualifies {
                    continue;
                }
                let username = match namer.pick(kind, &person.record) {
                    Ok(u) => u,
                    Err(why) => {
                        out.problems += 1;
                        out.entries
                            .push(entry("problem", "", "none", "", vec![], &why));
                        continue;
                    }
                };
                let (state, reason) = match (kind, person.status) {
                    (Kind::Contact, _) => ("disabled", "waiting for review"),
                    (_, Status::Future) => ("disabled", "starts later"),
                    _ => ("enabled", ""),
                };
                let flags = flags_of(&f, kind, true);
                creates.push(NewAccount {
                    person_id: person.id,
                    username: username.clone(),
                    state,
                    reason,
                    group_id: groups[&k.group.trim().to_lowercase()],
                    must_change: k.credential == policy::Credential::InitialPassword,
                    flags: flags.join(","),
                    key: format!("{}:{}", kind.account_word(), person.record.sis_id),
                    group: k.group.trim().to_owned(),
                });
                out.created += 1;
                if full_report || out.entries.len() < PREVIEW_ENTRIES {
                    out.entries.push(entry(
                        "create",
                        &username,
                        state,
                        k.group.trim(),
                        flags,
                        reason,
                    ));
                }
            }
            Some(a) => {
                // Keep the account in step with the SIS. Only states Keyroll
                // set for a reason it can see are changed back by it.
                let (mut state, mut reason) = (a.state.clone(), a.reason.clone());
                let mut action = None;
                let gone = match kind {
                    Kind::Contact => f.children > 0 && f.current_children == 0,
                    _ => !current,
                };
                if a.state == "enabled" && gone {
                    state = "disabled".into();
                    reason = if kind == Kind::Contact {
                        "all their children have left".into()
                    } else {
                        "left the school".into()
                    };
                    action = Some("disable");
                } else if a.state == "disabled"
                    && !gone
                    && matches!(
                        a.reason.as_str(),
                        "left the school" | "starts later" | "all their children have left"
                    )
                    && (kind == Kind::Contact || person.status == Status::Active)
                {
                    state = "enabled".into();
                    reason = String::new();
                    action = Some("enable");
                } else if a.state == "disabled"
                    && gone
                    && !a.changed_at.is_empty()
                    && a.changed_at < recycle_before
                {
                    state = "recycled".into();
                    reason = format!("left over {} days ago", policy.recycle_after_days);
                    action = Some("recycle");
                }
                let new = a.flags.split(',').any(|f| f == "NEW");
                let flags = flags_of(&f, kind, new);
                let flags_text = flags.join(",");
                if action.is_none() && flags_text == a.flags {
                    out.unchanged += 1;
                    continue;
                }
                let changed_at = if action.is_some() {
                    &now
                } else {
                    &a.changed_at
                };
                update.execute(params![a.id, state, reason, changed_at, flags_text])?;
                let before =
                    serde_json::json!({ "state": a.state, "reason": a.reason, "flags": a.flags });
                let after =
                    serde_json::json!({ "state": state, "reason": reason, "flags": flags_text });
                w.audit(
                    action.map_or("account.flags", |a| match a {
                        "disable" => "account.disable",
                        "enable" => "account.enable",
                        _ => "account.recycle",
                    }),
                    "account",
                    &format!("{}:{}", kind.account_word(), person.record.sis_id),
                    Some(&before.to_string()),
                    Some(&after.to_string()),
                )?;
                match action {
                    Some("disable") => out.disabled += 1,
                    Some("enable") => out.enabled += 1,
                    Some(_) => out.recycled += 1,
                    None => out.flags_changed += 1,
                }
                if !full_report && out.entries.len() >= PREVIEW_ENTRIES {
                    continue;
                }
                out.entries.push(entry(
                    action.unwrap_or("flags"),
                    &a.username,
                    &state,
                    &a.group,
                    flags,
                    &reason,
                ));
            }
        }
    }
    // Written in row order: each insert checks its person exists, and in
    // name order those checks would read the encrypted rows at random.
    creates.sort_by_key(|c| c.person_id);
    let total = creates.len();
    for (done, c) in creates.into_iter().enumerate() {
        if done % REPORT_EVERY == 0 {
            report(Step::Saving { done, total })?;
        }
        insert.execute(params![
            c.person_id,
            c.username,
            c.state,
            c.group_id,
            c.must_change,
            c.flags,
            c.reason,
            now
        ])?;
        // The entry holds no copy of the row (see creation_state), only
        // which account it is (keys do not name the SIS source) and the group
        // by name (a group's rename is not an account's change).
        let after = format!(
            "{{\"account\":{},\"group\":{}}}",
            w.conn().last_insert_rowid(),
            serde_json::to_string(&c.group).expect("a string serialises")
        );
        w.audit("account.create", "account", &c.key, None, Some(&after))?;
    }
    drop(insert);
    drop(update);
    if dry_run {
        w.rollback()?;
    } else {
        w.commit()?;
    }
    Ok(out)
}

/// Writes `entries` as a CSV report, safe to open in a spreadsheet. Never
/// holds a password or token.
pub fn write_report(path: &std::path::Path, entries: &[Entry]) -> Result<()> {
    use crate::text::spreadsheet_safe as safe;
    let mut w = csv::Writer::from_path(path)?;
    w.write_record([
        "action", "kind", "sis_id", "name", "username", "state", "group", "flags", "reason",
    ])?;
    for e in entries {
        w.write_record([
            e.action,
            e.kind,
            safe(&e.sis_id).as_ref(),
            safe(&e.name).as_ref(),
            safe(&e.username).as_ref(),
            &e.state,
            safe(&e.group).as_ref(),
            &e.flags.join(" "),
            safe(&e.reason).as_ref(),
        ])?;
    }
    w.flush().map_err(|e| Error::io(path, e))?;
    Ok(())
}

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

struct Chosen {
    kind: Kind,
    sis_id: String,
    name: String,
    current: bool,
    account: Option<Held>,
}

use crate::people::BULK_AFTER;

/// A chosen person's account as a batch or a reset needs it.
#[derive(Clone)]
struct Held {
    id: i64,
    username: String,
    state: String,
    reason: String,
    must_change: bool,
    invitation: String,
    group: String,
}

/// Chosen people's accounts: asked one by one for a few people, read in one
/// pass for many (as [`crate::people::chosen`] reads their rows).
struct AccountsOf<'c> {
    one: rusqlite::CachedStatement<'c>,
    all: Option<HashMap<i64, Held>>,
}

impl<'c> AccountsOf<'c> {
    const SQL: &'static str = "SELECT a.person_id, a.id, a.username, a.state, a.state_reason,
                a.must_change_password, a.invitation, coalesce(g.name, '')
         FROM account a LEFT JOIN user_group g ON g.id = a.group_id";

    fn held(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, Held)> {
        Ok((
            r.get(0)?,
            Held {
                id: r.get(1)?,
                username: r.get(2)?,
                state: r.get(3)?,
                reason: r.get(4)?,
                must_change: r.get(5)?,
                invitation: r.get(6)?,
                group: r.get(7)?,
            },
        ))
    }

    fn new(conn: &'c rusqlite::Connection, chosen: usize) -> Result<Self> {
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

    fn get(&mut self, person_id: i64) -> Result<Option<Held>> {
        Ok(match &mut self.all {
            Some(all) => all.remove(&person_id),
            None => {
                rusqlite::OptionalExtension::optional(self.one.query_row([person_id], Self::held))?
                    .map(|(_, held)| held)
            }
        })
    }
}

/// Applies `action` to the accounts of the people `query` chooses, in one
/// audited transaction (rolled back in a dry run).
pub fn batch(
    store: &mut Store,
    actor: &str,
    action: &Action,
    query: &crate::people::PeopleQuery,
    dry_run: bool,
) -> Result<BatchOutcome> {
    let chosen = crate::people::chosen(store.conn(), query)?;
    let w = store.writer(actor)?;
    let target_group = match action {
        Action::MoveGroup(g) => {
            let id: Option<i64> = rusqlite::OptionalExtension::optional(w.conn().query_row(
                "SELECT id FROM user_group WHERE name = ?1 COLLATE NOCASE",
                [g.trim()],
                |r| r.get(0),
            ))?;
            let names: Vec<String> = w
                .conn()
                .prepare("SELECT name FROM user_group ORDER BY name")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            Some(id.ok_or_else(|| {
                Error::Import(format!(
                    "there is no group called \"{g}\" (the groups are: {}); create it first",
                    names.join(", ")
                ))
            })?)
        }
        _ => None,
    };
    let mut out = BatchOutcome {
        action: action.name(),
        dry_run,
        ..Default::default()
    };
    let mut current_child = w.conn().prepare(
        "SELECT EXISTS (SELECT 1 FROM relationship r JOIN person s ON s.id = r.student_id
                        WHERE r.contact_id = ?1 AND r.parental_responsibility
                          AND s.status IN ('active', 'future'))",
    )?;
    // Asked per parent, each question reads their children's (large,
    // encrypted) rows at random: fine for a few, 20 s for 100,000. For many,
    // every parent's answer comes from one pass over the links and the list
    // index's statuses.
    let bulk_facts = if chosen.len() > BULK_AFTER {
        let mut st = w.conn().prepare(
            "SELECT id, status FROM person INDEXED BY person_list WHERE kind = 'student'",
        )?;
        let current: HashSet<i64> = st
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
            .filter_map(|r| match r {
                Ok((id, status)) => Status::parse(&status)
                    .is_some_and(Status::is_current)
                    .then_some(Ok(id)),
                Err(e) => Some(Err(e)),
            })
            .collect::<rusqlite::Result<_>>()?;
        Some(link_facts(w.conn(), |id| current.contains(&id))?)
    } else {
        None
    };
    let mut accounts = AccountsOf::new(w.conn(), chosen.len())?;
    for p in chosen {
        out.matched += 1;
        let kind = p.kind;
        let account = accounts.get(p.id)?;
        // A parent is current while a child they are responsible for is
        // (asked per chosen parent: a batch is often one person).
        let current = match (kind, &bulk_facts) {
            (Kind::Contact, Some(facts)) => {
                facts.get(&p.id).is_some_and(|f| f.current_children > 0)
            }
            (Kind::Contact, None) => current_child.query_row([p.id], |r| r.get(0))?,
            _ => p.status.is_current(),
        };
        let c = Chosen {
            kind,
            sis_id: p.sis_id.clone(),
            name: display_name(&p.preferred_name, &p.given_name, &p.family_name),
            current,
            account,
        };
        apply_one(&w, action, target_group, &c, &mut out)?;
    }
    drop(accounts);
    drop(current_child);
    if dry_run {
        w.rollback()?;
    } else {
        w.commit()?;
    }
    Ok(out)
}

fn apply_one(
    w: &Writer,
    action: &Action,
    target_group: Option<i64>,
    c: &Chosen,
    out: &mut BatchOutcome,
) -> Result<()> {
    let entry = |act: &'static str, username: &str, state: &str, group: &str, reason: &str| Entry {
        action: act,
        kind: c.kind.account_word(),
        sis_id: c.sis_id.clone(),
        name: c.name.clone(),
        username: username.to_owned(),
        state: state.to_owned(),
        group: group.to_owned(),
        flags: vec![],
        reason: reason.to_owned(),
    };
    let Some(Held {
        id,
        username,
        state,
        reason,
        must_change,
        invitation,
        group,
    }) = &c.account
    else {
        out.skipped += 1;
        out.entries.push(entry(
            "skip",
            "",
            "none",
            "",
            "no account yet: run generate first",
        ));
        return Ok(());
    };
    let key = format!("{}:{}", c.kind.account_word(), c.sis_id);
    let skip = |out: &mut BatchOutcome, why: &str| {
        out.skipped += 1;
        out.entries.push(entry("skip", username, state, group, why));
    };
    // The state changing to `to`, unless it is so already.
    let to_state = |to: &str, why: &'static str| {
        (state != to).then(|| ("state", state.clone(), to.to_owned(), why))
    };
    // (column, before, after) of the change, or None when nothing changes.
    let change: Option<(&str, String, String, &str)> = match action {
        Action::Enable if state == "recycled" => {
            skip(out, "in the recycle bin: restore it first");
            return Ok(());
        }
        Action::Enable if !c.current => {
            skip(
                out,
                match c.kind {
                    Kind::Contact => "none of their children is at the school",
                    _ => "has left the school (by the SIS)",
                },
            );
            return Ok(());
        }
        Action::Enable => to_state("enabled", "enabled by the office"),
        Action::Disable if state == "recycled" => None,
        Action::Disable => to_state("disabled", "disabled by the office"),
        Action::Suspend | Action::Archive if state == "recycled" => {
            skip(out, "in the recycle bin: restore it first");
            return Ok(());
        }
        Action::Suspend => to_state("suspended", "suspended by the office"),
        Action::Archive => to_state("archived", "archived by the office"),
        Action::Restore if state != "recycled" => {
            skip(out, "not in the recycle bin");
            return Ok(());
        }
        Action::Restore => Some((
            "state",
            state.clone(),
            "disabled".to_owned(),
            "restored from the recycle bin",
        )),
        Action::ForcePasswordChange => {
            (!must_change).then(|| ("must_change_password", "0".to_owned(), "1".to_owned(), ""))
        }
        Action::ClearInvitation => (invitation != "not_sent")
            .then(|| ("invitation", invitation.clone(), "not_sent".to_owned(), "")),
        Action::MoveGroup(g) => (!group.eq_ignore_ascii_case(g.trim()))
            .then(|| ("group", group.clone(), g.trim().to_owned(), "")),
    };
    let Some((column, before, after, why)) = change else {
        out.unchanged += 1;
        return Ok(());
    };
    let conn = w.conn();
    match column {
        // (Cached: a batch runs these a hundred thousand times.)
        "state" => conn
            .prepare_cached(
                "UPDATE account SET state = ?2, state_reason = ?3, state_changed_at = ?4,
                        version = version + 1 WHERE id = ?1",
            )?
            .execute(params![id, after, why, w.at()])?,
        "must_change_password" => conn
            .prepare_cached(
                "UPDATE account SET must_change_password = 1, version = version + 1 WHERE id = ?1",
            )?
            .execute([id])?,
        "invitation" => conn
            .prepare_cached(
                "UPDATE account SET invitation = 'not_sent', version = version + 1 WHERE id = ?1",
            )?
            .execute([id])?,
        _ => conn
            .prepare_cached(
                "UPDATE account SET group_id = ?2, version = version + 1 WHERE id = ?1",
            )?
            .execute(params![id, target_group])?,
    };
    let (b, a) = (
        serde_json::json!({ column: before, "reason": reason }),
        serde_json::json!({ column: after, "reason": why }),
    );
    w.audit(
        &format!("account.{}", action.name()),
        "account",
        &key,
        Some(&b.to_string()),
        Some(&a.to_string()),
    )?;
    out.changed += 1;
    let (new_state, new_group) = match column {
        "state" => (after.as_str(), group.as_str()),
        "group" => (state.as_str(), after.as_str()),
        _ => (state.as_str(), group.as_str()),
    };
    out.entries
        .push(entry(action.name(), username, new_state, new_group, why));
    Ok(())
}

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
        return Err(Error::Import(
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
        return Err(Error::Import(format!(
            "there is already a group called \"{name}\""
        )));
    }
    let after = serde_json::json!({ "name": name });
    w.audit(
        "group.create",
        "group",
        name,
        None,
        Some(&after.to_string()),
    )
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
        return Err(Error::Import(format!(
            "there is already a group called \"{to}\""
        )));
    }
    let changed = w.conn().execute(
        "UPDATE user_group SET name = ?2 WHERE name = ?1 COLLATE NOCASE",
        params![from.trim(), to],
    )?;
    if changed == 0 {
        return Err(Error::Import(format!(
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

/// A new password or activation code to hand to one person. The secret is
/// wiped from memory when this is dropped; it is never stored or logged.
pub struct Handout {
    pub kind: &'static str,
    pub sis_id: String,
    pub name: String,
    pub username: String,
    pub credential: policy::Credential,
    pub secret: zeroize::Zeroizing<String>,
    /// When an activation code stops working (RFC 3339), if it is one.
    pub expires: Option<String>,
}

/// What a reset did (or, in a dry run, would do).
#[derive(Default, Serialize)]
pub struct ResetOutcome {
    pub dry_run: bool,
    pub matched: u64,
    pub changed: u64,
    pub skipped: u64,
    #[serde(skip)]
    pub entries: Vec<Entry>,
    #[serde(skip)]
    pub handouts: Vec<Handout>,
}

/// Gives the chosen accounts a new initial password or activation code, by
/// their kind's policy: passwords hashed with argon2id on every core
/// (`progress(done, total)`), codes hashed, both only in memory otherwise.
///
/// `deliver` gets the new secrets before anything is committed (to print
/// them, or save the hand-out sheet the office chose): if it fails, nothing
/// is reset, so a secret is never set that nobody was given. It is not called
/// in a dry run.
pub fn reset(
    store: &mut Store,
    actor: &str,
    query: &crate::people::PeopleQuery,
    dry_run: bool,
    progress: &mut dyn FnMut(usize, usize) -> bool,
    deliver: &mut dyn FnMut(&[Handout]) -> Result<()>,
) -> Result<ResetOutcome> {
    let policy = policy::load(store.conn())?;
    // (As for a batch: read in bulk, never person by person at random.)
    let chosen = crate::people::chosen(store.conn(), query)?;
    let mut accounts = AccountsOf::new(store.conn(), chosen.len())?;
    let mut out = ResetOutcome {
        dry_run,
        ..Default::default()
    };
    let now = crate::audit::now();
    let mut plans = Vec::new();
    for p in chosen {
        out.matched += 1;
        let kind = p.kind;
        let name = display_name(&p.preferred_name, &p.given_name, &p.family_name);
        let account = accounts.get(p.id)?;
        let entry = |action, username: &str, state: &str, reason: &str| Entry {
            action,
            kind: kind.account_word(),
            sis_id: p.sis_id.clone(),
            name: name.clone(),
            username: username.to_owned(),
            state: state.to_owned(),
            group: account
                .as_ref()
                .map(|a| a.group.clone())
                .unwrap_or_default(),
            flags: vec![],
            reason: reason.to_owned(),
        };
        let Some(Held {
            username, state, ..
        }) = account.clone()
        else {
            out.skipped += 1;
            out.entries.push(entry(
                "skip",
                "",
                "none",
                "no account yet: run generate first",
            ));
            continue;
        };
        if state == "recycled" {
            out.skipped += 1;
            out.entries.push(entry(
                "skip",
                &username,
                &state,
                "in the recycle bin: restore it first",
            ));
            continue;
        }
        let k = policy.for_kind(kind);
        let (secret, expires, what) = match k.credential {
            policy::Credential::InitialPassword => (
                if dry_run {
                    Default::default()
                } else {
                    password::generate(&policy.passwords)?
                },
                None,
                "new initial password",
            ),
            policy::Credential::Activation => (
                if dry_run {
                    Default::default()
                } else {
                    password::activation_code()?
                },
                Some(days_before(&now, -i64::from(k.activation_days))),
                "new activation code",
            ),
        };
        out.entries.push(entry("reset", &username, &state, what));
        plans.push(Handout {
            kind: kind.account_word(),
            sis_id: p.sis_id.clone(),
            name,
            username,
            credential: k.credential,
            secret,
            expires,
        });
    }
    drop(accounts);
    out.changed = plans.len() as u64;
    if dry_run {
        return Ok(out);
    }
    // The slow part, before the database is locked for writing.
    let passwords: Vec<zeroize::Zeroizing<String>> = plans
        .iter()
        .filter(|h| h.credential == policy::Credential::InitialPassword)
        .map(|h| h.secret.clone())
        .collect();
    let mut hashes = password::hash_all(&passwords, progress)?.into_iter();
    let w = store.writer(actor)?;
    for h in &plans {
        let key = format!("{}:{}", h.kind, h.sis_id);
        // Chosen before the hashing: an account renamed or deleted since (by
        // another window or the command line) must not get a sheet line for
        // a secret that was never set.
        let set = match h.credential {
            policy::Credential::InitialPassword => {
                let hash = hashes.next().expect("one hash per password");
                w.conn().execute(
                    "UPDATE account SET password_hash = ?2, must_change_password = 1,
                            activation_hash = NULL, activation_expires = NULL, version = version + 1
                     WHERE username = ?1",
                    params![h.username, hash],
                )?
            }
            policy::Credential::Activation => w.conn().execute(
                "UPDATE account SET activation_hash = ?2, activation_expires = ?3,
                        password_hash = NULL, version = version + 1
                 WHERE username = ?1",
                params![h.username, password::hash_code(&h.secret), h.expires],
            )?,
        };
        if set != 1 {
            return Err(Error::Import(format!(
                "{} changed while the new passwords were being made, so nothing was reset; \
                 try again",
                h.username
            )));
        }
        // The audit log says a secret was set, never which.
        let after = serde_json::json!({ "credential": h.credential, "expires": h.expires });
        w.audit(
            "account.reset",
            "account",
            &key,
            None,
            Some(&after.to_string()),
        )?;
    }
    // Dropping the writer on a failed delivery rolls every change back.
    deliver(&plans)?;
    w.commit()?;
    out.handouts = plans;
    Ok(out)
}

/// Saves the hand-out sheet at `path` (replacing a file there), readable by
/// the office user only where the OS has such permissions: it holds the only
/// copy of the new passwords until they are handed out.
pub fn save_handouts(path: &std::path::Path, handouts: &[Handout]) -> Result<()> {
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    let file = open.open(path).map_err(|e| Error::io(path, e))?;
    // (The mode above applies only to a new file; this to one replaced.)
    #[cfg(unix)]
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .map_err(|e| Error::io(path, e))?;
    let mut out = std::io::BufWriter::new(file);
    write_handouts(&mut out, handouts)?;
    // On the disk before the reset is committed.
    out.into_inner()
        .map_err(|e| Error::io(path, e.into_error()))?
        .sync_all()
        .map_err(|e| Error::io(path, e))
}

/// Writes new passwords and activation codes as CSV for handing out (or a
/// word processor's mail merge), safe to open in a spreadsheet.
pub fn write_handouts(out: impl std::io::Write, handouts: &[Handout]) -> Result<()> {
    use crate::text::spreadsheet_safe as safe;
    let mut w = csv::Writer::from_writer(out);
    let io = |e: csv::Error| Error::Import(format!("The hand-out sheet could not be written: {e}"));
    w.write_record([
        "kind",
        "sis_id",
        "name",
        "username",
        "credential",
        "secret",
        "expires",
    ])
    .map_err(io)?;
    for h in handouts {
        let credential = match h.credential {
            policy::Credential::InitialPassword => "initial password",
            policy::Credential::Activation => "activation code",
        };
        w.write_record([
            h.kind,
            safe(&h.sis_id).as_ref(),
            safe(&h.name).as_ref(),
            safe(&h.username).as_ref(),
            credential,
            safe(&h.secret).as_ref(),
            h.expires.as_deref().unwrap_or(""),
        ])
        .map_err(io)?;
    }
    w.flush()
        .map_err(|e| Error::Import(format!("The hand-out sheet could not be written: {e}")))?;
    Ok(())
}

/// A username a pattern would give one person, for the Settings screen's
/// live examples.
#[derive(Clone, Debug, Serialize)]
pub struct Example {
    pub name: String,
    pub username: Option<String>,
    /// Why there would be no username.
    pub problem: Option<String>,
}

/// What `policy` would name the first `n` people of `kind` (in list order),
/// from the school's own data. Nothing is written.
pub fn examples(
    conn: &rusqlite::Connection,
    policy: &Policy,
    kind: Kind,
    n: usize,
) -> Result<Vec<Example>> {
    let mut namer = Namer::new(policy, HashSet::new())?;
    let mut st = conn.prepare(
        "SELECT sis_id, given_name, middle_name, family_name, preferred_name, email, year_level,
                home_group, raw
         FROM person INDEXED BY person_list WHERE kind = ?1 AND status IN ('active', 'future')
         ORDER BY sort_key, id LIMIT ?2",
    )?;
    let mut rows = st.query(params![kind.as_str(), n as i64])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let p = PersonRecord {
            sis_id: r.get(0)?,
            given_name: r.get(1)?,
            middle_name: r.get(2)?,
            family_name: r.get(3)?,
            preferred_name: r.get(4)?,
            email: r.get(5)?,
            year_level: r.get(6)?,
            home_group: r.get(7)?,
            raw: RawFields::from_json(r.get(8)?),
            kind: Some(kind),
            ..Default::default()
        };
        let (username, problem) = match namer.pick(kind, &p) {
            Ok(u) => (Some(u), None),
            Err(why) => (None, Some(why)),
        };
        out.push(Example {
            name: name_of(&p),
            username,
            problem,
        });
    }
    Ok(out)
}

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
        return Err(Error::Import(
            "this person has no account yet: generate accounts first".into(),
        ));
    };
    if state == "recycled" {
        return Err(Error::Import(format!(
            "{from} is in the recycle bin: restore it before renaming it"
        )));
    }
    let kind = Kind::parse(&kind).unwrap_or(Kind::Contact);
    let mut taken = taken_usernames(w.conn(), w.at())?;
    // Its own name is not in the way (a change of case is a rename too).
    taken.remove(&from.to_lowercase());
    let mut namer = Namer::new(&policy, taken)?;
    let refused = |why: String| Error::Import(format!("{from} cannot be renamed: {why}"));
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
        return Err(Error::Import(format!(
            "{from} already has that name; nothing to change"
        )));
    }
    w.conn().execute(
        "UPDATE account SET username = ?2, version = version + 1 WHERE id = ?1",
        params![account_id, to],
    )?;
    if !to.eq_ignore_ascii_case(&from) {
        w.conn().execute(
            "INSERT INTO retired_username (username, retired_at) VALUES (?1, ?2)
             ON CONFLICT (username) DO UPDATE SET retired_at = ?2",
            params![from, w.at()],
        )?;
    }
    let sis_id: String = w.conn().query_row(
        "SELECT sis_id FROM person WHERE id = ?1",
        [person_id],
        |r| r.get(0),
    )?;
    w.audit(
        "account.rename",
        "account",
        &format!("{}:{sis_id}", kind.account_word()),
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

/// What an account was created with, for the creation entry `entry_id`
/// (which, like a person's, keeps no copy of the row: 199,000 copies were a
/// fifth of generating a large school's accounts): the account as it is now,
/// or as the entry that deleted it kept it, with every field a later entry
/// changed set back to that entry's `before`, the earliest first. None if
/// the account can no longer be found.
pub fn creation_state(
    conn: &rusqlite::Connection,
    key: &str,
    entry_id: i64,
    account_id: Option<i64>,
) -> Result<Option<serde_json::Map<String, serde_json::Value>>> {
    use serde_json::Value;
    const FIELDS: [&str; 5] = ["username", "state", "reason", "group", "flags"];
    let state = crate::audit::state_at_creation(
        conn,
        "account",
        key,
        entry_id,
        |field| FIELDS.contains(&field),
        || {
            let Some(account_id) = account_id else {
                return Ok(None);
            };
            let now = rusqlite::OptionalExtension::optional(conn.query_row(
                "SELECT json_object('username', a.username, 'state', a.state,
                                    'reason', a.state_reason, 'flags', a.flags, 'group', g.name)
                 FROM account a LEFT JOIN user_group g ON g.id = a.group_id WHERE a.id = ?1",
                [account_id],
                |r| r.get::<_, String>(0),
            ))?;
            Ok(now.and_then(|n| serde_json::from_str(&n).ok()))
        },
    )?;
    // Flags are kept as "NEW,AR" in the row and in later entries.
    Ok(state.map(|mut state| {
        if let Some(Value::String(flags)) = state.get("flags").cloned() {
            let list = flags
                .split(',')
                .filter(|f| !f.is_empty())
                .map(|f| Value::String(f.to_owned()))
                .collect();
            state.insert("flags".into(), Value::Array(list));
        }
        state
    }))
}

/// Deletes one account from the recycle bin for good (the person stays, as
/// the SIS has them). Its username is not given out again for a year. Only
/// one at a time, by SIS id: there is no bulk permanent delete.
pub fn delete_permanently(
    store: &mut Store,
    actor: &str,
    kind: Kind,
    sis_id: &str,
) -> Result<String> {
    store.write(actor, |w| {
        let found: Option<(i64, String, String)> = rusqlite::OptionalExtension::optional(
            w.conn().query_row(
                "SELECT a.id, a.username, a.state FROM account a JOIN person p ON p.id = a.person_id
                 WHERE p.sis_id = ?1 AND p.kind = ?2",
                params![sis_id, kind.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            ),
        )?;
        let Some((id, username, state)) = found else {
            return Err(Error::Import(format!(
                "no {} with SIS id \"{sis_id}\" has an account",
                kind.account_word()
            )));
        };
        if state != "recycled" {
            return Err(Error::Import(format!(
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
        w.conn().execute(
            "INSERT INTO retired_username (username, retired_at) VALUES (?1, ?2)
             ON CONFLICT (username) DO UPDATE SET retired_at = ?2",
            params![username, w.at()],
        )?;
        w.audit(
            "account.delete",
            "account",
            &format!("{}:{sis_id}", kind.account_word()),
            Some(&before),
            None,
        )?;
        Ok(username)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first `n` people of `kind` (in list order) whose account is `state`.
    fn first(store: &Store, kind: Kind, state: &str, n: u64) -> Vec<crate::people::ListedPerson> {
        let q = crate::people::PeopleQuery {
            kind: Some(kind),
            state: Some(state.into()),
            limit: Some(n),
            ..Default::default()
        };
        crate::people::list(store.conn(), &q).unwrap()
    }

    #[test]
    fn a_reset_whose_secrets_cannot_be_delivered_changes_nothing() {
        let (_dir, mut store, _) = crate::testing::demo_school(40);
        let students = crate::people::PeopleQuery {
            kind: Some(Kind::Student),
            state: Some("enabled".into()),
            limit: Some(3),
            ..Default::default()
        };
        let log = |s: &Store| crate::audit::count(s.conn()).unwrap();
        let before = log(&store);
        let failed = reset(
            &mut store,
            "test",
            &students,
            false,
            &mut |_, _| true,
            &mut |_| Err(Error::Import("the disk is full".into())),
        );
        assert!(failed.is_err());
        assert_eq!(log(&store), before, "no entry, no secret set");
        let set: i64 = store
            .conn()
            .query_row(
                "SELECT count(*) FROM account WHERE password_hash IS NOT NULL
                                                OR activation_hash IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(set, 0);

        let mut delivered = Vec::new();
        let done = reset(
            &mut store,
            "test",
            &students,
            false,
            &mut |_, _| true,
            &mut |h| {
                delivered.extend(h.iter().map(|h| h.username.clone()));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!((done.changed, delivered.len()), (3, 3));
        assert_eq!(log(&store), before + 3);
    }

    #[test]
    fn renaming_checks_the_new_name_and_retires_the_old_one() {
        let (_dir, mut store, _) = crate::testing::demo_school(40);
        let listed = first(&store, Kind::Student, "enabled", 2);
        let (a, b) = (&listed[0], &listed[1]);
        let (a_name, b_name) = (a.username.clone().unwrap(), b.username.clone().unwrap());
        let given = |u: &str| NewUsername::Given(u.into());
        for (bad, why) in [
            (b_name.to_uppercase(), "is taken"),
            ("con".to_owned(), "reserved"),
            ("zoë".to_owned(), "is not a username"),
            ("x".repeat(200), "longer than"),
        ] {
            let err = rename(&mut store, "test", a.id, &given(&bad), false).unwrap_err();
            assert!(err.to_string().contains(why), "{bad}: {err}");
        }
        let dry = rename(&mut store, "test", a.id, &given("zoe.new"), true).unwrap();
        assert_eq!(
            (dry.from.as_str(), dry.to.as_str()),
            (a_name.as_str(), "zoe.new")
        );
        let username = |store: &Store, id| -> String {
            store
                .conn()
                .query_row(
                    "SELECT username FROM account WHERE person_id = ?1",
                    [id],
                    |r| r.get(0),
                )
                .unwrap()
        };
        assert_eq!(username(&store, a.id), a_name, "a dry run changes nothing");
        rename(&mut store, "test", a.id, &given("zoe.new"), false).unwrap();
        assert_eq!(username(&store, a.id), "zoe.new");
        // The old name is retired: nobody else gets it for a year.
        let err = rename(&mut store, "test", b.id, &given(&a_name), false).unwrap_err();
        assert!(
            err.to_string().contains("given up less than a year ago"),
            "{err}"
        );
        // Back to what the policy gives: its old name is retired, so a new one.
        let back = rename(&mut store, "test", a.id, &NewUsername::ByPolicy, false).unwrap();
        assert_ne!(back.to, "zoe.new");
        let created = crate::audit::for_person(store.conn(), a.id)
            .unwrap()
            .into_iter()
            .find(|e| e.action == "account.create")
            .and_then(|e| e.after)
            .unwrap();
        assert_eq!(
            created["username"].as_str(),
            Some(a_name.as_str()),
            "as created"
        );
    }

    #[test]
    fn a_large_batch_decides_as_person_by_person_does() {
        // Over BULK_AFTER chosen, whether a parent's children are at the
        // school comes from one pass over everyone; in smaller batches, from
        // a question per parent. Both must decide alike.
        let (_dir, mut store, _) = crate::testing::demo_school(700);
        let contacts = crate::people::PeopleQuery {
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
            let q = crate::people::PeopleQuery {
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

    #[test]
    fn generating_reports_its_steps_and_can_be_cancelled() {
        let (_dir, mut store, _) = crate::testing::imported_school(40);
        let count = |s: &Store| -> i64 {
            s.conn()
                .query_row("SELECT count(*) FROM account", [], |r| r.get(0))
                .unwrap()
        };
        let mut steps = Vec::new();
        let stopped = generate(&mut store, "test", false, false, &mut |step| {
            steps.push(step);
            !matches!(step, Step::Saving { .. })
        });
        assert!(
            matches!(stopped, Err(Error::Cancelled)),
            "{:?}",
            stopped.err()
        );
        assert_eq!(count(&store), 0, "cancelled: nothing written");
        let journal = |s: &Store| -> String {
            s.conn()
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(
            journal(&store),
            "wal",
            "back from a first run's rollback journal"
        );
        assert_eq!(steps[0], Step::Reading);
        assert!(matches!(steps[1], Step::Deciding { done: 0, total } if total > 40));

        let mut last = None;
        let done = generate(&mut store, "test", false, false, &mut |step| {
            last = Some(step);
            true
        })
        .unwrap();
        assert_eq!(count(&store), done.created as i64);
        assert_eq!(journal(&store), "wal");
        assert!(
            matches!(last, Some(Step::Saving { done: 0, total }) if total as u64 == done.created)
        );
    }

    #[test]
    fn an_account_creation_entry_reads_back_as_created() {
        let (_dir, mut store, _) = crate::testing::demo_school(40);
        let parent = first(&store, Kind::Contact, "disabled", 1).remove(0);
        let one = crate::people::PeopleQuery {
            sis_ids: vec![parent.sis_id.clone()],
            kind: Some(Kind::Contact),
            ..Default::default()
        };
        batch(&mut store, "test", &Action::Enable, &one, false).unwrap();
        batch(
            &mut store,
            "test",
            &Action::ForcePasswordChange,
            &one,
            false,
        )
        .unwrap();
        let created = |store: &Store| {
            crate::audit::for_person(store.conn(), parent.id)
                .unwrap()
                .into_iter()
                .find(|e| e.action == "account.create")
                .and_then(|e| e.after)
                .unwrap()
        };
        let after = created(&store);
        assert_eq!(after["state"], "disabled", "{after}");
        assert_eq!(after["reason"], "waiting for review");
        assert_eq!(after["group"], "Parents");
        assert_eq!(after["flags"], serde_json::json!(["NEW"]));
        assert_eq!(after["username"].as_str(), parent.username.as_deref());
        // A group's rename does not rewrite the account's history.
        store
            .write("test", |w| rename_group(w, "Parents", "Carers"))
            .unwrap();
        assert_eq!(created(&store)["group"], "Parents");

        // Deleted for good, it is still in the log as it was created.
        store
            .write("test", |w| {
                w.conn().execute(
                    "UPDATE account SET state = 'recycled' WHERE person_id = ?1",
                    [parent.id],
                )?;
                w.audit(
                    "account.recycle",
                    "account",
                    &format!("parent:{}", parent.sis_id),
                    Some(r#"{"state":"enabled","reason":"enabled by the office"}"#),
                    Some(r#"{"state":"recycled"}"#),
                )
            })
            .unwrap();
        delete_permanently(&mut store, "test", Kind::Contact, &parent.sis_id).unwrap();
        let after = created(&store);
        assert_eq!(
            (after["state"].as_str(), after["group"].as_str()),
            (Some("disabled"), Some("Parents"))
        );
    }
}
