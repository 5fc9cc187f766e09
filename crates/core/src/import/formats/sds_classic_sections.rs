//! School Data Sync classic's classes: Section.csv (each class, with its
//! school), StudentEnrollment.csv and TeacherRoster.csv (who is in each),
//! in the US headers (`SIS ID`, `Section SIS ID`) or the UK ones (`ID`,
//! `Section ID`). A file with no bytes at all is one the SIS left empty.

use std::collections::HashMap;

use super::super::csvfile::CsvFile;
use super::super::fields::field;
use super::super::source::find;
use super::super::{ClassLists, ClassRecord, Loader, Scope, Source};
use super::classes::{class_row, read_roster, ClassColumns};
use super::sds_classic::{either, require_either};
use crate::error::Result;
use crate::people::ClassRole;

/// Reads the export's classes, if it has Section.csv.
pub fn read(files: &[Source], loader: &mut dyn Loader) -> Result<()> {
    let present = |name: &str| find(files, name).filter(|s| s.size() > 0);
    let Some(sections) = present("Section.csv") else {
        return Ok(());
    };
    let students = present("StudentEnrollment.csv");
    let teachers = present("TeacherRoster.csv");
    // Each roster file lists everyone in its role; a role whose file is
    // absent keeps its stored members.
    loader.lists_classes(ClassLists {
        classes: Some(Scope::Bulk),
        students: students.map(|_| Scope::Bulk),
        teachers: teachers.map(|_| Scope::Bulk),
    })?;
    read_sections(sections, loader)?;
    for (file, role) in [
        (students, ClassRole::Student),
        (teachers, ClassRole::Teacher),
    ] {
        if let Some(file) = file {
            read_one_roster(file, role, loader)?;
        }
    }
    Ok(())
}

fn read_sections(src: &Source, loader: &mut dyn Loader) -> Result<()> {
    let mut f = CsvFile::open(src)?;
    let cols = require_either(
        &f,
        &[&["SIS ID", "ID"], &["School SIS ID", "School DfE Number"]],
    )?;
    let (c_id, c_school) = (cols[0], cols[1]);
    let (c_name, c_number) = (
        either(&f, &["Section Name"]),
        either(&f, &["Section Number"]),
    );
    let c_status = either(&f, &["Status"]);
    let columns = ClassColumns {
        id: c_id,
        school: Some(c_school),
        school_required: true,
        schools_file: "School.csv",
    };
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut rec = csv::StringRecord::new();
    while f.next(&mut rec)? {
        loader.progress(f.bytes_read())?;
        let Some((id, school)) = class_row(&f, &rec, &columns, &mut seen, loader)? else {
            continue;
        };
        loader.class(ClassRecord {
            title: field(&rec, c_name),
            code: field(&rec, c_number),
            school,
            class_type: "scheduled".into(),
            removed: field(&rec, c_status).eq_ignore_ascii_case("inactive"),
            sis_id: id,
        })?;
    }
    loader.file_done(f.info());
    Ok(())
}

/// StudentEnrollment.csv or TeacherRoster.csv: section, then person.
fn read_one_roster(src: &Source, role: ClassRole, loader: &mut dyn Loader) -> Result<()> {
    let f = CsvFile::open(src)?;
    let cols = require_either(&f, &[&["Section SIS ID", "Section ID"], &["SIS ID", "ID"]])?;
    read_roster(f, [cols[0], cols[1]], role, loader)
}
