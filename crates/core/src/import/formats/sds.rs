//! Microsoft School Data Sync (SDS) v2.1 CSV: orgs.csv, users.csv, roles.csv,
//! relationships.csv and, when present, demographics.csv; and the SDS v2 CSV
//! before it: orgs.csv and users.csv, no roles.csv.
//!
//! v2.1's users.csv holds no role: a user's kind comes from roles.csv
//! (students and staff) or from relationships.csv (the adults named there are
//! contacts). v2's users.csv has each user's `role`, `orgSourcedIds` and
//! `grade` itself, as OneRoster 1.1 does, but SDS writes no manifest.csv.
//! classes.csv and enrollments.csv (both versions) are classes
//! ([`super::classes`]).
//! Parental responsibility belongs to each relationship, not to the adult:
//! one adult can be a guardian of one child and a relative of another.

use std::collections::{HashMap, HashSet};

use super::roles::{kind_of_role, read_roles, unknown_role, Role};
use super::{Format, ReadWith};
use crate::error::Result;
use crate::import::csvfile::header_names;
use crate::import::csvfile::CsvFile;
use crate::import::fields::{fatal, field, split_ids};
use crate::import::source::{find, require, size_of};
use crate::import::{LinkAt, LinkRecord, Loader, OrgRecord, Scope, Source};
use crate::people::{self, Kind, PersonRecord, Status};

pub struct Sds;

/// The source name people from this format are stored under.
pub const SOURCE: &str = "sds";

const FILES: &[&str] = &[
    "orgs.csv",
    "users.csv",
    "roles.csv",
    "relationships.csv",
    "demographics.csv",
    "classes.csv",
    "enrollments.csv",
];

impl Format for Sds {
    fn name(&self) -> &'static str {
        "sds"
    }

    fn title(&self) -> &'static str {
        "School Data Sync v2 and v2.1"
    }

    fn files_hint(&self) -> &'static str {
        "a School Data Sync v2.1 export has orgs.csv, users.csv and roles.csv (v2: orgs.csv and \
         users.csv with a role column), and no manifest.csv"
    }

    fn source(&self, _: ReadWith) -> String {
        SOURCE.to_owned()
    }

    /// v2.1: roles.csv without manifest.csv (OneRoster 1.2 has roles.csv
    /// too, and always a manifest). v2: orgs.csv and users.csv with a `role`
    /// column, without either. A OneRoster export that lost its manifest
    /// looks the same by its file names, but every OneRoster file has
    /// `dateLastModified`, which SDS never writes: that one is told its
    /// manifest is missing. Only the header lines are read.
    fn detect(&self, files: &[Source]) -> bool {
        let Some(users) = find(files, "users.csv") else {
            return false;
        };
        if find(files, "manifest.csv").is_some() {
            return false;
        }
        if find(files, "roles.csv").is_some() {
            return true;
        }
        let Some(orgs) = find(files, "orgs.csv") else {
            return false;
        };
        header_names(users, "role")
            && !header_names(users, "dateLastModified")
            && !header_names(orgs, "dateLastModified")
    }

    fn total_bytes(&self, files: &[Source]) -> u64 {
        size_of(files, FILES)
    }

    fn load(&self, files: &[Source], _: ReadWith, loader: &mut dyn Loader) -> Result<()> {
        let need = |name: &str| {
            require(
                files,
                name,
                "a School Data Sync export has orgs.csv and users.csv (and in v2.1 roles.csv)",
            )
        };
        // An SDS export is a full snapshot of the school.
        loader.begin(SOURCE, Scope::Bulk)?;
        read_orgs(need("orgs.csv")?, loader)?;
        // v2.1 has roles.csv; v2 keeps each user's role in users.csv.
        let roles = match find(files, "roles.csv") {
            Some(p) => Some(read_roles(p, loader)?),
            None => None,
        };
        let relationships = match find(files, "relationships.csv") {
            Some(p) => read_relationships(p, loader)?,
            None => {
                loader.no_links()?;
                Relationships::default()
            }
        };
        let births = match find(files, "demographics.csv") {
            Some(p) => super::demographics::read_birth_dates(p, loader, "userSourcedId")?,
            None => Default::default(),
        };
        read_users(need("users.csv")?, loader, roles, relationships, births)?;
        // A file with no bytes at all is one the SIS left empty.
        let present = |name: &str| find(files, name).filter(|s| s.size() > 0);
        if let Some(classes) = present("classes.csv") {
            let enrollments = present("enrollments.csv").map(|e| (e, Scope::Bulk));
            super::classes::read(Some((classes, Scope::Bulk)), enrollments, loader)?;
        }
        Ok(())
    }
}

fn read_orgs(path: &Source, loader: &mut dyn Loader) -> Result<()> {
    let mut f = CsvFile::open(path)?;
    let cols = f.require(&["sourcedId", "name", "type"]).map_err(fatal)?;
    let c_parent = f.column("parentSourcedId");
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut rec = csv::StringRecord::new();
    while f.next(&mut rec)? {
        loader.progress(f.bytes_read())?;
        let id = field(&rec, Some(cols[0]));
        if let Err(e) = f.check_width(&rec) {
            loader.reject(e, None)?;
            continue;
        }
        if let Some(e) = f.id_problem(&rec, cols[0], &id, "org", &seen) {
            loader.reject(e, None)?;
            continue;
        }
        seen.insert(id.clone(), f.line_of(&rec));
        // SDS knows more org types than OneRoster (college, ministryOfEducation…):
        // kept as written.
        loader.org(OrgRecord {
            sis_id: id,
            name: field(&rec, Some(cols[1])),
            org_type: field(&rec, Some(cols[2])),
            parent_sis_id: field(&rec, c_parent),
            status: "active".into(),
        })?;
    }
    loader.file_done(f.info());
    Ok(())
}

#[derive(Default)]
struct Relationships {
    /// (student, adult, relationshipRole, where the row is)
    links: Vec<(String, String, String, LinkAt)>,
    /// Adults named, and whether any of their relationships carries parental
    /// responsibility.
    adults: HashMap<String, bool>,
}

fn read_relationships(path: &Source, loader: &mut dyn Loader) -> Result<Relationships> {
    let mut f = CsvFile::open(path)?;
    let cols = f
        .require(&[
            "userSourcedId",
            "relationshipUserSourcedId",
            "relationshipRole",
        ])
        .map_err(fatal)?;
    let mut out = Relationships::default();
    let mut rec = csv::StringRecord::new();
    while f.next(&mut rec)? {
        loader.progress(f.bytes_read())?;
        let (student, adult, role) = (
            field(&rec, Some(cols[0])),
            field(&rec, Some(cols[1])),
            field(&rec, Some(cols[2])),
        );
        if let Err(e) = f.check_width(&rec) {
            loader.reject(e, None)?;
            continue;
        }
        let missing = [(0, &student), (1, &adult), (2, &role)]
            .into_iter()
            .find(|(_, v)| v.is_empty());
        if let Some((i, _)) = missing {
            let col = cols[i];
            let why = format!("{} is empty", f.headers[col]);
            loader.reject(f.error(&rec, col, why), None)?;
            continue;
        }
        let responsible = people::has_parental_responsibility(&role);
        *out.adults.entry(adult.clone()).or_default() |= responsible;
        let at = f.link_at(&rec, cols[0], cols[1]);
        out.links.push((student, adult, role, at));
    }
    loader.file_done(f.info());
    Ok(out)
}

fn read_users(
    path: &Source,
    loader: &mut dyn Loader,
    mut roles: Option<HashMap<String, Vec<Role>>>,
    relationships: Relationships,
    mut births: super::demographics::BirthDates,
) -> Result<()> {
    let mut f = CsvFile::open(path)?;
    // v2 (no roles.csv) names each user's role and orgs here.
    let required: &[&str] = if roles.is_some() {
        &["sourcedId", "givenName", "familyName"]
    } else {
        &[
            "sourcedId",
            "givenName",
            "familyName",
            "orgSourcedIds",
            "role",
        ]
    };
    let cols = f.require(required).map_err(fatal)?;
    let (c_id, c_given, c_family) = (cols[0], cols[1], cols[2]);
    let (c_email, c_sms) = (f.column("email"), f.column("sms"));
    let (c_orgs, c_role) = (cols.get(3).copied(), cols.get(4).copied());
    let c_grade = f.column("grade").filter(|_| roles.is_none());
    // Held as named fields, or secrets never kept: not repeated in `raw`.
    let mapped: Vec<usize> = [
        Some(c_id),
        Some(c_given),
        Some(c_family),
        c_email,
        c_orgs,
        c_role,
    ]
    .into_iter()
    .flatten()
    .collect();
    let raw_columns = f.raw_columns(&mapped);
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut rec = csv::StringRecord::new();
    while f.next(&mut rec)? {
        loader.progress(f.bytes_read())?;
        let id = field(&rec, Some(c_id));
        if let Err(e) = f.check_width(&rec) {
            loader.reject(e, Some(&id))?;
            continue;
        }
        let mut errors: Vec<_> = f
            .id_problem(&rec, c_id, &id, "user", &seen)
            .into_iter()
            .collect();
        let email = f.email(&rec, c_email, &mut errors);
        let adult = relationships.adults.get(&id).copied();
        let read = match roles.as_mut() {
            Some(roles) => kind_from_roles(&f, &rec, c_id, &id, roles, adult, &mut errors),
            None => kind_from_users(
                &f,
                &rec,
                [c_role, c_orgs, c_grade],
                adult,
                loader,
                &mut errors,
            ),
        };
        if !errors.is_empty() {
            for e in errors {
                loader.reject(e, Some(&id))?;
            }
            continue;
        }
        seen.insert(id.clone(), f.line_of(&rec));
        let Read {
            kind,
            role,
            schools,
            year_level,
        } = read;
        let raw = f.raw_fields(&rec, &raw_columns);
        // Only the SMS number: a landline in `phone` cannot take a text.
        let mobile = field(&rec, c_sms);
        loader.person(PersonRecord {
            birth_date: births.remove(&id).unwrap_or_default(),
            sis_id: id,
            kind,
            role,
            given_name: field(&rec, Some(c_given)),
            family_name: field(&rec, Some(c_family)),
            email,
            mobile,
            status: Some(Status::Active),
            schools,
            year_level,
            raw,
            ..Default::default()
        })?;
    }
    // Roles of users that users.csv does not list.
    let mut orphans: Vec<Role> = roles
        .unwrap_or_default()
        .into_values()
        .flatten()
        .filter(|r| !r.rejected)
        .collect();
    orphans.sort_by_key(|r| r.at.line);
    for r in orphans {
        loader.reject(r.at.error("this user is not in users.csv".into()), None)?;
    }
    // Links: the adult is named by the student's relationship row.
    let mut rank: HashMap<&str, u32> = HashMap::new();
    for (student, adult, role, at) in &relationships.links {
        let r = rank.entry(student).or_default();
        loader.link(LinkRecord {
            from: student.clone(),
            to: adult.clone(),
            rank: *r,
            responsible: Some(people::has_parental_responsibility(role)),
            family: Default::default(),
            optional: false,
            at: at.clone(),
        })?;
        *r += 1;
    }
    loader.file_done(f.info());
    Ok(())
}

/// What a user's roles make of them.
struct Read {
    kind: Option<Kind>,
    role: String,
    /// Org ids, comma separated.
    schools: String,
    year_level: String,
}

/// v2.1: the user's rows of roles.csv decide. A student role wins, then a
/// staff role, then being named as an adult in relationships.csv.
fn kind_from_roles(
    f: &CsvFile,
    rec: &csv::StringRecord,
    c_id: usize,
    id: &str,
    roles: &mut HashMap<String, Vec<Role>>,
    adult: Option<bool>,
    errors: &mut Vec<crate::import::RowError>,
) -> Read {
    let mut user_roles = roles.remove(id).unwrap_or_default();
    if let Some(why) = super::roles::rejected_role(&user_roles) {
        errors.push(f.error(rec, c_id, why));
    }
    user_roles.retain(|r| !r.rejected);
    user_roles.sort_by_key(|r| !r.primary);
    let kinds: HashSet<Kind> = user_roles
        .iter()
        .filter_map(|r| kind_of_role(&r.role))
        .collect();
    let kind = if kinds.contains(&Kind::Student) {
        Some(Kind::Student)
    } else if kinds.contains(&Kind::Staff) {
        Some(Kind::Staff)
    } else if kinds.contains(&Kind::Contact) || adult.is_some() {
        Some(Kind::Contact)
    } else {
        None
    };
    if kind.is_none() && !id.is_empty() {
        errors.push(f.error(
            rec,
            c_id,
            format!("user \"{id}\" has no role in roles.csv and is not named in relationships.csv"),
        ));
    }
    let role = match (kind, user_roles.first()) {
        (Some(Kind::Contact), _) if adult == Some(true) => "guardian".to_owned(),
        (Some(Kind::Contact), None) => "relative".to_owned(),
        (Some(Kind::Staff), Some(r)) => {
            // A staff member who is a parent too stays staff, with both roles.
            let mut role = r.role.clone();
            super::roles::parent_roles(&mut role, &user_roles);
            role
        }
        (_, Some(r)) => r.role.clone(),
        (_, None) => String::new(),
    };
    let mut schools: Vec<&str> = Vec::new();
    for r in &user_roles {
        if !schools.contains(&r.org.as_str()) {
            schools.push(&r.org);
        }
    }
    let year_level = user_roles
        .iter()
        .find(|r| r.role == "student")
        .map(|r| r.grade.clone())
        .unwrap_or_default();
    Read {
        kind,
        role,
        schools: schools.join(","),
        year_level,
    }
}

/// v2: the row's own `role` (in any case), `orgSourcedIds` and, for a
/// student, `grade`. An adult named in relationships.csv may have no role.
fn kind_from_users(
    f: &CsvFile,
    rec: &csv::StringRecord,
    [c_role, c_orgs, c_grade]: [Option<usize>; 3],
    adult: Option<bool>,
    loader: &dyn Loader,
    errors: &mut Vec<crate::import::RowError>,
) -> Read {
    let word = field(rec, c_role);
    let kind = match kind_of_role(&word) {
        None if word.is_empty() && adult.is_some() => Some(Kind::Contact),
        None => {
            errors.push(f.error(rec, c_role.unwrap_or(0), unknown_role(&word)));
            None
        }
        kind => kind,
    };
    let role = match adult {
        _ if !word.is_empty() => word.to_ascii_lowercase(),
        Some(true) => "guardian".to_owned(),
        _ => "relative".to_owned(),
    };
    let mut schools: Vec<&str> = Vec::new();
    for org in split_ids(c_orgs.and_then(|c| rec.get(c)).unwrap_or("")) {
        if !loader.has_org(org) {
            let why = format!("org \"{org}\" is not in orgs.csv");
            errors.push(f.error(rec, c_orgs.unwrap_or(0), why));
        }
        if !schools.contains(&org) {
            schools.push(org);
        }
    }
    // Staff rows carry a grade too (what they teach): a year level is a student's.
    let year_level = match kind {
        Some(Kind::Student) => split_ids(c_grade.and_then(|c| rec.get(c)).unwrap_or(""))
            .next()
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    };
    Read {
        kind,
        role,
        schools: schools.join(","),
        year_level,
    }
}
