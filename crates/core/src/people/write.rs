//! Storing people: an import's inserts and updates (each update audited
//! field by field), leavers marked as left, and the creation entries that
//! record what each new person was created with.

use rusqlite::{params, Connection};
use serde::Serialize;

use super::record::json_object;
use super::{Kind, PersonRecord, PreparedPerson, RawFields, Status};
use crate::error::Result;
use crate::store::Writer;

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
/// in its [`CreatedPeople`]. Nothing is written when nothing changed.
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
/// statement cache and to run than the upsert, once per person of a first
/// import. Returns the new row's id; recording the creation is the caller's
/// (a [`CreatedPeople`]).
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
        for k in keys {
            let (a, b) = (old_raw.get(k), new_raw.get(k));
            if a != b {
                before.push((format!("raw.{k}"), a.cloned().unwrap_or_default()));
                after.push((format!("raw.{k}"), b.cloned().unwrap_or_default()));
            }
        }
    }
    (before, after)
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

/// Removes a person an import created, with their links (only an import's
/// rollback does this: people who leave are kept, marked as left). The entry
/// keeps every field the person had.
pub fn remove_created(w: &Writer, id: i64, key: &str) -> Result<()> {
    let conn = w.conn();
    let (_, record) = load(conn, id)?;
    let before = record.fields_json();
    conn.prepare_cached("DELETE FROM relationship WHERE student_id = ?1 OR contact_id = ?1")?
        .execute([id])?;
    conn.prepare_cached("DELETE FROM enrollment WHERE person_id = ?1")?
        .execute([id])?;
    conn.prepare_cached("DELETE FROM person WHERE id = ?1")?
        .execute([id])?;
    Ok(w.audit("person.delete", "person", key, Some(&before), None)?)
}

/// The creation entries of the people an import creates, written as they
/// are stored ([`crate::audit::CreatedRows`]): who, when and which import
/// are the same for every one, and each keeps the fields they were created
/// with ([`PersonRecord::push_field_values`]).
pub struct CreatedPeople(crate::audit::CreatedRows);

impl CreatedPeople {
    pub fn new(import_id: i64) -> CreatedPeople {
        let rows = crate::audit::CreatedRows::new(
            "person",
            &import_id.to_string(),
            &super::record::FIELDS,
        );
        CreatedPeople(rows)
    }

    /// Records that `person` (from `source`) was created.
    pub fn push(&mut self, w: &Writer, source: &str, person: &PreparedPerson) -> Result<()> {
        // The key ([`person_key`]) written into the row as it is made.
        let key = |out: &mut String| {
            out.push('"');
            crate::audit::push_json_escaped(out, source);
            out.push(':');
            crate::audit::push_json_escaped(out, &person.record.sis_id);
            out.push('"');
        };
        let values = &person.derived().values;
        Ok(self
            .0
            .push_with(w, key, |out| out.push_str(values), |_| {})?)
    }

    pub fn finish(self, w: &Writer) -> Result<()> {
        Ok(self.0.finish(w)?)
    }
}

/// The creation entries of the links an import makes with the contacts it
/// creates (a new contact's links are plain inserts, recorded together
/// rather than one entry each), under each link's own audit key.
pub struct CreatedLinks(crate::audit::CreatedRows);

impl CreatedLinks {
    pub fn new(import_id: i64) -> CreatedLinks {
        let rows = crate::audit::CreatedRows::new(
            "relationship",
            &import_id.to_string(),
            &["student", "contact"],
        );
        CreatedLinks(rows)
    }

    /// Records the link `pair` between the students and contact with these
    /// SIS ids.
    pub fn push(
        &mut self,
        w: &Writer,
        pair: (i64, i64),
        student: &str,
        contact: &str,
        attrs: &super::LinkAttrs,
    ) -> Result<()> {
        use std::fmt::Write as _;
        let key = |out: &mut String| {
            let _ = write!(out, "\"{}-{}\"", pair.0, pair.1);
        };
        let values = |out: &mut String| {
            out.push('[');
            crate::audit::push_json_string(out, student);
            out.push(',');
            crate::audit::push_json_string(out, contact);
            out.push(']');
        };
        Ok(self
            .0
            .push_with(w, key, values, |out| attrs.push_members(out))?)
    }

    pub fn finish(self, w: &Writer) -> Result<()> {
        Ok(self.0.finish(w)?)
    }
}

/// Marks a person who vanished from a bulk export as left.
pub fn mark_left(w: &Writer, source: &str, id: i64, sis_id: &str, old: Status) -> Result<()> {
    w.conn()
        // The digest no longer matches the row: the next import compares in full.
        .prepare_cached("UPDATE person SET status = 'left', digest = 0 WHERE id = ?1")?
        .execute([id])?;
    Ok(w.audit(
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
    )?)
}
