//! OneRoster 1.1 and 1.2 CSV (1EdTech, formerly IMS Global): manifest.csv,
//! orgs.csv, users.csv, in 1.2 roles.csv, and when present demographics.csv.
//! Contacts are linked to students through `agentSourcedIds` on either side.
//!
//! 1.1 gives each user one `role` and their `orgSourcedIds` in users.csv; 1.2
//! moves both to roles.csv, one row per role per org, primary or secondary.
//!
//! A staff member who is also a parent at the school: in 1.2 roles.csv gives
//! them both roles. They stay staff (their primary role decides), and their
//! role lists the parent one after it ("teacher,parent"), so their links to
//! their children carry parental responsibility and a parent letter reaches
//! them. In 1.1 a user has one role: a link between a student and a staff
//! member is kept, without responsibility, with a warning that says how to
//! give them a parent role (see the import's link resolution).

use std::collections::HashMap;

use super::roles::{self, Role};
use super::{Format, ReadWith};
use crate::error::{Error, Result};
use crate::import::csvfile::CsvFile;
use crate::import::fields::{fatal, field, split_ids};
use crate::import::source::{find, size_of};
use crate::import::{FastMap, LinkRecord, Loader, OrgRecord, RowError, Scope, Source};
use crate::people::{Kind, PersonRecord, Status};

pub struct OneRoster;

/// The source name people from this format are stored under.
pub const SOURCE: &str = "oneroster";

impl Format for OneRoster {
    fn name(&self) -> &'static str {
        "oneroster"
    }

    fn title(&self) -> &'static str {
        "OneRoster"
    }

    fn files_hint(&self) -> &'static str {
        "a OneRoster export has manifest.csv, orgs.csv and users.csv"
    }

    fn source(&self, _: ReadWith) -> String {
        SOURCE.to_owned()
    }

    fn detect(&self, files: &[Source]) -> bool {
        find(files, "users.csv").is_some()
            && (find(files, "manifest.csv").is_some() || find(files, "orgs.csv").is_some())
    }

    /// Only the files this format reads count towards progress.
    fn total_bytes(&self, files: &[Source]) -> u64 {
        let read = [
            "manifest.csv",
            "orgs.csv",
            "users.csv",
            "roles.csv",
            "demographics.csv",
            "classes.csv",
            "enrollments.csv",
        ];
        size_of(files, &read)
    }

    fn load(&self, files: &[Source], _: ReadWith, loader: &mut dyn Loader) -> Result<()> {
        let manifest =
            match find(files, "manifest.csv") {
                Some(p) => Manifest::read(p)?,
                None => return Err(Error::Invalid(
                    "manifest.csv is missing: a OneRoster export always has one. Export the whole \
                     OneRoster bundle again, or choose the folder that holds manifest.csv."
                        .into(),
                )),
            };
        let users_scope = manifest.scope("users")?.ok_or_else(|| {
            Error::Invalid(
                "manifest.csv says users are absent: there are no people to import".into(),
            )
        })?;
        loader.begin(SOURCE, users_scope)?;

        if manifest.scope("orgs")?.is_some() {
            let path = required(files, "orgs.csv")?;
            read_orgs(path, loader)?;
        }
        let demographics = match (
            manifest.scope("demographics")?,
            find(files, "demographics.csv"),
        ) {
            (Some(_), Some(p)) => super::demographics::read_birth_dates(p, loader, "sourcedId")?,
            _ => Default::default(),
        };
        // 1.2 keeps roles (and the orgs people belong to) in roles.csv.
        let roles = match manifest.scope("roles")? {
            Some(_) if manifest.version() == "1.2" => Some(super::roles::read_roles(
                required(files, "roles.csv")?,
                loader,
            )?),
            _ => None,
        };
        read_users(
            required(files, "users.csv")?,
            loader,
            demographics,
            roles,
            users_scope,
        )?;
        let with_scope = |name: &str| -> Result<Option<(&Source, Scope)>> {
            Ok(match manifest.optional_scope(name, files)? {
                Some(scope) => Some((required(files, &format!("{name}.csv"))?, scope)),
                None => None,
            })
        };
        let classes = with_scope("classes")?;
        super::classes::read(classes, with_scope("enrollments")?, loader)?;
        Ok(())
    }
}

fn required<'a>(files: &'a [Source], name: &str) -> Result<&'a Source> {
    find(files, name).ok_or_else(|| {
        Error::Invalid(format!(
            "{name} is missing, but manifest.csv lists it. Export the whole OneRoster bundle again."
        ))
    })
}

/// manifest.csv: `propertyName,value` pairs.
struct Manifest {
    props: HashMap<String, String>,
}

impl Manifest {
    fn read(path: &Source) -> Result<Manifest> {
        let mut f = CsvFile::open(path)?;
        let cols = f.require(&["propertyName", "value"]).map_err(fatal)?;
        let mut props = HashMap::new();
        let mut rec = csv::StringRecord::new();
        while f.next(&mut rec)? {
            let key = rec.get(cols[0]).unwrap_or("").trim().to_ascii_lowercase();
            let value = rec.get(cols[1]).unwrap_or("").trim().to_owned();
            props.insert(key, value);
        }
        let m = Manifest { props };
        match m.version() {
            "1.0" | "1.1" | "1.2" => Ok(m),
            v => Err(Error::Invalid(format!(
                "manifest.csv: oneroster.version is \"{v}\"; Keyroll reads OneRoster 1.1 and 1.2"
            ))),
        }
    }

    /// `oneroster.version` (1.1 when not given).
    fn version(&self) -> &str {
        self.props
            .get("oneroster.version")
            .map(String::as_str)
            .filter(|v| !v.is_empty())
            .unwrap_or("1.1")
    }

    /// `file.<name>`: bulk, delta or absent (None). A missing entry means bulk.
    /// The scope of a file people can do without (classes): as the manifest
    /// says, or, when it does not name the file, bulk if the file is there.
    fn optional_scope(&self, name: &str, files: &[Source]) -> Result<Option<Scope>> {
        if self.props.contains_key(&format!("file.{name}")) {
            return self.scope(name);
        }
        Ok(find(files, &format!("{name}.csv")).map(|_| Scope::Bulk))
    }

    fn scope(&self, name: &str) -> Result<Option<Scope>> {
        match self
            .props
            .get(&format!("file.{name}"))
            .map(|s| s.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("bulk") | Some("") => Ok(Some(Scope::Bulk)),
            Some("delta") => Ok(Some(Scope::Delta)),
            Some("absent") => Ok(None),
            Some(other) => Err(Error::Invalid(format!(
                "manifest.csv: file.{name} is \"{other}\"; expected bulk, delta or absent"
            ))),
        }
    }
}

fn read_orgs(path: &Source, loader: &mut dyn Loader) -> Result<()> {
    let mut f = CsvFile::open(path)?;
    let cols = f.require(&["sourcedId", "name", "type"]).map_err(fatal)?;
    let (c_id, c_name, c_type) = (cols[0], cols[1], cols[2]);
    let c_parent = f.column("parentSourcedId");
    let c_status = f.column("status");
    let mut seen: FastMap<String, u64> = Default::default();
    // Held until the whole file is read, as a parent may come after its
    // children: a school has a few orgs, not thousands.
    let mut orgs: Vec<(OrgRecord, Option<crate::import::Spot>)> = Vec::new();
    let mut rec = csv::StringRecord::new();
    while f.next(&mut rec)? {
        loader.progress(f.bytes_read())?;
        let id = rec.get(c_id).unwrap_or("").trim().to_owned();
        let line = f.line_of(&rec);
        let mut errors = Vec::new();
        if let Err(e) = f.check_width(&rec) {
            errors.push(e);
        }
        errors.extend(f.id_problem(&rec, c_id, &id, "org", &seen));
        let org_type = rec.get(c_type).unwrap_or("").trim().to_owned();
        const TYPES: &[&str] = &[
            "department",
            "school",
            "district",
            "local",
            "state",
            "national",
        ];
        if !TYPES.iter().any(|t| t.eq_ignore_ascii_case(&org_type)) {
            errors.push(f.error(
                &rec,
                c_type,
                format!(
                    "unknown org type \"{org_type}\" (expected one of {})",
                    TYPES.join(", ")
                ),
            ));
        }
        if !errors.is_empty() {
            for e in errors {
                loader.reject(e, None)?;
            }
            continue;
        }
        seen.insert(id.clone(), line);
        let parent = field(&rec, c_parent);
        let parent_at = (!parent.is_empty()).then(|| f.spot(&rec, c_parent.unwrap_or(0)));
        let org = OrgRecord {
            sis_id: id,
            name: rec.get(c_name).unwrap_or("").trim().to_owned(),
            org_type: org_type.to_ascii_lowercase(),
            parent_sis_id: parent,
            status: match field(&rec, c_status).to_ascii_lowercase().as_str() {
                "tobedeleted" => "tobedeleted".into(),
                _ => "active".into(),
            },
        };
        orgs.push((org, parent_at));
    }
    // A parent not in the export leaves the org without one: the hierarchy
    // is only shown, and nobody's account depends on it, so it is a warning,
    // not a reason to refuse the bundle.
    for (mut org, parent_at) in orgs {
        let parent = &org.parent_sis_id;
        if let Some(at) =
            parent_at.filter(|_| !seen.contains_key(parent) && !loader.has_org(parent))
        {
            let why = format!("parent org \"{parent}\" is not in orgs.csv");
            let dropped = format!("org \"{}\" is imported without a parent", org.sis_id);
            loader.warn(at.error(why).warning(&dropped), None)?;
            org.parent_sis_id.clear();
        }
        loader.org(org)?;
    }
    loader.file_done(f.info());
    Ok(())
}

fn read_users(
    path: &Source,
    loader: &mut dyn Loader,
    mut demographics: super::demographics::BirthDates,
    mut roles: Option<HashMap<String, Vec<Role>>>,
    scope: Scope,
) -> Result<()> {
    let mut f = CsvFile::open(path)?;
    // 1.1 names each user's role and orgs here; 1.2 in roles.csv.
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
    let (c_orgs, c_role) = (f.column("orgSourcedIds"), f.column("role"));
    let c = |name: &str| f.column(name);
    let (c_status, c_enabled, c_middle, c_pref) = (
        c("status"),
        c("enabledUser"),
        c("middleName"),
        c("preferredFirstName"),
    );
    let (c_email, c_sms, c_agents, c_grades) =
        (c("email"), c("sms"), c("agentSourcedIds"), c("grades"));
    if c_agents.is_none() {
        loader.no_links()?;
    }
    let mapped: Vec<usize> = [
        Some(c_id),
        c_orgs,
        c_role,
        Some(c_given),
        Some(c_family),
        c_middle,
        c_pref,
        c_email,
        c_agents,
        // Both become our status (tobedeleted: left; enabledUser false: inactive).
        c_status,
        c_enabled,
    ]
    .into_iter()
    .flatten()
    .collect();
    // Exports may carry initial passwords (a `password` column): raw_columns
    // leaves out secrets as well as the mapped columns.
    let raw_columns = f.raw_columns(&mapped);
    // Sized once, at about one user per 128 bytes (rows run longer, so it
    // errs high): growing it id by id rehashed it again and again.
    let mut seen: FastMap<String, u64> =
        FastMap::with_capacity_and_hasher((f.size / 128) as usize, Default::default());
    let mut rec = csv::StringRecord::new();
    while f.next(&mut rec)? {
        loader.progress(f.bytes_read())?;
        let id = rec.get(c_id).unwrap_or("").trim().to_owned();
        let line = f.line_of(&rec);
        let mut errors: Vec<RowError> = Vec::new();
        if let Err(e) = f.check_width(&rec) {
            loader.reject(e, Some(&id))?;
            continue;
        }
        errors.extend(f.id_problem(&rec, c_id, &id, "user", &seen));
        // 1.2: the primary role decides (a student role wins over any other),
        // and the user belongs to every org they have a role in.
        let user_roles = roles.as_mut().map(|r| {
            let mut mine = r.remove(&id).unwrap_or_default();
            if let Some(why) = roles::rejected_role(&mine) {
                errors.push(f.error(&rec, c_id, why));
            }
            mine.retain(|r| !r.rejected);
            mine.sort_by_key(|r| !r.primary);
            mine
        });
        let (role, kind, role_orgs) = match &user_roles {
            Some(mine) => {
                let pick = mine
                    .iter()
                    .find(|r| r.role == "student")
                    .or_else(|| mine.first());
                let mut orgs: Vec<String> = Vec::new();
                for r in mine {
                    if !orgs.contains(&r.org) {
                        orgs.push(r.org.clone());
                    }
                }
                if pick.is_none() && !id.is_empty() && errors.is_empty() {
                    errors.push(f.error(
                        &rec,
                        c_id,
                        format!("user \"{id}\" has no role in roles.csv"),
                    ));
                }
                let mut role = pick.map(|r| r.role.clone()).unwrap_or_default();
                let kind = roles::kind_of_role(&role);
                if kind == Some(Kind::Staff) {
                    roles::parent_roles(&mut role, mine);
                }
                (role, kind, Some(orgs))
            }
            None => {
                let role = field(&rec, c_role);
                let kind = roles::kind_of_role(&role);
                if kind.is_none() {
                    errors.push(f.error(&rec, c_role.unwrap_or(0), roles::unknown_role(&role)));
                }
                (role, kind, None)
            }
        };
        let mut status = match field(&rec, c_status).to_ascii_lowercase().as_str() {
            "" | "active" => Status::Active,
            "tobedeleted" => Status::Left,
            "inactive" => Status::Inactive,
            other => {
                errors.push(f.error(
                    &rec,
                    c_status.unwrap_or(0),
                    format!("unknown status \"{other}\" (expected active or tobedeleted)"),
                ));
                Status::Active
            }
        };
        match field(&rec, c_enabled).to_ascii_lowercase().as_str() {
            "" | "true" | "1" | "yes" => {}
            "false" | "0" | "no" => {
                if status == Status::Active {
                    status = Status::Inactive;
                }
            }
            other => errors.push(f.error(
                &rec,
                c_enabled.unwrap_or(0),
                format!("enabledUser is \"{other}\"; expected true or false"),
            )),
        }
        let email = f.email(&rec, c_email, &mut errors);
        let schools = match role_orgs {
            // roles.csv checked its orgs already.
            Some(orgs) => orgs.join(","),
            None => {
                let mut schools = String::new();
                for org in split_ids(c_orgs.and_then(|c| rec.get(c)).unwrap_or("")) {
                    if !loader.has_org(org) {
                        let why = format!("org \"{org}\" is not in orgs.csv");
                        errors.push(f.error(&rec, c_orgs.unwrap_or(0), why));
                    }
                    if !schools.is_empty() {
                        schools.push(',');
                    }
                    schools.push_str(org);
                }
                schools
            }
        };
        if !errors.is_empty() {
            for e in errors {
                loader.reject(e, Some(&id))?;
            }
            continue;
        }
        seen.insert(id.clone(), line);
        if let Some(c_agents) = c_agents {
            let at = f.link_at(&rec, c_id, c_agents);
            for (rank, agent) in split_ids(rec.get(c_agents).unwrap_or("")).enumerate() {
                loader.link(LinkRecord {
                    from: id.clone(),
                    to: agent.to_owned(),
                    rank: rank as u32,
                    responsible: None,
                    family: Default::default(),
                    optional: false,
                    at: at.clone(),
                })?;
            }
        }
        // Every other non-empty column is kept for merge fields.
        let raw = f.raw_fields(&rec, &raw_columns);
        // Only the SMS number: a landline in `phone` cannot take a text.
        let mobile = field(&rec, c_sms);
        loader.person(PersonRecord {
            birth_date: demographics.remove(&id).unwrap_or_default(),
            sis_id: id,
            kind,
            role: role.to_ascii_lowercase(),
            given_name: rec.get(c_given).unwrap_or("").trim().to_owned(),
            middle_name: field(&rec, c_middle),
            family_name: rec.get(c_family).unwrap_or("").trim().to_owned(),
            preferred_name: field(&rec, c_pref),
            email,
            mobile,
            status: Some(status),
            schools,
            year_level: split_ids(c_grades.and_then(|c| rec.get(c)).unwrap_or(""))
                .next()
                .unwrap_or_default()
                .to_owned(),
            home_group: String::new(),
            raw,
        })?;
    }
    // Roles of users a full users.csv does not list.
    if let (Scope::Bulk, Some(rest)) = (scope, roles) {
        let mut orphans: Vec<Role> = rest
            .into_values()
            .flatten()
            .filter(|r| !r.rejected)
            .collect();
        orphans.sort_by_key(|r| r.at.line);
        for r in orphans {
            loader.reject(r.at.error("this user is not in users.csv".into()), None)?;
        }
    }
    loader.file_done(f.info());
    Ok(())
}
