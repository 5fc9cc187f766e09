//! One person's SIS record as an import reads it ([`PersonRecord`], with
//! the other columns of the row as [`RawFields`]), and what storing it needs
//! ([`PreparedPerson`]: its digest and search and sort keys).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Kind, Status};
use crate::text;

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
/// never read field by field: a map of each row (two strings a field) made a
/// re-import markedly slower, so a map is only made when a field is wanted
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
    pub(super) fn kind(&self) -> Kind {
        self.kind.unwrap_or(Kind::Contact)
    }

    pub(super) fn status(&self) -> Status {
        self.status.unwrap_or(Status::Active)
    }

    /// The named fields as (name, value) pairs, in the order of [`FIELDS`];
    /// used for the field-by-field diff and the audit entries.
    pub(super) fn fields(&self) -> [(&'static str, &str); 14] {
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
    /// building the list index sorts every person of a first import, and
    /// SQLite's sorter decides most comparisons on a leading text alone,
    /// while a leading kind (equal for most pairs) made it unpack both
    /// records every time.
    fn sort_key(&self) -> String {
        text::sort_key(self.kind().list_rank(), &self.family_name, &self.given_name)
    }

    fn search_text(&self) -> String {
        text::person_search_key(
            &self.given_name,
            &self.preferred_name,
            &self.middle_name,
            &self.family_name,
            &self.email,
            &self.sis_id,
        )
    }

    /// Appends the named fields' values to `out` as a JSON array, in the
    /// order of [`FIELDS`]: what a creation entry keeps of a new person (the
    /// names once per entry, not per person).
    pub fn push_field_values(&self, out: &mut String) {
        out.push('[');
        // (The SIS id, last, is in the entry's key.)
        for (i, (_, v)) in self.fields()[..FIELDS.len()].iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            crate::audit::push_json_string(out, v);
        }
        out.push(']');
    }
}

/// The names of a person's named fields, in the order of
/// [`PersonRecord::push_field_values`] (all but the SIS id, which the key
/// holds).
pub const FIELDS: [&str; 13] = [
    "kind",
    "role",
    "given_name",
    "middle_name",
    "family_name",
    "preferred_name",
    "email",
    "mobile",
    "status",
    "schools",
    "year_level",
    "home_group",
    "birth_date",
];

/// A record with what storing it needs: its digest and (when first needed)
/// its name keys. (Its audit key, [`super::person_key`], is only made for a
/// change.)
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

    pub(super) fn derived(&self) -> &Derived {
        self.derived.get_or_init(|| {
            let r = &self.record;
            let mut values = String::with_capacity(160);
            r.push_field_values(&mut values);
            Derived {
                sort_key: r.sort_key(),
                search: r.search_text(),
                values,
            }
        })
    }
}

#[derive(Clone, Debug)]
pub(super) struct Derived {
    pub sort_key: String,
    pub search: String,
    /// What a creation entry keeps ([`PersonRecord::push_field_values`]),
    /// worked out with the rest on a first import's reading thread.
    pub values: String,
}

/// FNV-1a (64-bit) over the parts with a separator after each: fixed by
/// definition, so stored digests stay valid across builds. Never 0, which
/// stored rows use for "unknown".
pub(super) fn digest<'a>(parts: impl Iterator<Item = &'a str>) -> i64 {
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

/// A JSON object of string fields, serialised straight to text (no Value tree).
pub(super) fn json_object<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    use serde::Serializer;
    let mut out = Vec::with_capacity(256);
    serde_json::Serializer::new(&mut out)
        .collect_map(pairs)
        .expect("string pairs serialise");
    String::from_utf8(out).expect("serde_json writes UTF-8")
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
