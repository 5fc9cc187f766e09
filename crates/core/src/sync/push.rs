//! Push: groups, then users (created, or PATCHed with only what changed,
//! against the ETag last seen), then who is in which group. Each request's
//! results are kept in the same transaction as they are read, so a sync
//! stopped at any point resumes where it was: a create the server made
//! but whose answer was lost comes back as 409 and is adopted by
//! `externalId`; a change it made comes back as 412 and is re-read.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{json, Value};

use super::client::{Client, Provider};
use super::document;
use super::local::{self, Pending};
use super::pull;
use super::wire::{self, Done, Op, Purpose};
use crate::store::{Store, Writer};
use crate::Result;

/// Members added or removed in one PATCH operation: as many as a third of
/// the server's Bulk payload holds (a member is about 50 bytes), at most
/// 30,000; 1,000 to a server without Bulk. Each operation makes a server
/// rewrite the group, so few large ones beat many small ones: 200 a time
/// took keyroll-server 12 minutes for a group of 100,000.
fn members_per_op(provider: &Provider) -> usize {
    match provider.bulk {
        Some((_, max_size)) => (max_size / 3 / 50).clamp(100, 30_000),
        None => 1_000,
    }
}

/// What a push did, or (in a dry run) would do.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Pushed {
    pub groups_created: u64,
    pub groups_renamed: u64,
    pub users_created: u64,
    pub users_updated: u64,
    /// Accounts whose change touched nothing the server is sent.
    pub users_unchanged: u64,
    pub membership_changes: u64,
    pub failed: Vec<Failure>,
    pub cancelled: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Failure {
    pub username: String,
    pub status: u16,
    pub detail: String,
}

/// Progress: (stage, done, total) → go on?
pub type Going<'a> = &'a mut dyn FnMut(&'static str, u64, u64) -> bool;

/// Accounts read from the journal at a time: enough to keep a request
/// ready, few enough that memory stays flat however large the school.
/// `KEYROLL_SYNC_PAGE` makes it smaller, so tests of small schools cross
/// page boundaries.
fn page_size() -> usize {
    std::env::var("KEYROLL_SYNC_PAGE")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(5_000)
}

pub fn push(
    store: &mut Store,
    actor: &str,
    client: &mut Client,
    provider: &Provider,
    dry_run: bool,
    go_on: Going,
) -> Result<Pushed> {
    let mut out = Pushed::default();
    let ops = group_ops(store.conn())?;
    if dry_run {
        count_groups(&ops, &mut out);
    } else {
        send_groups(store, actor, client, provider, ops, &mut out)?;
    }
    // A round reads the journal; 409s and 412s it met make another.
    for _ in 0..3 {
        let mut users = Users::new(store, actor, provider, dry_run, &mut out, &mut *go_on)?;
        if dry_run {
            // A dry run's pages give no ops, so this reads them all.
            wire::Batch::more(&mut users)?;
            break;
        }
        let finished = wire::send(client, provider, &mut users)?;
        let again = users.again;
        if !finished {
            out.cancelled = true;
            return Ok(out);
        }
        if again.is_empty() {
            break;
        }
        settle(store, actor, client, &again, &mut out)?;
    }
    let ops = member_ops(store.conn(), members_per_op(provider))?;
    if dry_run {
        out.membership_changes += ops.len() as u64;
        return Ok(out);
    }
    send_members(store, actor, client, provider, ops, &mut out)?;
    Ok(out)
}

/// Accounts a round must look at again.
#[derive(Default)]
struct Again {
    /// Created already (409): found by externalId and adopted.
    adopt: Vec<Pending>,
    /// Changed on the server since the ETag (412): read again.
    reread: Vec<Pending>,
    /// Deleted on the server (404): made again on the next round.
    gone: bool,
}

impl Again {
    fn is_empty(&self) -> bool {
        self.adopt.is_empty() && self.reread.is_empty() && !self.gone
    }
}

/// One round of users: the journal read a page at a time as the wire
/// wants more, each page's writes made and its quiet accounts taken out
/// of the journal, each result kept as it comes.
struct Users<'a> {
    store: &'a mut Store,
    actor: &'a str,
    provider: &'a Provider,
    dry_run: bool,
    conflicts: HashMap<i64, HashSet<String>>,
    /// The last account id read from the journal, and how many to read.
    after: i64,
    page: usize,
    /// Sent and not yet answered for, by the op's number: the account, and
    /// what its acknowledged copy will be (Null: its pending doc).
    waiting: HashMap<usize, (Pending, Value)>,
    numbered: usize,
    out: &'a mut Pushed,
    again: Again,
    looked_at: u64,
    total: u64,
    go_on: Going<'a>,
}

impl<'a> Users<'a> {
    fn new(
        store: &'a mut Store,
        actor: &'a str,
        provider: &'a Provider,
        dry_run: bool,
        out: &'a mut Pushed,
        go_on: Going<'a>,
    ) -> Result<Self> {
        let conflicts = open_conflicts(store.conn())?;
        let total: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM sync_due", [], |r| r.get(0))?;
        Ok(Users {
            store,
            actor,
            provider,
            dry_run,
            conflicts,
            after: 0,
            page: page_size(),
            waiting: HashMap::new(),
            numbered: 0,
            out,
            again: Again::default(),
            looked_at: 0,
            total: total as u64,
            go_on,
        })
    }

    /// The writes of the next page that has any (a dry run only counts
    /// them); quiet accounts are acknowledged on the way.
    fn page(&mut self) -> Result<Option<Vec<Op>>> {
        let pending = local::pending(
            self.store.conn(),
            self.provider.dialect,
            self.after,
            self.page,
        )?;
        let Some(last) = pending.last() else {
            return Ok(None);
        };
        self.after = last.account_id;
        let first = self.numbered;
        self.numbered += pending.len();
        let (ops, sent, quiet) = user_ops(&pending, first, &self.conflicts, self.provider);
        self.out.users_unchanged += quiet.len() as u64;
        if self.dry_run {
            for op in &ops {
                match op.purpose {
                    Purpose::CreateUser(_) => self.out.users_created += 1,
                    _ => self.out.users_updated += 1,
                }
            }
            return Ok(Some(Vec::new()));
        }
        self.store.write(self.actor, |w| {
            quiet
                .iter()
                .try_for_each(|&i| acknowledge(w, &pending[i], &sent[i], None, None))
        })?;
        self.looked_at += quiet.len() as u64;
        let quiet: HashSet<usize> = quiet.into_iter().collect();
        let sending = pending.into_iter().zip(sent).enumerate();
        for (i, waits) in sending.filter(|(i, _)| !quiet.contains(i)) {
            self.waiting.insert(first + i, waits);
        }
        Ok(Some(ops))
    }
}

impl wire::Batch for Users<'_> {
    fn more(&mut self) -> Result<Vec<Op>> {
        while let Some(ops) = self.page()? {
            if !ops.is_empty() {
                return Ok(ops);
            }
        }
        Ok(Vec::new())
    }

    fn record(&mut self, ops: &[Op], done: &[wire::Done]) -> Result<bool> {
        let w = self.store.writer(self.actor)?;
        for (op, r) in ops.iter().zip(done) {
            let (Purpose::CreateUser(i) | Purpose::UpdateUser(i)) = op.purpose else {
                continue;
            };
            let Some((p, sent)) = self.waiting.remove(&i) else {
                continue;
            };
            user_result(&w, p, &sent, op, r, self.out, &mut self.again)?;
        }
        w.commit()?;
        self.looked_at += ops.len() as u64;
        Ok((self.go_on)("push", self.looked_at, self.total))
    }
}

fn open_conflicts(conn: &rusqlite::Connection) -> Result<HashMap<i64, HashSet<String>>> {
    let mut st = conn.prepare("SELECT account_id, field FROM sync_conflict")?;
    let mut out: HashMap<i64, HashSet<String>> = HashMap::new();
    for row in st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))? {
        let (id, field) = row?;
        out.entry(id).or_default().insert(field);
    }
    Ok(out)
}

/// The writes for `pending` (numbered from `first`, to find each account
/// again by its op), what each account's acknowledged copy will be (Null:
/// its pending doc, not a second copy), and the accounts with nothing to
/// send (by their index in `pending`).
fn user_ops(
    pending: &[Pending],
    first: usize,
    conflicts: &HashMap<i64, HashSet<String>>,
    provider: &Provider,
) -> (Vec<Op>, Vec<Value>, Vec<usize>) {
    let (mut ops, mut sent, mut quiet) = (Vec::new(), Vec::new(), Vec::new());
    for (i, p) in pending.iter().enumerate() {
        let mut doc = p.doc.clone();
        let Some(known) = &p.known else {
            if let Some(c) = p.credentials.value() {
                doc[keyroll_scim::schema::CREDENTIALS] = c;
                let schemas = doc["schemas"].as_array_mut().expect("schemas");
                schemas.push(json!(keyroll_scim::schema::CREDENTIALS));
            }
            ops.push(Op {
                method: "POST",
                path: "/Users".into(),
                body: doc,
                version: None,
                purpose: Purpose::CreateUser(first + i),
            });
            // What is acknowledged is the doc itself (Null: no second copy).
            sent.push(Value::Null);
            continue;
        };
        // A field the office has yet to decide is not sent either way.
        for field in conflicts.get(&p.account_id).into_iter().flatten() {
            match known.pushed.get(field) {
                Some(v) => doc[field.as_str()] = v.clone(),
                None => drop(doc.as_object_mut().map(|d| d.remove(field))),
            }
        }
        let mut changes = document::changes(&known.pushed, &doc);
        let digest = p.credentials.digest();
        if (digest != known.credentials && !digest.is_empty()) || p.credentials.unlock {
            changes.extend(document::credentials_op(&p.credentials));
        }
        if changes.is_empty() {
            quiet.push(i);
        } else {
            ops.push(Op {
                method: "PATCH",
                path: format!("/Users/{}", known.remote_id),
                body: wire::patch(changes),
                version: known.etag.clone().filter(|_| provider.etag),
                purpose: Purpose::UpdateUser(first + i),
            });
        }
        // Only an open conflict makes what is sent differ from the doc.
        sent.push(match conflicts.contains_key(&p.account_id) {
            true => doc,
            false => Value::Null,
        });
    }
    (ops, sent, quiet)
}

/// Keeps what the server acknowledged of `p`: the remote id given by a
/// create, or the one already known.
fn acknowledge(
    w: &Writer,
    p: &Pending,
    sent: &Value,
    remote_id: Option<&str>,
    etag: Option<&str>,
) -> Result<()> {
    let remote_id = remote_id.or(p.known.as_ref().map(|k| k.remote_id.as_str()));
    let sent = if sent.is_null() { &p.doc } else { sent };
    local::exec(
        w.conn(),
        "INSERT INTO sync_account
             (account_id, remote_id, etag, pushed, version, person_digest, credentials)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (account_id) DO UPDATE SET remote_id = excluded.remote_id,
             etag = coalesce(excluded.etag, etag), pushed = excluded.pushed,
             version = excluded.version, person_digest = excluded.person_digest,
             credentials = CASE WHEN excluded.credentials = '' THEN credentials
                                ELSE excluded.credentials END",
        rusqlite::params![
            p.account_id,
            remote_id,
            etag,
            sent.to_string(),
            p.version,
            p.person_digest,
            p.credentials.digest()
        ],
    )?;
    if p.credentials.unlock {
        local::exec(
            w.conn(),
            "UPDATE account SET unlock_requested = 0, locked = 0 WHERE id = ?1",
            [p.account_id],
        )?;
        w.audit("sync.unlocked", "account", &p.username, None, None)?;
    }
    local::settled(w.conn(), p.account_id)
}

fn user_result(
    w: &Writer,
    p: Pending,
    sent: &Value,
    op: &Op,
    r: &Done,
    out: &mut Pushed,
    again: &mut Again,
) -> Result<()> {
    let create = matches!(op.purpose, Purpose::CreateUser(_));
    match (r.status, create) {
        (200 | 201, true) if r.id.is_some() => {
            acknowledge(w, &p, sent, r.id.as_deref(), r.version.as_deref())?;
            out.users_created += 1;
        }
        (200 | 204, false) => {
            acknowledge(w, &p, sent, None, r.version.as_deref())?;
            out.users_updated += 1;
        }
        (409, true) => again.adopt.push(p),
        (412, false) => again.reread.push(p),
        (404, false) => {
            local::exec(
                w.conn(),
                "DELETE FROM sync_account WHERE account_id = ?1",
                [p.account_id],
            )?;
            again.gone = true;
        }
        (status, _) => out.failed.push(Failure {
            username: p.username,
            status,
            detail: super::client::detail(&r.body),
        }),
    }
    Ok(())
}

/// Adopts the users the server already had and re-reads the ones it
/// changed, so the next round sends only what still differs.
fn settle(
    store: &mut Store,
    actor: &str,
    client: &mut Client,
    again: &Again,
    out: &mut Pushed,
) -> Result<()> {
    let mut found = Vec::new();
    for p in &again.adopt {
        let filter = format!("externalId eq \"{}\"", p.key.replace('"', "\\\""));
        let a = client.get(&format!("/Users?filter={}", super::client::encode(&filter)))?;
        match a.body["Resources"].as_array().and_then(|r| r.first()) {
            Some(user) => found.push(user.clone()),
            None => out.failed.push(Failure {
                username: p.username.clone(),
                status: 409,
                detail: "the server has another account with this username: rename one of them"
                    .into(),
            }),
        }
    }
    for p in &again.reread {
        let Some(known) = &p.known else {
            continue;
        };
        let a = client.get(&format!("/Users/{}", known.remote_id))?;
        if a.status == 200 {
            found.push(a.body);
        }
    }
    store.write(actor, |w| {
        found.iter().try_for_each(|u| pull::take(w, u).map(drop))
    })
}

/// Groups the server does not have yet, or has under an old name.
fn group_ops(conn: &rusqlite::Connection) -> Result<Vec<Op>> {
    let mut st = conn.prepare(
        "SELECT g.id, g.name, s.remote_id, s.name FROM user_group g
         LEFT JOIN sync_group s ON s.group_id = g.id
         WHERE s.group_id IS NULL OR s.name != g.name
         ORDER BY g.id",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
        ))
    })?;
    let mut ops = Vec::new();
    for row in rows {
        let (id, name, remote) = row?;
        ops.push(match remote {
            None => Op {
                method: "POST",
                path: "/Groups".into(),
                body: json!({
                    "schemas": [keyroll_scim::schema::GROUP],
                    "displayName": name,
                    "externalId": format!("group:{id}"),
                }),
                version: None,
                purpose: Purpose::CreateGroup(id),
            },
            Some(remote) => Op {
                method: "PATCH",
                path: format!("/Groups/{remote}"),
                body: wire::patch(vec![
                    json!({"op": "replace", "path": "displayName", "value": name}),
                ]),
                version: None,
                purpose: Purpose::RenameGroup(id),
            },
        });
    }
    Ok(ops)
}

fn count_groups(ops: &[Op], out: &mut Pushed) {
    for op in ops {
        match op.purpose {
            Purpose::CreateGroup(_) => out.groups_created += 1,
            _ => out.groups_renamed += 1,
        }
    }
}

fn send_groups(
    store: &mut Store,
    actor: &str,
    client: &mut Client,
    provider: &Provider,
    ops: Vec<Op>,
    out: &mut Pushed,
) -> Result<()> {
    let ops = adopt_groups(store, actor, client, ops)?;
    let mut existing = Vec::new();
    let mut batch = wire::listed(ops, |chunk: &[Op], results: &[Done]| {
        store.write(actor, |w| {
            for (op, r) in chunk.iter().zip(results) {
                let name = op.body["displayName"]
                    .as_str()
                    .or(op.body["Operations"][0]["value"].as_str())
                    .unwrap_or_default()
                    .to_owned();
                match (&op.purpose, r.status, &r.id) {
                    (Purpose::CreateGroup(g), 200 | 201, Some(id)) => {
                        keep_group(w, *g, id, &name)?;
                        out.groups_created += 1;
                    }
                    (Purpose::CreateGroup(g), 409, _) => existing.push((*g, name)),
                    (Purpose::RenameGroup(g), 200 | 204, _) => {
                        local::exec(
                            w.conn(),
                            "UPDATE sync_group SET name = ?2 WHERE group_id = ?1",
                            rusqlite::params![g, name],
                        )?;
                        out.groups_renamed += 1;
                    }
                    (_, status, _) => out.failed.push(Failure {
                        username: format!("group {name}"),
                        status,
                        detail: super::client::detail(&r.body),
                    }),
                }
            }
            Ok::<_, crate::Error>(true)
        })
    });
    wire::send(client, provider, &mut batch)?;
    drop(batch);
    // Made by another Keyroll (or a push whose answer was lost): found by name.
    for (g, name) in existing {
        if let Some(id) = group_named(client, &name)? {
            store.write(actor, |w| keep_group(w, g, &id, &name))?;
        }
    }
    Ok(())
}

/// Groups to create that the server has already, under the same name
/// (another Keyroll database, or this one signed in again): adopted, not
/// made twice, since many servers (keyroll-server among them) let two
/// groups share a name. Groups are few, so this is a read or two.
fn adopt_groups(
    store: &mut Store,
    actor: &str,
    client: &mut Client,
    ops: Vec<Op>,
) -> Result<Vec<Op>> {
    let mut left = Vec::new();
    for op in ops {
        let (Purpose::CreateGroup(g), Some(name)) = (&op.purpose, op.body["displayName"].as_str())
        else {
            left.push(op);
            continue;
        };
        match group_named(client, name)? {
            Some(id) => store.write(actor, |w| keep_group(w, *g, &id, name))?,
            None => left.push(op),
        }
    }
    Ok(left)
}

/// The id of the server's group called `name`, if it has one.
fn group_named(client: &mut Client, name: &str) -> Result<Option<String>> {
    let filter = format!("displayName eq \"{}\"", name.replace('"', "\\\""));
    let a = client.get(&format!(
        "/Groups?filter={}&excludedAttributes=members",
        super::client::encode(&filter)
    ))?;
    // A server that ignores the filter sends others too: the name decides.
    let found = a.body["Resources"].as_array().into_iter().flatten();
    Ok(found
        .filter(|g| g["displayName"].as_str() == Some(name))
        .find_map(|g| g["id"].as_str().map(str::to_owned)))
}

fn keep_group(w: &Writer, group_id: i64, remote_id: &str, name: &str) -> Result<()> {
    local::exec(
        w.conn(),
        "INSERT OR REPLACE INTO sync_group (group_id, remote_id, name) VALUES (?1, ?2, ?3)",
        rusqlite::params![group_id, remote_id, name],
    )?;
    Ok(())
}

/// Accounts whose group on the server is not their group in Keyroll: added
/// to the new one, taken out of the old.
fn member_ops(conn: &rusqlite::Connection, per_op: usize) -> Result<Vec<Op>> {
    let mut st = conn.prepare(
        "SELECT a.id, a.group_id, s.remote_id, g.remote_id, old.remote_id
         FROM sync_due d CROSS JOIN account a ON a.id = d.account_id
         JOIN sync_account s ON s.account_id = a.id
         JOIN sync_group g ON g.group_id = a.group_id
         LEFT JOIN sync_group old ON old.group_id = s.group_id
         WHERE s.group_id IS NOT a.group_id",
    )?;
    let mut joining: BTreeMap<String, Vec<(i64, i64, String)>> = BTreeMap::new();
    let mut leaving: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<String>>(4)?,
        ))
    })?;
    for row in rows {
        let (account, group, user, to, from) = row?;
        joining
            .entry(to)
            .or_default()
            .push((account, group, user.clone()));
        if let Some(from) = from {
            leaving.entry(from).or_default().push(user);
        }
    }
    let mut ops = Vec::new();
    for (group, users) in leaving {
        for chunk in users.chunks(per_op) {
            let removes = chunk
                .iter()
                .map(|u| json!({"op": "remove", "path": format!("members[value eq \"{u}\"]")}))
                .collect();
            ops.push(Op {
                method: "PATCH",
                path: format!("/Groups/{group}"),
                body: wire::patch(removes),
                version: None,
                purpose: Purpose::Leavers(chunk.len()),
            });
        }
    }
    for (group, members) in joining {
        for chunk in members.chunks(per_op) {
            let values: Vec<Value> = chunk.iter().map(|(_, _, u)| json!({"value": u})).collect();
            ops.push(Op {
                method: "PATCH",
                path: format!("/Groups/{group}"),
                body: wire::patch(vec![
                    json!({"op": "add", "path": "members", "value": values}),
                ]),
                version: None,
                purpose: Purpose::Members(chunk.iter().map(|(a, g, _)| (*a, *g)).collect()),
            });
        }
    }
    Ok(ops)
}

fn send_members(
    store: &mut Store,
    actor: &str,
    client: &mut Client,
    provider: &Provider,
    ops: Vec<Op>,
    out: &mut Pushed,
) -> Result<()> {
    let mut batch = wire::listed(ops, |chunk: &[Op], results: &[Done]| {
        store.write(actor, |w| {
            for (op, r) in chunk.iter().zip(results) {
                match (&op.purpose, r.status) {
                    (Purpose::Members(joined), 200 | 204) => {
                        for (account, group) in joined {
                            local::exec(
                                w.conn(),
                                "UPDATE sync_account SET group_id = ?2 WHERE account_id = ?1",
                                [account, group],
                            )?;
                            local::settled(w.conn(), *account)?;
                        }
                        out.membership_changes += joined.len() as u64;
                    }
                    // Taking someone out of a group they are not in is no loss.
                    (Purpose::Leavers(_), _) => {}
                    (_, status) => out.failed.push(Failure {
                        username: format!("members of {}", op.path),
                        status,
                        detail: super::client::detail(&r.body),
                    }),
                }
            }
            Ok::<_, crate::Error>(true)
        })
    });
    wire::send(client, provider, &mut batch)?;
    Ok(())
}
