//! classes.csv and enrollments.csv, as OneRoster (1.1 and 1.2) and School
//! Data Sync (v2 and v2.1) write them: each class with its school and title,
//! then who is in it and in what role.
//!
//! OneRoster names the school `schoolSourcedId`, SDS `orgSourcedId`. Only
//! students and staff are kept in classes; an enrollment of a guardian or
//! parent (OneRoster 1.2 allows them) says nothing a class list needs.

use std::collections::HashMap;

use super::super::csvfile::CsvFile;
use super::super::fields::{fatal, field};
use super::super::{ClassLists, ClassRecord, EnrollmentRecord, Loader, Scope, Source};
use super::roles::kind_of_role;
use crate::error::Result;
use crate::people::{ClassRole, Kind};

/// Reads `classes` and `enrollments`, each with its own scope (a nightly
/// OneRoster change file often has enrollments and no classes).
pub fn read(
    classes: Option<(&Source, Scope)>,
    enrollments: Option<(&Source, Scope)>,
    loader: &mut dyn Loader,
) -> Result<()> {
    if classes.is_none() && enrollments.is_none() {
        return Ok(());
    }
    loader.lists_classes(ClassLists::with_enrollments(
        classes.map(|c| c.1),
        enrollments.map(|e| e.1),
    ))?;
    if let Some((c, _)) = classes {
        read_classes(c, loader)?;
    }
    if let Some((e, _)) = enrollments {
        read_enrollments(e, loader)?;
    }
    Ok(())
}

/// Whether a row's `status` says it is gone (a OneRoster change file's
/// `tobedeleted`).
fn is_deleted(status: &str) -> bool {
    status.eq_ignore_ascii_case("tobedeleted") || status.eq_ignore_ascii_case("inactive")
}

/// Where a class row's id and school are, and what their file calls them.
pub(super) struct ClassColumns {
    pub id: usize,
    pub school: Option<usize>,
    /// Whether a row must name its school (Clever, SDS classic).
    pub school_required: bool,
    /// The file that lists the schools ("orgs.csv"), for the message.
    pub schools_file: &'static str,
}

/// Checks a class row (its width, its id, its school): a bad one is
/// reported and its class kept as stored (but a second row of a class
/// already read is only reported: the first row stands). Returns the row's
/// id and school when it stands, and notes the id in `seen`.
pub(super) fn class_row(
    f: &CsvFile,
    rec: &csv::StringRecord,
    c: &ClassColumns,
    seen: &mut HashMap<String, u64>,
    loader: &mut dyn Loader,
) -> Result<Option<(String, String)>> {
    let id = field(rec, Some(c.id));
    let school = field(rec, c.school);
    let problem = match f.check_width(rec) {
        Err(e) => Some(e),
        Ok(()) => f.id_problem(rec, c.id, &id, "class", seen),
    };
    let school_known = (school.is_empty() && !c.school_required) || loader.has_org(&school);
    let problem = problem.or_else(|| {
        let why = format!("school \"{school}\" is not in {}", c.schools_file);
        (!school_known).then(|| f.error(rec, c.school.unwrap_or(0), why))
    });
    if let Some(e) = problem {
        loader.reject(e, None)?;
        if !id.is_empty() && !seen.contains_key(&id) {
            loader.keep_class(&id)?;
        }
        return Ok(None);
    }
    seen.insert(id.clone(), f.line_of(rec));
    Ok(Some((id, school)))
}

fn read_classes(path: &Source, loader: &mut dyn Loader) -> Result<()> {
    let mut f = CsvFile::open(path)?;
    let cols = f.require(&["sourcedId", "title"]).map_err(fatal)?;
    let c_school = f.column("schoolSourcedId").or(f.column("orgSourcedId"));
    let c_code = f.column("classCode").or(f.column("code"));
    let (c_type, c_status) = (f.column("classType"), f.column("status"));
    let columns = ClassColumns {
        id: cols[0],
        school: c_school,
        school_required: false,
        schools_file: "orgs.csv",
    };
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut rec = csv::StringRecord::new();
    while f.next(&mut rec)? {
        loader.progress(f.bytes_read())?;
        let Some((id, school)) = class_row(&f, &rec, &columns, &mut seen, loader)? else {
            continue;
        };
        loader.class(ClassRecord {
            sis_id: id,
            title: field(&rec, Some(cols[1])),
            school,
            code: field(&rec, c_code),
            class_type: field(&rec, c_type).to_ascii_lowercase(),
            removed: is_deleted(&field(&rec, c_status)),
        })?;
    }
    loader.file_done(f.info());
    Ok(())
}

fn read_enrollments(path: &Source, loader: &mut dyn Loader) -> Result<()> {
    let mut f = CsvFile::open(path)?;
    let cols = f
        .require(&["classSourcedId", "userSourcedId", "role"])
        .map_err(fatal)?;
    let (c_primary, c_status) = (f.column("primary"), f.column("status"));
    let mut rec = csv::StringRecord::new();
    while f.next(&mut rec)? {
        loader.progress(f.bytes_read())?;
        if let Err(e) = f.check_width(&rec) {
            loader.reject(e, None)?;
            continue;
        }
        let [class, user, role] = [0, 1, 2].map(|i| field(&rec, Some(cols[i])));
        let empty = [(0, &class), (1, &user), (2, &role)]
            .into_iter()
            .find(|(_, v)| v.is_empty());
        if let Some((i, _)) = empty {
            let why = format!("{} is empty", f.headers[cols[i]]);
            loader.reject(f.error(&rec, cols[i], why), None)?;
            continue;
        }
        let role = match kind_of_role(&role) {
            Some(Kind::Student) => ClassRole::Student,
            Some(Kind::Staff) => ClassRole::Teacher,
            Some(Kind::Contact) => continue,
            None => {
                let why = format!(
                    "unknown role \"{role}\" (expected student, teacher, administrator, aide…)"
                );
                loader.reject(f.error(&rec, cols[2], why), None)?;
                continue;
            }
        };
        let lead = match field(&rec, c_primary).to_ascii_lowercase().as_str() {
            "" | "false" | "0" | "no" => false,
            "true" | "1" | "yes" => true,
            other => {
                let why = format!("primary is \"{other}\"; expected true or false");
                loader.reject(f.error(&rec, c_primary.unwrap_or(0), why), None)?;
                continue;
            }
        };
        loader.enrollment(EnrollmentRecord {
            at: f.link_at(&rec, cols[0], cols[1]),
            class,
            person: user,
            role,
            lead: lead && role == ClassRole::Teacher,
            removed: is_deleted(&field(&rec, c_status)),
            in_class_row: false,
        })?;
    }
    loader.file_done(f.info());
    Ok(())
}

/// A roster file's rows (Clever's enrollments.csv, SDS classic's
/// StudentEnrollment.csv and TeacherRoster.csv): each names a class in
/// `cols[0]` and someone in it, in `role`, in `cols[1]`.
pub(super) fn read_roster(
    mut f: CsvFile,
    cols: [usize; 2],
    role: ClassRole,
    loader: &mut dyn Loader,
) -> Result<()> {
    let mut rec = csv::StringRecord::new();
    while f.next(&mut rec)? {
        loader.progress(f.bytes_read())?;
        if let Err(e) = f.check_width(&rec) {
            loader.reject(e, None)?;
            continue;
        }
        let [class, person] = cols.map(|c| field(&rec, Some(c)));
        if let Some(i) = [&class, &person].iter().position(|v| v.is_empty()) {
            let why = format!("{} is empty", f.headers[cols[i]]);
            loader.reject(f.error(&rec, cols[i], why), None)?;
            continue;
        }
        loader.enrollment(EnrollmentRecord {
            at: f.link_at(&rec, cols[0], cols[1]),
            class,
            person,
            role,
            lead: false,
            removed: false,
            in_class_row: false,
        })?;
    }
    loader.file_done(f.info());
    Ok(())
}
