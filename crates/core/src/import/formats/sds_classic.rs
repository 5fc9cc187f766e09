//! Microsoft School Data Sync classic CSV ("SDS v1"), in its US and UK
//! variants: School.csv, Student.csv and Teacher.csv (required), Section.csv,
//! StudentEnrollment.csv and TeacherRoster.csv (classes, when they are
//! synced too), and the optional parent and guardian pair User.csv and
//! Guardianrelationship.csv.
//!
//! The UK files name the ids differently: School.csv's `DfE Number` for
//! `SIS ID`, `ID` for a person's `SIS ID`, `School DfE Number` for `School
//! SIS ID`, `Section ID` for `Section SIS ID`. Microsoft says headers are
//! case sensitive, yet exports write them every way ("Sis Id", "SISID"):
//! columns are matched ignoring case, spaces and punctuation.
//!
//! Guardianrelationship.csv names a student by their `SIS ID` and the adult
//! by the `Email` of their User.csv row; User.csv's `SIS ID` may be blank.
//!
//! Classes (Section.csv, StudentEnrollment.csv, TeacherRoster.csv) are read
//! by [`super::sds_classic_sections`].

use std::collections::HashMap;

use super::{Format, ReadWith};
use crate::error::{Error, Result};
use crate::import::contact_key::contact_key;
use crate::import::csvfile::CsvFile;
use crate::import::fields::{fatal, field, is_date, parse_date, DateOrder};
use crate::import::source::{find, require, size_of};
use crate::import::{LinkRecord, Loader, RowError, Scope, Source};
use crate::people::{self, Kind, PersonRecord, Status};

pub struct SdsClassic;

pub const NAME: &str = "sds-classic";

/// People are stored under the same source as SDS v2 and v2.1: the SIS ids
/// are the same ids, so a school moving from the classic files to v2.1
/// keeps its people (and nobody is counted twice).
pub const SOURCE: &str = super::sds::SOURCE;

/// The files read, for progress.
const FILES: &[&str] = &[
    "School.csv",
    "Student.csv",
    "Teacher.csv",
    "User.csv",
    "Guardianrelationship.csv",
];

/// Classes and who is in them.
pub const CLASS_FILES: &[&str] = &["Section.csv", "StudentEnrollment.csv", "TeacherRoster.csv"];

const SET: &str =
    "a School Data Sync (classic) export has School.csv, Student.csv and Teacher.csv \
                   (and Section.csv, StudentEnrollment.csv, TeacherRoster.csv)";

impl Format for SdsClassic {
    fn name(&self) -> &'static str {
        NAME
    }

    fn title(&self) -> &'static str {
        "School Data Sync (classic)"
    }

    fn files_hint(&self) -> &'static str {
        "a School Data Sync (classic) export has School.csv, Student.csv and Teacher.csv"
    }

    fn source(&self, _: ReadWith) -> String {
        SOURCE.to_owned()
    }

    /// School.csv with Student.csv or Teacher.csv: no other format names its
    /// files so (Clever's are schools.csv and students.csv). One missing of
    /// the three required is then named by `load`.
    fn detect(&self, files: &[Source]) -> bool {
        find(files, "School.csv").is_some()
            && (find(files, "Student.csv").is_some() || find(files, "Teacher.csv").is_some())
    }

    fn total_bytes(&self, files: &[Source]) -> u64 {
        size_of(files, FILES) + size_of(files, CLASS_FILES)
    }

    fn load(&self, files: &[Source], _: ReadWith, loader: &mut dyn Loader) -> Result<()> {
        let need = |name: &str| require(files, name, SET);
        // The pair of guardian files, when the export has them. A file with
        // no bytes at all is one the SIS left empty, as absent.
        let optional = |name: &str| find(files, name).filter(|s| s.size() > 0);
        let guardians = match (optional("User.csv"), optional("Guardianrelationship.csv")) {
            (Some(u), Some(g)) => Some((u, g)),
            (None, None) => None,
            (Some(_), None) | (None, Some(_)) => {
                return Err(Error::Invalid(
                    "User.csv and Guardianrelationship.csv come as a pair (the parents and \
                     guardians, and whose they are): the export has only one of them. Export \
                     both again, or neither."
                        .into(),
                ))
            }
        };
        // A classic export is a full snapshot of the school.
        loader.begin(SOURCE, Scope::Bulk)?;
        let (school, student, teacher) = (
            need("School.csv")?,
            need("Student.csv")?,
            need("Teacher.csv")?,
        );
        read_schools(school, loader)?;
        let mut seen = Seen::default();
        read_people(student, Kind::Student, loader, &mut seen)?;
        read_people(teacher, Kind::Staff, loader, &mut seen)?;
        match guardians {
            Some((users, relationships)) => {
                let mut contacts = read_guardians(users, loader)?;
                let links = read_relationships(relationships, loader, &mut contacts)?;
                for c in contacts.people {
                    loader.person(c)?;
                }
                for link in links {
                    loader.link(link)?;
                }
            }
            None => {
                // Without the guardian files, stored contacts are left alone.
                loader.no_links()?;
                loader.kinds(&[Kind::Student, Kind::Staff])?;
            }
        }
        super::sds_classic_sections::read(files, loader)
    }
}

/// The first of `names` the header has (matched loosely), for a column the
/// US and UK files name differently.
pub(super) fn either(f: &CsvFile, names: &[&str]) -> Option<usize> {
    names.iter().find_map(|n| f.loose_column(n))
}

/// Required columns, each one of a few names (US first, then UK): their
/// indexes, or one error per column the header lacks.
pub(super) fn require_either(f: &CsvFile, columns: &[&[&str]]) -> Result<Vec<usize>> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for names in columns {
        match either(f, names) {
            Some(i) => found.push(i),
            None => {
                let also: Vec<String> = names[1..].iter().map(|n| format!("\"{n}\"")).collect();
                let also = if also.is_empty() {
                    String::new()
                } else {
                    format!(" (in UK files {})", also.join(" or "))
                };
                missing.push(RowError {
                    file: f.name.clone(),
                    line: 1,
                    column: 0,
                    field: names[0].to_owned(),
                    reason: format!(
                        "required column \"{}\"{also} is missing (the header has: {})",
                        names[0],
                        f.headers.join(", ")
                    ),
                    outcome: Default::default(),
                });
            }
        }
    }
    if missing.is_empty() {
        Ok(found)
    } else {
        Err(fatal(missing))
    }
}

fn read_schools(src: &Source, loader: &mut dyn Loader) -> Result<()> {
    let f = CsvFile::open(src)?;
    let cols = require_either(&f, &[&["SIS ID", "DfE Number"], &["Name"]])?;
    super::schools::read(f, cols[0], cols[1], loader)
}

/// The ids of Student.csv and Teacher.csv read so far, with where: one id
/// names one person across both files.
#[derive(Default)]
struct Seen(HashMap<String, (String, u64)>);

/// Student.csv or Teacher.csv: one row per person (SDS takes `SIS ID` as
/// unique, so a person at two schools is not two rows).
fn read_people(src: &Source, kind: Kind, loader: &mut dyn Loader, seen: &mut Seen) -> Result<()> {
    let mut f = CsvFile::open(src)?;
    let cols = require_either(
        &f,
        &[
            &["SIS ID", "ID"],
            &["School SIS ID", "School DfE Number"],
            &["First Name"],
            &["Last Name"],
        ],
    )?;
    let (c_id, c_school, c_first, c_last) = (cols[0], cols[1], cols[2], cols[3]);
    // The UK files write dates day first; the US files month first.
    let uk = f.loose_column("SIS ID").is_none();
    let c = |name: &str| f.loose_column(name);
    let (c_middle, c_email, c_status) = (c("Middle Name"), c("Secondary Email"), c("Status"));
    let (c_grade, c_birth) = match kind {
        Kind::Student => (c("Grade"), c("Birthdate")),
        _ => (None, None),
    };
    // Held as named fields: not repeated in `raw`. Password is a secret,
    // which raw_columns always leaves out.
    let mapped: Vec<usize> = [
        Some(c_id),
        Some(c_school),
        Some(c_first),
        Some(c_last),
        c_middle,
        c_email,
        c_status,
        c_grade,
        c_birth,
    ]
    .into_iter()
    .flatten()
    .collect();
    let raw_columns = f.raw_columns(&mapped);
    let what = match kind {
        Kind::Student => "student",
        _ => "teacher",
    };
    let mut rec = csv::StringRecord::new();
    while f.next(&mut rec)? {
        loader.progress(f.bytes_read())?;
        let id = field(&rec, Some(c_id));
        if let Err(e) = f.check_width(&rec) {
            loader.reject(e, Some(&id))?;
            continue;
        }
        let mut errors = Vec::new();
        if id.is_empty() {
            let why = format!("the {what} has no {}", f.headers[c_id]);
            errors.push(f.error(&rec, c_id, why));
        } else if let Some((file, line)) = seen.0.get(&id) {
            let why = format!(
                "{} \"{id}\" is already used ({file}:{line}); one id must name one person",
                f.headers[c_id]
            );
            errors.push(f.error(&rec, c_id, why));
        }
        let school = field(&rec, Some(c_school));
        if !loader.has_org(&school) {
            let why = format!("school \"{school}\" is not in School.csv");
            errors.push(f.error(&rec, c_school, why));
        }
        for col in [c_first, c_last] {
            if field(&rec, Some(col)).is_empty() {
                errors.push(f.error(&rec, col, format!("{} is empty", f.headers[col])));
            }
        }
        let email = f.email(&rec, c_email, &mut errors);
        let status = match field(&rec, c_status).to_ascii_lowercase().as_str() {
            "" | "active" => Status::Active,
            "inactive" => Status::Inactive,
            other => {
                let why = format!("unknown status \"{other}\" (expected Active or Inactive)");
                errors.push(f.error(&rec, c_status.unwrap_or(0), why));
                Status::Active
            }
        };
        let birth_date = match birth_date(&field(&rec, c_birth), uk) {
            Ok(d) => d,
            Err(why) => {
                errors.push(f.error(&rec, c_birth.unwrap_or(0), why));
                String::new()
            }
        };
        if !errors.is_empty() {
            for e in errors {
                loader.reject(e, Some(&id))?;
            }
            continue;
        }
        seen.0.insert(id.clone(), (f.name.clone(), f.line_of(&rec)));
        loader.person(PersonRecord {
            sis_id: id,
            kind: Some(kind),
            role: what.into(),
            given_name: field(&rec, Some(c_first)),
            middle_name: field(&rec, c_middle),
            family_name: field(&rec, Some(c_last)),
            email,
            status: Some(status),
            schools: school,
            year_level: field(&rec, c_grade),
            birth_date,
            raw: f.raw_fields(&rec, &raw_columns),
            ..Default::default()
        })?;
    }
    loader.file_done(f.info());
    Ok(())
}

/// A Birthdate as YYYY-MM-DD: Microsoft asks for YYYY-MM-DD or YYYYMMDD;
/// exports also write 4/2/2000, month first in the US files, day first in
/// the UK ones.
fn birth_date(s: &str, uk: bool) -> std::result::Result<String, String> {
    if s.is_empty() {
        return Ok(String::new());
    }
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        let iso = format!("{}-{}-{}", &s[..4], &s[4..6], &s[6..]);
        if is_date(&iso) {
            return Ok(iso);
        }
    }
    let (order, want) = if uk {
        (DateOrder::Dmy, "DD/MM/YYYY")
    } else {
        (DateOrder::Mdy, "MM/DD/YYYY")
    };
    parse_date(s, order)
        .map_err(|_| format!("\"{s}\" is not a date (expected YYYY-MM-DD, YYYYMMDD or {want})"))
}

/// User.csv: the parents and guardians, by the Email their relationships
/// name them by.
#[derive(Default)]
struct Contacts {
    people: Vec<PersonRecord>,
    /// Lower-cased email → index in `people`, and whether any relationship
    /// names them yet.
    by_email: HashMap<String, (usize, bool)>,
}

fn read_guardians(src: &Source, loader: &mut dyn Loader) -> Result<Contacts> {
    let mut f = CsvFile::open(src)?;
    let cols = require_either(&f, &[&["Email"], &["First Name"], &["Last Name"]])?;
    let (c_email, c_first, c_last) = (cols[0], cols[1], cols[2]);
    let (c_phone, c_id) = (f.loose_column("Phone"), f.loose_column("SIS ID"));
    let mapped: Vec<usize> = [Some(c_email), Some(c_first), Some(c_last), c_phone, c_id]
        .into_iter()
        .flatten()
        .collect();
    let raw_columns = f.raw_columns(&mapped);
    let mut out = Contacts::default();
    let mut lines: HashMap<String, u64> = HashMap::new();
    let mut ids: HashMap<String, u64> = HashMap::new();
    let mut rec = csv::StringRecord::new();
    while f.next(&mut rec)? {
        loader.progress(f.bytes_read())?;
        let id = field(&rec, c_id);
        if let Err(e) = f.check_width(&rec) {
            loader.reject(e, Some(&id).filter(|i| !i.is_empty()).map(|s| s.as_str()))?;
            continue;
        }
        let mut errors = Vec::new();
        let email = f.email(&rec, Some(c_email), &mut errors);
        let lower = email.to_lowercase();
        if email.is_empty() {
            let why = "the parent or guardian has no Email (their relationships name them by it)";
            errors.push(f.error(&rec, c_email, why.into()));
        } else if let Some(line) = lines.get(&lower) {
            let why = format!("Email \"{email}\" is already used on line {line}");
            errors.push(f.error(&rec, c_email, why));
        }
        if let Some(line) = ids.get(&id).filter(|_| !id.is_empty()) {
            let why = format!("SIS ID \"{id}\" is already used on line {line}");
            errors.push(f.error(&rec, c_id.unwrap_or(0), why));
        }
        let (given, family) = (field(&rec, Some(c_first)), field(&rec, Some(c_last)));
        for (col, v) in [(c_first, &given), (c_last, &family)] {
            if v.is_empty() {
                errors.push(f.error(&rec, col, format!("{} is empty", f.headers[col])));
            }
        }
        if !errors.is_empty() {
            for e in errors {
                let protect = Some(id.as_str()).filter(|i| !i.is_empty());
                loader.reject(e, protect)?;
            }
            continue;
        }
        let line = f.line_of(&rec);
        lines.insert(lower.clone(), line);
        // Their own SIS ID when the file gives one, else who they are by
        // email and name (as Clever's contacts are).
        let sis_id = if id.is_empty() {
            contact_key(&lower, &given, &family)
        } else {
            ids.insert(id.clone(), line);
            id
        };
        out.by_email.insert(lower, (out.people.len(), false));
        out.people.push(PersonRecord {
            sis_id,
            kind: Some(Kind::Contact),
            role: "other".into(),
            given_name: given,
            family_name: family,
            email,
            mobile: field(&rec, c_phone),
            status: Some(Status::Active),
            raw: f.raw_fields(&rec, &raw_columns),
            ..Default::default()
        });
    }
    loader.file_done(f.info());
    Ok(out)
}

/// The relationship roles Microsoft lists for Guardianrelationship.csv (a
/// blank one is Other). Only a parent or guardian holds parental
/// responsibility; an aide or a doctor named here is the student's contact,
/// not school staff.
const RELATIONSHIP_ROLES: &[&str] = &[
    "parent",
    "relative",
    "aide",
    "doctor",
    "guardian",
    "child",
    "administrator",
    "other",
];

fn read_relationships(
    src: &Source,
    loader: &mut dyn Loader,
    contacts: &mut Contacts,
) -> Result<Vec<LinkRecord>> {
    let mut f = CsvFile::open(src)?;
    let cols = require_either(&f, &[&["SIS ID"], &["Email"], &["Role"]])?;
    let (c_student, c_email, c_role) = (cols[0], cols[1], cols[2]);
    let mut links: Vec<LinkRecord> = Vec::new();
    let mut rank: HashMap<String, u32> = HashMap::new();
    let mut pairs: HashMap<(String, usize), u64> = HashMap::new();
    let mut rec = csv::StringRecord::new();
    while f.next(&mut rec)? {
        loader.progress(f.bytes_read())?;
        if let Err(e) = f.check_width(&rec) {
            loader.reject(e, None)?;
            continue;
        }
        let student = field(&rec, Some(c_student));
        let email = field(&rec, Some(c_email));
        let word = field(&rec, Some(c_role));
        let role = if word.is_empty() {
            "other".to_owned()
        } else {
            word.to_ascii_lowercase()
        };
        let mut errors = Vec::new();
        if student.is_empty() {
            errors.push(f.error(&rec, c_student, "the relationship names no student".into()));
        }
        let contact = contacts.by_email.get(&email.to_lowercase()).map(|c| c.0);
        if contact.is_none() {
            let why = format!("no one in User.csv has the Email \"{email}\"");
            errors.push(f.error(&rec, c_email, why));
        }
        if !RELATIONSHIP_ROLES.contains(&role.as_str()) {
            let why = format!(
                "unknown role \"{word}\" (expected Parent, Guardian, Relative, Aide, Doctor, \
                 Child, Administrator or Other)"
            );
            errors.push(f.error(&rec, c_role, why));
        }
        let (Some(contact), true) = (contact, errors.is_empty()) else {
            for e in errors {
                loader.reject(e, None)?;
            }
            continue;
        };
        if let Some(line) = pairs.get(&(student.clone(), contact)) {
            let why = format!("this student and adult are already related on line {line}");
            loader.reject(f.error(&rec, c_email, why), None)?;
            continue;
        }
        pairs.insert((student.clone(), contact), f.line_of(&rec));
        let responsible = people::has_parental_responsibility(&role);
        // The adult's role: their first relationship's, unless a later one
        // gives them parental responsibility the first did not.
        let first = contacts
            .by_email
            .get_mut(&email.to_lowercase())
            .is_some_and(|c| !std::mem::replace(&mut c.1, true));
        let adult = &mut contacts.people[contact];
        if first || (responsible && !people::has_parental_responsibility(&adult.role)) {
            adult.role = role.clone();
        }
        let r = rank.entry(student.clone()).or_default();
        links.push(LinkRecord {
            from: student,
            to: adult.sis_id.clone(),
            rank: *r,
            responsible: Some(responsible),
            family: Default::default(),
            optional: false,
            at: f.link_at(&rec, c_student, c_email),
        });
        *r += 1;
    }
    loader.file_done(f.info());
    Ok(links)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn birth_dates_in_each_variant() {
        assert_eq!(birth_date("2000-04-02", false).unwrap(), "2000-04-02");
        assert_eq!(birth_date("20000402", true).unwrap(), "2000-04-02");
        assert_eq!(birth_date("4/2/2000", false).unwrap(), "2000-04-02");
        assert_eq!(birth_date("4/2/2000", true).unwrap(), "2000-02-04");
        assert_eq!(birth_date("", true).unwrap(), "");
        assert!(birth_date("13/31/2000", false).is_err());
        assert!(birth_date("soon", false)
            .unwrap_err()
            .contains("MM/DD/YYYY"));
    }
}
