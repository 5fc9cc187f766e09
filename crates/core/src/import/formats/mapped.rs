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

use super::{Format, ReadWith};
use crate::error::{Error, Result};
use crate::import::contact_key::contact_key;
use crate::import::csvfile::{self, CsvFile};
use crate::import::fields::{fatal, field, parse_date, split_full_name, squash};
use crate::import::mapping::{Mapping, CONTACT_FIELDS, PERSON_FIELDS};
use crate::import::{LinkFamily, LinkRecord, Loader, OrgRecord, RowError, Source};
use crate::people::{self, Kind, PersonRecord, Status};

/// The name used by `--format`.
pub const NAME: &str = "csv";

/// A plain list, read with a column mapping.
pub struct Mapped;

impl Format for Mapped {
    fn name(&self) -> &'static str {
        NAME
    }

    fn title(&self) -> &'static str {
        "CSV or spreadsheet with a column mapping"
    }

    fn files_hint(&self) -> &'static str {
        "any other list needs a column mapping (--format csv)"
    }

    /// Anything else that is one table per file.
    fn detect(&self, files: &[Source]) -> bool {
        let tabular = |f: &Source| {
            let name = f.file_name().to_ascii_lowercase();
            csvfile::is_workbook(&name) || [".csv", ".tsv"].iter().any(|e| name.ends_with(e))
        };
        !files.is_empty() && files.iter().all(tabular) && files.len() <= 4
    }

    fn needs_mapping(&self) -> bool {
        true
    }

    fn source(&self, with: ReadWith) -> String {
        with.mapping
            .map(Mapping::source_name)
            .unwrap_or_else(|| crate::import::mapping::SOURCE.to_owned())
    }

    fn load(&self, files: &[Source], with: ReadWith, loader: &mut dyn Loader) -> Result<()> {
        let mapping = with.mapping.ok_or_else(|| {
            Error::Invalid("a plain list needs a column mapping to be read".into())
        })?;
        load(files, mapping, loader)
    }
}

/// The kind a word in a list names ("pupil", "teacher", "guardian").
pub(crate) fn kind_word(s: &str) -> Option<Kind> {
    match squash(s).as_str() {
        "student" | "students" | "pupil" | "pupils" | "learner" | "child" => Some(Kind::Student),
        "staff" | "teacher" | "teachers" | "employee" | "faculty" | "teachingstaff"
        | "supportstaff" | "administrator" => Some(Kind::Staff),
        "parent" | "parents" | "guardian" | "contact" | "carer" | "family" => Some(Kind::Contact),
        _ => None,
    }
}

/// The kind a role names, in a list's words or OneRoster's and SDS's.
pub(crate) fn role_kind(role: &str) -> Option<Kind> {
    kind_word(role).or_else(|| super::roles::kind_of_role(role.trim()))
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
        outcome: Default::default(),
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
        let mut f = crate::import::mapping::open(src, mapping.sheet.as_deref())?;
        let cols = match resolve(mapping, &f) {
            Ok(c) => c,
            // The file cannot be read at all with this mapping: every
            // problem is reported at once, and nothing is imported.
            Err(errors) => return Err(fatal(errors)),
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
            // Everyone is filed as one kind, but this row's role says
            // otherwise: never a teacher silently made a student.
            if let (None, Some(fixed), Some(c)) = (cols.get("kind"), kind, cols.get("role")) {
                let role = field(&rec, Some(c));
                match role_kind(&role) {
                    Some(named) if named != fixed => errors.push(f.error(
                        &rec,
                        c,
                        format!(
                            "the role \"{role}\" names a {}, but the mapping files everyone as \
                             a {}: map this column as the kind (who each row is), or give the \
                             {}s a file and mapping of their own",
                            named.account_word(),
                            fixed.account_word(),
                            named.account_word()
                        ),
                    )),
                    _ => {}
                }
            }
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
                        contact_key(
                            &contact.email.to_lowercase(),
                            &contact.given_name,
                            &contact.family_name,
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
