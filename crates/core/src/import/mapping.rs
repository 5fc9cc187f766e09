//! Column mappings for plain lists: which column of a CSV file or
//! spreadsheet holds what. The office says so once; the mapping is kept as
//! a named profile in the database (audited, no personal data) and offered
//! again whenever a file with the same header comes back ([`matching`]).
//! [`suggest`] makes a first guess from the column names; [`sample`] reads a
//! file's header and first rows for the app's mapping step.

use std::collections::{BTreeMap, HashSet};

use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};

use super::csvfile::CsvFile;
use super::fields::{squash, DateOrder};
use super::{Scope, Source};
use crate::error::{Error, Result};
use crate::people::{Kind, Status};
use crate::store::Writer;

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
            Error::Invalid(format!(
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

    pub(super) fn scope(&self) -> Scope {
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
        .optional()?;
    Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
}

/// Saves `mapping` under its name (replacing one of the same name), audited.
/// Saving it unchanged writes nothing.
pub fn save(w: &Writer, mapping: &Mapping) -> Result<()> {
    let name = mapping.name.trim();
    if name.is_empty() {
        return Err(Error::Invalid(
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
        .optional()?;
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
    Ok(w.audit(action, "mapping", name, before.as_deref(), Some(&body))?)
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

pub(super) fn open(src: &Source, sheet: Option<&str>) -> Result<CsvFile> {
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

/// What to tell the office about a suggested mapping's kind: when no column
/// holds roles, everyone is filed as one kind, and they must say which.
pub fn kind_note(m: &Mapping) -> Option<String> {
    if m.columns.contains_key("kind") {
        return None;
    }
    let kind = m.kind.unwrap_or(Kind::Student);
    Some(format!(
        "No column holds roles (student, teacher, parent…), so this mapping files everyone in \
         the file as a {}: check \"kind\" (student, staff or contact) before importing, or map \
         the column that says who each row is as \"kind\".",
        kind.as_str()
    ))
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
    // The kind comes from a column whose values are roles (student,
    // teacher, parent…), not from one that only has a kind-like name
    // ("Type": full-time or part-time).
    let holds_roles = |c: usize| {
        let mut values = sample
            .rows
            .iter()
            .filter_map(|r| r.get(c))
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .peekable();
        values.peek().is_some() && values.all(|v| super::formats::mapped::role_kind(v).is_some())
    };
    let roles = (0..sample.headers.len())
        .find(|&c| !contact_columns.contains(&sample.headers[c]) && holds_roles(c));
    match roles {
        Some(c) => {
            m.columns
                .insert("kind".to_owned(), sample.headers[c].clone());
        }
        None if !sample.rows.is_empty() => {
            m.columns.remove("kind");
        }
        None => {}
    }
    if !m.columns.contains_key("kind") {
        // No column holds roles: everyone is filed as one kind, which
        // [`kind_note`] asks the office to check.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::fields::parse_date;

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
