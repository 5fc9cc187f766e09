//! The Accounts screen's index of everyone, in memory: what each of its
//! filters, searches and sorts reads.
//!
//! Counting the people who match a filter in SQL means decoding every entry
//! of the list index (and, for a username or account filter, the account
//! table) on every keystroke, too slow for a large school. The roster loads
//! those same columns once and answers any filter, search or sort from
//! memory; only the page on screen is then read from the database
//! ([`crate::people::by_ids`]).
//!
//! The database stays the truth: a roster remembers the `PRAGMA data_version`
//! of the connection it was loaded through, and [`Roster::is_current`] says
//! when another connection (an import, an account action, the command line)
//! has committed since, so the caller loads it again.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use rusqlite::Connection;
use serde::Deserialize;

use super::{Kind, PeopleQuery, Status};
use crate::error::Result;
use crate::text;

/// A column the people table sorts by.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum SortBy {
    /// Family then given name, students before staff before parents (the
    /// list's own order).
    #[default]
    Name,
    Kind,
    SisId,
    Status,
    Year,
    HomeGroup,
    Username,
    State,
    Group,
}

const SORTS: usize = 9;

impl SortBy {
    fn slot(self) -> usize {
        self as usize
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Sort {
    pub by: SortBy,
    pub descending: bool,
}

#[derive(Clone)]
struct Person {
    id: i64,
    kind: Kind,
    status: Status,
    sis_id: Box<str>,
    year: Box<str>,
    home_group: Box<str>,
    /// Org SIS ids, comma separated.
    schools: Box<str>,
    /// Folded names, email and ids (the list index's search column).
    search: Box<str>,
    account: Option<Account>,
}

#[derive(Clone)]
struct Account {
    /// Lower-cased: searched and sorted without regard to case.
    username: Box<str>,
    state: Box<str>,
    reason: Box<str>,
    group_id: i64,
    new: bool,
}

impl Account {
    /// The columns [`Account::read`] reads, after the person's id.
    const SELECT: &'static str =
        "SELECT person_id, lower(username), state, group_id, flags, state_reason FROM account";

    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, Account)> {
        Ok((
            r.get(0)?,
            Account {
                username: r.get::<_, String>(1)?.into(),
                state: r.get::<_, String>(2)?.into(),
                group_id: r.get(3)?,
                new: text_at(r, 4)?.split(',').any(|f| f == "NEW"),
                reason: text_at(r, 5)?.into(),
            },
        ))
    }
}

/// One page of matching people, in the order asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// How many people match the query (not just this page).
    pub matching: u64,
    /// Row ids of the page's people.
    pub ids: Vec<i64>,
}

/// Who is in which class, for the class and teacher filters (as
/// [`super::query`]'s read them): classes still listed, by SIS id; their
/// students; and the classes each staff member teaches, by their SIS id.
#[derive(Clone, Default)]
struct Classes {
    by_sis_id: HashMap<Box<str>, Vec<i64>>,
    students: HashMap<i64, Vec<i64>>,
    taught: HashMap<Box<str>, Vec<i64>>,
}

impl Classes {
    /// Plain reads (the classes, staff's sources, the enrollments in their
    /// table's order), joined here against `people`: a join in SQL took over
    /// a second for a large school.
    fn load(conn: &Connection, people: &[Person]) -> Result<Classes> {
        let mut out = Classes::default();
        // Each by its SIS id and by `source:sis_id`, as the filters name them.
        let mut st =
            conn.prepare("SELECT id, sis_id, source FROM class WHERE status = 'active'")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let sis_id = text_at(r, 1)?;
            for key in [sis_id.to_owned(), format!("{}:{sis_id}", text_at(r, 2)?)] {
                out.by_sis_id.entry(key.into()).or_default().push(id);
            }
            out.students.insert(id, Vec::new());
        }
        let mut st = conn.prepare("SELECT id, source FROM person WHERE kind = 'staff'")?;
        let sources: HashMap<i64, String> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let staff: HashMap<i64, [String; 2]> = (people.iter())
            .filter(|p| p.kind == Kind::Staff)
            .map(|p| {
                let source = sources.get(&p.id).map_or("", String::as_str);
                (
                    p.id,
                    [p.sis_id.to_string(), format!("{source}:{}", p.sis_id)],
                )
            })
            .collect();
        let mut st = conn.prepare("SELECT class_id, person_id, role FROM enrollment")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let (class, person): (i64, i64) = (r.get(0)?, r.get(1)?);
            let Some(students) = out.students.get_mut(&class) else {
                continue; // a removed class
            };
            match text_at(r, 2)? {
                "student" => students.push(person),
                _ => {
                    for key in staff.get(&person).into_iter().flatten() {
                        out.taught
                            .entry(key.as_str().into())
                            .or_default()
                            .push(class);
                    }
                }
            }
        }
        Ok(out)
    }

    /// The students of the classes `class` and `teacher` name (None: no such filter).
    fn students_of(&self, class: Option<&str>, teacher: Option<&str>) -> Option<HashSet<i64>> {
        let of = |classes: &[i64]| -> HashSet<i64> {
            (classes.iter())
                .filter_map(|c| self.students.get(c))
                .flatten()
                .copied()
                .collect()
        };
        let none: &[i64] = &[];
        let by_class = class.map(|c| of(self.by_sis_id.get(c).map_or(none, Vec::as_slice)));
        let by_teacher = teacher.map(|t| of(self.taught.get(t).map_or(none, Vec::as_slice)));
        match (by_class, by_teacher) {
            (Some(a), Some(b)) => Some(a.intersection(&b).copied().collect()),
            (a, b) => a.or(b),
        }
    }
}

pub struct Roster {
    data_version: i64,
    /// The newest audit entry when it was loaded: what changed since is
    /// what a refresh patches.
    last_entry: i64,
    /// In the list's order (sort key, whose first character is the kind, then id).
    people: Vec<Person>,
    /// Shared by the rosters a refresh makes (account changes leave it be).
    classes: std::sync::Arc<Classes>,
    /// Group ids by lower-cased name, and names by id.
    group_ids: HashMap<String, i64>,
    group_names: HashMap<i64, String>,
    /// For each sort column, each person's position in that order (worked
    /// out the first time someone sorts by it).
    ranks: [OnceLock<Vec<u32>>; SORTS],
}

impl Roster {
    /// Loads everyone through `conn`, from the list index (never the large
    /// encrypted rows) and the account table.
    pub fn load(conn: &Connection) -> Result<Roster> {
        // Both read first: whatever commits while loading is patched in again.
        let data_version = data_version(conn)?;
        let last_entry = last_entry(conn)?;
        let mut accounts = all_accounts(conn)?;
        let mut people = Vec::with_capacity(accounts.len().max(1024));
        let mut st = conn.prepare(
            "SELECT id, kind, status, sis_id, year_level, home_group, schools, search
             FROM person INDEXED BY person_list ORDER BY sort_key, id",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            people.push(Person {
                id,
                kind: Kind::parse(text_at(r, 1)?).unwrap_or(Kind::Contact),
                status: Status::parse(text_at(r, 2)?).unwrap_or(Status::Active),
                sis_id: text_at(r, 3)?.into(),
                year: text_at(r, 4)?.into(),
                home_group: text_at(r, 5)?.into(),
                schools: text_at(r, 6)?.into(),
                search: text_at(r, 7)?.into(),
                account: accounts.remove(&id),
            });
        }
        drop(rows);
        drop(st);
        let (group_ids, group_names) = groups(conn)?;
        Ok(Roster {
            data_version,
            last_entry,
            classes: std::sync::Arc::new(Classes::load(conn, &people)?),
            people,
            group_ids,
            group_names,
            ranks: Default::default(),
        })
    }

    /// The roster as it is now, from this one and what the audit log says
    /// changed since: loading it afresh reads everyone again, while the
    /// office's usual change (enabling, renaming or moving a few accounts)
    /// only needs those accounts read again (and generating accounts, the
    /// account table). None when a full load is needed: people changed (an
    /// import), or too much did.
    pub fn refreshed(&self, conn: &Connection) -> Result<Option<Roster>> {
        const AT_MOST: usize = 2000;
        let data_version = data_version(conn)?;
        let last_entry = last_entry(conn)?;
        let (mut all_accounts_changed, mut groups_changed) = (false, false);
        // The people whose accounts an entry names.
        let mut changed: std::collections::HashSet<i64> = Default::default();
        let mut person_of =
            conn.prepare_cached("SELECT id, kind FROM person WHERE source = ?1 AND sis_id = ?2")?;
        let mut st = conn.prepare(
            "SELECT entity, action, entity_key FROM audit WHERE id > ?1 AND id <= ?2
             ORDER BY id LIMIT ?3",
        )?;
        let mut rows = st.query(rusqlite::params![
            self.last_entry,
            last_entry,
            AT_MOST as i64 + 1
        ])?;
        let mut seen = 0;
        while let Some(r) = rows.next()? {
            seen += 1;
            if seen > AT_MOST {
                return Ok(None);
            }
            match text_at(r, 0)? {
                "account" => {
                    // `parent:oneroster:g1`: the kind's word, then the person's
                    // `source:sis_id` (a source may hold a colon: each split is
                    // tried, and reading an extra account again is harmless).
                    let key = text_at(r, 2)?;
                    let Some((word, person)) = key.split_once(':') else {
                        return Ok(None);
                    };
                    for (i, _) in person.match_indices(':') {
                        let (source, sis_id) = (&person[..i], &person[i + 1..]);
                        let found = person_of.query_map([source, sis_id], |r| {
                            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                        })?;
                        for f in found {
                            let (id, kind) = f?;
                            if Kind::parse(&kind).is_some_and(|k| k.account_word() == word) {
                                changed.insert(id);
                            }
                        }
                    }
                }
                "group" => groups_changed = true,
                // Nothing the table shows.
                "setting" | "mapping" | "policy" => {}
                // Account generation's grouped creation entries (an
                // import's, of people, need a full load).
                crate::audit::GROUPED if text_at(r, 1)? == "account.create" => {
                    all_accounts_changed = true
                }
                _ => return Ok(None),
            }
        }
        drop(rows);
        drop(st);
        drop(person_of);
        let mut people = self.people.clone();
        if all_accounts_changed {
            let mut accounts = all_accounts(conn)?;
            for p in &mut people {
                p.account = accounts.remove(&p.id);
            }
        } else if !changed.is_empty() {
            let mut account_of =
                conn.prepare(&format!("{} WHERE person_id = ?1", Account::SELECT))?;
            for p in people.iter_mut().filter(|p| changed.contains(&p.id)) {
                p.account = rusqlite::OptionalExtension::optional(
                    account_of.query_row([p.id], Account::read),
                )?
                .map(|(_, a)| a);
            }
        }
        let (group_ids, group_names) = if groups_changed {
            groups(conn)?
        } else {
            (self.group_ids.clone(), self.group_names.clone())
        };
        // Orders that no account change moves are kept.
        let ranks: [OnceLock<Vec<u32>>; SORTS] = Default::default();
        for by in [
            SortBy::Kind,
            SortBy::SisId,
            SortBy::Status,
            SortBy::Year,
            SortBy::HomeGroup,
        ] {
            if let Some(r) = self.ranks[by.slot()].get() {
                let _ = ranks[by.slot()].set(r.clone());
            }
        }
        Ok(Some(Roster {
            data_version,
            last_entry,
            people,
            classes: self.classes.clone(),
            group_ids,
            group_names,
            ranks,
        }))
    }

    /// Whether nothing has been committed to the database, by any other
    /// connection, since this roster was loaded through `conn`.
    pub fn is_current(&self, conn: &Connection) -> Result<bool> {
        Ok(data_version(conn)? == self.data_version)
    }

    pub fn len(&self) -> usize {
        self.people.len()
    }

    pub fn is_empty(&self) -> bool {
        self.people.is_empty()
    }

    /// How many people match `q`, and the ids of its page (its offset and
    /// limit) in the order `sort` asks for. The same filters as
    /// [`crate::people::list`], with the same meaning.
    pub fn query(&self, q: &PeopleQuery, sort: Sort) -> Page {
        let filter = Filter::new(self, q);
        let mut matching: Vec<u32> = match &filter {
            None => Vec::new(),
            Some(f) => (0..self.people.len() as u32)
                .filter(|&i| f.matches(&self.people[i as usize]))
                .collect(),
        };
        if sort.by != SortBy::Name {
            let rank = self.ranks(sort.by);
            matching.sort_unstable_by_key(|&i| rank[i as usize]);
        }
        if sort.descending {
            matching.reverse();
        }
        let start = (q.offset as usize).min(matching.len());
        let end = match q.limit {
            Some(l) => start.saturating_add(l as usize).min(matching.len()),
            None => matching.len(),
        };
        Page {
            matching: matching.len() as u64,
            ids: matching[start..end]
                .iter()
                .map(|&i| self.people[i as usize].id)
                .collect(),
        }
    }

    /// How many people of `kind` (everyone for None) the roster holds.
    pub fn total(&self, kind: Option<Kind>) -> u64 {
        match kind {
            None => self.people.len() as u64,
            Some(k) => self.people.iter().filter(|p| p.kind == k).count() as u64,
        }
    }

    /// Works out the order of every sortable column now (a caller runs it
    /// on a spare thread after loading, so that the first click on a column
    /// header finds its order ready).
    pub fn prepare_sorts(&self) {
        for by in [
            SortBy::Kind,
            SortBy::SisId,
            SortBy::Status,
            SortBy::Year,
            SortBy::HomeGroup,
            SortBy::Username,
            SortBy::State,
            SortBy::Group,
        ] {
            self.ranks(by);
        }
    }

    fn ranks(&self, by: SortBy) -> &[u32] {
        self.ranks[by.slot()].get_or_init(|| {
            let mut order: Vec<u32> = (0..self.people.len() as u32).collect();
            // Each key worked out once; equal keys keep the list's (name) order.
            order.sort_by_cached_key(|&i| self.key(by, &self.people[i as usize]));
            let mut rank = vec![0u32; order.len()];
            for (pos, i) in order.into_iter().enumerate() {
                rank[i as usize] = pos as u32;
            }
            rank
        })
    }

    /// What `p` sorts by in column `by`: (missing, then [`natural`] order).
    /// People without an account (or a value) sort after those with one.
    fn key(&self, by: SortBy, p: &Person) -> (bool, Natural) {
        let text = |s: &str| (s.is_empty(), natural(s));
        let account = |f: &dyn Fn(&Account) -> String| match &p.account {
            Some(a) => text(&f(a)),
            None => (true, natural("")),
        };
        match by {
            SortBy::Name => (false, Natural::Number(0)),
            // Students, staff, parents: the list's own order of kinds.
            SortBy::Kind => (
                false,
                Natural::Number(match p.kind {
                    Kind::Student => 0,
                    Kind::Staff => 1,
                    Kind::Contact => 2,
                }),
            ),
            SortBy::SisId => text(&p.sis_id),
            SortBy::Status => text(p.status.as_str()),
            SortBy::Year => text(&p.year),
            SortBy::HomeGroup => text(&p.home_group),
            SortBy::Username => account(&|a| a.username.to_string()),
            SortBy::State => account(&|a| a.state.to_string()),
            SortBy::Group => account(&|a| {
                self.group_names
                    .get(&a.group_id)
                    .cloned()
                    .unwrap_or_default()
            }),
        }
    }
}

/// Numbers as numbers ("9" before "10": year levels, ids), before text,
/// which sorts without regard to case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Natural {
    Number(u64),
    Text(String),
}

fn natural(s: &str) -> Natural {
    match s.parse::<u64>() {
        Ok(n) => Natural::Number(n),
        Err(_) => Natural::Text(s.to_lowercase()),
    }
}

/// Every account, by its person's row id.
fn all_accounts(conn: &Connection) -> Result<HashMap<i64, Account>> {
    let mut st = conn.prepare(Account::SELECT)?;
    let rows = st.query_map([], Account::read)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn text_at<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<&'r str> {
    Ok(r.get_ref(i)?.as_str()?)
}

fn last_entry(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT coalesce(max(id), 0) FROM audit", [], |r| r.get(0))?)
}

/// Group ids by name (folded as SQLite's NOCASE, under which names are
/// unique: ASCII letters only), and names by id.
fn groups(conn: &Connection) -> Result<(HashMap<String, i64>, HashMap<i64, String>)> {
    let mut ids = HashMap::new();
    let mut names = HashMap::new();
    let mut st = conn.prepare("SELECT id, name FROM user_group")?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let (id, name): (i64, String) = (r.get(0)?, r.get(1)?);
        ids.insert(name.to_ascii_lowercase(), id);
        names.insert(id, name);
    }
    Ok((ids, names))
}

fn data_version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA data_version", [], |r| r.get(0))?)
}

/// A [`PeopleQuery`]'s filters, worked out once for a pass over everyone.
struct Filter<'q> {
    q: &'q PeopleQuery,
    /// Each search word: folded (names, email, ids) and lower-cased (usernames).
    words: Vec<(
        memchr::memmem::Finder<'static>,
        memchr::memmem::Finder<'static>,
    )>,
    group: Option<i64>,
    sis_ids: Option<std::collections::HashSet<&'q str>>,
    ids: Option<std::collections::HashSet<i64>>,
    /// The students the class and teacher filters leave (None: no such filter).
    in_classes: Option<HashSet<i64>>,
}

impl<'q> Filter<'q> {
    /// None when nobody can match (a group that does not exist).
    fn new(roster: &Roster, q: &'q PeopleQuery) -> Option<Filter<'q>> {
        let group = match &q.group {
            None => None,
            Some(name) => Some(*roster.group_ids.get(&name.to_ascii_lowercase())?),
        };
        let words = q
            .search
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(|w| {
                (
                    memchr::memmem::Finder::new(text::fold(w).as_bytes()).into_owned(),
                    memchr::memmem::Finder::new(w.to_lowercase().as_bytes()).into_owned(),
                )
            })
            .collect();
        let in_classes = (roster.classes).students_of(q.class.as_deref(), q.teacher.as_deref());
        Some(Filter {
            q,
            words,
            group,
            in_classes,
            ids: (!q.ids.is_empty()).then(|| q.ids.iter().copied().collect()),
            sis_ids: (!q.sis_ids.is_empty())
                .then(|| q.sis_ids.iter().map(String::as_str).collect()),
        })
    }

    fn matches(&self, p: &Person) -> bool {
        let q = self.q;
        if q.kind.is_some_and(|k| k != p.kind) || q.status.is_some_and(|s| s != p.status) {
            return false;
        }
        match (q.state.as_deref(), &p.account) {
            (Some("none"), Some(_)) => return false,
            (Some(s), Some(a)) if s != "none" && *a.state != *s => return false,
            (Some(s), None) if s != "none" => return false,
            _ => {}
        }
        if q.new && !p.account.as_ref().is_some_and(|a| a.new) {
            return false;
        }
        if !q.reasons.is_empty()
            && !p
                .account
                .as_ref()
                .is_some_and(|a| q.reasons.iter().any(|r| **r == *a.reason))
        {
            return false;
        }
        if self.group.is_some() && p.account.as_ref().map(|a| a.group_id) != self.group {
            return false;
        }
        if q.school
            .as_deref()
            .is_some_and(|s| !p.schools.split(',').any(|o| o == s))
        {
            return false;
        }
        if q.year.as_deref().is_some_and(|y| *p.year != *y)
            || q.home_group.as_deref().is_some_and(|h| *p.home_group != *h)
        {
            return false;
        }
        // A class's students only, by what they are now too (as in SQL).
        let in_classes = |ids: &HashSet<i64>| p.kind == Kind::Student && ids.contains(&p.id);
        if self.ids.as_ref().is_some_and(|ids| !ids.contains(&p.id))
            || (self.in_classes.as_ref()).is_some_and(|ids| !in_classes(ids))
        {
            return false;
        }
        if self
            .sis_ids
            .as_ref()
            .is_some_and(|ids| !ids.contains(&*p.sis_id))
        {
            return false;
        }
        self.words.iter().all(|(folded, lower)| {
            folded.find(p.search.as_bytes()).is_some()
                || p.account
                    .as_ref()
                    .is_some_and(|a| lower.find(a.username.as_bytes()).is_some())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::people;

    fn school() -> (tempfile::TempDir, crate::Store, crate::store::DbKey) {
        crate::testing::demo_school(400)
    }

    #[test]
    fn answers_class_and_teacher_filters_as_the_database_does() {
        // Home groups from a CASES21 school, and classes with teachers from
        // the public SDS sample, side by side.
        let (dir, mut store) = crate::testing::empty_store();
        let eduhub = dir.path().join("eduhub");
        keyroll_demo::generate_cases21(&eduhub, 120, 3).unwrap();
        let sds = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/samples/sds-v2.1");
        for files in [eduhub, sds] {
            let opts = crate::import::Options::default();
            crate::import::run(&mut store, &[files], &opts, "test", &mut |_| true).unwrap();
        }
        let conn = store.conn();
        let roster = Roster::load(conn).unwrap();
        let classes = people::classes(conn).unwrap();
        assert!(classes.len() > 3, "{classes:?}");
        let mut queries: Vec<PeopleQuery> = (classes.iter())
            .map(|c| PeopleQuery {
                class: Some(c.sis_id.clone()),
                ..Default::default()
            })
            .collect();
        for (class, teacher) in [
            (None, "114006"),
            (None, "114007"),
            (Some("112001"), "114007"),
        ] {
            queries.push(PeopleQuery {
                class: class.map(Into::into),
                teacher: Some(teacher.into()),
                ..Default::default()
            });
        }
        let mut found = 0;
        for query in queries {
            let sql: Vec<i64> = (people::list(conn, &query).unwrap().iter())
                .map(|p| p.id)
                .collect();
            found += sql.len();
            if query.teacher.is_some() && query.class.is_none() {
                assert!(!sql.is_empty(), "the sample's teachers teach: {query:?}");
            }
            assert_eq!(roster.query(&query, Sort::default()).ids, sql, "{query:?}");
        }
        assert!(found >= 120, "every student is in a home group");
    }

    #[test]
    fn answers_every_filter_as_the_database_does() {
        let (_dir, store, _) = school();
        let conn = store.conn();
        let roster = Roster::load(conn).unwrap();
        let everyone = people::list(conn, &PeopleQuery::default()).unwrap();
        assert_eq!(roster.len(), everyone.len());
        let student = everyone.iter().find(|p| p.kind == "student").unwrap();
        let parent = everyone
            .iter()
            .find(|p| p.kind == "parent" && p.username.is_some())
            .unwrap();
        let username = parent.username.clone().unwrap();
        let q = |f: &dyn Fn(&mut PeopleQuery)| {
            let mut q = PeopleQuery::default();
            f(&mut q);
            q
        };
        let queries = [
            PeopleQuery::default(),
            q(&|q| q.kind = Some(Kind::Staff)),
            q(&|q| q.status = Some(Status::Left)),
            q(&|q| q.state = Some("disabled".into())),
            q(&|q| q.state = Some("none".into())),
            q(&|q| q.new = true),
            q(&|q| q.reasons = vec!["waiting for review".into()]),
            q(&|q| q.group = Some("parents".into())),
            q(&|q| q.group = Some("No such group".into())),
            q(&|q| q.school = Some(student.school.split(',').next().unwrap().into())),
            q(&|q| q.year = Some(student.year_level.clone())),
            q(&|q| q.home_group = Some(student.home_group.clone())),
            q(&|q| q.search = Some(student.family_name.to_uppercase())),
            q(&|q| q.search = Some(format!("{} {}", student.given_name, student.family_name))),
            q(&|q| q.search = Some(username[1..username.len() - 1].to_uppercase())),
            q(&|q| q.search = Some("zzzz-nobody".into())),
            q(&|q| q.sis_ids = vec![student.sis_id.clone(), parent.sis_id.clone()]),
            q(&|q| q.ids = vec![parent.id, student.id]),
            q(&|q| {
                q.kind = Some(Kind::Contact);
                q.state = Some("disabled".into());
                q.search = Some(parent.family_name.clone());
            }),
        ];
        for query in queries {
            let sql: Vec<i64> = people::list(conn, &query)
                .unwrap()
                .iter()
                .map(|p| p.id)
                .collect();
            let page = roster.query(&query, Sort::default());
            assert_eq!(page.ids, sql, "{query:?}");
            assert_eq!(
                page.matching,
                people::count(conn, &query).unwrap(),
                "{query:?}"
            );
        }
        // A page, and its rows read back in the same order.
        let query = PeopleQuery {
            offset: 30,
            limit: Some(25),
            ..Default::default()
        };
        let page = roster.query(&query, Sort::default());
        assert_eq!(page.matching, everyone.len() as u64);
        assert_eq!(
            people::by_ids(conn, &page.ids).unwrap(),
            everyone[30..55].to_vec()
        );
    }

    #[test]
    fn sorts_by_any_column_either_way() {
        let (_dir, store, _) = school();
        let conn = store.conn();
        let roster = Roster::load(conn).unwrap();
        let rows = |by, descending| {
            let ids = roster
                .query(&PeopleQuery::default(), Sort { by, descending })
                .ids;
            people::by_ids(conn, &ids).unwrap()
        };
        let up = rows(SortBy::Username, false);
        let names: Vec<Option<String>> = up
            .iter()
            .map(|p| p.username.as_ref().map(|u| u.to_lowercase()))
            .collect();
        let with = names.iter().take_while(|u| u.is_some()).count();
        assert!(
            with > 0 && names[with..].iter().all(Option::is_none),
            "no account sorts last"
        );
        assert!(names[..with].windows(2).all(|w| w[0] <= w[1]));
        let down = rows(SortBy::Username, true);
        assert_eq!(down.first().map(|p| p.id), up.last().map(|p| p.id));

        let years: Vec<String> = rows(SortBy::Year, false)
            .into_iter()
            .map(|p| p.year_level)
            .filter(|y| !y.is_empty())
            .collect();
        let numbers: Vec<u64> = years.iter().filter_map(|y| y.parse().ok()).collect();
        assert!(
            numbers.windows(2).all(|w| w[0] <= w[1]),
            "9 before 10: {numbers:?}"
        );

        // Ties keep name order: within one kind, sorting by kind is the list.
        let by_kind = rows(SortBy::Kind, false);
        assert_eq!(
            by_kind,
            people::list(conn, &PeopleQuery::default()).unwrap()
        );
    }

    #[test]
    fn knows_when_another_connection_has_changed_the_database() {
        let (dir, store, key) = school();
        let roster = Roster::load(store.conn()).unwrap();
        assert!(roster.is_current(store.conn()).unwrap());
        // The app's writes (imports, account actions) and the command line
        // come through connections of their own.
        let mut other = crate::Store::open(&dir.path().join("k.db"), &key).unwrap();
        other
            .write("test", |w| {
                w.conn()
                    .execute("INSERT INTO user_group (name) VALUES ('Visitors')", [])?;
                w.audit("group.create", "group", "Visitors", None, Some("{}"))
            })
            .unwrap();
        assert!(!roster.is_current(store.conn()).unwrap());
        let again = Roster::load(store.conn()).unwrap();
        assert!(again.is_current(store.conn()).unwrap());
    }
}
