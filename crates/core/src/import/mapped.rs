//! Any CSV file or spreadsheet (.xlsx, .xls, .ods) with a column mapping.
//!
//! Many SIS products only export "a report": a list with the columns the
//! office picked. The office says once which column holds what; Keyroll keeps
//! that as a named profile in the database and offers it again whenever a
//! file with the same header comes back. The mapping holds column names and
//! choices, never personal data, so it may be exported as a plain JSON file.
//!
//! Contacts often sit on the student's row ("Contact 1 Forename", "Contact 1
//! Email", "Contact 2 …"): each such group of columns is one contact slot.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::csvfile::CsvFile;
use super::oneroster::field;
use super::{LinkFamily, LinkRecord, Loader, OrgRecord, RowError, Scope, Source};
use crate::error::{Error, Result};
use crate::people::{self, Kind, PersonRecord, Status};
use crate::store::Writer;

/// The name used by `--format`.
pub const NAME: &str = "csv";

/// The source people from a mapped file are stored under, unless the
/// mapping names its own.
pub const SOURCE: &str = "csv";

/// A person field a column can be mapped to: (key, label, required).
pub const PERSON_FIELDS: &[(&str, &str, bool)] = &[
    ("sis_id", "SIS id (unique, never changes)", true),
    ("given_name", "First name", true),
    ("family_name", "Last name", true),
    ("preferred_name", "Preferred name", false),
    ("middle_name", "Middle name", false),
    ("kind", "Student, staff or parent", false),
    ("role", "Role or job title", false),
    ("email", "Email", false),
    ("mobile", "Mobile", false),
    ("status", "Status (on roll, left…)", false),
    ("school", "School", false),
    ("year_level", "Year or grade", false),
    ("home_group", "Home group or class", false),
    ("birth_date", "Date of birth", false),
];

/// A contact field, for the columns of one contact slot on a student's row.
pub const CONTACT_FIELDS: &[(&str, &str, bool)] = &[
    ("id", "Contact's SIS id", false),
    (
        "name",
        "Full name (when there are no separate name columns)",
        false,
    ),
    ("given_name", "First name", false),
    ("family_name", "Last name", false),
    ("email", "Email", false),
    ("mobile", "Mobile", false),
    ("relationship", "Relationship (mother, guardian…)", false),
    ("responsible", "Parental responsibility (yes/no)", false),
    ("primary", "Primary contact (yes/no)", false),
];

/// How the file writes dates such as 03/04/2015.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DateOrder {
    /// Day first: UK, Ireland, Australia, New Zealand and most of the world.
    #[default]
    Dmy,
    /// Month first: the United States.
    Mdy,
    Ymd,
}

/// Which column holds what, and how to read the values.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Mapping {
    /// The profile's name, as the office knows it ("SIMS student list").
    pub name: String,
    /// The system the file comes from (people are kept apart per source,
    /// since ids are only unique within one system). Empty: "csv".
    pub source: String,
    /// Everyone in the file is this kind, unless a `kind` column is mapped.
    pub kind: Option<Kind>,
    /// Values of the kind column and the kind each means, beyond the
    /// built-in words (student, pupil, teacher, staff, parent…).
    pub kinds: BTreeMap<String, Kind>,
    /// `bulk`: the file lists everyone of its kinds, so anyone missing has
    /// left. `delta`: only the people listed change.
    pub scope: Option<Scope>,
    /// The worksheet to read, for a workbook (default: the first with rows).
    pub sheet: Option<String>,
    /// How dates such as 03/04/2015 are written.
    pub dates: DateOrder,
    /// Person field (see [`PERSON_FIELDS`]) to column header.
    pub columns: BTreeMap<String, String>,
    /// Values of the status column and the status each means, beyond the
    /// built-in words (active, on roll, current, left, leaver, future…).
    pub statuses: BTreeMap<String, Status>,
    /// Contact slots on each row: contact field (see [`CONTACT_FIELDS`]) to
    /// column header.
    pub contacts: Vec<BTreeMap<String, String>>,
    /// The header the mapping was made for: a file with the same columns
    /// (in any order) is offered this mapping again.
    pub header: Vec<String>,
}

impl Mapping {
    /// Reads a mapping file (JSON).
    pub fn from_file(path: &std::path::Path) -> Result<Mapping> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_str(&text).map_err(|e| {
            Error::Import(format!(
                "{}:{}:{}: this is not a Keyroll column mapping: {e}",
                path.display(),
                e.line(),
                e.column()
            ))
        })
    }

    /// The source people are stored under.
    pub fn source_name(&self) -> String {
        let s = self.source.trim().to_ascii_lowercase();
        if s.is_empty() || s == SOURCE {
            SOURCE.to_owned()
        } else {
            format!("{SOURCE}:{s}")
        }
    }

    fn scope(&self) -> Scope {
        self.scope.unwrap_or(Scope::Bulk)
    }
}

/// A header as a key that ignores order, case and surrounding spaces.
pub fn header_key(headers: &[String]) -> String {
    let mut h: Vec<String> = headers
        .iter()
        .map(|h| h.trim().to_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    h.sort();
    h.join("\u{1f}")
}

/// Saved mappings, by name.
pub fn saved(conn: &rusqlite::Connection) -> Result<Vec<Mapping>> {
    let mut st = conn.prepare("SELECT body FROM mapping ORDER BY name COLLATE NOCASE")?;
    let rows = st.query_map([], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for body in rows {
        if let Ok(m) = serde_json::from_str(&body?) {
            out.push(m);
        }
    }
    Ok(out)
}

/// The saved mapping made for this header, if any (the latest saved wins).
pub fn matching(conn: &rusqlite::Connection, headers: &[String]) -> Result<Option<Mapping>> {
    let body: Option<String> = conn
        .query_row(
            "SELECT body FROM mapping WHERE header_key = ?1 ORDER BY saved_at DESC LIMIT 1",
            [header_key(headers)],
            |r| r.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
}

/// Saves `mapping` under its name (replacing one of the same name), audited.
/// Saving it unchanged writes nothing.
pub fn save(w: &Writer, mapping: &Mapping) -> Result<()> {
    let name = mapping.name.trim();
    if name.is_empty() {
        return Err(Error::Import(
            "the column mapping has no name; give it one to save it".into(),
        ));
    }
    let body = serde_json::to_string(mapping).expect("a mapping serialises");
    let before: Option<String> = w
        .conn()
        .query_row(
            "SELECT body FROM mapping WHERE name = ?1 COLLATE NOCASE",
            [name],
            |r| r.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    if before.as_deref() == Some(body.as_str()) {
        return Ok(());
    }
    w.conn().execute(
        "INSERT INTO mapping (name, header_key, body, saved_at, saved_by)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (name) DO UPDATE SET header_key = ?2, body = ?3, saved_at = ?4, saved_by = ?5",
        rusqlite::params![name, header_key(&mapping.header), body, w.at(), w.actor()],
    )?;
    let action = if before.is_some() {
        "mapping.update"
    } else {
        "mapping.create"
    };
    w.audit(action, "mapping", name, before.as_deref(), Some(&body))
}

/// A file's header and first rows, for the app's mapping step.
#[derive(Clone, Debug, Serialize)]
pub struct Sample {
    pub file: String,
    pub sheet: Option<String>,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// The header and first `n` rows of a file.
pub fn sample(src: &Source, sheet: Option<&str>, n: usize) -> Result<Sample> {
    let mut f = open(src, sheet)?;
    let mut rows = Vec::new();
    let mut rec = csv::StringRecord::new();
    while rows.len() < n && f.next(&mut rec)? {
        rows.push(rec.iter().map(str::to_owned).collect());
    }
    Ok(Sample {
        file: f.name.clone(),
        sheet: f.sheet.clone(),
        headers: f.headers.clone(),
        rows,
    })
}

fn open(src: &Source, sheet: Option<&str>) -> Result<CsvFile> {
    if super::csvfile::is_workbook(src.file_name()) {
        CsvFile::open_sheet(src, sheet)
    } else {
        CsvFile::open(src)
    }
}

/// Words a header may use for each field, lowercase with spaces, `_`, `-`
/// and `.` removed. First match wins, so the more specific come first.
const PERSON_WORDS: &[(&str, &[&str])] = &[
    (
        "sis_id",
        &[
            "sisid",
            "sourcedid",
            "studentid",
            "pupilid",
            "staffid",
            "personid",
            "userid",
            "upn",
            "adno",
            "admissionnumber",
            "admissionno",
            "studentnumber",
            "stkey",
            "sfkey",
            "id",
        ],
    ),
    (
        "preferred_name",
        &[
            "preferredname",
            "preferredforename",
            "preferredfirstname",
            "knownas",
            "prefname",
        ],
    ),
    (
        "given_name",
        &[
            "firstname",
            "forename",
            "givenname",
            "legalforename",
            "legalfirstname",
            "first",
        ],
    ),
    ("middle_name", &["middlename", "middlenames", "othernames"]),
    (
        "family_name",
        &[
            "lastname",
            "surname",
            "familyname",
            "legalsurname",
            "legallastname",
            "last",
        ],
    ),
    (
        "kind",
        &["kind", "type", "usertype", "persontype", "category"],
    ),
    ("role", &["role", "jobtitle", "position"]),
    (
        "email",
        &[
            "email",
            "emailaddress",
            "email1",
            "schoolemail",
            "workemail",
            "primaryemail",
        ],
    ),
    (
        "mobile",
        &["mobile", "mobilephone", "mobilenumber", "cellphone", "sms"],
    ),
    (
        "status",
        &["status", "enrolmentstatus", "enrollmentstatus", "onroll"],
    ),
    (
        "school",
        &["school", "schoolname", "schoolid", "site", "campus", "org"],
    ),
    (
        "year_level",
        &[
            "year",
            "yeargroup",
            "yearlevel",
            "grade",
            "gradelevel",
            "ncyear",
            "schoolyear",
        ],
    ),
    (
        "home_group",
        &[
            "homegroup",
            "reggroup",
            "registrationgroup",
            "form",
            "tutorgroup",
            "homeroom",
            "class",
        ],
    ),
    (
        "birth_date",
        &["dob", "dateofbirth", "birthdate", "birthday"],
    ),
];

const CONTACT_WORDS: &[(&str, &[&str])] = &[
    ("id", &["id", "sisid", "contactid", "personid"]),
    (
        "given_name",
        &["forename", "firstname", "givenname", "first"],
    ),
    (
        "family_name",
        &["surname", "lastname", "familyname", "last"],
    ),
    ("name", &["name", "fullname"]),
    ("email", &["email", "emailaddress"]),
    (
        "mobile",
        &["mobile", "mobilephone", "phone", "telephone", "cellphone"],
    ),
    (
        "relationship",
        &["relationship", "relation", "relationshiptostudent", "type"],
    ),
    (
        "responsible",
        &["parentalresponsibility", "responsibility", "pr", "haspr"],
    ),
    ("primary", &["primary", "primarycontact", "priority"]),
];

fn squash(h: &str) -> String {
    h.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A first guess at a mapping from a file's header and a few rows: the app
/// shows it for the office to check, and `keyroll mappings suggest` prints it.
pub fn suggest(sample: &Sample) -> Mapping {
    let mut m = Mapping {
        name: sample
            .file
            .rsplit_once('.')
            .map_or(sample.file.as_str(), |(stem, _)| stem)
            .to_owned(),
        header: sample.headers.clone(),
        sheet: sample.sheet.clone(),
        ..Default::default()
    };
    // Contact slots: headers with a contact word and a number, or a
    // "parent"/"guardian"/"contact" prefix ("Contact 1 Email", "Parent2Email").
    let mut slots: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut used: HashSet<usize> = HashSet::new();
    for (i, h) in sample.headers.iter().enumerate() {
        let s = squash(h);
        let Some(rest) = [
            "contact", "parent", "guardian", "carer", "mother", "father", "adult",
        ]
        .iter()
        .find_map(|p| s.strip_prefix(p).map(|r| (*p, r))) else {
            continue;
        };
        let (prefix, rest) = rest;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let field_part = &rest[digits.len()..];
        let slot = format!("{prefix}{digits}");
        if let Some((key, _)) = CONTACT_WORDS
            .iter()
            .find(|(_, words)| words.contains(&field_part))
        {
            let slot = slots.entry(slot).or_default();
            if !slot.contains_key(*key) {
                slot.insert((*key).to_owned(), h.clone());
                used.insert(i);
            }
        }
    }
    m.contacts = slots
        .into_values()
        .filter(|s| {
            ["email", "name", "given_name", "family_name"]
                .iter()
                .any(|k| s.contains_key(*k))
        })
        .collect();
    let contact_columns: HashSet<&String> = m.contacts.iter().flat_map(|s| s.values()).collect();
    for (key, words) in PERSON_WORDS {
        let found = sample.headers.iter().enumerate().find(|(i, h)| {
            !used.contains(i) && !contact_columns.contains(h) && words.contains(&squash(h).as_str())
        });
        if let Some((i, h)) = found {
            m.columns.insert((*key).to_owned(), h.clone());
            used.insert(i);
        }
    }
    if !m.columns.contains_key("kind") {
        m.kind = Some(Kind::Student);
        if sample.headers.iter().any(|h| {
            let s = squash(h);
            s.contains("staff") || s.contains("teacher") || s.contains("employee")
        }) && m.contacts.is_empty()
        {
            m.kind = Some(Kind::Staff);
        }
    }
    // Day or month first: any date whose first part is over 12 says day first.
    if let Some(col) = m
        .columns
        .get("birth_date")
        .and_then(|c| sample.headers.iter().position(|h| h == c))
    {
        let parts = |s: &str| -> Option<(u32, u32)> {
            let mut p = s.split(['/', '.', '-']);
            Some((
                p.next()?.trim().parse().ok()?,
                p.next()?.trim().parse().ok()?,
            ))
        };
        let mdy = sample.rows.iter().any(|r| {
            r.get(col)
                .and_then(|v| parts(v))
                .is_some_and(|(a, b)| a <= 12 && b > 12)
        });
        if mdy {
            m.dates = DateOrder::Mdy;
        }
    }
    m
}

/// Reads a date as the mapping says it is written: YYYY-MM-DD is always
/// understood; otherwise day/month/year or month/day/year, with /, . or -.
pub(super) fn parse_date(s: &str, order: DateOrder) -> std::result::Result<String, String> {
    let day = s.split(['T', ' ']).next().unwrap_or("");
    let parts: Vec<&str> = day.split(['/', '.', '-']).collect();
    let bad = || {
        let want = match order {
            DateOrder::Dmy => "DD/MM/YYYY",
            DateOrder::Mdy => "MM/DD/YYYY",
            DateOrder::Ymd => "YYYY-MM-DD",
        };
        format!("\"{s}\" is not a date (expected {want}; the mapping's date order says which)")
    };
    let [a, b, c] = parts[..] else {
        return Err(bad());
    };
    let (y, m, d) = if a.len() == 4 {
        (a, b, c)
    } else {
        match order {
            DateOrder::Dmy => (c, b, a),
            DateOrder::Mdy => (c, a, b),
            DateOrder::Ymd => return Err(bad()),
        }
    };
    if y.len() != 4 {
        return Err(bad());
    }
    let num = |s: &str| s.trim().parse::<u8>().ok();
    let year: i32 = y.parse().map_err(|_| bad())?;
    let month = num(m)
        .and_then(|m| time::Month::try_from(m).ok())
        .ok_or_else(bad)?;
    let date = num(d)
        .and_then(|d| time::Date::from_calendar_date(year, month, d).ok())
        .ok_or_else(bad)?;
    Ok(format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    ))
}

fn kind_word(s: &str) -> Option<Kind> {
    match squash(s).as_str() {
        "student" | "students" | "pupil" | "pupils" | "learner" | "child" => Some(Kind::Student),
        "staff" | "teacher" | "teachers" | "employee" | "faculty" | "teachingstaff"
        | "supportstaff" | "administrator" => Some(Kind::Staff),
        "parent" | "parents" | "guardian" | "contact" | "carer" | "family" => Some(Kind::Contact),
        _ => None,
    }
}

fn status_word(s: &str) -> Option<Status> {
    match squash(s).as_str() {
        "" | "active" | "current" | "onroll" | "enrolled" | "enrolling" | "yes" | "y" | "true" => {
            Some(Status::Active)
        }
        "future" | "pending" | "applicant" | "accepted" | "offered" | "preadmission" => {
            Some(Status::Future)
        }
        "leaving" => Some(Status::Leaving),
        "left" | "leaver" | "withdrawn" | "offroll" | "graduated" | "transferred" | "no" | "n"
        | "false" => Some(Status::Left),
        "inactive" | "suspended" | "deleted" | "tobedeleted" => Some(Status::Inactive),
        _ => None,
    }
}

fn yes_no(s: &str) -> Option<bool> {
    match squash(s).as_str() {
        "yes" | "y" | "true" | "1" | "x" | "pr" => Some(true),
        "" | "no" | "n" | "false" | "0" => Some(false),
        _ => None,
    }
}

/// A mapping checked against one file's header: column indexes.
struct Columns {
    person: HashMap<&'static str, usize>,
    contacts: Vec<HashMap<&'static str, usize>>,
}

impl Columns {
    fn get(&self, key: &str) -> Option<usize> {
        self.person.get(key).copied()
    }
}

/// Checks `m` against `f`'s header: every field known, every column there,
/// the required fields mapped. One error per problem, all at once.
fn resolve(m: &Mapping, f: &CsvFile) -> std::result::Result<Columns, Vec<RowError>> {
    let mut errors = Vec::new();
    let header_error = |field: &str, reason: String| RowError {
        file: f.name.clone(),
        line: 1,
        column: 0,
        field: field.to_owned(),
        reason,
    };
    let lookup = |fields: &[(&'static str, &str, bool)],
                  given: &BTreeMap<String, String>,
                  errors: &mut Vec<RowError>| {
        let mut out = HashMap::new();
        for (key, column) in given {
            let Some((known, _, _)) = fields.iter().find(|(k, _, _)| k == key) else {
                let names: Vec<&str> = fields.iter().map(|(k, _, _)| *k).collect();
                errors.push(header_error(
                    key,
                    format!(
                        "the mapping names an unknown field \"{key}\" (known: {})",
                        names.join(", ")
                    ),
                ));
                continue;
            };
            if column.trim().is_empty() {
                continue;
            }
            match f.column(column.trim()) {
                Some(i) => {
                    out.insert(*known, i);
                }
                None => errors.push(header_error(
                    column,
                    format!(
                        "the mapping reads {key} from column \"{column}\", which this file does \
                         not have (its header has: {})",
                        f.headers.join(", ")
                    ),
                )),
            }
        }
        out
    };
    let person = lookup(PERSON_FIELDS, &m.columns, &mut errors);
    let contacts: Vec<_> = m
        .contacts
        .iter()
        .map(|slot| lookup(CONTACT_FIELDS, slot, &mut errors))
        .collect();
    for (key, label, required) in PERSON_FIELDS {
        if *required && !m.columns.contains_key(*key) {
            errors.push(header_error(
                key,
                format!("the mapping does not say which column holds the {label}"),
            ));
        }
    }
    if m.kind.is_none() && !m.columns.contains_key("kind") {
        errors.push(header_error(
            "kind",
            "the mapping says neither who the file lists (students, staff or parents) nor which \
             column says so"
                .into(),
        ));
    }
    for (n, slot) in contacts.iter().enumerate() {
        let named = ["name", "given_name", "family_name"]
            .iter()
            .any(|k| slot.contains_key(k));
        if !named && !slot.is_empty() {
            errors.push(header_error(
                "contacts",
                format!("contact {} in the mapping has no name column", n + 1),
            ));
        }
    }
    if errors.is_empty() {
        Ok(Columns { person, contacts })
    } else {
        Err(errors)
    }
}

/// What one contact slot of a student's row says: the contact, and their
/// link to this student.
struct SlotContact {
    record: PersonRecord,
    responsible: bool,
    /// Marked primary (None: the file does not say).
    primary: Option<bool>,
}

/// Reads `files` with `mapping` into `loader`.
pub fn load(files: &[Source], mapping: &Mapping, loader: &mut dyn Loader) -> Result<()> {
    loader.begin(&mapping.source_name(), mapping.scope())?;
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut kinds: HashSet<Kind> = HashSet::new();
    // Contacts in the order first named, each once however many rows name them.
    let mut contacts: Vec<PersonRecord> = Vec::new();
    let mut contact_index: HashMap<String, usize> = HashMap::new();
    let mut links: Vec<LinkRecord> = Vec::new();
    let mut schools: HashSet<String> = HashSet::new();
    if let Some(k) = mapping.kind {
        kinds.insert(k);
    }
    for src in files {
        let mut f = open(src, mapping.sheet.as_deref())?;
        let cols = match resolve(mapping, &f) {
            Ok(c) => c,
            // The file cannot be read at all with this mapping: every
            // problem is reported at once, and nothing is imported.
            Err(errors) => return Err(super::oneroster::fatal(errors)),
        };
        if !cols.contacts.is_empty() {
            kinds.insert(Kind::Contact);
        }
        let mut mapped: Vec<usize> = cols.person.values().copied().collect();
        mapped.extend(cols.contacts.iter().flat_map(|s| s.values().copied()));
        let raw_columns = f.raw_columns(&mapped);
        let mut rec = csv::StringRecord::new();
        while f.next(&mut rec)? {
            loader.progress(f.bytes_read())?;
            let id = field(&rec, cols.get("sis_id"));
            if let Err(e) = f.check_width(&rec) {
                loader.reject(e, Some(&id))?;
                continue;
            }
            let c_id = cols.get("sis_id").expect("required");
            let mut errors: Vec<_> = f
                .id_problem(&rec, c_id, &id, "person", &seen)
                .into_iter()
                .collect();
            let kind = match cols.get("kind") {
                Some(c) => {
                    let v = field(&rec, Some(c));
                    let k = mapping
                        .kinds
                        .iter()
                        .find(|(word, _)| word.eq_ignore_ascii_case(&v))
                        .map(|(_, k)| *k)
                        .or_else(|| kind_word(&v))
                        .or(mapping.kind);
                    if k.is_none() {
                        let why = format!(
                            "\"{v}\" is not a kind of person Keyroll knows (student, staff or \
                             parent); add it to the mapping's kinds"
                        );
                        errors.push(f.error(&rec, c, why));
                    }
                    k
                }
                None => mapping.kind,
            };
            let status = match cols.get("status") {
                Some(c) => {
                    let v = field(&rec, Some(c));
                    let s = mapping
                        .statuses
                        .iter()
                        .find(|(word, _)| word.eq_ignore_ascii_case(&v))
                        .map(|(_, s)| *s)
                        .or_else(|| status_word(&v));
                    if s.is_none() {
                        let why = format!(
                            "unknown status \"{v}\" (expected active, future, leaving, left or \
                             inactive); add it to the mapping's statuses"
                        );
                        errors.push(f.error(&rec, c, why));
                    }
                    s
                }
                None => Some(Status::Active),
            };
            let email = f.email(&rec, cols.get("email"), &mut errors);
            let birth_date = match cols.get("birth_date") {
                Some(c) => parse_date(&field(&rec, Some(c)), mapping.dates)
                    .or_else(|e| {
                        if field(&rec, Some(c)).is_empty() {
                            Ok(String::new())
                        } else {
                            Err(e)
                        }
                    })
                    .unwrap_or_else(|why| {
                        errors.push(f.error(&rec, c, why));
                        String::new()
                    }),
                None => String::new(),
            };
            for (key, _, required) in PERSON_FIELDS {
                if let (true, Some(c)) = (*required && *key != "sis_id", cols.get(key)) {
                    if field(&rec, Some(c)).is_empty() {
                        errors.push(f.error(&rec, c, format!("{} is empty", f.headers[c])));
                    }
                }
            }
            // Contacts named on this row, checked before anything is kept.
            let mut row_contacts = Vec::new();
            if kind == Some(Kind::Student) {
                for (slot, slot_cols) in cols.contacts.iter().enumerate() {
                    match read_contact(&f, &rec, slot_cols, &mut errors) {
                        Some(c) => row_contacts.push((slot, c)),
                        None => continue,
                    }
                }
            }
            if !errors.is_empty() {
                for e in errors {
                    loader.reject(e, Some(&id))?;
                }
                continue;
            }
            let kind = kind.expect("checked above");
            kinds.insert(kind);
            seen.insert(id.clone(), f.line_of(&rec));
            let school = field(&rec, cols.get("school"));
            if !school.is_empty() && !loader.has_org(&school) && schools.insert(school.clone()) {
                loader.org(OrgRecord {
                    sis_id: school.clone(),
                    name: school.clone(),
                    org_type: "school".into(),
                    parent_sis_id: String::new(),
                    status: "active".into(),
                })?;
            }
            let get = |key: &str| field(&rec, cols.get(key));
            let role = match get("role") {
                r if !r.is_empty() => r,
                _ if kind == Kind::Contact => "guardian".into(),
                _ => kind.as_str().into(),
            };
            loader.person(PersonRecord {
                sis_id: id.clone(),
                kind: Some(kind),
                role,
                given_name: get("given_name"),
                middle_name: get("middle_name"),
                family_name: get("family_name"),
                preferred_name: get("preferred_name"),
                email,
                mobile: get("mobile"),
                status,
                schools: school,
                year_level: get("year_level"),
                home_group: get("home_group"),
                birth_date,
                raw: f.raw_fields(&rec, &raw_columns),
            })?;
            for (rank, (slot, contact)) in row_contacts.into_iter().enumerate() {
                let SlotContact {
                    record: mut contact,
                    responsible,
                    primary,
                } = contact;
                // A contact with no id of their own is known by email and
                // name (siblings' rows name the same parent; two parents may
                // share one family email), or else belongs to this student.
                if contact.sis_id.is_empty() {
                    contact.sis_id = if contact.email.is_empty() {
                        format!("{id}/contact{}", slot + 1)
                    } else {
                        format!(
                            "{}/{}",
                            contact.email.to_lowercase(),
                            crate::text::fold(&format!(
                                "{} {}",
                                contact.given_name, contact.family_name
                            ))
                        )
                    };
                }
                let key = contact.sis_id.clone();
                let first_col = *cols.contacts[slot].values().min().expect("a named slot");
                let at = f.link_at(&rec, c_id, first_col);
                if !contact_index.contains_key(&key) {
                    contact_index.insert(key.clone(), contacts.len());
                    contacts.push(contact);
                }
                links.push(LinkRecord {
                    from: id.clone(),
                    to: key,
                    rank: rank as u32,
                    responsible: Some(responsible),
                    family: LinkFamily {
                        primary,
                        ..Default::default()
                    },
                    optional: false,
                    at,
                });
            }
        }
        loader.file_done(f.info());
    }
    for c in contacts {
        if seen.contains_key(&c.sis_id) {
            // Named by a person row of their own (a parent listed as staff
            // too, or in a parents file): that row is the truth.
            continue;
        }
        loader.person(c)?;
    }
    if cols_have_no_contacts(mapping) {
        loader.no_links()?;
    }
    for link in links {
        loader.link(link)?;
    }
    let mut kinds: Vec<Kind> = kinds.into_iter().collect();
    kinds.sort_by_key(|k| k.as_str());
    loader.kinds(&kinds)
}

fn cols_have_no_contacts(m: &Mapping) -> bool {
    m.contacts.iter().all(BTreeMap::is_empty)
}

/// A full name as (given, family): "Mrs Jane O'Brien" is ("Jane",
/// "O'Brien"). The last word is the family name; a title is not a name.
pub(super) fn split_full_name(full: &str) -> (String, String) {
    let words: Vec<&str> = full
        .split_whitespace()
        .filter(|w| {
            !matches!(
                w.trim_end_matches('.').to_ascii_lowercase().as_str(),
                "mr" | "mrs" | "ms" | "miss" | "mx" | "dr" | "prof" | "rev"
            )
        })
        .collect();
    match words.split_last() {
        Some((last, rest)) => (rest.join(" "), (*last).to_owned()),
        None => (String::new(), String::new()),
    }
}

/// One contact slot of a student's row, or None when the slot is empty.
fn read_contact(
    f: &CsvFile,
    rec: &csv::StringRecord,
    cols: &HashMap<&'static str, usize>,
    errors: &mut Vec<RowError>,
) -> Option<SlotContact> {
    let get = |key: &str| field(rec, cols.get(key).copied());
    if cols.values().all(|&c| field(rec, Some(c)).is_empty()) {
        return None;
    }
    let (mut given, mut family) = (get("given_name"), get("family_name"));
    if given.is_empty() && family.is_empty() {
        (given, family) = split_full_name(&get("name"));
    }
    let name_col = ["given_name", "family_name", "name"]
        .iter()
        .find_map(|k| cols.get(k).copied())
        .unwrap_or(0);
    if given.is_empty() && family.is_empty() {
        errors.push(f.error(rec, name_col, "the contact has details but no name".into()));
        return None;
    }
    let email = f.email(rec, cols.get("email").copied(), errors);
    let relationship = get("relationship");
    let mut flag = |key: &str| -> Option<bool> {
        let c = cols.get(key).copied()?;
        let v = field(rec, Some(c));
        yes_no(&v).or_else(|| {
            errors.push(f.error(rec, c, format!("\"{v}\" is not yes or no")));
            None
        })
    };
    // Without a responsibility column, the relationship decides; with
    // neither, a contact listed on the student's row is taken as a parent.
    let responsible = flag("responsible").unwrap_or_else(|| {
        relationship.is_empty() || people::has_parental_responsibility(&relationship)
    });
    let primary = flag("primary");
    Some(SlotContact {
        record: PersonRecord {
            sis_id: get("id"),
            kind: Some(Kind::Contact),
            role: if relationship.is_empty() {
                "guardian".into()
            } else {
                relationship
            },
            given_name: given,
            family_name: family,
            email,
            mobile: get("mobile"),
            status: Some(Status::Active),
            ..Default::default()
        },
        responsible,
        primary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_each_order() {
        assert_eq!(
            parse_date("03/04/2015", DateOrder::Dmy).unwrap(),
            "2015-04-03"
        );
        assert_eq!(
            parse_date("03/04/2015", DateOrder::Mdy).unwrap(),
            "2015-03-04"
        );
        assert_eq!(
            parse_date("2015-04-03", DateOrder::Mdy).unwrap(),
            "2015-04-03"
        );
        assert_eq!(
            parse_date("3.4.2015 00:00", DateOrder::Dmy).unwrap(),
            "2015-04-03"
        );
        assert!(parse_date("13/13/2015", DateOrder::Dmy).is_err());
        assert!(parse_date("03/04/15", DateOrder::Dmy).is_err());
        assert!(parse_date("29/02/2015", DateOrder::Dmy).is_err());
    }

    #[test]
    fn suggests_columns_and_contact_slots() {
        let headers = [
            "Adno",
            "Legal Forename",
            "Legal Surname",
            "Preferred Forename",
            "Year",
            "Reg Group",
            "DOB",
            "Contact 1 Forename",
            "Contact 1 Surname",
            "Contact 1 Email",
            "Contact 1 Relationship",
            "Contact 2 Name",
            "Contact 2 Email",
        ]
        .map(String::from)
        .to_vec();
        let sample = Sample {
            file: "pupils.xlsx".into(),
            sheet: Some("Sheet1".into()),
            headers,
            rows: vec![],
        };
        let m = suggest(&sample);
        assert_eq!(m.name, "pupils");
        assert_eq!(m.columns["sis_id"], "Adno");
        assert_eq!(m.columns["given_name"], "Legal Forename");
        assert_eq!(m.columns["family_name"], "Legal Surname");
        assert_eq!(m.columns["preferred_name"], "Preferred Forename");
        assert_eq!(m.columns["year_level"], "Year");
        assert_eq!(m.columns["home_group"], "Reg Group");
        assert_eq!(m.columns["birth_date"], "DOB");
        assert_eq!(m.kind, Some(Kind::Student));
        assert_eq!(m.contacts.len(), 2);
        assert_eq!(m.contacts[0]["email"], "Contact 1 Email");
        assert_eq!(m.contacts[0]["relationship"], "Contact 1 Relationship");
        assert_eq!(m.contacts[1]["name"], "Contact 2 Name");
    }

    #[test]
    fn header_keys_ignore_order_and_case() {
        let a = ["Adno", "Surname"].map(String::from);
        let b = [" surname", "ADNO"].map(String::from);
        assert_eq!(header_key(&a), header_key(&b));
    }
}
