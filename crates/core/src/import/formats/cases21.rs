//! CASES21 eduHub (Victoria, Australia): `ST_<site>.csv` students,
//! `DF_<site>.csv` families, `SF_<site>.csv` staff, and the change files
//! `ST_<site>_D.csv`… that eduHub writes beside them.
//!
//! A family row names up to two adults (A and B); each becomes a contact with
//! parental responsibility for the students whose FAMILY, FAMB or FAMC is that
//! family. Keys are only unique within one school's database, so each site is
//! its own source (`cases21:8888`): two schools' SMI0001 are two children.
//!
//! A change file overlays its full file as eduHub does: its rows replace the
//! full file's rows with the same key. Leavers show up only as a status
//! (ST STATUS, SF STAFF_STATUS) or, in a full export, by being absent.

use std::collections::{HashMap, HashSet};

use super::{Format, ReadWith};
use crate::error::{Error, Result};
use crate::import::csvfile::{CsvFile, RawColumns};
use crate::import::fields::{fatal, field, is_date};
use crate::import::{
    ClassLists, ClassRecord, EnrollmentRecord, LinkFamily, LinkRecord, Loader, OrgRecord, RowError,
    Scope, Source,
};
use crate::people::{ClassRole, Kind, PersonRecord, Status};

pub struct Cases21;

/// The source people from this format are stored under is `cases21:<site>`.
pub const SOURCE: &str = "cases21";

/// The tables Keyroll reads.
const TABLES: &[&str] = &["ST", "DF", "SF"];

/// A CASES21 file name: table, site, and whether it is a change file.
fn parse_name(name: &str) -> Option<(String, String, bool)> {
    let stem = name
        .len()
        .checked_sub(4)
        .filter(|&i| name.is_char_boundary(i) && name[i..].eq_ignore_ascii_case(".csv"))
        .map(|i| &name[..i])?;
    let (table, rest) = stem.split_once('_')?;
    let table = table.to_ascii_uppercase();
    if !TABLES.contains(&table.as_str()) {
        return None;
    }
    let (site, delta) = match rest.rsplit_once('_') {
        Some((site, d)) if d.eq_ignore_ascii_case("d") => (site, true),
        _ => (rest, false),
    };
    let plausible = !site.is_empty() && site.chars().all(|c| c.is_ascii_alphanumeric());
    plausible.then(|| (table, site.to_owned(), delta))
}

/// One table's files: the full export and/or its change file.
#[derive(Default)]
struct Table<'a> {
    full: Option<&'a Source>,
    delta: Option<&'a Source>,
}

/// The export's site and its tables by name (ST, DF, SF).
struct Export<'a> {
    site: String,
    tables: HashMap<String, Table<'a>>,
}

impl<'a> Export<'a> {
    fn find(files: &'a [Source]) -> Result<Export<'a>> {
        let mut sites: Vec<String> = Vec::new();
        let mut tables: HashMap<String, Table> = HashMap::new();
        for f in files {
            let Some((table, site, delta)) = parse_name(f.file_name()) else {
                continue;
            };
            if !sites.contains(&site) {
                sites.push(site);
            }
            let t = tables.entry(table).or_default();
            let slot = if delta { &mut t.delta } else { &mut t.full };
            if let Some(other) = slot.replace(f) {
                return Err(Error::Invalid(format!(
                    "{} and {} are the same CASES21 table; choose only one of them",
                    other.describe(),
                    f.describe()
                )));
            }
        }
        match sites.len() {
            0 => Err(Error::Invalid(
                "No CASES21 files here: eduHub names them ST_<school>.csv, DF_<school>.csv and \
                 SF_<school>.csv."
                    .into(),
            )),
            1 => Ok(Export {
                site: sites.remove(0),
                tables,
            }),
            _ => Err(Error::Invalid(format!(
                "These files come from {} schools ({}). Import each school's files on their own.",
                sites.len(),
                sites.join(", ")
            ))),
        }
    }

    fn table(&self, name: &str) -> Option<&Table<'a>> {
        self.tables
            .get(name)
            .filter(|t| t.full.is_some() || t.delta.is_some())
    }

    /// A full export if any full file is here; then every table given must
    /// be given in full (a change file alone would make everyone it leaves
    /// out a leaver).
    fn scope(&self) -> Result<Scope> {
        let any_full = self.tables.values().any(|t| t.full.is_some());
        if !any_full {
            return Ok(Scope::Delta);
        }
        let mut names: Vec<&String> = self.tables.keys().collect();
        names.sort();
        for name in names {
            let t = &self.tables[name];
            if let (None, Some(delta)) = (t.full, t.delta) {
                return Err(Error::Invalid(format!(
                    "{} is a change file, but the other tables here are full exports. Add \
                     {name}_{}.csv from the same eduHub extract, or import only change files.",
                    delta.file_name(),
                    self.site
                )));
            }
        }
        Ok(Scope::Bulk)
    }
}

impl Format for Cases21 {
    fn name(&self) -> &'static str {
        "cases21"
    }

    fn title(&self) -> &'static str {
        "CASES21 eduHub"
    }

    fn files_hint(&self) -> &'static str {
        "a CASES21 export has ST_<school>.csv, DF_<school>.csv and SF_<school>.csv"
    }

    fn source(&self, _: ReadWith) -> String {
        SOURCE.to_owned()
    }

    fn detect(&self, files: &[Source]) -> bool {
        files.iter().any(|f| parse_name(f.file_name()).is_some())
    }

    fn total_bytes(&self, files: &[Source]) -> u64 {
        files
            .iter()
            .filter(|f| parse_name(f.file_name()).is_some())
            .map(Source::size)
            .sum()
    }

    fn load(&self, files: &[Source], _: ReadWith, loader: &mut dyn Loader) -> Result<()> {
        let export = Export::find(files)?;
        let scope = export.scope()?;
        let site = export.site.clone();
        loader.begin(&format!("{SOURCE}:{site}"), scope)?;
        // eduHub files carry no school name: the school is its site number.
        loader.org(OrgRecord {
            sis_id: site.clone(),
            name: format!("School {site}"),
            org_type: "school".into(),
            parent_sis_id: String::new(),
            status: "active".into(),
        })?;
        if scope == Scope::Bulk {
            let kinds: Vec<Kind> = [
                ("ST", Kind::Student),
                ("DF", Kind::Contact),
                ("SF", Kind::Staff),
            ]
            .into_iter()
            .filter(|(t, _)| export.table(t).is_some())
            .map(|(_, k)| k)
            .collect();
            loader.kinds(&kinds)?;
        }
        let families = match export.table("DF") {
            Some(t) => Some(read_families(t, loader, &site)?),
            None => {
                loader.no_links()?;
                None
            }
        };
        let mut student_keys = HashMap::new();
        if let Some(t) = export.table("ST") {
            student_keys = read_students(t, loader, &site, families.as_ref(), scope)?;
        }
        if let Some(t) = export.table("SF") {
            read_staff(t, loader, &site, &student_keys)?;
        }
        Ok(())
    }
}

/// Reads a table: its full file without the rows its change file replaces,
/// then the change file. `key` names the key column; `columns` finds a
/// file's columns (each file has its own header); `row` handles one row.
fn read_table<C>(
    table: &Table,
    loader: &mut dyn Loader,
    key: &str,
    columns: impl Fn(&CsvFile) -> Result<C>,
    mut row: impl FnMut(&mut CsvFile, &C, &csv::StringRecord, &mut dyn Loader) -> Result<()>,
) -> Result<()> {
    let mut rec = csv::StringRecord::new();
    let mut replaced: HashSet<String> = HashSet::new();
    if let (Some(_), Some(delta)) = (table.full, table.delta) {
        let mut f = CsvFile::open(delta)?;
        let c_key = f.require(&[key]).map_err(fatal)?[0];
        while f.next(&mut rec)? {
            replaced.insert(field(&rec, Some(c_key)));
        }
    }
    for (src, skip) in [(table.full, !replaced.is_empty()), (table.delta, false)] {
        let Some(src) = src else { continue };
        let mut f = CsvFile::open(src)?;
        let c_key = f.require(&[key]).map_err(fatal)?[0];
        let cols = columns(&f)?;
        while f.next(&mut rec)? {
            loader.progress(f.bytes_read())?;
            if skip && replaced.contains(&field(&rec, Some(c_key))) {
                continue;
            }
            row(&mut f, &cols, &rec, loader)?;
        }
        loader.file_done(f.info());
    }
    Ok(())
}

/// A Y/N flag: Y (or YES, TRUE, 1) is set.
fn yes(rec: &csv::StringRecord, col: Option<usize>) -> bool {
    matches!(
        field(rec, col).to_ascii_uppercase().as_str(),
        "Y" | "YES" | "TRUE" | "1"
    )
}

/// A CASES21 date as YYYY-MM-DD. eduHub writes `d/MM/yyyy h:mm:ss tt`
/// (5/03/2012 12:00:00 AM); files saved from a spreadsheet may hold
/// 2012-03-05 or 5/3/2012. None if it is no date.
pub fn parse_date(s: &str) -> Option<String> {
    let day = s.split_whitespace().next()?;
    if day.contains('-') {
        let day = day.split('T').next()?;
        return is_date(day).then(|| day.to_owned());
    }
    let mut parts = day.split('/');
    let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 {
        return None;
    }
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    let date = time::Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()?;
    Some(format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    ))
}

/// Which adults of a family exist: (A, B).
type Families = HashMap<String, (bool, bool)>;

struct FamilyColumns {
    key: usize,
    /// Per adult (A, B): name, surname, email, mobile.
    adults: [[Option<usize>; 4]; 2],
    /// Raw columns per adult: the family's own plus that adult's.
    raw: [RawColumns; 2],
}

fn family_columns(f: &CsvFile) -> Result<FamilyColumns> {
    let key = f.require(&["DFKEY"]).map_err(fatal)?[0];
    let adult =
        |s: &str| ["NAME", "SURNAME", "E_MAIL", "MOBILE"].map(|c| f.column(&format!("{c}_{s}")));
    let adults = [adult("A"), adult("B")];
    if adults.iter().all(|a| a[0].is_none() && a[1].is_none()) {
        return Err(Error::Invalid(format!(
            "{}:1: the header has none of NAME_A, SURNAME_A, NAME_B, SURNAME_B: this is no \
             CASES21 family file",
            f.name
        )));
    }
    let raw = ["_A", "_B"].map(|own| {
        let other = if own == "_A" { "_B" } else { "_A" };
        let mapped: Vec<usize> = std::iter::once(Some(key))
            .chain(adults.iter().flatten().copied())
            .flatten()
            .collect();
        f.raw_columns(&mapped)
            // The family's columns and this adult's, not the other adult's.
            .filter(|header| !header.to_ascii_uppercase().ends_with(other))
    });
    Ok(FamilyColumns { key, adults, raw })
}

fn read_families(table: &Table, loader: &mut dyn Loader, site: &str) -> Result<Families> {
    let mut families = Families::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    read_table(
        table,
        loader,
        "DFKEY",
        family_columns,
        |f, c, rec, loader| {
            let key = field(rec, Some(c.key));
            let ids = [format!("{key}-A"), format!("{key}-B")];
            let mut errors: Vec<RowError> = Vec::new();
            if let Err(e) = f.check_width(rec) {
                errors.push(e);
            }
            errors.extend(f.id_problem(rec, c.key, &key, "family", &seen));
            let mut present = [false, false];
            for (i, cols) in c.adults.iter().enumerate() {
                present[i] = !field(rec, cols[0]).is_empty() || !field(rec, cols[1]).is_empty();
                f.email(rec, cols[2], &mut errors);
            }
            if !errors.is_empty() {
                for e in errors {
                    loader.reject(e, Some(&ids[0]))?;
                }
                loader.protect(&ids[1])?;
                // Its students' links to it are not reported again.
                families.entry(key).or_insert((true, true));
                return Ok(());
            }
            seen.insert(key.clone(), f.line_of(rec));
            families.insert(key, (present[0], present[1]));
            for (i, cols) in c.adults.iter().enumerate() {
                if !present[i] {
                    continue;
                }
                loader.person(PersonRecord {
                    sis_id: ids[i].clone(),
                    kind: Some(Kind::Contact),
                    role: "parent".into(),
                    given_name: field(rec, cols[0]),
                    family_name: field(rec, cols[1]),
                    email: field(rec, cols[2]),
                    mobile: field(rec, cols[3]),
                    status: Some(Status::Active),
                    schools: site.to_owned(),
                    raw: f.raw_fields(rec, &c.raw[i]),
                    ..Default::default()
                })?;
            }
            Ok(())
        },
    )?;
    Ok(families)
}

/// ST STATUS codes.
fn student_status(code: &str) -> Option<Status> {
    Some(match code.to_ascii_uppercase().as_str() {
        "ACTV" => Status::Active,
        "FUT" => Status::Future,
        "LVNG" => Status::Leaving,
        "LEFT" => Status::Left,
        "INAC" => Status::Inactive,
        // Deleted in CASES21: an account is never deleted, it leaves.
        "DEL" => Status::Left,
        _ => return None,
    })
}

struct StudentColumns {
    key: usize,
    surname: usize,
    first: usize,
    status: usize,
    middle: Option<usize>,
    preferred: Option<usize>,
    birth: Option<usize>,
    email: Option<usize>,
    mobile: Option<usize>,
    home_group: Option<usize>,
    year: Option<usize>,
    access_alert: Option<usize>,
    access_type: Option<usize>,
    /// Per family slot (FAMILY, FAMB, FAMC): key, academic reports, who
    /// receives correspondence.
    families: [(Option<usize>, Option<usize>, Option<usize>); 3],
    raw: RawColumns,
}

fn student_columns(f: &CsvFile) -> Result<StudentColumns> {
    let req = f
        .require(&["STKEY", "SURNAME", "FIRST_NAME", "STATUS"])
        .map_err(fatal)?;
    let c = |n: &str| f.column(n);
    let families = [
        (c("FAMILY"), c("ACADEMIC_A"), c("CONTACT_A")),
        (c("FAMB"), c("ACADEMIC_B"), c("CONTACT_B")),
        (c("FAMC"), c("ACADEMIC_C"), c("CONTACT_C")),
    ];
    let named = [
        c("SECOND_NAME"),
        c("PREF_NAME"),
        c("BIRTHDATE"),
        c("E_MAIL"),
        c("MOBILE"),
        c("HOME_GROUP"),
        c("SCHOOL_YEAR"),
    ];
    let mapped: Vec<usize> = req
        .iter()
        .copied()
        .chain(named.iter().flatten().copied())
        .collect();
    Ok(StudentColumns {
        key: req[0],
        surname: req[1],
        first: req[2],
        status: req[3],
        middle: named[0],
        preferred: named[1],
        birth: named[2],
        email: named[3],
        mobile: named[4],
        home_group: named[5],
        year: named[6],
        access_alert: c("ACCESS_ALERT"),
        access_type: c("ACCESS_TYPE"),
        families,
        raw: f.raw_columns(&mapped),
    })
}

/// Reads ST; returns the student keys (staff keys must not reuse them).
fn read_students(
    table: &Table,
    loader: &mut dyn Loader,
    site: &str,
    families: Option<&Families>,
    scope: Scope,
) -> Result<HashMap<String, u64>> {
    let mut seen: HashMap<String, u64> = HashMap::new();
    // Home groups are classes: in a full export, each current student's
    // says who is in it (a change file leaves classes as they are).
    let home_groups = scope == Scope::Bulk && table.full.is_some();
    if home_groups {
        loader.lists_classes(ClassLists {
            classes: Some(Scope::Bulk),
            students: Some(Scope::Bulk),
            teachers: None,
        })?;
    }
    let mut groups: std::collections::BTreeSet<String> = Default::default();
    read_table(
        table,
        loader,
        "STKEY",
        student_columns,
        |f, c, rec, loader| {
            let id = field(rec, Some(c.key));
            if let Err(e) = f.check_width(rec) {
                return loader.reject(e, Some(&id));
            }
            let mut errors: Vec<RowError> = Vec::new();
            errors.extend(f.id_problem(rec, c.key, &id, "student", &seen));
            let code = field(rec, Some(c.status));
            let status = student_status(&code);
            if status.is_none() {
                errors.push(f.error(
                    rec,
                    c.status,
                    format!(
                        "unknown status \"{code}\" (expected ACTV, FUT, LVNG, LEFT, INAC or DEL)"
                    ),
                ));
            }
            let birth_text = field(rec, c.birth);
            let birth_date = parse_date(&birth_text).unwrap_or_default();
            if !birth_text.is_empty() && birth_date.is_empty() {
                let why =
                    format!("\"{birth_text}\" is not a date (expected 5/03/2012 or 2012-03-05)");
                errors.push(f.error(rec, c.birth.unwrap_or(0), why));
            }
            let email = f.email(rec, c.email, &mut errors);
            if !errors.is_empty() {
                for e in errors {
                    loader.reject(e, Some(&id))?;
                }
                return Ok(());
            }
            seen.insert(id.clone(), f.line_of(rec));

            // Links to each named family's adults, prime family first.
            let access_restricted =
                yes(rec, c.access_alert) || !field(rec, c.access_type).is_empty();
            let mut rank = 0;
            for (slot, (c_family, c_academic, c_contact)) in c.families.iter().enumerate() {
                let key = field(rec, *c_family);
                let Some(c_family) = c_family.filter(|_| !key.is_empty()) else {
                    continue;
                };
                let Some(families) = families else { continue };
                let (has_a, has_b, optional) = match families.get(&key) {
                    Some(&(a, b)) => (a, b, false),
                    // A change file need not list an unchanged family.
                    None if scope == Scope::Delta => (true, true, true),
                    None => {
                        // The student is imported, without this family's links.
                        let why = format!("family \"{key}\" is not in the DF file");
                        let e = f.error(rec, c_family, why);
                        let dropped = format!("\"{id}\" is imported without links to it");
                        loader.warn(e.warning(&dropped), Some(&id))?;
                        continue;
                    }
                };
                // Who of the prime family receives correspondence: A, B, C (both)
                // or N (neither); blank: the first adult.
                let receives = field(rec, *c_contact).to_ascii_uppercase();
                let no_reports = field(rec, *c_academic).eq_ignore_ascii_case("N");
                let at = f.link_at(rec, c.key, c_family);
                for (adult, exists) in [("A", has_a), ("B", has_b)] {
                    if !exists {
                        continue;
                    }
                    let primary = (slot == 0).then(|| match receives.as_str() {
                        "" => adult == "A",
                        r => r == adult || r == "C",
                    });
                    loader.link(LinkRecord {
                        from: id.clone(),
                        to: format!("{key}-{adult}"),
                        rank,
                        responsible: Some(true),
                        family: LinkFamily {
                            code: key.clone(),
                            secondary: slot > 0,
                            access_restricted,
                            no_reports,
                            primary: Some(primary.unwrap_or(false)),
                        },
                        optional: optional && adult == "B",
                        at: at.clone(),
                    })?;
                    rank += 1;
                }
            }
            let group = field(rec, c.home_group);
            if let (true, Some(col), Some(true)) =
                (home_groups, c.home_group, status.map(Status::is_current))
            {
                if !group.is_empty() {
                    groups.insert(group.clone());
                    loader.enrollment(EnrollmentRecord {
                        at: f.link_at(rec, col, c.key),
                        class: group.clone(),
                        person: id.clone(),
                        role: ClassRole::Student,
                        lead: false,
                        removed: false,
                        in_class_row: false,
                    })?;
                }
            }
            loader.person(PersonRecord {
                sis_id: id,
                kind: Some(Kind::Student),
                role: "student".into(),
                given_name: field(rec, Some(c.first)),
                middle_name: field(rec, c.middle),
                family_name: field(rec, Some(c.surname)),
                preferred_name: field(rec, c.preferred),
                email,
                mobile: field(rec, c.mobile),
                status,
                schools: site.to_owned(),
                year_level: field(rec, c.year),
                home_group: group,
                birth_date,
                raw: f.raw_fields(rec, &c.raw),
            })
        },
    )?;
    for group in groups {
        loader.class(ClassRecord {
            title: format!("Home group {group}"),
            school: site.to_owned(),
            class_type: "homeroom".into(),
            sis_id: group,
            ..Default::default()
        })?;
    }
    Ok(seen)
}

/// SF STAFF_STATUS, or (when blank) STAFF_TYPE L (left).
fn staff_status(status: &str, staff_type: &str) -> Option<Status> {
    Some(match status.to_ascii_uppercase().as_str() {
        "ACTV" => Status::Active,
        "INAC" => Status::Inactive,
        "LEFT" | "DEL" => Status::Left,
        "" if staff_type.eq_ignore_ascii_case("L") => Status::Left,
        "" => Status::Active,
        _ => return None,
    })
}

struct StaffColumns {
    key: usize,
    surname: usize,
    first: usize,
    middle: Option<usize>,
    preferred: Option<usize>,
    email: Option<usize>,
    mobile: Option<usize>,
    status: Option<usize>,
    staff_type: Option<usize>,
    raw: RawColumns,
}

fn staff_columns(f: &CsvFile) -> Result<StaffColumns> {
    let req = f
        .require(&["SFKEY", "SURNAME", "FIRST_NAME"])
        .map_err(fatal)?;
    let c = |n: &str| f.column(n);
    let named = [
        c("SECOND_NAME"),
        c("PREF_NAME"),
        c("E_MAIL"),
        c("MOBILE"),
        c("STAFF_STATUS"),
    ];
    let mapped: Vec<usize> = req
        .iter()
        .copied()
        .chain(named.iter().flatten().copied())
        .collect();
    Ok(StaffColumns {
        key: req[0],
        surname: req[1],
        first: req[2],
        middle: named[0],
        preferred: named[1],
        email: named[2],
        mobile: named[3],
        status: named[4],
        staff_type: c("STAFF_TYPE"),
        raw: f.raw_columns(&mapped),
    })
}

fn read_staff(
    table: &Table,
    loader: &mut dyn Loader,
    site: &str,
    students: &HashMap<String, u64>,
) -> Result<()> {
    let mut seen: HashMap<String, u64> = HashMap::new();
    read_table(
        table,
        loader,
        "SFKEY",
        staff_columns,
        |f, c, rec, loader| {
            let id = field(rec, Some(c.key));
            if let Err(e) = f.check_width(rec) {
                return loader.reject(e, Some(&id));
            }
            let mut errors: Vec<RowError> = Vec::new();
            errors.extend(f.id_problem(rec, c.key, &id, "staff member", &seen));
            if let Some(line) = students.get(&id) {
                errors.push(f.error(
                    rec,
                    c.key,
                    format!(
                        "SFKEY \"{id}\" is also the STKEY of the student on line {line} of the ST \
                     file; Keyroll cannot keep both under one key"
                    ),
                ));
            }
            let (code, staff_type) = (field(rec, c.status), field(rec, c.staff_type));
            let status = staff_status(&code, &staff_type);
            if status.is_none() {
                errors.push(f.error(
                    rec,
                    c.status.unwrap_or(0),
                    format!("unknown staff status \"{code}\" (expected ACTV, INAC or LEFT)"),
                ));
            }
            let email = f.email(rec, c.email, &mut errors);
            if !errors.is_empty() {
                for e in errors {
                    loader.reject(e, Some(&id))?;
                }
                return Ok(());
            }
            seen.insert(id.clone(), f.line_of(rec));
            let role = match staff_type.to_ascii_uppercase().as_str() {
                "T" => "teacher",
                "N" => "non-teaching staff",
                _ => "staff",
            };
            loader.person(PersonRecord {
                sis_id: id,
                kind: Some(Kind::Staff),
                role: role.into(),
                given_name: field(rec, Some(c.first)),
                middle_name: field(rec, c.middle),
                family_name: field(rec, Some(c.surname)),
                preferred_name: field(rec, c.preferred),
                email,
                mobile: field(rec, c.mobile),
                status,
                schools: site.to_owned(),
                raw: f.raw_fields(rec, &c.raw),
                ..Default::default()
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(
            parse_name("ST_8888.csv"),
            Some(("ST".into(), "8888".into(), false))
        );
        assert_eq!(
            parse_name("df_8888_d.CSV"),
            Some(("DF".into(), "8888".into(), true))
        );
        assert_eq!(parse_name("KGC_8888.csv"), None);
        assert_eq!(parse_name("ST_.csv"), None);
        assert_eq!(parse_name("users.csv"), None);
    }

    #[test]
    fn dates() {
        assert_eq!(
            parse_date("5/03/2012 12:00:00 AM").as_deref(),
            Some("2012-03-05")
        );
        assert_eq!(parse_date("2012-03-05").as_deref(), Some("2012-03-05"));
        assert_eq!(
            parse_date("2012-03-05 00:00:00").as_deref(),
            Some("2012-03-05")
        );
        assert_eq!(parse_date("31/2/2012"), None);
        assert_eq!(parse_date("5/3/12"), None);
        assert_eq!(parse_date("tomorrow"), None);
    }

    #[test]
    fn statuses() {
        assert_eq!(student_status("LVNG"), Some(Status::Leaving));
        assert_eq!(student_status("del"), Some(Status::Left));
        assert_eq!(student_status("GONE"), None);
        assert_eq!(staff_status("", "L"), Some(Status::Left));
        assert_eq!(staff_status("", "T"), Some(Status::Active));
        assert_eq!(staff_status("XX", ""), None);
    }
}
