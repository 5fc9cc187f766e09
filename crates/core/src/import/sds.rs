//! Microsoft School Data Sync (SDS) v2.1 CSV: orgs.csv, users.csv, roles.csv,
//! relationships.csv and, when present, demographics.csv.
//!
//! users.csv holds no role: a user's kind comes from roles.csv (students and
//! staff) or from relationships.csv (the adults named there are contacts).
//! Parental responsibility belongs to each relationship, not to the adult:
//! one adult can be a guardian of one child and a relative of another.

use std::collections::{HashMap, HashSet};

use super::csvfile::CsvFile;
use super::oneroster::{fatal, field};
use super::{find_file, Importer, LinkRecord, Loader, OrgRecord, Scope, Source, Spot};
use crate::error::{Error, Result};
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
];

impl Importer for Sds {
    const NAME: &'static str = "sds";

    /// roles.csv without manifest.csv (OneRoster 1.2 has roles.csv too, and
    /// always a manifest).
    fn detect(files: &[Source]) -> bool {
        find_file(files, "users.csv").is_some()
            && find_file(files, "roles.csv").is_some()
            && find_file(files, "manifest.csv").is_none()
    }

    fn total_bytes(files: &[Source]) -> u64 {
        FILES
            .iter()
            .filter_map(|n| find_file(files, n))
            .map(Source::size)
            .sum()
    }

    fn load(files: &[Source], loader: &mut dyn Loader) -> Result<()> {
        let need = |name: &str| {
            find_file(files, name).ok_or_else(|| {
                Error::Import(format!(
                    "{name} is missing: a School Data Sync v2.1 export has orgs.csv, users.csv \
                     and roles.csv. Export the whole set again."
                ))
            })
        };
        // An SDS v2.1 export is a full snapshot of the school.
        loader.begin(SOURCE, Scope::Bulk)?;
        read_orgs(need("orgs.csv")?, loader)?;
        let roles = read_roles(need("roles.csv")?, loader)?;
        let relationships = match find_file(files, "relationships.csv") {
            Some(p) => read_relationships(p, loader)?,
            None => {
                loader.no_links()?;
                Relationships::default()
            }
        };
        let births = match find_file(files, "demographics.csv") {
            Some(p) => super::read_birth_dates(p, loader, "userSourcedId")?,
            None => Default::default(),
        };
        read_users(need("users.csv")?, loader, roles, relationships, births)
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

/// One row of roles.csv (SDS v2.1's, or OneRoster 1.2's).
pub(super) struct Role {
    pub org: String,
    pub role: String,
    pub primary: bool,
    pub grade: String,
    pub at: Spot,
}

/// The kind a roles.csv role makes, or None for a role Keyroll does not know.
pub(super) fn kind_of_role(role: &str) -> Option<Kind> {
    match role.to_ascii_lowercase().as_str() {
        "student" => Some(Kind::Student),
        "teacher"
        | "professor"
        | "lecturer"
        | "faculty"
        | "instructor"
        | "administrator"
        | "aide"
        | "principal"
        | "counselor"
        | "staff"
        | "proctor"
        | "librarian"
        // The rest of SDS v2.1's Staff group.
        | "nurse"
        | "officestaff"
        | "chair"
        | "adjunct"
        | "advisor"
        | "itadmin"
        | "teacherassistant"
        | "assistant"
        | "substitute"
        | "coach"
        | "paraprofessional"
        | "therapist"
        | "occupationaltherapist"
        | "physicaltherapist"
        | "speechtherapist"
        | "psychologist"
        | "socialworker"
        | "specialist"
        | "dean"
        | "superintendent"
        | "sysadmin"
        | "districtadministrator"
        | "siteadministrator"
        | "systemadministrator" => Some(Kind::Staff),
        "guardian" | "parent" | "relative" => Some(Kind::Contact),
        _ => None,
    }
}

/// roles.csv by user. SDS says `isPrimary` (TRUE/FALSE); OneRoster 1.2 says
/// `roleType` (primary/secondary).
pub(super) fn read_roles(
    path: &Source,
    loader: &mut dyn Loader,
) -> Result<HashMap<String, Vec<Role>>> {
    let mut f = CsvFile::open(path)?;
    let cols = f
        .require(&["userSourcedId", "orgSourcedId", "role"])
        .map_err(fatal)?;
    let (c_primary, c_grade) = (f.column("isPrimary"), f.column("grade"));
    let c_role_type = f.column("roleType");
    let mut roles: HashMap<String, Vec<Role>> = HashMap::new();
    let mut rec = csv::StringRecord::new();
    while f.next(&mut rec)? {
        loader.progress(f.bytes_read())?;
        let user = field(&rec, Some(cols[0]));
        let (org, role) = (field(&rec, Some(cols[1])), field(&rec, Some(cols[2])));
        let mut errors = Vec::new();
        if let Err(e) = f.check_width(&rec) {
            errors.push(e);
        }
        if user.is_empty() {
            errors.push(f.error(&rec, cols[0], "the role names no user".into()));
        }
        if !loader.has_org(&org) {
            errors.push(f.error(&rec, cols[1], format!("org \"{org}\" is not in orgs.csv")));
        }
        if kind_of_role(&role).is_none() {
            errors.push(f.error(
                &rec,
                cols[2],
                format!("unknown role \"{role}\" (expected student, teacher, administrator, aide, guardian…)"),
            ));
        }
        let role_type = field(&rec, c_role_type).to_ascii_lowercase();
        let primary = match field(&rec, c_primary).to_ascii_lowercase().as_str() {
            "" if role_type == "secondary" => false,
            "" if !matches!(role_type.as_str(), "" | "primary") => {
                let why = format!("roleType is \"{role_type}\"; expected primary or secondary");
                errors.push(f.error(&rec, c_role_type.unwrap_or(0), why));
                false
            }
            "" | "true" | "1" | "yes" => true,
            "false" | "0" | "no" => false,
            other => {
                let why = format!("isPrimary is \"{other}\"; expected TRUE or FALSE");
                errors.push(f.error(&rec, c_primary.unwrap_or(0), why));
                false
            }
        };
        if !errors.is_empty() {
            for e in errors {
                loader.reject(e, Some(&user))?;
            }
            continue;
        }
        roles.entry(user).or_default().push(Role {
            org,
            role: role.to_ascii_lowercase(),
            primary,
            grade: field(&rec, c_grade),
            at: f.spot(&rec, cols[0]),
        });
    }
    loader.file_done(f.info());
    Ok(roles)
}

#[derive(Default)]
struct Relationships {
    /// (student, adult, relationshipRole, where the row is)
    links: Vec<(String, String, String, super::LinkAt)>,
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
    mut roles: HashMap<String, Vec<Role>>,
    relationships: Relationships,
    mut births: super::BirthDates,
) -> Result<()> {
    let mut f = CsvFile::open(path)?;
    let cols = f
        .require(&["sourcedId", "givenName", "familyName"])
        .map_err(fatal)?;
    let (c_id, c_given, c_family) = (cols[0], cols[1], cols[2]);
    let (c_email, c_sms) = (f.column("email"), f.column("sms"));
    // Held as named fields, or secrets never kept: not repeated in `raw`.
    let mapped: Vec<usize> = [Some(c_id), Some(c_given), Some(c_family), c_email]
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
        // Kind: a student role wins, then a staff role, then being named as
        // an adult in relationships.csv.
        let mut user_roles = roles.remove(&id).unwrap_or_default();
        user_roles.sort_by_key(|r| !r.primary);
        let kinds: HashSet<Kind> = user_roles
            .iter()
            .filter_map(|r| kind_of_role(&r.role))
            .collect();
        let adult = relationships.adults.get(&id).copied();
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
                &rec,
                c_id,
                format!(
                    "user \"{id}\" has no role in roles.csv and is not named in relationships.csv"
                ),
            ));
        }
        if !errors.is_empty() {
            for e in errors {
                loader.reject(e, Some(&id))?;
            }
            continue;
        }
        seen.insert(id.clone(), f.line_of(&rec));
        let role = match (kind, user_roles.first()) {
            (Some(Kind::Contact), _) if adult == Some(true) => "guardian".to_owned(),
            (Some(Kind::Contact), None) => "relative".to_owned(),
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
            schools: schools.join(","),
            year_level,
            raw,
            ..Default::default()
        })?;
    }
    // Roles of users that users.csv does not list.
    let mut orphans: Vec<Role> = roles.into_values().flatten().collect();
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
