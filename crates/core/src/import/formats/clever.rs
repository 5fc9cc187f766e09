//! Clever SFTP CSV: schools.csv, students.csv (with its Contact_* columns),
//! teachers.csv, staff.csv and the older admins.csv; sections.csv and
//! enrollments.csv are classes ([`super::clever_sections`]).
//!
//! Clever's files are a full snapshot of who is active: there is no status
//! column, so anyone missing from the next upload has left. A student with
//! several contacts is written as several rows, one per contact, with the
//! student's own columns repeated; a teacher or staff member at several
//! schools may likewise be one row per school.

use std::collections::HashMap;

use super::{Format, ReadWith};
use crate::error::Result;
use crate::import::contact_key::contact_key;
use crate::import::csvfile::CsvFile;
use crate::import::fields::{fatal, field, parse_date, split_full_name, DateOrder};
use crate::import::source::{find, require, size_of};
use crate::import::{LinkFamily, LinkRecord, Loader, RowError, Scope, Source};
use crate::people::{self, Kind, PersonRecord, Status};

pub struct Clever;

/// The source name people from this format are stored under.
pub const SOURCE: &str = "clever";

const FILES: &[&str] = &[
    "schools.csv",
    "students.csv",
    "teachers.csv",
    "staff.csv",
    "admins.csv",
    "sections.csv",
    "enrollments.csv",
];

impl Format for Clever {
    fn name(&self) -> &'static str {
        "clever"
    }

    fn title(&self) -> &'static str {
        "Clever"
    }

    fn files_hint(&self) -> &'static str {
        "a Clever export has schools.csv and students.csv"
    }

    fn source(&self, _: ReadWith) -> String {
        SOURCE.to_owned()
    }

    fn detect(&self, files: &[Source]) -> bool {
        find(files, "students.csv").is_some()
            && find(files, "schools.csv").is_some()
            && find(files, "users.csv").is_none()
    }

    fn total_bytes(&self, files: &[Source]) -> u64 {
        size_of(files, FILES)
    }

    fn load(&self, files: &[Source], _: ReadWith, loader: &mut dyn Loader) -> Result<()> {
        let need = |name: &str| {
            require(
                files,
                name,
                "a Clever export has schools.csv and students.csv (and teachers.csv, staff.csv)",
            )
        };
        loader.begin(SOURCE, Scope::Bulk)?;
        read_schools(need("schools.csv")?, loader)?;
        let mut people = People::default();
        read_students(need("students.csv")?, loader, &mut people)?;
        // Staff files are optional: without them, stored staff are left alone.
        let mut kinds = vec![Kind::Student, Kind::Contact];
        for (name, file) in [
            ("teachers.csv", StaffFile::Teachers),
            ("staff.csv", StaffFile::Staff),
            ("admins.csv", StaffFile::Admins),
        ] {
            if let Some(src) = find(files, name) {
                read_staff(src, file, loader, &mut people)?;
                if !kinds.contains(&Kind::Staff) {
                    kinds.push(Kind::Staff);
                }
            }
        }
        for (_, p) in people
            .order
            .into_iter()
            .filter_map(|id| people.by_id.remove_entry(&id))
        {
            loader.person(p.record)?;
        }
        for c in people.contacts {
            loader.person(c)?;
        }
        for link in people.links {
            loader.link(link)?;
        }
        if let Some(sections) = find(files, "sections.csv") {
            let enrollments = find(files, "enrollments.csv");
            let with_staff = kinds.contains(&Kind::Staff);
            super::clever_sections::read(sections, enrollments, with_staff, loader)?;
        }
        loader.kinds(&kinds)
    }
}

fn read_schools(src: &Source, loader: &mut dyn Loader) -> Result<()> {
    let f = CsvFile::open(src)?;
    let cols = f.require(&["School_id", "School_name"]).map_err(fatal)?;
    super::schools::read(f, cols[0], cols[1], loader)
}

/// People read so far, by id, in file order: a person may take several rows.
#[derive(Default)]
struct People {
    by_id: HashMap<String, Read>,
    order: Vec<String>,
    contacts: Vec<PersonRecord>,
    contact_index: HashMap<String, usize>,
    links: Vec<LinkRecord>,
    /// Links already stated: (student, contact key).
    linked: HashMap<(String, String), usize>,
    /// Ids whose first row was rejected, with its line: their later rows
    /// (more contacts, more schools) are left out too.
    rejected: HashMap<String, u64>,
}

struct Read {
    record: PersonRecord,
    file: String,
    line: u64,
}

impl People {
    /// Why a row of an id whose first row was rejected is left out too.
    fn after_rejected(
        &self,
        f: &CsvFile,
        rec: &csv::StringRecord,
        id_col: usize,
        id: &str,
        what: &str,
    ) -> Option<RowError> {
        let line = self.rejected.get(id)?;
        let why =
            format!("this {what}'s row on line {line} was rejected, so this row is left out too");
        Some(f.error(rec, id_col, why))
    }

    /// Notes that a row of `id` was rejected (unless the id is known from an
    /// earlier, accepted row).
    fn reject(&mut self, id: &str, line: u64) {
        if !id.is_empty() && !self.by_id.contains_key(id) {
            self.rejected.entry(id.to_owned()).or_insert(line);
        }
    }

    /// Adds `record`, or merges it into the person of the same id (another
    /// school of theirs). A different person under the same id is an error.
    fn add(
        &mut self,
        record: PersonRecord,
        f: &CsvFile,
        rec: &csv::StringRecord,
        id_col: usize,
    ) -> std::result::Result<(), RowError> {
        let id = record.sis_id.clone();
        match self.by_id.get_mut(&id) {
            None => {
                self.order.push(id.clone());
                let (file, line) = (f.name.clone(), f.line_of(rec));
                self.by_id.insert(id, Read { record, file, line });
                Ok(())
            }
            Some(first) => {
                let same = first.record.kind == record.kind
                    && first.record.given_name == record.given_name
                    && first.record.family_name == record.family_name;
                if !same {
                    let why = format!(
                        "{} \"{id}\" is already {} {} {} ({}:{}); one id must name one person",
                        f.headers[id_col],
                        first.record.kind.map_or("", Kind::account_word),
                        first.record.given_name,
                        first.record.family_name,
                        first.file,
                        first.line
                    );
                    return Err(f.error(rec, id_col, why));
                }
                for school in record.schools.split(',').filter(|s| !s.is_empty()) {
                    if !first.record.schools.split(',').any(|s| s == school) {
                        if !first.record.schools.is_empty() {
                            first.record.schools.push(',');
                        }
                        first.record.schools.push_str(school);
                    }
                }
                if first.record.email.is_empty() {
                    first.record.email = record.email;
                }
                Ok(())
            }
        }
    }
}

/// The columns every person file has (School_id, the id, Last_name,
/// First_name), and the checks every row of one gets.
struct PersonColumns {
    school: usize,
    id: usize,
    names: [usize; 2],
    /// "student" or "person", in messages.
    what: &'static str,
}

impl PersonColumns {
    fn new(required: &[usize], what: &'static str) -> PersonColumns {
        PersonColumns {
            school: required[0],
            id: required[1],
            names: [required[2], required[3]],
            what,
        }
    }

    /// The row's id and school with the problems found so far; None when the
    /// row is left out already (reported).
    fn check(
        &self,
        f: &CsvFile,
        rec: &csv::StringRecord,
        loader: &mut dyn Loader,
        people: &People,
    ) -> Result<Option<(String, String, Vec<RowError>)>> {
        let id = field(rec, Some(self.id));
        let left_out = f
            .check_width(rec)
            .err()
            .or_else(|| people.after_rejected(f, rec, self.id, &id, self.what));
        if let Some(e) = left_out {
            loader.reject(e, Some(&id))?;
            return Ok(None);
        }
        let mut errors = Vec::new();
        if id.is_empty() {
            let why = format!("the {} has no {}", self.what, f.headers[self.id]);
            errors.push(f.error(rec, self.id, why));
        }
        let school = field(rec, Some(self.school));
        if !loader.has_org(&school) {
            let why = format!("school \"{school}\" is not in schools.csv");
            errors.push(f.error(rec, self.school, why));
        }
        for col in self.names {
            if field(rec, Some(col)).is_empty() {
                errors.push(f.error(rec, col, format!("{} is empty", f.headers[col])));
            }
        }
        Ok(Some((id, school, errors)))
    }
}

/// What a contact's row says about their link to the student.
fn contact_link(relationship: &str, contact_type: &str) -> (bool, Option<bool>) {
    let t = contact_type.trim().to_ascii_lowercase();
    let r = relationship.trim().to_ascii_lowercase();
    // Parent/Guardian by type, or a parent by relationship. An emergency
    // contact, a grandparent or an aunt does not hold parental
    // responsibility unless the type says so.
    let responsible = matches!(t.as_str(), "parent/guardian" | "parent" | "guardian")
        || people::has_parental_responsibility(&r)
        || (r.is_empty() && matches!(t.as_str(), "" | "primary" | "secondary"));
    let primary = match t.as_str() {
        "primary" => Some(true),
        "secondary" | "emergency" => Some(false),
        _ => None,
    };
    (responsible, primary)
}

fn read_students(src: &Source, loader: &mut dyn Loader, people: &mut People) -> Result<()> {
    let mut f = CsvFile::open(src)?;
    let cols = f
        .require(&["School_id", "Student_id", "Last_name", "First_name"])
        .map_err(fatal)?;
    let (c_school, c_id, c_last, c_first) = (cols[0], cols[1], cols[2], cols[3]);
    let person_cols = PersonColumns::new(&cols, "student");
    let c = |name: &str| f.column(name);
    let (c_middle, c_grade, c_email) = (c("Middle_name"), c("Grade"), c("Student_email"));
    let c_dob = c("Dob");
    let contact = [
        "Contact_relationship",
        "Contact_type",
        "Contact_name",
        "Contact_phone",
        "Contact_phone_type",
        "Contact_email",
        "Contact_sis_id",
    ]
    .map(|n| f.column(n));
    let [c_rel, c_type, c_name, c_phone, c_phone_type, c_cemail, c_csis] = contact;
    let mut mapped: Vec<usize> = vec![c_school, c_id, c_last, c_first];
    mapped.extend([c_middle, c_grade, c_email, c_dob].into_iter().flatten());
    mapped.extend(contact.into_iter().flatten());
    let raw_columns = f.raw_columns(&mapped);
    let mut rec = csv::StringRecord::new();
    while f.next(&mut rec)? {
        loader.progress(f.bytes_read())?;
        let Some((id, school, mut errors)) = person_cols.check(&f, &rec, loader, people)? else {
            continue;
        };
        let email = f.email(&rec, c_email, &mut errors);
        let birth_date = match field(&rec, c_dob) {
            d if d.is_empty() => d,
            d => parse_date(&d, DateOrder::Mdy).unwrap_or_else(|_| {
                let why = format!("\"{d}\" is not a date (expected MM/DD/YYYY)");
                errors.push(f.error(&rec, c_dob.unwrap_or(0), why));
                String::new()
            }),
        };
        // The row's contact, if it names one.
        let contact_name = field(&rec, c_name);
        let relationship = field(&rec, c_rel);
        let contact_email = f.email(&rec, c_cemail, &mut errors);
        let contact_sis = field(&rec, c_csis);
        let any_contact = [c_name, c_cemail, c_csis, c_phone]
            .iter()
            .any(|&col| !field(&rec, col).is_empty());
        let names_contact = any_contact && !relationship.eq_ignore_ascii_case("self");
        if names_contact && contact_name.is_empty() {
            let why = "the contact has details but no Contact_name".to_owned();
            errors.push(f.error(&rec, c_name.unwrap_or(0), why));
        }
        let record = PersonRecord {
            sis_id: id.clone(),
            kind: Some(Kind::Student),
            role: "student".into(),
            given_name: field(&rec, Some(c_first)),
            middle_name: field(&rec, c_middle),
            family_name: field(&rec, Some(c_last)),
            email,
            status: Some(Status::Active),
            schools: school,
            year_level: field(&rec, c_grade),
            birth_date,
            raw: f.raw_fields(&rec, &raw_columns),
            ..Default::default()
        };
        if errors.is_empty() {
            if let Err(e) = people.add(record, &f, &rec, c_id) {
                errors.push(e);
            }
        }
        if !errors.is_empty() {
            people.reject(&id, f.line_of(&rec));
            for e in errors {
                loader.reject(e, Some(&id))?;
            }
            continue;
        }
        if !names_contact {
            continue;
        }
        let (given, family) = split_full_name(&contact_name);
        // Clever's own rule: a contact is the same person by their SIS id,
        // else by name and email, else by name and phone.
        let phone = field(&rec, c_phone);
        let key = if !contact_sis.is_empty() {
            contact_sis
        } else if !contact_email.is_empty() {
            contact_key(&contact_email.to_lowercase(), &given, &family)
        } else if !phone.is_empty() {
            contact_key(&phone.replace(' ', ""), &given, &family)
        } else {
            contact_key(&id, &given, &family)
        };
        let phone_type = field(&rec, c_phone_type).to_ascii_lowercase();
        let mobile = if matches!(phone_type.as_str(), "" | "cell" | "mobile") {
            phone
        } else {
            String::new()
        };
        let (responsible, primary) = contact_link(&relationship, &field(&rec, c_type));
        match people.contact_index.get(&key) {
            Some(&i) => {
                // Another row of the same contact: one more phone of theirs.
                let known = &mut people.contacts[i];
                if known.mobile.is_empty() {
                    known.mobile = mobile;
                }
            }
            None => {
                people
                    .contact_index
                    .insert(key.clone(), people.contacts.len());
                people.contacts.push(PersonRecord {
                    sis_id: key.clone(),
                    kind: Some(Kind::Contact),
                    role: if relationship.is_empty() {
                        "guardian".into()
                    } else {
                        relationship.to_ascii_lowercase()
                    },
                    given_name: given,
                    family_name: family,
                    email: contact_email,
                    mobile,
                    status: Some(Status::Active),
                    ..Default::default()
                });
            }
        }
        let pair = (id.clone(), key.clone());
        if let Some(&i) = people.linked.get(&pair) {
            // Rows per phone type repeat the link: any row saying the contact
            // holds responsibility, or is primary, counts.
            let link = &mut people.links[i];
            link.responsible = Some(link.responsible == Some(true) || responsible);
            if primary == Some(true) {
                link.family.primary = Some(true);
            }
            continue;
        }
        let rank = people.links.iter().filter(|l| l.from == id).count() as u32;
        people.linked.insert(pair, people.links.len());
        people.links.push(LinkRecord {
            from: id,
            to: key,
            rank,
            responsible: Some(responsible),
            family: LinkFamily {
                primary,
                ..Default::default()
            },
            optional: false,
            at: f.link_at(&rec, c_id, c_name.unwrap_or(c_id)),
        });
    }
    loader.file_done(f.info());
    Ok(())
}

#[derive(Clone, Copy)]
enum StaffFile {
    Teachers,
    Staff,
    Admins,
}

fn read_staff(
    src: &Source,
    which: StaffFile,
    loader: &mut dyn Loader,
    people: &mut People,
) -> Result<()> {
    let mut f = CsvFile::open(src)?;
    let (id_col, email_col, title_col) = match which {
        StaffFile::Teachers => ("Teacher_id", "Teacher_email", "Title"),
        StaffFile::Staff => ("Staff_id", "Staff_email", "Title"),
        StaffFile::Admins => ("Staff_id", "Admin_email", "Admin_title"),
    };
    let cols = f
        .require(&["School_id", id_col, "Last_name", "First_name"])
        .map_err(fatal)?;
    let (c_school, c_id, c_last, c_first) = (cols[0], cols[1], cols[2], cols[3]);
    let person_cols = PersonColumns::new(&cols, "person");
    let (c_email, c_title) = (f.column(email_col), f.column(title_col));
    let (c_middle, c_role) = (f.column("Middle_name"), f.column("Role"));
    let mut mapped = vec![c_school, c_id, c_last, c_first];
    mapped.extend([c_email, c_middle].into_iter().flatten());
    let raw_columns = f.raw_columns(&mapped);
    let mut rec = csv::StringRecord::new();
    while f.next(&mut rec)? {
        loader.progress(f.bytes_read())?;
        let Some((id, school, mut errors)) = person_cols.check(&f, &rec, loader, people)? else {
            continue;
        };
        let email = f.email(&rec, c_email, &mut errors);
        let role = [field(&rec, c_role), field(&rec, c_title)]
            .into_iter()
            .find(|r| !r.is_empty())
            .unwrap_or_else(|| {
                match which {
                    StaffFile::Teachers => "teacher",
                    StaffFile::Staff => "staff",
                    StaffFile::Admins => "administrator",
                }
                .into()
            });
        let record = PersonRecord {
            sis_id: id.clone(),
            kind: Some(Kind::Staff),
            role,
            given_name: field(&rec, Some(c_first)),
            middle_name: field(&rec, c_middle),
            family_name: field(&rec, Some(c_last)),
            email,
            status: Some(Status::Active),
            schools: school,
            raw: f.raw_fields(&rec, &raw_columns),
            ..Default::default()
        };
        if errors.is_empty() {
            if let Err(e) = people.add(record, &f, &rec, c_id) {
                errors.push(e);
            }
        }
        if !errors.is_empty() {
            people.reject(&id, f.line_of(&rec));
        }
        for e in errors {
            loader.reject(e, Some(&id))?;
        }
    }
    loader.file_done(f.info());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_types_decide_responsibility() {
        assert_eq!(contact_link("Parent", "Primary"), (true, Some(true)));
        assert_eq!(
            contact_link("Grandparent", "Emergency"),
            (false, Some(false))
        );
        assert_eq!(contact_link("Grandparent", "Parent/Guardian"), (true, None));
        assert_eq!(contact_link("", ""), (true, None));
        assert_eq!(contact_link("Aunt/Uncle", ""), (false, None));
    }
}
