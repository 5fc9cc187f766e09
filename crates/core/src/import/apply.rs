//! The writing side of an import: applies [`Record`]s to the database inside
//! the import's transaction, then works out links and leavers once every row
//! is read.

// Hundreds of thousands of lookups by SIS id per import: a fast hasher
// (the files are the school's own, not an attacker's).
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type HashSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;
use std::hash::BuildHasher;
use std::time::{Duration, Instant};

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::classes::{self, Applying, Enrolled};
use super::records::Record;
use super::{LinkRecord, OrgRecord, Outcome, Progress, RowError, Scope, Stage};
use crate::error::{Error, Result};
use crate::people::{self, FieldChange, Kind, LinkAttrs, Status, Upsert};
use crate::store::Writer;

/// How many people the change list names: enough to review any ordinary
/// re-import field by field; a first import of a whole district is only
/// counted past this.
pub const MAX_CHANGES: usize = 5000;

/// One person an import adds, changes or marks as leaving, for the preview.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// new, updated or leaving.
    pub change: &'static str,
    /// student, staff or parent.
    pub kind: &'static str,
    pub sis_id: String,
    pub name: String,
    /// The fields that change (empty for a new person).
    pub fields: Vec<FieldChange>,
}

/// What an import changed (or, in a dry run, would change).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Counts {
    /// People added.
    pub new: u64,
    /// People whose SIS fields changed (other than leaving).
    pub updated: u64,
    /// People who left: missing from a full export or given a non-current status.
    pub leaving: u64,
    pub unchanged: u64,
    /// Rows rejected: not imported (a row with two problems is one row).
    pub rejected: u64,
    /// Rows imported without something they say (a link to someone not in
    /// the export, a birth date that is not a date), each listed with what
    /// was dropped.
    #[serde(default)]
    pub warnings: u64,
    /// Of those, rows about people (not an org's parent): an import that
    /// stops on errors imports nothing if there is one.
    #[serde(skip)]
    pub people_warned: u64,
    pub orgs_new: u64,
    pub orgs_updated: u64,
    pub links_new: u64,
    pub links_updated: u64,
    pub links_removed: u64,
    pub classes_new: u64,
    pub classes_updated: u64,
    pub classes_removed: u64,
}

impl Counts {
    pub fn changed(&self) -> bool {
        self.new
            + self.updated
            + self.leaving
            + self.orgs_new
            + self.orgs_updated
            + self.links_new
            + self.links_updated
            + self.links_removed
            + self.classes_new
            + self.classes_updated
            + self.classes_removed
            > 0
    }
}

struct Stored {
    id: i64,
    /// The stored row's digest (0: unknown).
    digest: i64,
    /// Their SIS id: `len` bytes from `at` in [`StoredPeople::sis_ids`].
    at: u32,
    len: u32,
    /// Their org SIS ids (comma separated), as an index into
    /// [`Apply::school_lists`]: a school has thousands of people, and a
    /// string each meant an allocation per person before a re-import could
    /// start.
    schools: u32,
    /// As stored; once seen, as this import's row says.
    kind: Kind,
    status: Status,
    /// This import has their row.
    seen: bool,
    /// Once seen: whether this import's row gives them parental responsibility.
    responsible: bool,
}

/// Whether someone an import's row names was stored before it.
enum Seen {
    NotStored,
    /// Stored, and this is the import's first row of theirs.
    First {
        id: i64,
        digest: i64,
    },
    /// Stored, and seen already in this import.
    Again {
        id: i64,
    },
}

/// The people of a source stored before an import, by SIS id. The ids are
/// kept end to end in one string, and the map's entries say where: a string
/// each for a large school's people, and a map of them, held a re-import up
/// before it could compare anyone.
#[derive(Default)]
struct StoredPeople {
    sis_ids: String,
    by_sis_id: hashbrown::HashTable<Stored>,
    hasher: foldhash::fast::RandomState,
    /// How many this import has a row of.
    seen_count: usize,
}

impl StoredPeople {
    fn reserve(&mut self, people: usize) {
        // SIS ids run about 11 bytes (OneRoster's "stu-0000001").
        self.sis_ids.reserve(people * 12);
        let (sis_ids, hasher) = (&self.sis_ids, &self.hasher);
        self.by_sis_id
            .reserve(people, |st| hasher.hash_one(sis_id_of(sis_ids, st)));
    }

    fn is_empty(&self) -> bool {
        self.by_sis_id.is_empty()
    }

    fn sis_id(&self, st: &Stored) -> &str {
        sis_id_of(&self.sis_ids, st)
    }

    /// Adds someone stored (SIS ids are unique per source in the database).
    fn push(&mut self, sis_id: &str, mut st: Stored) {
        // (Four gigabytes of SIS ids would be a billion people.)
        let offset = |n: usize| u32::try_from(n).expect("SIS ids take under 4 GiB");
        st.at = offset(self.sis_ids.len());
        st.len = offset(sis_id.len());
        self.sis_ids.push_str(sis_id);
        let hash = self.hasher.hash_one(sis_id);
        let (sis_ids, hasher) = (&self.sis_ids, &self.hasher);
        self.by_sis_id
            .insert_unique(hash, st, |st| hasher.hash_one(sis_id_of(sis_ids, st)));
    }

    fn get(&self, sis_id: &str) -> Option<&Stored> {
        if self.is_empty() {
            return None; // a first import: no hashing
        }
        let ids = &self.sis_ids;
        self.by_sis_id.find(self.hasher.hash_one(sis_id), |st| {
            has_sis_id(ids, st, sis_id)
        })
    }

    /// Notes that the import has a row of `sis_id`, and who the row makes them.
    fn see(&mut self, sis_id: &str, kind: Kind, responsible: bool) -> Seen {
        if self.is_empty() {
            return Seen::NotStored;
        }
        let ids = &self.sis_ids;
        let hash = self.hasher.hash_one(sis_id);
        let Some(st) = self
            .by_sis_id
            .find_mut(hash, |st| has_sis_id(ids, st, sis_id))
        else {
            return Seen::NotStored;
        };
        (st.kind, st.responsible) = (kind, responsible);
        if std::mem::replace(&mut st.seen, true) {
            return Seen::Again { id: st.id };
        }
        self.seen_count += 1;
        Seen::First {
            id: st.id,
            digest: st.digest,
        }
    }

    /// Someone stored whom the import has a row of.
    fn known(&self, sis_id: &str) -> Option<Known> {
        self.get(sis_id).filter(|st| st.seen).map(|st| Known {
            id: st.id,
            kind: st.kind,
            responsible: st.responsible,
        })
    }

    /// The stored people this import has a row of.
    fn seen_people(&self) -> impl Iterator<Item = &Stored> {
        self.by_sis_id.iter().filter(|st| st.seen)
    }

    /// The stored people this import has no row of (yet).
    fn unseen_people(&self) -> impl Iterator<Item = &Stored> {
        self.by_sis_id.iter().filter(|st| !st.seen)
    }
}

fn sis_id_of<'a>(sis_ids: &'a str, st: &Stored) -> &'a str {
    &sis_ids[st.at as usize..st.at as usize + st.len as usize]
}

fn has_sis_id(sis_ids: &str, st: &Stored, sis_id: &str) -> bool {
    st.len as usize == sis_id.len() && sis_id_of(sis_ids, st) == sis_id
}

/// Who a SIS id names among the people an import has rows of: `stored`
/// (once seen) or new.
fn known(stored: &StoredPeople, people: &HashMap<String, Known>, sis_id: &str) -> Option<Known> {
    stored.known(sis_id).or_else(|| people.get(sis_id).copied())
}

/// Works out `links` with `lookup`: the links as wanted, sorted by pair (a
/// link stated twice is there twice, in the order stated), and the errors,
/// in order, then the warnings about links kept as they are (which drop
/// nothing, so never refuse an import).
///
/// A link between a student and a staff member is kept whichever side
/// states it: a staff member can also be a parent at the school. They stay
/// staff; the link carries parental responsibility when the files give
/// them a parent or guardian role as well (OneRoster 1.2 and SDS roles.csv
/// can; OneRoster 1.1 has one role per user), and otherwise a warning says
/// so, and how to give them one. Collected and sorted rather than put in a map: cheaper for a
/// large school's links, and the order is what storing them wants.
fn resolve(
    links: Vec<Vec<LinkRecord>>,
    protected: &HashSet<String>,
    mut lookup: impl FnMut(&str) -> Result<Option<Known>>,
) -> Result<Resolved> {
    let mut wanted: Vec<Wanted> = Vec::with_capacity(links.iter().map(Vec::len).sum());
    let mut errors = Vec::new();
    let mut kept = Vec::new();
    // A row's links come together: its person is looked up once.
    let mut last: (String, Option<Known>) = (String::new(), None);
    for link in links.into_iter().flatten() {
        if last.1.is_none() || last.0 != link.from {
            last.1 = lookup(&link.from)?;
            link.from.clone_into(&mut last.0);
        }
        let Some(from) = last.1 else {
            // A rejected row was reported already; anyone else is unknown.
            if !protected.contains(&link.from) {
                errors.push(
                    link.at
                        .from_error(format!("\"{}\" is not a person in this export", link.from)),
                );
            }
            continue;
        };
        let Some(to) = lookup(&link.to)? else {
            // The row's person is imported; only the link is dropped.
            if !protected.contains(&link.to) && !link.optional {
                let e = link
                    .at
                    .to_error(format!("\"{}\" is not a person in this export", link.to));
                let dropped = format!("\"{}\" is imported without this link", link.from);
                errors.push(e.warning(&dropped));
            }
            continue;
        };
        let (student, contact, from_student) = match (from.kind, to.kind) {
            // A staff member can also be a parent at the school.
            (Kind::Student, Kind::Contact | Kind::Staff) => (from, to, true),
            (Kind::Contact | Kind::Staff, Kind::Student) => (to, from, false),
            (a, b) => {
                errors.push(link.at.to_error(format!(
                    "links a {} to \"{}\", a {}; links join a student and a parent or guardian",
                    a.as_str(),
                    link.to,
                    b.as_str()
                )));
                continue;
            }
        };
        let responsible = link.responsible.unwrap_or(contact.responsible);
        if contact.kind == Kind::Staff && !responsible {
            let (side, staff) = match from_student {
                true => (link.at.to_error(String::new()), &link.to),
                false => (link.at.from_error(String::new()), &link.from),
            };
            kept.push(RowError {
                reason: format!(
                    "\"{staff}\" is a staff member with no parent or guardian role, so the link \
                     is kept without parental responsibility and parent letters do not reach \
                     them; to make them a parent as well, give them a parent or guardian role \
                     too (OneRoster 1.2 and SDS: a second row in roles.csv; OneRoster 1.1 has \
                     one role per user)"
                ),
                outcome: Outcome::Warning,
                ..side
            });
        }
        let student_sis = if from_student { link.from } else { link.to };
        let attrs = LinkAttrs {
            family_code: link.family.code,
            primary_family: !link.family.secondary,
            parental_responsibility: responsible,
            primary_contact: link
                .family
                .primary
                .unwrap_or(from_student && link.rank == 0),
            access_restricted: link.family.access_restricted,
            no_reports: link.family.no_reports,
        };
        wanted.push(((student.id, contact.id), (attrs, student_sis)));
    }
    wanted.sort_by_key(|(pair, _)| *pair);
    Ok((wanted, errors, kept))
}

/// What [`resolve`] works out: the links wanted, the errors, and warnings
/// about links kept.
type Resolved = (Vec<Wanted>, Vec<RowError>, Vec<RowError>);

/// [`resolve`] with the first half of the chunks on this thread and the
/// second on another; the same results, in the same order.
fn resolve_in_two(
    mut links: Vec<Vec<LinkRecord>>,
    protected: &HashSet<String>,
    known: impl Fn(&str) -> Option<Known> + Sync,
) -> Result<Resolved> {
    if links.len() < 2 {
        return resolve(links, protected, |sis_id| Ok(known(sis_id)));
    }
    // Taken by the other thread, or by this one if none could be started.
    let second = std::sync::Mutex::new(Some(links.split_off(links.len() / 2)));
    let take_second = || {
        second
            .lock()
            .ok()
            .and_then(|mut s| s.take())
            .unwrap_or_default()
    };
    let known = &known;
    std::thread::scope(|scope| {
        let other = std::thread::Builder::new().spawn_scoped(scope, || {
            resolve(take_second(), protected, |s| Ok(known(s)))
        });
        let (mut wanted, mut errors, mut kept) = resolve(links, protected, |s| Ok(known(s)))?;
        let (more, more_errors, more_kept) = match other {
            Ok(other) => other.join().unwrap_or_else(|_| {
                Err(Error::Invalid(
                    "internal error: resolving links crashed".into(),
                ))
            })?,
            Err(_) => resolve(take_second(), protected, |s| Ok(known(s)))?,
        };
        wanted.extend(more);
        errors.extend(more_errors);
        kept.extend(more_kept);
        Ok((wanted, errors, kept))
    })
}

/// Links as [`resolve`] gives them (or runs of them, one after another), in
/// pair order, each once: where a link is stated twice, the first
/// statement's attributes stand, and it is primary if either says so.
fn merge_restated(mut wanted: Vec<Wanted>) -> Vec<Wanted> {
    // Stable, so statements keep their order; sorted runs merge in one pass.
    wanted.sort_by_key(|(pair, _)| *pair);
    wanted.dedup_by(|later, first| {
        let same = later.0 == first.0;
        if same {
            first.1 .0.primary_contact |= later.1 .0.primary_contact;
        }
        same
    });
    wanted
}

/// A set of person row ids: bits for the range row ids fill (hash sets of a
/// large school's people cost more than the lookups they served), a hash set
/// for any outside it (a row id is whatever was inserted: only a hand-made
/// database has one far above the rest, and it must not cost gigabytes).
#[derive(Default)]
struct IdSet {
    bits: Vec<u64>,
    others: HashSet<i64>,
}

impl IdSet {
    /// Row ids below this are bits (8 MB at most).
    const DENSE: i64 = 1 << 26;

    fn insert(&mut self, id: i64) {
        if !(0..Self::DENSE).contains(&id) {
            self.others.insert(id);
            return;
        }
        let i = id as usize;
        if i / 64 >= self.bits.len() {
            self.bits.resize(i / 64 + 1, 0);
        }
        self.bits[i / 64] |= 1 << (i % 64);
    }

    fn contains(&self, id: i64) -> bool {
        if !(0..Self::DENSE).contains(&id) {
            return self.others.contains(&id);
        }
        let i = id as usize;
        self.bits
            .get(i / 64)
            .is_some_and(|w| w >> (i % 64) & 1 == 1)
    }
}

/// Every stored link, read on a thread of its own from a second connection
/// while the writer reads who is stored: both are needed before an import
/// can compare its first row, and one after the other they held up the
/// reading of the files. Only a head start: if the thread cannot start or
/// its read fails, the writer reads the links itself.
pub(super) struct StoredLinks(Option<std::thread::JoinHandle<Result<Vec<StoredLink>>>>);

type StoredLink = ((i64, i64), LinkAttrs);

impl StoredLinks {
    /// Starts reading on `conn` ([`crate::Store::reader`]). Start it once the
    /// import holds the write lock: nobody else can commit then, so it sees
    /// exactly what the writer sees.
    pub(super) fn start(conn: rusqlite::Connection) -> Option<StoredLinks> {
        let load = std::thread::Builder::new()
            .name("keyroll-links".into())
            .spawn(move || people::links_of(&conn))
            .ok()?;
        Some(StoredLinks(Some(load)))
    }

    /// The links, unless reading them failed.
    fn wait(mut self) -> Option<Vec<StoredLink>> {
        self.0.take()?.join().ok()?.ok()
    }
}

impl Drop for StoredLinks {
    /// An import that stops early still waits: no thread outlives it.
    fn drop(&mut self) {
        if let Some(load) = self.0.take() {
            let _ = load.join();
        }
    }
}

/// A link the files state: (student id, contact id), (attributes, student SIS id).
type Wanted = ((i64, i64), (LinkAttrs, String));

#[derive(Clone, Copy)]
struct Known {
    id: i64,
    kind: Kind,
    /// For contacts: whether their role carries parental responsibility.
    responsible: bool,
}

pub(super) struct Apply<'w, 'a, 'p> {
    w: &'w mut Writer<'a>,
    import_id: i64,
    source: String,
    scope: Scope,
    /// People of this import not stored before it, by SIS id.
    people: HashMap<String, Known>,
    /// People of this source stored before the import; once seen, as this
    /// import has them.
    stored: StoredPeople,
    /// The distinct lists of org SIS ids of the stored people.
    school_lists: Vec<String>,
    /// Orgs this export lists: a full export speaks only for people of these.
    orgs_in_export: HashSet<String>,
    /// The kinds of people this export lists (None: all): a CASES21 export
    /// without its staff file must not mark every staff member as left.
    kinds_in_export: Option<Vec<Kind>>,
    /// False when the files state no links at all (no agentSourcedIds column):
    /// then stored links are left alone.
    links_stated: bool,
    /// The source's stored links in (student, contact) order, loaded at the
    /// start while the files are still being read (not on the way to the end).
    stored_links: Option<Vec<StoredLink>>,
    /// Every stored link, being read (None: read them when needed).
    links_loading: Option<StoredLinks>,
    /// Secondary indexes dropped for a first bulk load: (name, CREATE sql).
    rebuild: Vec<(String, String)>,
    /// The largest person id stored before this import: everyone with a
    /// larger one was created by it (a new row's id is larger than any
    /// stored). Their creation entries are written together at the end,
    /// when a new contact's children are known.
    max_id_before: i64,
    /// SIS ids whose rows were rejected: not leavers, not dangling.
    protected: HashSet<String>,
    /// Warnings about people, by index in `errors`, with whom they are
    /// about: a warning about someone whose row was rejected after all is
    /// reported as rejected. (Other warnings are about orgs.)
    warned: Vec<(usize, String)>,
    /// The creation entries of the people this import creates, written as
    /// they are stored.
    created: Option<people::CreatedPeople>,
    /// The links read, resolved once every person is stored: in chunks, as
    /// one vector of them all (a large school states most links from both
    /// sides) was copied whole each time it grew, into fresh memory.
    links: Vec<Vec<LinkRecord>>,
    /// Classes, worked out as their records arrive (None: the files say
    /// nothing of classes), written once every person is stored.
    classes: Option<Applying>,
    counts: Counts,
    /// The first [`MAX_CHANGES`] people changed, for the preview.
    changes: Vec<Change>,
    errors: Vec<RowError>,
    total_bytes: u64,
    progress: &'p mut dyn FnMut(Progress) -> bool,
    last_progress: Instant,
}

impl<'w, 'a, 'p> Apply<'w, 'a, 'p> {
    pub(super) fn new(
        w: &'w mut Writer<'a>,
        format: &str,
        files: &[String],
        total_bytes: u64,
        links_loading: Option<StoredLinks>,
        progress: &'p mut dyn FnMut(Progress) -> bool,
    ) -> Result<Self> {
        w.conn().execute(
            "INSERT INTO import (started_at, actor, format, files) VALUES (?1, ?2, ?3, ?4)",
            params![
                w.at(),
                w.actor(),
                format,
                serde_json::to_string(files).expect("strings serialise")
            ],
        )?;
        let import_id = w.conn().last_insert_rowid();
        w.set_import(import_id);
        Ok(Apply {
            w,
            import_id,
            source: String::new(),
            scope: Scope::Bulk,
            people: HashMap::default(),
            stored: StoredPeople::default(),
            school_lists: Vec::new(),
            orgs_in_export: HashSet::default(),
            kinds_in_export: None,
            links_stated: true,
            stored_links: None,
            links_loading,
            rebuild: Vec::new(),
            max_id_before: 0,
            protected: HashSet::default(),
            warned: Vec::new(),
            created: Some(people::CreatedPeople::new(import_id)),
            links: Vec::new(),
            classes: None,
            counts: Counts::default(),
            changes: Vec::new(),
            errors: Vec::new(),
            total_bytes,
            progress,
            // The first report goes out at once; later ones at most every 50 ms.
            last_progress: Instant::now()
                .checked_sub(Duration::from_secs(1))
                .unwrap_or_else(Instant::now),
        })
    }

    /// A person a link names: from this import; in a change file also one
    /// stored earlier. (In a full export everyone linked must be in it: a
    /// link to someone it leaves out would point at a leaver.)
    fn lookup(&self, sis_id: &str) -> Result<Option<Known>> {
        if let Some(k) = self.known(sis_id) {
            return Ok(Some(k));
        }
        if self.scope == Scope::Bulk || self.stored.get(sis_id).is_none_or(|st| st.seen) {
            return Ok(None);
        }
        Ok(self
            .w
            .conn()
            .prepare_cached("SELECT id, kind, role FROM person WHERE source = ?1 AND sis_id = ?2")?
            .query_row(params![self.source, sis_id], |r| {
                Ok(Known {
                    id: r.get(0)?,
                    kind: Kind::parse(&r.get::<_, String>(1)?).unwrap_or(Kind::Contact),
                    responsible: people::has_parental_responsibility(r.get_ref(2)?.as_str()?),
                })
            })
            .optional()?)
    }

    /// Someone this import has a row of.
    fn known(&self, sis_id: &str) -> Option<Known> {
        known(&self.stored, &self.people, sis_id)
    }

    /// Resolves links, removes stale ones, marks leavers, records the import.
    pub(super) fn finish(mut self) -> Result<(i64, Counts, Vec<Change>, Vec<RowError>)> {
        let saving = Progress {
            stage: Stage::Saving,
            done_bytes: self.total_bytes,
            total_bytes: self.total_bytes,
        };
        if !(self.progress)(saving) {
            return Err(Error::Cancelled);
        }
        // A full export that lists nobody would mark everyone as left.
        if self.scope == Scope::Bulk
            && self.people.is_empty()
            && self.stored.seen_count == 0
            && self.protected.is_empty()
        {
            return Err(Error::Invalid(
                "The export lists no people at all. A full export with nobody in it would mark \
                 everyone as left, so nothing was imported: check that the right files were exported."
                    .into(),
            ));
        }
        let wanted = self.resolve_links()?;
        self.apply_links(wanted)?;
        self.apply_classes()?;
        if self.scope == Scope::Bulk {
            self.mark_leavers()?;
        }
        for (_, sql) in std::mem::take(&mut self.rebuild) {
            self.w.conn().execute_batch(&sql)?;
        }
        self.count_rows();
        let counts = serde_json::to_string(&self.counts).expect("counts serialise");
        self.w.conn().execute(
            "UPDATE import SET counts = ?2, exceptions = ?3 WHERE id = ?1",
            params![
                self.import_id,
                counts,
                serde_json::to_string(&self.errors).expect("errors serialise")
            ],
        )?;
        self.w.audit(
            "import.apply",
            "import",
            &self.import_id.to_string(),
            None,
            Some(&counts),
        )?;
        Ok((self.import_id, self.counts, self.changes, self.errors))
    }

    /// Counts the rows listed, once each however many problems they have:
    /// rejected, or imported with a warning. A warning about someone whose
    /// row was rejected becomes a rejection: nothing of theirs is imported.
    fn count_rows(&mut self) {
        let mut about_people = HashSet::default();
        for (i, sis_id) in std::mem::take(&mut self.warned) {
            if self.protected.contains(&sis_id) {
                self.errors[i].outcome = Outcome::Rejected;
            }
            about_people.insert(i);
        }
        let row = |e: &RowError| (e.file.clone(), e.line);
        let rejected: HashSet<(String, u64)> = self
            .errors
            .iter()
            .filter(|e| e.outcome == Outcome::Rejected)
            .map(row)
            .collect();
        let mut warned: HashSet<(String, u64)> = HashSet::default();
        let mut people_warned: HashSet<(String, u64)> = HashSet::default();
        for (i, e) in self.errors.iter().enumerate() {
            let at = row(e);
            if e.outcome != Outcome::Warning || rejected.contains(&at) {
                continue;
            }
            if about_people.contains(&i) {
                people_warned.insert(at.clone());
            }
            warned.insert(at);
        }
        self.counts.rejected = rejected.len() as u64;
        self.counts.warnings = warned.len() as u64;
        self.counts.people_warned = people_warned.len() as u64;
    }

    /// The links the files state, in (student id, contact id) order, each
    /// once: (student id, contact id), (attributes, student SIS id).
    fn resolve_links(&mut self) -> Result<Vec<Wanted>> {
        let links = std::mem::take(&mut self.links);
        let (wanted, errors, kept) = if self.scope == Scope::Bulk {
            // In a full export everyone linked is in it, so the import's own
            // people answer every lookup, and two threads can share the work
            // (the file reader has finished).
            let (stored, people) = (&self.stored, &self.people);
            resolve_in_two(links, &self.protected, |sis_id| {
                known(stored, people, sis_id)
            })?
        } else {
            resolve(links, &self.protected, |sis_id| self.lookup(sis_id))?
        };
        // A link's warning is about the person whose row states it, who is
        // imported (an unknown one's link is rejected).
        for e in errors {
            if e.outcome == Outcome::Warning {
                self.warned.push((self.errors.len(), String::new()));
            }
            self.errors.push(e);
        }
        self.errors.extend(kept);
        Ok(merge_restated(wanted))
    }

    /// `wanted`: as [`Apply::resolve_links`] gives them, in pair order.
    fn apply_links(&mut self, wanted: Vec<Wanted>) -> Result<()> {
        // Everyone's creation before their links'.
        if let Some(created) = self.created.take() {
            created.finish(self.w)?;
        }
        // None: nobody of this source was stored, so none of their links were.
        let mut existing = self
            .stored_links
            .take()
            .unwrap_or_default()
            .into_iter()
            .peekable();
        // Students whose rows this import has: each speaks for their own links.
        let mut students_here = IdSet::default();
        let new_students = self.people.values().filter(|k| k.kind == Kind::Student);
        let stored_students = self
            .stored
            .seen_people()
            .filter(|st| st.kind == Kind::Student);
        for id in new_students
            .map(|k| k.id)
            .chain(stored_students.map(|st| st.id))
        {
            students_here.insert(id);
        }
        let protected_ids: HashSet<i64> = self
            .protected
            .iter()
            .filter_map(|s| {
                (self.stored.get(s).map(|st| st.id)).or_else(|| self.people.get(s).map(|k| k.id))
            })
            .collect();
        // New contacts' SIS ids, for their links' entries (people holds only
        // people this import created).
        let new_contacts: HashMap<i64, &str> = self
            .people
            .iter()
            .filter(|(_, k)| k.kind != Kind::Student)
            .map(|(sis_id, k)| (k.id, sis_id.as_str()))
            .collect();
        let mut linked = people::CreatedLinks::new(self.import_id);
        // Both in pair order (a stable audit order): one merge of the two.
        // Stored links no file states (again).
        let mut unstated = Vec::new();
        for (pair, (attrs, student_sis)) in wanted {
            while let Some(old) = existing.next_if(|(p, _)| *p < pair) {
                unstated.push(old);
            }
            match existing.next_if(|(p, _)| *p == pair).map(|(_, old)| old) {
                None if pair.1 > self.max_id_before => {
                    people::link_new_contact(self.w, pair, &attrs)?;
                    let contact = new_contacts.get(&pair.1).copied().unwrap_or_default();
                    linked.push(self.w, pair, &student_sis, contact, &attrs)?;
                    self.counts.links_new += 1;
                }
                None => {
                    people::set_link(self.w, pair, None, Some(&attrs))?;
                    self.counts.links_new += 1;
                }
                Some(old) if old != attrs => {
                    people::set_link(self.w, pair, Some(&old), Some(&attrs))?;
                    self.counts.links_updated += 1;
                }
                Some(_) => {}
            }
        }
        // A stored link goes only when the student's row is here and neither
        // side still states it. Links of students not in these files (another
        // school's export, a change file without them) are left alone.
        let stale = unstated.into_iter().chain(existing).filter(|((s, c), _)| {
            self.links_stated
                && students_here.contains(*s)
                && !protected_ids.contains(s)
                && !protected_ids.contains(c)
        });
        for (pair, old) in stale {
            people::set_link(self.w, pair, Some(&old), None)?;
            self.counts.links_removed += 1;
        }
        linked.finish(self.w)
    }

    /// Who an enrollment names, as this import knows them so far: someone
    /// it has a row of or, in a change file, someone stored (from the list
    /// index read at the start: a change file's enrollments may name most of
    /// the school, and each person's own row is a random encrypted read).
    fn enrolled(&self, sis_id: &str) -> Enrolled {
        if self.protected.contains(sis_id) {
            return Enrolled::Protected;
        }
        if let Some(k) = self.known(sis_id) {
            return Enrolled::Person(k.id, k.kind);
        }
        match self.stored.get(sis_id) {
            Some(st) if self.scope == Scope::Delta => Enrolled::Person(st.id, st.kind),
            _ => Enrolled::Unknown,
        }
    }

    fn apply_classes(&mut self) -> Result<()> {
        let Some(mut applying) = self.classes.take() else {
            return Ok(());
        };
        let mut pending = Vec::new();
        for e in applying.take_pending() {
            let who = self.enrolled(&e.person);
            pending.push((e, who));
        }
        let covers = |school: &str| covers(&self.orgs_in_export, school);
        let protected = |sis_id: &str| self.protected.contains(sis_id);
        let cx = classes::Context {
            source: &self.source,
            covers: &covers,
            protected: &protected,
        };
        applying.finish(self.w, &cx, pending, &mut self.counts, &mut self.errors)
    }

    /// Marks as left the stored people a full export leaves out, among those
    /// of the orgs it lists ([`covers`]).
    fn mark_leavers(&mut self) -> Result<()> {
        let stored = &self.stored;
        let mut gone: Vec<(&str, &Stored)> = stored
            .unseen_people()
            .map(|st| (stored.sis_id(st), st))
            .filter(|(sis, st)| {
                st.status != Status::Left
                    && self
                        .kinds_in_export
                        .as_ref()
                        .is_none_or(|k| k.contains(&st.kind))
                    && !self.protected.contains(*sis)
                    && covers(
                        &self.orgs_in_export,
                        &self.school_lists[st.schools as usize],
                    )
            })
            .collect();
        gone.sort_by_key(|(_, st)| st.id); // stable audit order
        for (sis_id, st) in gone {
            people::mark_left(self.w, &self.source, st.id, sis_id, st.status)?;
            self.counts.leaving += 1;
            if self.changes.len() < MAX_CHANGES {
                let name: String = self.w.conn().query_row(
                    "SELECT trim(given_name || ' ' || family_name) FROM person WHERE id = ?1",
                    [st.id],
                    |r| r.get(0),
                )?;
                self.changes.push(Change {
                    change: "leaving",
                    kind: st.kind.account_word(),
                    sis_id: sis_id.to_owned(),
                    name,
                    fields: vec![FieldChange {
                        field: "status".into(),
                        before: st.status.as_str().into(),
                        after: "left".into(),
                    }],
                });
            }
        }
        Ok(())
    }

    /// Applies one record from the reading thread.
    pub(super) fn apply(&mut self, record: Record) -> Result<()> {
        match record {
            Record::Begin(source, scope) => self.begin(source, scope),
            Record::Kinds(kinds) => {
                self.kinds_in_export = Some(kinds);
                Ok(())
            }
            Record::NoLinks => {
                self.links_stated = false;
                Ok(())
            }
            Record::Org(org) => {
                self.orgs_in_export.insert(org.sis_id.clone());
                self.org(org)
            }
            Record::Person(p) => self.person(p),
            Record::Unprepared(p) => {
                let p = people::PreparedPerson::new_lazy(p);
                self.person(p)
            }
            Record::Link(l) => {
                const CHUNK: usize = 4096;
                match self.links.last_mut() {
                    Some(chunk) if chunk.len() < CHUNK => chunk.push(l),
                    _ => {
                        let mut chunk = Vec::with_capacity(CHUNK);
                        chunk.push(l);
                        self.links.push(chunk);
                    }
                }
                Ok(())
            }
            Record::ListsClasses(lists) => {
                self.classes = Some(Applying::start(self.w.conn(), &self.source, lists)?);
                Ok(())
            }
            // A format says what it lists before it lists classes.
            Record::KeepClass(sis_id) => {
                if let Some(c) = &mut self.classes {
                    c.keep(sis_id);
                }
                Ok(())
            }
            Record::Class(class) => {
                if let Some(c) = &mut self.classes {
                    c.class(class);
                }
                Ok(())
            }
            Record::Enrollment(e) => {
                let who = self.enrolled(&e.person);
                if let Some(c) = &mut self.classes {
                    c.enrollment(e, who, &mut self.errors);
                }
                Ok(())
            }
            Record::Reject(e, sis_id) => {
                if let Some(id) = sis_id.filter(|s| !s.is_empty()) {
                    self.protected.insert(id);
                }
                self.errors.push(e);
                Ok(())
            }
            Record::Warn(e, sis_id) => {
                if let Some(id) = sis_id {
                    self.warned.push((self.errors.len(), id));
                }
                self.errors.push(e.warning(""));
                Ok(())
            }
            Record::Protect(sis_id) => {
                self.protected.insert(sis_id);
                Ok(())
            }
            Record::Progress(done) => self.progress(done),
        }
    }

    fn begin(&mut self, source: String, scope: Scope) -> Result<()> {
        let conn = self.w.conn();
        // Answered from the list index alone, which covers it (a first load
        // drops it only after this, and rebuilds it): never the large rows.
        let mut st = conn.prepare(
            "SELECT sis_id, id, status, schools, kind, digest FROM person
             INDEXED BY person_list WHERE source = ?1",
        )?;
        let mut lists: HashMap<String, u32> = HashMap::default();
        let school_lists = &mut self.school_lists;
        let mut rows = st.query([&source])?;
        let mut read = |r: &rusqlite::Row<'_>| -> rusqlite::Result<Stored> {
            let schools = r.get_ref(3)?.as_str()?;
            let schools = match lists.get(schools) {
                Some(&i) => i,
                None => {
                    let i = school_lists.len() as u32;
                    school_lists.push(schools.to_owned());
                    lists.insert(schools.to_owned(), i);
                    i
                }
            };
            Ok(Stored {
                id: r.get(1)?,
                digest: r.get(5)?,
                at: 0,
                len: 0,
                schools,
                kind: Kind::parse(r.get_ref(4)?.as_str()?).unwrap_or(Kind::Contact),
                status: Status::parse(r.get_ref(2)?.as_str()?).unwrap_or(Status::Active),
                seen: false,
                responsible: false,
            })
        };
        // Sized once from the largest row id (an upper bound, read in O(log n)):
        // growing maps of a large school's people rehashes them again and
        // again.
        let people: usize = conn.query_row("SELECT coalesce(max(id), 0) FROM person", [], |r| {
            r.get::<_, i64>(0)
        })? as usize;
        self.max_id_before = people as i64;
        self.stored.reserve(people);
        while let Some(r) = rows.next()? {
            let st = read(r)?;
            let sis_id = r.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
            self.stored.push(sis_id, st);
        }
        drop(rows);
        drop(st);
        // Only people not stored go in `people`. A first load has nobody
        // stored to go by: about one person per 160 bytes of the files (a
        // OneRoster users.csv row). Growing the map instead rehashed it
        // again and again.
        if self.stored.is_empty() {
            self.people.reserve((self.total_bytes / 160) as usize);
        } else {
            let mut ids = IdSet::default();
            for st in self.stored.by_sis_id.iter() {
                ids.insert(st.id);
            }
            let mut links = match self.links_loading.take().and_then(StoredLinks::wait) {
                Some(links) => links,
                None => people::links_of(conn)?,
            };
            links.retain(|((student, _), _)| ids.contains(*student));
            self.stored_links = Some(links);
        }
        // A first load into an empty database (no row id yet): building the
        // name indexes once at the end (a sort) is far cheaper than
        // inserting in name order.
        if people == 0 {
            let mut st = conn.prepare(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'person'
                 AND sql IS NOT NULL ORDER BY name",
            )?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            self.rebuild = rows.collect::<rusqlite::Result<_>>()?;
            drop(st);
            for (name, _) in &self.rebuild {
                conn.execute_batch(&format!("DROP INDEX \"{name}\""))?;
            }
        }
        self.source = source;
        self.scope = scope;
        Ok(())
    }

    fn org(&mut self, org: OrgRecord) -> Result<()> {
        let conn = self.w.conn();
        let old: Option<OrgRecord> = conn
            .prepare_cached(
                "SELECT name, org_type, coalesce(parent_sis_id, ''), status FROM org
                 WHERE source = ?1 AND sis_id = ?2",
            )?
            .query_row(params![self.source, org.sis_id], |r| {
                Ok(OrgRecord {
                    sis_id: org.sis_id.clone(),
                    name: r.get(0)?,
                    org_type: r.get(1)?,
                    parent_sis_id: r.get(2)?,
                    status: r.get(3)?,
                })
            })
            .optional()?;
        if old.as_ref() == Some(&org) {
            return Ok(());
        }
        conn.prepare_cached(
            "INSERT INTO org (source, sis_id, name, org_type, parent_sis_id, status)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (source, sis_id) DO UPDATE SET name = ?3, org_type = ?4,
                parent_sis_id = ?5, status = ?6",
        )?
        .execute(params![
            self.source,
            org.sis_id,
            org.name,
            org.org_type,
            org.parent_sis_id,
            org.status
        ])?;
        let json = |o: &OrgRecord| serde_json::to_string(o).expect("org serialises");
        self.w.audit(
            if old.is_some() {
                "org.update"
            } else {
                "org.create"
            },
            "org",
            &format!("{}:{}", self.source, org.sis_id),
            old.as_ref().map(json).as_deref(),
            Some(&json(&org)),
        )?;
        if old.is_some() {
            self.counts.orgs_updated += 1;
        } else {
            self.counts.orgs_new += 1;
        }
        Ok(())
    }

    fn person(&mut self, person: people::PreparedPerson) -> Result<()> {
        let kind = person.record.kind.unwrap_or(Kind::Contact);
        let responsible = people::has_parental_responsibility(&person.record.role);
        let seen = self.stored.see(&person.record.sis_id, kind, responsible);
        // The row it is compared with: its id and digest (0 for a row written
        // earlier in this import, which a second row of theirs compares in full).
        let earlier = match seen {
            Seen::First { id, digest } => Some((id, digest)),
            Seen::Again { id } => Some((id, 0)),
            Seen::NotStored => self.people.get(&person.record.sis_id).map(|k| (k.id, 0)),
        };
        let outcome = match earlier {
            // Neither stored nor read earlier in this import: a plain insert.
            None => Upsert::Created(people::insert_new(
                self.w,
                &self.source,
                &person,
                self.import_id,
            )?),
            Some(earlier) => {
                people::upsert(self.w, &self.source, &person, Some(earlier), self.import_id)?
            }
        };
        let id = outcome.id();
        match outcome {
            Upsert::Created(_) => {
                self.counts.new += 1;
                self.note_change("new", &person, Vec::new());
                if let Some(created) = &mut self.created {
                    created.push(self.w, &self.source, &person)?;
                }
            }
            Upsert::Updated { left, fields, .. } => {
                if left {
                    self.counts.leaving += 1;
                } else {
                    self.counts.updated += 1;
                }
                self.note_change(if left { "leaving" } else { "updated" }, &person, fields);
            }
            Upsert::Unchanged(_) => self.counts.unchanged += 1,
        }
        if matches!(seen, Seen::NotStored) {
            let known = Known {
                id,
                kind,
                responsible,
            };
            self.people.insert(person.record.sis_id, known);
        }
        Ok(())
    }

    fn note_change(
        &mut self,
        change: &'static str,
        person: &people::PreparedPerson,
        fields: Vec<FieldChange>,
    ) {
        if self.changes.len() >= MAX_CHANGES {
            return;
        }
        let r = &person.record;
        let name = match (r.given_name.is_empty(), r.family_name.is_empty()) {
            (false, false) => format!("{} {}", r.given_name, r.family_name),
            _ => format!("{}{}", r.given_name, r.family_name),
        };
        self.changes.push(Change {
            change,
            kind: r.kind.unwrap_or(Kind::Contact).account_word(),
            sis_id: r.sis_id.clone(),
            name,
            fields,
        });
    }

    fn progress(&mut self, done_bytes: u64) -> Result<()> {
        // A callback per row would cost more than the row; 20 a second is smooth.
        if self.last_progress.elapsed() < Duration::from_millis(50) {
            return Ok(());
        }
        self.last_progress = Instant::now();
        if (self.progress)(Progress {
            stage: Stage::Reading,
            done_bytes,
            total_bytes: self.total_bytes,
        }) {
            Ok(())
        } else {
            Err(Error::Cancelled)
        }
    }
}

/// Whether a full export that lists `orgs` speaks for someone (or a class)
/// of `schools` (org SIS ids, comma-separated): a district's exports per
/// school must not take the other schools' people or classes away. An export
/// that lists no orgs, and someone of no school, are always covered.
fn covers(orgs: &HashSet<String>, schools: &str) -> bool {
    orgs.is_empty() || schools.is_empty() || schools.split(',').any(|o| orgs.contains(o))
}

/// Org SIS ids already stored for `source` (so rows may refer to them in a delta).
pub(super) fn stored_orgs(
    conn: &rusqlite::Connection,
    source: &str,
) -> Result<std::collections::HashSet<String>> {
    let mut st = conn.prepare("SELECT sis_id FROM org WHERE source = ?1")?;
    let rows = st.query_map([source], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::{FileHeader, LinkAt};
    use crate::people::PersonRecord;
    use std::sync::Arc;

    fn student(sis_id: &str, given_name: &str) -> Record {
        Record::Person(people::PreparedPerson::new(PersonRecord {
            sis_id: sis_id.into(),
            kind: Some(Kind::Student),
            role: "student".into(),
            given_name: given_name.into(),
            family_name: "Ngata".into(),
            status: Some(Status::Active),
            ..Default::default()
        }))
    }

    /// Applies `rows` as one full export of source `t`; its counts.
    fn apply(store: &mut crate::Store, rows: Vec<Record>) -> Counts {
        let mut w = store.writer("test").unwrap();
        let mut progress = |_| true;
        let mut apply = Apply::new(&mut w, "csv", &[], 0, None, &mut progress).unwrap();
        apply.apply(Record::Begin("t".into(), Scope::Bulk)).unwrap();
        for row in rows {
            apply.apply(row).unwrap();
        }
        let (_, counts, _, errors) = apply.finish().unwrap();
        assert_eq!(errors, []);
        w.commit().unwrap();
        counts
    }

    fn given_names(store: &crate::Store) -> Vec<(String, String)> {
        let mut st = store
            .conn()
            .prepare("SELECT sis_id, given_name FROM person ORDER BY sis_id")
            .unwrap();
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        rows.map(Result::unwrap).collect()
    }

    #[test]
    fn a_second_row_of_the_same_person_updates_the_first() {
        let (_dir, mut store) = crate::testing::empty_store();
        let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        // Someone new, twice in one import (someone else between).
        let rows = vec![
            student("s1", "Amelia"),
            student("s2", "Tama"),
            student("s1", "Amy"),
        ];
        let counts = apply(&mut store, rows);
        assert_eq!((counts.new, counts.updated), (2, 1));
        assert_eq!(given_names(&store), [pair("s1", "Amy"), pair("s2", "Tama")]);
        // Someone stored, twice in the next import.
        let rows = vec![
            student("s1", "Amelia"),
            student("s2", "Tama"),
            student("s1", "Mia"),
        ];
        let counts = apply(&mut store, rows);
        assert_eq!(
            (counts.new, counts.updated, counts.unchanged, counts.leaving),
            (0, 2, 1, 0)
        );
        assert_eq!(given_names(&store), [pair("s1", "Mia"), pair("s2", "Tama")]);
    }

    #[test]
    fn links_resolve_on_two_threads_as_on_one() {
        // Students stored before (and seen by) this import; contacts new in it.
        let mut stored = StoredPeople::default();
        let mut people: HashMap<String, Known> = HashMap::default();
        for i in 0..40 {
            let st = Stored {
                id: i + 1,
                digest: 0,
                at: 0,
                len: 0,
                schools: 0,
                kind: Kind::Student,
                status: Status::Active,
                seen: false,
                responsible: false,
            };
            stored.push(&format!("s{i}"), st);
            assert!(matches!(
                stored.see(&format!("s{i}"), Kind::Student, false),
                Seen::First { .. }
            ));
            let contact = Known {
                id: 100 + i,
                kind: Kind::Contact,
                responsible: i % 3 != 0,
            };
            people.insert(format!("c{i}"), contact);
        }
        let file = Arc::new(FileHeader {
            name: "users.csv".into(),
            headers: vec!["sourcedId".into(), "agentSourcedIds".into()],
        });
        let mut line = 1;
        let mut link = |from: &str, to: &str, rank: u32| {
            line += 1;
            LinkRecord {
                from: from.into(),
                to: to.into(),
                rank,
                responsible: None,
                family: Default::default(),
                optional: false,
                at: LinkAt {
                    file: file.clone(),
                    line,
                    from_column: 0,
                    to_column: 1,
                },
            }
        };
        // Each student names two contacts, each contact names a student back
        // (so most links are stated twice), plus three that cannot be links.
        let mut links = Vec::new();
        for i in 0..40 {
            links.push(link(&format!("s{i}"), &format!("c{i}"), 0));
            links.push(link(&format!("s{i}"), &format!("c{}", (i + 1) % 40), 1));
            links.push(link(&format!("c{i}"), &format!("s{i}"), 0));
            if i == 5 {
                links.push(link("s5", "nobody", 2));
                links.push(link("s5", "s6", 3));
                links.push(link("s5", "gone", 4)); // rejected already: no error
            }
        }
        // Stated once more at the end (in the second half), with a family
        // code: the first statement's attributes must still stand.
        let mut late = link("c0", "s0", 1);
        late.family.code = "LATE".into();
        links.push(late);
        let chunks: Vec<Vec<LinkRecord>> = links.chunks(7).map(<[_]>::to_vec).collect();
        let protected: HashSet<String> = ["gone".to_owned()].into_iter().collect();
        let known = |sis_id: &str| known(&stored, &people, sis_id);

        let (one, one_errors, _) = resolve(chunks.clone(), &protected, |s| Ok(known(s))).unwrap();
        let (two, two_errors, _) = resolve_in_two(chunks, &protected, known).unwrap();
        let (one, two) = (merge_restated(one), merge_restated(two));
        assert_eq!(one, two);
        assert_eq!(one_errors, two_errors);

        assert_eq!(one.len(), 80, "each student's two links, once each");
        let reasons: Vec<&str> = one_errors.iter().map(|e| e.reason.as_str()).collect();
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert!(
            reasons[0].contains("\"nobody\" is not a person"),
            "{reasons:?}"
        );
        assert!(
            reasons[1].contains("links a student to \"s6\""),
            "{reasons:?}"
        );
        // s0 -> c0 is stated first by s0 (primary) and again by c0 (not):
        // the link is primary, with c0's responsibility (none: 0 % 3 == 0).
        let s0_c0 = &one.iter().find(|(pair, _)| *pair == (1, 100)).unwrap().1;
        assert!(s0_c0.0.primary_contact && !s0_c0.0.parental_responsibility);
        assert_eq!(s0_c0.0.family_code, "");
        assert_eq!(s0_c0.1, "s0");
        let s0_c1 = &one.iter().find(|(pair, _)| *pair == (1, 101)).unwrap().1;
        assert!(!s0_c1.0.primary_contact && s0_c1.0.parental_responsibility);
    }
}
