//! People as the SIS knows them (students, staff, contacts) and the links
//! between students and their contacts. Keyroll never edits SIS fields; an
//! import replaces them, and every change is audited field by field.

use std::collections::BTreeMap;

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::store::Writer;
use crate::text;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Student,
    Staff,
    /// A parent, guardian, carer or other relative of a student ("parent"
    /// in the CLI and the app, which is the word office staff use).
    #[serde(alias = "parent")]
    Contact,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Student => "student",
            Kind::Staff => "staff",
            Kind::Contact => "contact",
        }
    }

    /// The word office staff and the CLI use: contacts get *parent* accounts.
    pub fn account_word(self) -> &'static str {
        match self {
            Kind::Contact => "parent",
            k => k.as_str(),
        }
    }

    /// Where the kind's people come in the list (students, staff, then
    /// contacts): the first character of their sort key.
    pub fn list_rank(self) -> char {
        match self {
            Kind::Student => '1',
            Kind::Staff => '2',
            Kind::Contact => '3',
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "student" => Some(Kind::Student),
            "staff" => Some(Kind::Staff),
            "contact" | "parent" => Some(Kind::Contact),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    /// Enrolled for a later date.
    Future,
    /// Still here, but the SIS says they are leaving.
    Leaving,
    Left,
    Inactive,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Future => "future",
            Status::Leaving => "leaving",
            Status::Left => "left",
            Status::Inactive => "inactive",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "active" => Status::Active,
            "future" => Status::Future,
            "leaving" => Status::Leaving,
            "left" => Status::Left,
            "inactive" => Status::Inactive,
            _ => return None,
        })
    }

    /// Whether the person is at the school (or about to be), i.e. not a leaver.
    pub fn is_current(self) -> bool {
        matches!(self, Status::Active | Status::Future)
    }
}

/// One person as read from an SIS file, before it is stored.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PersonRecord {
    pub sis_id: String,
    #[serde(skip)]
    pub kind: Option<Kind>,
    pub role: String,
    pub given_name: String,
    pub middle_name: String,
    pub family_name: String,
    pub preferred_name: String,
    pub email: String,
    pub mobile: String,
    #[serde(skip)]
    pub status: Option<Status>,
    /// Org SIS ids, comma separated.
    pub schools: String,
    pub year_level: String,
    pub home_group: String,
    pub birth_date: String,
    /// Every column of the SIS row, by its header.
    #[serde(skip)]
    pub raw: RawFields,
}

/// The other columns of an SIS row, by header, as the JSON object the
/// database keeps. Most rows of an import are only compared and stored,
/// never read field by field: a map of each row (two strings a field) was a
/// tenth of a large re-import, so a map is only made when a field is wanted
/// (and then once: a username pattern may ask for several).
#[derive(Clone, Debug, Default)]
pub struct RawFields {
    /// A JSON object of strings with its keys in order, as serde_json
    /// writes a `BTreeMap` (the digest of a row covers it); empty for none.
    json: String,
    /// Boxed: every record of an import carries one, mostly empty.
    #[allow(clippy::box_collection)]
    map: std::sync::OnceLock<Box<BTreeMap<String, String>>>,
}

impl PartialEq for RawFields {
    fn eq(&self, other: &RawFields) -> bool {
        self.json == other.json // one text per map
    }
}

impl Eq for RawFields {}

impl RawFields {
    /// From the JSON a [`RawFields`] gave (as stored in the database).
    pub fn from_json(json: String) -> RawFields {
        RawFields {
            json: if json == "{}" { String::new() } else { json },
            map: Default::default(),
        }
    }

    /// Header and value pairs, in header order, each header once.
    pub fn from_sorted<'a>(fields: impl Iterator<Item = (&'a str, &'a str)>) -> RawFields {
        RawFields::from_json(json_object(fields))
    }

    pub fn json(&self) -> &str {
        if self.json.is_empty() {
            "{}"
        } else {
            &self.json
        }
    }

    /// The fields by header.
    pub fn fields(&self) -> &BTreeMap<String, String> {
        self.map
            .get_or_init(|| Box::new(serde_json::from_str(self.json()).unwrap_or_default()))
    }
}

impl From<BTreeMap<String, String>> for RawFields {
    fn from(map: BTreeMap<String, String>) -> RawFields {
        RawFields::from_sorted(map.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

impl PersonRecord {
    fn kind(&self) -> Kind {
        self.kind.unwrap_or(Kind::Contact)
    }

    fn status(&self) -> Status {
        self.status.unwrap_or(Status::Active)
    }

    /// The named fields as (name, value) pairs, in a fixed order; used for the
    /// field-by-field diff and the audit entries.
    fn fields(&self) -> [(&'static str, &str); 14] {
        [
            ("kind", self.kind().as_str()),
            ("role", &self.role),
            ("given_name", &self.given_name),
            ("middle_name", &self.middle_name),
            ("family_name", &self.family_name),
            ("preferred_name", &self.preferred_name),
            ("email", &self.email),
            ("mobile", &self.mobile),
            ("status", self.status().as_str()),
            ("schools", &self.schools),
            ("year_level", &self.year_level),
            ("home_group", &self.home_group),
            ("birth_date", &self.birth_date),
            ("sis_id", &self.sis_id),
        ]
    }

    /// The non-empty named fields as a JSON object (what a person was created
    /// with, or had when removed).
    pub fn fields_json(&self) -> String {
        json_object(self.fields().into_iter().filter(|(_, v)| !v.is_empty()))
    }

    /// The list's order in one text: the kind's rank, then the folded family
    /// and given names. One leading text rather than (kind, name) columns:
    /// building the list index sorts 230,000 records for a large school, and
    /// SQLite's sorter decides most comparisons on a leading text alone,
    /// while a leading kind (equal for most pairs) made it unpack both
    /// records every time, a quarter of the index's build.
    fn sort_key(&self) -> String {
        let mut k = String::with_capacity(32);
        k.push(self.kind().list_rank());
        text::fold_into(&self.family_name, &mut k);
        k.push(' ');
        text::fold_into(&self.given_name, &mut k);
        k
    }

    fn search_text(&self) -> String {
        let mut s = String::with_capacity(96);
        for part in [
            &self.given_name,
            &self.preferred_name,
            &self.middle_name,
            &self.family_name,
            &self.email,
            &self.sis_id,
        ] {
            if !part.is_empty() {
                text::fold_into(part, &mut s);
                s.push('\u{1f}');
            }
        }
        s
    }
}

/// A record with what storing it needs: its digest and (when first needed)
/// its name keys. (Its audit key, [`person_key`], is only made for a change.)
#[derive(Clone, Debug)]
pub struct PreparedPerson {
    pub record: PersonRecord,
    /// Worked out when first needed: a re-import never needs them for the
    /// (many) people whose row is unchanged.
    derived: std::cell::OnceCell<Derived>,
    /// A fingerprint of every SIS field: a re-import compares it with the
    /// stored one and skips reading back a person whose row is unchanged.
    pub digest: i64,
}

impl PreparedPerson {
    /// Prepares `record` for storing, with everything worked out now (on
    /// the reading thread of an import, which the writer then need not do).
    pub fn new(record: PersonRecord) -> PreparedPerson {
        let p = PreparedPerson::new_lazy(record);
        p.derived();
        p
    }

    /// Like [`PreparedPerson::new`], leaving the name keys until they are
    /// needed.
    pub fn new_lazy(record: PersonRecord) -> PreparedPerson {
        PreparedPerson {
            digest: digest(
                record
                    .fields()
                    .iter()
                    .map(|(_, v)| *v)
                    .chain([record.raw.json()]),
            ),
            derived: std::cell::OnceCell::new(),
            record,
        }
    }

    fn derived(&self) -> &Derived {
        self.derived.get_or_init(|| {
            let r = &self.record;
            Derived {
                sort_key: r.sort_key(),
                search: r.search_text(),
            }
        })
    }
}

#[derive(Clone, Debug)]
struct Derived {
    sort_key: String,
    search: String,
}

/// FNV-1a (64-bit) over the parts with a separator after each: fixed by
/// definition, so stored digests stay valid across builds. Never 0, which
/// stored rows use for "unknown".
fn digest<'a>(parts: impl Iterator<Item = &'a str>) -> i64 {
    // FNV-1a over each part and a unit separator after it. (Stored digests
    // depend on exactly this.) The separator is mixed outside the byte loop:
    // a chained iterator kept the loop from compiling tight, and this runs
    // over every byte of every row an import reads.
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in part.as_bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(PRIME);
        }
        h = (h ^ 0x1f).wrapping_mul(PRIME);
    }
    if h == 0 {
        1
    } else {
        h as i64
    }
}

/// A person created by an import, as its creation entry names them: their
/// audit key and, for a contact, their children's SIS ids.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    pub key: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<String>,
}

/// The action of an import's creation entry (entity `import`, keyed by the
/// import's id), whose `after` is `{"people": [{"key": .., "children": [..]}, ..]}`.
pub const CREATED: &str = "person.create";

/// How many people one creation entry names: an entry of a first import
/// stays small (about 250 KB) to write and to read back.
const CREATED_PER_ENTRY: usize = 5000;

/// Records that the writer's import created `people` (in the order they were
/// stored), in one entry for up to [`CREATED_PER_ENTRY`] of them: who, when
/// and which import are the same for every one. [`crate::audit`] shows each
/// person's creation as a `person.create` entry of their own.
///
/// An entry names each person and, for a contact, the children linked with
/// them (known only once every row is read, so it is written at the end).
/// The fields they were created with are the row itself, and every later
/// change keeps its `before`, so [`crate::audit`] puts each creation state
/// back together when the entry is read. A first import of a large school
/// creates 230,000 people: a row of the log for each was a fifth of the
/// import's time, and a copy of every person's fields in them a third of the
/// database.
pub fn audit_created(w: &Writer, people: impl IntoIterator<Item = Created>) -> Result<()> {
    let import_id = w
        .import_id()
        .expect("people are created only by an import, whose writer knows its id")
        .to_string();
    let mut people = people.into_iter().peekable();
    let mut chunk = Vec::with_capacity(CREATED_PER_ENTRY);
    while people.peek().is_some() {
        chunk.clear();
        chunk.extend(people.by_ref().take(CREATED_PER_ENTRY));
        let after =
            serde_json::to_string(&CreatedEntry { people: &chunk }).expect("strings serialise");
        w.audit(CREATED, "import", &import_id, None, Some(&after))?;
    }
    Ok(())
}

/// The people an import's creation entry names, from its `after`.
pub fn created_in(after: &str) -> Vec<Created> {
    serde_json::from_str::<CreatedEntry<Vec<Created>>>(after)
        .map(|e| e.people)
        .unwrap_or_default()
}

#[derive(Serialize, Deserialize)]
struct CreatedEntry<P> {
    people: P,
}

/// What storing a record did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Upsert {
    Created(i64),
    /// Changed; `left` is true when the change took a current person to a
    /// non-current status (a leaver).
    Updated {
        id: i64,
        left: bool,
        fields: Vec<FieldChange>,
    },
    Unchanged(i64),
}

/// One SIS field of a person that an import changes; raw SIS columns are
/// named `raw.<column>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub before: String,
    pub after: String,
}

impl Upsert {
    pub fn id(&self) -> i64 {
        match self {
            Upsert::Created(id) | Upsert::Unchanged(id) | Upsert::Updated { id, .. } => *id,
        }
    }
}

/// A person's audit key: `source:sis_id`.
pub fn person_key(source: &str, sis_id: &str) -> String {
    // Made for every row an import reads: no formatting machinery.
    let mut key = String::with_capacity(source.len() + 1 + sis_id.len());
    key.push_str(source);
    key.push(':');
    key.push_str(sis_id);
    key
}

/// Stores `p` (from `source`) by its stable SIS id. `existing` is the id and
/// stored digest of the person with that SIS id, if any (the import knows
/// them already; a digest of 0 means unknown).
/// Updates are audited here, field by field; the caller records a creation
/// with [`audit_created`]. Nothing is written when nothing changed.
pub fn upsert(
    w: &Writer,
    source: &str,
    prepared: &PreparedPerson,
    existing: Option<(i64, i64)>,
    import_id: i64,
) -> Result<Upsert> {
    let p = &prepared.record;
    let conn = w.conn();
    let Some((id, stored_digest)) = existing else {
        return Ok(Upsert::Created(upsert_person(
            w, source, prepared, import_id,
        )?));
    };
    if stored_digest == prepared.digest {
        return Ok(Upsert::Unchanged(id));
    }
    let old = conn
        .prepare_cached(
            "SELECT kind, role, given_name, middle_name, family_name, preferred_name, email,
                    mobile, status, schools, year_level, home_group, birth_date, raw
             FROM person WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok(PersonRecord {
                sis_id: p.sis_id.clone(),
                kind: Kind::parse(&r.get::<_, String>(0)?),
                role: r.get(1)?,
                given_name: r.get(2)?,
                middle_name: r.get(3)?,
                family_name: r.get(4)?,
                preferred_name: r.get(5)?,
                email: r.get(6)?,
                mobile: r.get(7)?,
                status: Status::parse(&r.get::<_, String>(8)?),
                schools: r.get(9)?,
                year_level: r.get(10)?,
                home_group: r.get(11)?,
                birth_date: r.get(12)?,
                raw: RawFields::from_json(r.get(13)?),
            })
        })?;
    let (before, after) = diff(&old, p);
    if before.is_empty() {
        return Ok(Upsert::Unchanged(id));
    }
    upsert_person(w, source, prepared, import_id)?;
    w.audit(
        "person.update",
        "person",
        &person_key(source, &p.sis_id),
        Some(&json_object(
            before.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )),
        Some(&json_object(
            after.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )),
    )?;
    let left = old.status().is_current() && !p.status().is_current();
    let fields = before
        .into_iter()
        .zip(after)
        .map(|((field, before), (_, after))| FieldChange {
            field,
            before,
            after,
        })
        .collect();
    Ok(Upsert::Updated { id, left, fields })
}

/// The columns an import writes, for an INSERT with 20 parameters.
macro_rules! person_insert {
    () => {
        "INSERT INTO person (source, sis_id, kind, role, given_name, middle_name, family_name,
            preferred_name, email, mobile, status, schools, year_level, home_group, birth_date,
            raw, sort_key, search, import_id, digest)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"
    };
}

/// Stores a person whom the caller knows is not stored (by source and SIS
/// id): an import's new people, who have neither a stored row nor an
/// earlier row in the same import. A plain INSERT: shorter to look up in the
/// statement cache and to run than the upsert, 230,000 times in a first
/// import. Returns the new row's id; recording the creation is the caller's
/// ([`audit_created`]).
pub fn insert_new(
    w: &Writer,
    source: &str,
    prepared: &PreparedPerson,
    import_id: i64,
) -> Result<i64> {
    write_person(w, source, prepared, import_id, person_insert!())
}

/// Inserts or overwrites the stored row of `prepared` (keyed by source and SIS
/// id); returns the new row's id after an insert. Auditing is the caller's.
fn upsert_person(
    w: &Writer,
    source: &str,
    prepared: &PreparedPerson,
    import_id: i64,
) -> Result<i64> {
    write_person(
        w,
        source,
        prepared,
        import_id,
        concat!(
            person_insert!(),
            " ON CONFLICT (source, sis_id) DO UPDATE SET kind = excluded.kind, role = excluded.role,
                given_name = excluded.given_name, middle_name = excluded.middle_name,
                family_name = excluded.family_name, preferred_name = excluded.preferred_name,
                email = excluded.email, mobile = excluded.mobile, status = excluded.status,
                schools = excluded.schools, year_level = excluded.year_level,
                home_group = excluded.home_group, birth_date = excluded.birth_date,
                raw = excluded.raw, sort_key = excluded.sort_key, search = excluded.search,
                import_id = excluded.import_id, digest = excluded.digest"
        ),
    )
}

/// Runs `sql`, a [`person_insert!`] (or an upsert built on it), for `prepared`.
fn write_person(
    w: &Writer,
    source: &str,
    prepared: &PreparedPerson,
    import_id: i64,
    sql: &str,
) -> Result<i64> {
    let p = &prepared.record;
    w.conn().prepare_cached(sql)?.execute(params![
        source,
        p.sis_id,
        p.kind().as_str(),
        p.role,
        p.given_name,
        p.middle_name,
        p.family_name,
        p.preferred_name,
        p.email,
        p.mobile,
        p.status().as_str(),
        p.schools,
        p.year_level,
        p.home_group,
        p.birth_date,
        prepared.record.raw.json(),
        prepared.derived().sort_key,
        prepared.derived().search,
        import_id,
        prepared.digest,
    ])?;
    // The row id of an insert; an update keeps the id the caller knows.
    Ok(w.conn().last_insert_rowid())
}

/// Changed fields as (before, after) lists; raw SIS columns appear as `raw.<column>`.
type Changes = Vec<(String, String)>;

fn diff(old: &PersonRecord, new: &PersonRecord) -> (Changes, Changes) {
    let (mut before, mut after) = (Vec::new(), Vec::new());
    for ((k, a), (_, b)) in old.fields().iter().zip(new.fields().iter()) {
        if a != b {
            before.push((k.to_string(), a.to_string()));
            after.push((k.to_string(), b.to_string()));
        }
    }
    if old.raw != new.raw {
        let (old_raw, new_raw) = (old.raw.fields(), new.raw.fields());
        let keys: std::collections::BTreeSet<&String> =
            old_raw.keys().chain(new_raw.keys()).collect();
        for k in keys
            .into_iter()
            .filter(|k| !crate::import::is_secret_column(k))
        {
            let (a, b) = (old_raw.get(k), new_raw.get(k));
            if a != b {
                before.push((format!("raw.{k}"), a.cloned().unwrap_or_default()));
                after.push((format!("raw.{k}"), b.cloned().unwrap_or_default()));
            }
        }
    }
    (before, after)
}

/// A JSON object of string fields, serialised straight to text (no Value tree).
fn json_object<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    use serde::Serializer;
    let mut out = Vec::with_capacity(256);
    serde_json::Serializer::new(&mut out)
        .collect_map(pairs)
        .expect("string pairs serialise");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// A stored person's source and record, by row id.
pub fn load(conn: &Connection, id: i64) -> Result<(String, PersonRecord)> {
    Ok(conn
        .prepare_cached(
            "SELECT source, sis_id, kind, role, given_name, middle_name, family_name,
                    preferred_name, email, mobile, status, schools, year_level, home_group,
                    birth_date, raw
             FROM person WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                r.get(0)?,
                PersonRecord {
                    sis_id: r.get(1)?,
                    kind: Kind::parse(r.get_ref(2)?.as_str()?),
                    role: r.get(3)?,
                    given_name: r.get(4)?,
                    middle_name: r.get(5)?,
                    family_name: r.get(6)?,
                    preferred_name: r.get(7)?,
                    email: r.get(8)?,
                    mobile: r.get(9)?,
                    status: Status::parse(r.get_ref(10)?.as_str()?),
                    schools: r.get(11)?,
                    year_level: r.get(12)?,
                    home_group: r.get(13)?,
                    birth_date: r.get(14)?,
                    raw: RawFields::from_json(r.get(15)?),
                },
            ))
        })?)
}

impl PersonRecord {
    /// Sets one field by the name the audit log uses (`given_name`,
    /// `raw.HOME_GROUP`); an empty raw value removes that raw field. Unknown
    /// names are ignored (an audit entry may add context such as `reason`).
    pub fn set_field(&mut self, name: &str, value: &str) {
        if let Some(key) = name.strip_prefix("raw.") {
            let mut raw = self.raw.fields().clone();
            if value.is_empty() {
                raw.remove(key);
            } else {
                raw.insert(key.to_owned(), value.to_owned());
            }
            self.raw = raw.into();
            return;
        }
        let v = value.to_owned();
        match name {
            "kind" => self.kind = Kind::parse(value),
            "status" => self.status = Status::parse(value),
            "role" => self.role = v,
            "given_name" => self.given_name = v,
            "middle_name" => self.middle_name = v,
            "family_name" => self.family_name = v,
            "preferred_name" => self.preferred_name = v,
            "email" => self.email = v,
            "mobile" => self.mobile = v,
            "schools" => self.schools = v,
            "year_level" => self.year_level = v,
            "home_group" => self.home_group = v,
            "birth_date" => self.birth_date = v,
            _ => {}
        }
    }
}

/// Removes a person an import created, with their links (only an import's
/// rollback does this: people who leave are kept, marked as left). The entry
/// keeps every field the person had.
pub fn remove_created(w: &Writer, id: i64, key: &str) -> Result<()> {
    let conn = w.conn();
    let (_, record) = load(conn, id)?;
    let before = record.fields_json();
    conn.prepare_cached("DELETE FROM relationship WHERE student_id = ?1 OR contact_id = ?1")?
        .execute([id])?;
    conn.prepare_cached("DELETE FROM person WHERE id = ?1")?
        .execute([id])?;
    w.audit("person.delete", "person", key, Some(&before), None)
}

/// The fields a person was created with, for the creation entry `entry_id`
/// (which names them and their links only: see [`audit_created`]): their
/// row as it is
/// now, or as the entry that removed them kept it, with every field that a
/// later entry changed set back to that entry's `before`, the earliest first.
/// None if the person can no longer be found.
pub fn creation_state(
    conn: &Connection,
    key: &str,
    entry_id: i64,
) -> Result<Option<serde_json::Map<String, serde_json::Value>>> {
    // The creation state is the named fields; raw SIS columns are in the row.
    let state = crate::audit::state_at_creation(
        conn,
        "person",
        key,
        entry_id,
        |field| !field.starts_with("raw."),
        || {
            let Some(id) = id_by_key(conn, key)? else {
                return Ok(None);
            };
            Ok(serde_json::from_str(&load(conn, id)?.1.fields_json()).ok())
        },
    )?;
    // As the creation entry did, leave out what was empty.
    Ok(state.map(|mut s| {
        s.retain(|_, v| !v.as_str().is_some_and(str::is_empty));
        s
    }))
}

/// A stored person's row id by their audit key (`source:sis_id`). A source
/// may itself hold a colon, so each split is tried.
pub fn id_by_key(conn: &Connection, key: &str) -> Result<Option<i64>> {
    let mut st = conn.prepare_cached("SELECT id FROM person WHERE source = ?1 AND sis_id = ?2")?;
    for (i, _) in key.match_indices(':') {
        if let Some(id) = rusqlite::OptionalExtension::optional(
            st.query_row(params![&key[..i], &key[i + 1..]], |r| r.get(0)),
        )? {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// Marks a person who vanished from a bulk export as left.
pub fn mark_left(w: &Writer, source: &str, id: i64, sis_id: &str, old: Status) -> Result<()> {
    w.conn()
        // The digest no longer matches the row: the next import compares in full.
        .prepare_cached("UPDATE person SET status = 'left', digest = 0 WHERE id = ?1")?
        .execute([id])?;
    w.audit(
        "person.update",
        "person",
        &person_key(source, sis_id),
        Some(&json_object([("status", old.as_str())].into_iter())),
        Some(&json_object(
            [
                ("status", "left"),
                ("reason", "missing from a full SIS export"),
            ]
            .into_iter(),
        )),
    )
}

/// A student–contact link and what it says about the contact.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkAttrs {
    pub family_code: String,
    pub primary_family: bool,
    pub parental_responsibility: bool,
    pub primary_contact: bool,
    pub access_restricted: bool,
    pub no_reports: bool,
}

impl LinkAttrs {
    /// Reads the audit form back (flags not named are unset).
    pub fn from_json(s: &str) -> LinkAttrs {
        let v: serde_json::Value = serde_json::from_str(s).unwrap_or_default();
        let flag = |k: &str| {
            v.get(k)
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false)
        };
        LinkAttrs {
            family_code: v
                .get("family_code")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            primary_family: flag("primary_family"),
            parental_responsibility: flag("parental_responsibility"),
            primary_contact: flag("primary_contact"),
            access_restricted: flag("access_restricted"),
            no_reports: flag("no_reports"),
        }
    }

    /// The audit form: the family code if any, then the flags that are set.
    fn to_json(&self) -> String {
        let mut m = serde_json::Map::new();
        if !self.family_code.is_empty() {
            m.insert("family_code".into(), self.family_code.clone().into());
        }
        for (name, set) in [
            ("primary_family", self.primary_family),
            ("parental_responsibility", self.parental_responsibility),
            ("primary_contact", self.primary_contact),
            ("access_restricted", self.access_restricted),
            ("no_reports", self.no_reports),
        ] {
            if set {
                m.insert(name.into(), true.into());
            }
        }
        serde_json::Value::Object(m).to_string()
    }
}

/// Every stored link, in (student, contact) order: the table's own, so an
/// import compares them with the links its files state (sorted the same
/// way) in one merge, not a map of them all.
pub fn links_of(conn: &Connection) -> Result<Vec<((i64, i64), LinkAttrs)>> {
    // One pass over the (small) link table, filtered by the caller: a join
    // from each of a source's 230,000 people to their links sought the link
    // table 230,000 times (a quarter of a second before a re-import could
    // compare anyone).
    let mut st = conn.prepare(
        "SELECT student_id, contact_id, family_code, primary_family, parental_responsibility,
                primary_contact, access_restricted, no_reports
         FROM relationship ORDER BY student_id, contact_id",
    )?;
    let mut out = Vec::with_capacity(conn.query_row(
        "SELECT count(*) FROM relationship",
        [],
        |r| r.get::<_, i64>(0),
    )? as usize);
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        out.push((
            (r.get(0)?, r.get(1)?),
            LinkAttrs {
                family_code: r.get(2)?,
                primary_family: r.get(3)?,
                parental_responsibility: r.get(4)?,
                primary_contact: r.get(5)?,
                access_restricted: r.get(6)?,
                no_reports: r.get(7)?,
            },
        ));
    }
    Ok(out)
}

/// Creates, changes (`old` is Some) or removes (`new` is None) one link, audited.
pub fn set_link(
    w: &Writer,
    pair: (i64, i64),
    old: Option<&LinkAttrs>,
    new: Option<&LinkAttrs>,
) -> Result<()> {
    write_link(w, pair, new)?;
    let action = match (old, new) {
        (None, _) => "relationship.create",
        (Some(_), Some(_)) => "relationship.update",
        (Some(_), None) => "relationship.delete",
    };
    w.audit(
        action,
        "relationship",
        &format!("{}-{}", pair.0, pair.1),
        old.map(LinkAttrs::to_json).as_deref(),
        new.map(LinkAttrs::to_json).as_deref(),
    )
}

/// Links a contact created in the same transaction to a student. Its audit
/// record is the import's creation entry, which lists each new contact's
/// children ([`audit_created`]), not one more entry per link.
pub fn link_new_contact(w: &Writer, pair: (i64, i64), attrs: &LinkAttrs) -> Result<()> {
    // A new contact has no links yet: a plain INSERT (a first import makes
    // 167,000 of these), not the upsert.
    insert_link(w, link_insert!(), pair, attrs)
}

fn write_link(w: &Writer, pair: (i64, i64), new: Option<&LinkAttrs>) -> Result<()> {
    match new {
        Some(a) => insert_link(
            w,
            concat!(
                link_insert!(),
                " ON CONFLICT (student_id, contact_id) DO UPDATE SET family_code = ?3,
                    primary_family = ?4, parental_responsibility = ?5, primary_contact = ?6,
                    access_restricted = ?7, no_reports = ?8"
            ),
            pair,
            a,
        ),
        None => {
            w.conn()
                .prepare_cached(
                    "DELETE FROM relationship WHERE student_id = ?1 AND contact_id = ?2",
                )?
                .execute([pair.0, pair.1])?;
            Ok(())
        }
    }
}

/// A link's INSERT with 8 parameters.
macro_rules! link_insert {
    () => {
        "INSERT INTO relationship (student_id, contact_id, family_code, primary_family,
            parental_responsibility, primary_contact, access_restricted, no_reports)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    };
}
use link_insert;

/// Runs `sql`, a [`link_insert!`] (or an upsert built on it), for one link.
fn insert_link(
    w: &Writer,
    sql: &str,
    (student_id, contact_id): (i64, i64),
    a: &LinkAttrs,
) -> Result<()> {
    w.conn().prepare_cached(sql)?.execute(params![
        student_id,
        contact_id,
        a.family_code,
        a.primary_family,
        a.parental_responsibility,
        a.primary_contact,
        a.access_restricted,
        a.no_reports
    ])?;
    Ok(())
}

/// Which people a list or a table page shows.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PeopleQuery {
    pub kind: Option<Kind>,
    pub status: Option<Status>,
    /// Words that must all appear in a name, email or SIS id (accents and case ignored).
    pub search: Option<String>,
    /// An account state (enabled, disabled, suspended, archived, recycled),
    /// or `none` for people without an account.
    pub state: Option<String>,
    /// Only accounts flagged NEW (not yet signed in, sent a letter or an email).
    pub new: bool,
    /// The account's group, by name (case ignored).
    pub group: Option<String>,
    /// A school (org SIS id) among the person's schools.
    pub school: Option<String>,
    pub year: Option<String>,
    pub home_group: Option<String>,
    /// Only these people, by SIS id (empty: no such limit).
    pub sis_ids: Vec<String>,
    /// Only these people, by row id (empty: no such limit): the app's
    /// ticked rows, which SIS ids alone may not tell apart.
    pub ids: Vec<i64>,
    pub offset: u64,
    pub limit: Option<u64>,
}

impl PeopleQuery {
    fn where_clause(&self) -> (String, Vec<rusqlite::types::Value>) {
        use rusqlite::types::Value;
        let mut sql = String::from(" WHERE 1 = 1");
        let mut args = Vec::new();
        if let Some(k) = self.kind {
            // The sort key's range of the kind: the list index is read from
            // there rather than whole.
            sql.push_str(" AND p.kind = ? AND p.sort_key >= ? AND p.sort_key < ?");
            args.push(Value::Text(k.as_str().into()));
            let rank = k.list_rank();
            args.push(Value::Text(rank.into()));
            args.push(Value::Text(char::from(rank as u8 + 1).into()));
        }
        if let Some(s) = self.status {
            sql.push_str(" AND p.status = ?");
            args.push(Value::Text(s.as_str().into()));
        }
        for word in self.search.as_deref().unwrap_or("").split_whitespace() {
            // Names, email and ids from the list index; usernames from one
            // pass over the (small) account table.
            sql.push_str(
                " AND (instr(p.search, ?) > 0 OR p.id IN
                   (SELECT person_id FROM account WHERE instr(lower(username), ?) > 0))",
            );
            args.push(Value::Text(text::fold(word)));
            args.push(Value::Text(word.to_lowercase()));
        }
        // Account filters pick person ids in one pass over the (small)
        // account table, rather than a lookup per listed person.
        let mut account = Vec::new();
        match self.state.as_deref() {
            None | Some("none") => {}
            Some(s) => {
                account.push("state = ?");
                args.push(Value::Text(s.into()));
            }
        }
        if self.new {
            account.push("instr(',' || flags || ',', ',NEW,') > 0");
        }
        if let Some(g) = &self.group {
            account.push("group_id = (SELECT id FROM user_group WHERE name = ? COLLATE NOCASE)");
            args.push(Value::Text(g.clone()));
        }
        if self.state.as_deref() == Some("none") {
            sql.push_str(" AND p.id NOT IN (SELECT person_id FROM account)");
        }
        if !account.is_empty() {
            sql.push_str(&format!(
                " AND p.id IN (SELECT person_id FROM account WHERE {})",
                account.join(" AND ")
            ));
        }
        if let Some(s) = &self.school {
            sql.push_str(" AND instr(',' || p.schools || ',', ',' || ? || ',') > 0");
            args.push(Value::Text(s.clone()));
        }
        if let Some(y) = &self.year {
            sql.push_str(" AND p.year_level = ?");
            args.push(Value::Text(y.clone()));
        }
        if let Some(h) = &self.home_group {
            sql.push_str(" AND p.home_group = ?");
            args.push(Value::Text(h.clone()));
        }
        if !self.sis_ids.is_empty() {
            let marks = vec!["?"; self.sis_ids.len()].join(", ");
            sql.push_str(&format!(" AND p.sis_id IN ({marks})"));
            args.extend(self.sis_ids.iter().map(|s| Value::Text(s.clone())));
        }
        if !self.ids.is_empty() {
            let marks = vec!["?"; self.ids.len()].join(", ");
            sql.push_str(&format!(" AND p.id IN ({marks})"));
            args.extend(self.ids.iter().map(|&i| Value::Integer(i)));
        }
        (sql, args)
    }
}

/// One row of `accounts list` and the app's people table.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ListedPerson {
    pub id: i64,
    /// student | staff | parent
    pub kind: &'static str,
    pub sis_id: String,
    pub source: String,
    pub role: String,
    pub given_name: String,
    pub middle_name: String,
    pub family_name: String,
    pub preferred_name: String,
    pub email: String,
    pub status: String,
    pub school: String,
    pub year_level: String,
    pub home_group: String,
    /// For contacts: their students' SIS ids.
    pub children: Vec<String>,
    pub username: Option<String>,
    pub state: Option<String>,
    pub group: Option<String>,
    pub flags: Option<Vec<String>>,
    pub invitation: Option<String>,
}

/// People matching `q`: students, then staff, then contacts, each by family
/// then given name.
pub fn list(conn: &Connection, q: &PeopleQuery) -> Result<Vec<ListedPerson>> {
    let mut out = Vec::new();
    for_each(conn, q, |p| {
        out.push(p);
        Ok(())
    })?;
    Ok(out)
}

/// Like [`list`], one person at a time.
pub fn for_each(
    conn: &Connection,
    q: &PeopleQuery,
    mut f: impl FnMut(ListedPerson) -> Result<()>,
) -> Result<()> {
    let (filter, mut args) = q.where_clause();
    let sql = format!(
        "{} {filter} ORDER BY p.sort_key, p.id LIMIT ? OFFSET ?",
        listed_select("INDEXED BY person_list")
    );
    args.push(rusqlite::types::Value::Integer(
        q.limit.map(|l| l as i64).unwrap_or(-1),
    ));
    args.push(rusqlite::types::Value::Integer(q.offset as i64));
    let mut st = conn.prepare_cached(&sql)?;
    let mut rows = st.query(rusqlite::params_from_iter(args))?;
    while let Some(r) = rows.next()? {
        f(listed(r)?)?;
    }
    Ok(())
}

/// Over this many people, a batch reads what it needs of everyone in one
/// pass in row order instead of asking person by person (which reads the
/// large encrypted rows at random).
pub const BULK_AFTER: usize = 500;

/// Who a batch action chose: the little it needs of each person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chosen {
    pub id: i64,
    pub kind: Kind,
    pub sis_id: String,
    pub status: Status,
    pub given_name: String,
    pub family_name: String,
    pub preferred_name: String,
}

/// The people `q` chooses, in list order, for a batch action. Following the
/// list index reads each chosen person's (large, encrypted) row at random:
/// 100,000 parents took seconds. So the ids come from the index, and when
/// there are many their rows are read in one pass in row order.
pub fn chosen(conn: &Connection, q: &PeopleQuery) -> Result<Vec<Chosen>> {
    let (filter, mut args) = q.where_clause();
    let sql = format!(
        "SELECT p.id FROM person p INDEXED BY person_list {filter}
         ORDER BY p.sort_key, p.id LIMIT ? OFFSET ?"
    );
    args.push(rusqlite::types::Value::Integer(
        q.limit.map(|l| l as i64).unwrap_or(-1),
    ));
    args.push(rusqlite::types::Value::Integer(q.offset as i64));
    let ids: Vec<i64> = conn
        .prepare(&sql)?
        .query_map(rusqlite::params_from_iter(args), |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let read = |r: &rusqlite::Row<'_>| -> rusqlite::Result<Chosen> {
        Ok(Chosen {
            id: r.get(0)?,
            kind: Kind::parse(r.get_ref(1)?.as_str()?).unwrap_or(Kind::Contact),
            sis_id: r.get(2)?,
            status: Status::parse(r.get_ref(3)?.as_str()?).unwrap_or(Status::Active),
            given_name: r.get(4)?,
            family_name: r.get(5)?,
            preferred_name: r.get(6)?,
        })
    };
    const COLUMNS: &str = "id, kind, sis_id, status, given_name, family_name, preferred_name";
    if ids.len() <= BULK_AFTER {
        let mut st = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM person WHERE id = ?1"))?;
        return ids.iter().map(|id| Ok(st.query_row([id], read)?)).collect();
    }
    let place: std::collections::HashMap<i64, usize> =
        ids.iter().enumerate().map(|(i, &id)| (id, i)).collect();
    let mut slots: Vec<Option<Chosen>> = vec![None; ids.len()];
    let mut st = conn.prepare(&format!("SELECT {COLUMNS} FROM person"))?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        if let Some(&at) = place.get(&r.get::<_, i64>(0)?) {
            slots[at] = Some(read(r)?);
        }
    }
    Ok(slots.into_iter().flatten().collect())
}

/// The people with these row ids, in the order given (a page of
/// [`crate::roster::Roster::query`]); ids no longer stored are left out.
pub fn by_ids(conn: &Connection, ids: &[i64]) -> Result<Vec<ListedPerson>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; ids.len()].join(", ");
    let sql = format!("{} WHERE p.id IN ({marks})", listed_select(""));
    let mut st = conn.prepare(&sql)?;
    let mut found: std::collections::HashMap<i64, ListedPerson> =
        std::collections::HashMap::with_capacity(ids.len());
    let mut rows = st.query(rusqlite::params_from_iter(ids))?;
    while let Some(r) = rows.next()? {
        let p = listed(r)?;
        found.insert(p.id, p);
    }
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

/// The columns [`listed`] reads, from `person p` (with `index`, an INDEXED
/// BY clause or nothing) and its account.
fn listed_select(index: &str) -> String {
    format!(
        "SELECT p.id, p.kind, p.sis_id, p.source, p.role, p.given_name, p.family_name,
                p.preferred_name, p.email, p.status, p.schools, p.year_level, p.home_group,
                p.middle_name,
                (SELECT group_concat(s.sis_id, char(31)) FROM relationship r
                   JOIN person s ON s.id = r.student_id WHERE r.contact_id = p.id),
                a.username, a.state, g.name, a.flags, a.invitation
         FROM person p {index}
         LEFT JOIN account a ON a.person_id = p.id
         LEFT JOIN user_group g ON g.id = a.group_id"
    )
}

fn listed(r: &rusqlite::Row<'_>) -> rusqlite::Result<ListedPerson> {
    let kind: String = r.get(1)?;
    let children: Option<String> = r.get(14)?;
    let flags: Option<String> = r.get(18)?;
    Ok(ListedPerson {
        id: r.get(0)?,
        kind: Kind::parse(&kind).unwrap_or(Kind::Contact).account_word(),
        sis_id: r.get(2)?,
        source: r.get(3)?,
        role: r.get(4)?,
        given_name: r.get(5)?,
        family_name: r.get(6)?,
        preferred_name: r.get(7)?,
        email: r.get(8)?,
        status: r.get(9)?,
        school: r.get(10)?,
        year_level: r.get(11)?,
        home_group: r.get(12)?,
        middle_name: r.get(13)?,
        children: children
            .map(|c| c.split('\u{1f}').map(str::to_owned).collect())
            .unwrap_or_default(),
        username: r.get(15)?,
        state: r.get(16)?,
        group: r.get(17)?,
        flags: flags.map(|f| {
            f.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        }),
        invitation: r.get(19)?,
    })
}

/// How many people match `q` (ignoring its offset and limit).
pub fn count(conn: &Connection, q: &PeopleQuery) -> Result<u64> {
    let (filter, args) = q.where_clause();
    // Every filter is answered from the list index and the account table.
    let sql = format!("SELECT count(*) FROM person p INDEXED BY person_list {filter}");
    let n: i64 = conn
        .prepare_cached(&sql)?
        .query_row(rusqlite::params_from_iter(args), |r| r.get(0))?;
    Ok(n as u64)
}

/// People per kind, for the dashboard and first-run check.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Totals {
    pub students: u64,
    pub staff: u64,
    pub parents: u64,
}

pub fn totals(conn: &Connection) -> Result<Totals> {
    let mut t = Totals::default();
    let mut st = conn.prepare_cached("SELECT kind, count(*) FROM person GROUP BY kind")?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let n: i64 = r.get(1)?;
        match Kind::parse(&r.get::<_, String>(0)?) {
            Some(Kind::Student) => t.students = n as u64,
            Some(Kind::Staff) => t.staff = n as u64,
            _ => t.parents = n as u64,
        }
    }
    Ok(t)
}

/// Whether an SIS role gives a contact parental responsibility (a relative
/// or emergency contact does not).
pub fn has_parental_responsibility(role: &str) -> bool {
    // Asked for every person of an import: compared in place, not lowered
    // into a new string each time.
    let role = role.trim();
    [
        "parent",
        "guardian",
        "mother",
        "father",
        "carer",
        "legal guardian",
        "legalguardian",
    ]
    .iter()
    .any(|r| role.eq_ignore_ascii_case(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_objects_escape_what_json_requires() {
        let j = json_object([("name", "Zoë \"Zo\" O'Brien\\x"), ("note", "a\r\nb\t")].into_iter());
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["name"], "Zoë \"Zo\" O'Brien\\x");
        assert_eq!(v["note"], "a\r\nb\t");
        assert_eq!(json_object(std::iter::empty()), "{}");
    }

    #[test]
    fn digests_stay_fnv1a_of_the_parts_with_separators() {
        // Stored rows carry this digest: it must never change between builds.
        assert_eq!(
            digest(["Zoë", "", "stu-1"].into_iter()),
            -6_921_969_474_733_404_889
        );
    }

    #[test]
    fn parental_responsibility_by_role_whatever_the_case() {
        for role in ["parent", " Guardian ", "LEGAL GUARDIAN", "Mother", "carer"] {
            assert!(has_parental_responsibility(role), "{role}");
        }
        for role in ["relative", "emergency", "", "parents", "grandparent"] {
            assert!(!has_parental_responsibility(role), "{role}");
        }
    }

    #[test]
    fn a_person_stored_meanwhile_compares_their_raw_fields() {
        let (_dir, mut store) = crate::testing::empty_store();
        let record = |house: &str| PersonRecord {
            sis_id: "s1".into(),
            kind: Some(Kind::Student),
            given_name: "Zoë".into(),
            status: Some(Status::Active),
            raw: BTreeMap::from([("HOUSE".to_owned(), house.to_owned())]).into(),
            ..Default::default()
        };
        store
            .write("t", |w| {
                w.conn().execute(
                    "INSERT INTO import (id, started_at, actor, format, files)
                     VALUES (1, '', 't', 'csv', '[]')",
                    [],
                )?;
                upsert(w, "csv", &PreparedPerson::new(record("Kauri")), None, 1).map(|_| ())
            })
            .unwrap();
        let id: i64 = store
            .conn()
            .query_row("SELECT id FROM person", [], |r| r.get(0))
            .unwrap();
        // Another import stored them between this one's start and its write.
        let again = PreparedPerson::new(record("Rimu"));
        let outcome = store
            .write("t", |w| upsert(w, "csv", &again, Some((id, 0)), 1))
            .unwrap();
        let Upsert::Updated { fields, .. } = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(
            fields,
            vec![FieldChange {
                field: "raw.HOUSE".into(),
                before: "Kauri".into(),
                after: "Rimu".into()
            }]
        );
    }
}
