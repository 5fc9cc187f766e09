//! Clever's sections.csv and enrollments.csv: classes with up to ten
//! teachers each (`Teacher_id` leads, then `Teacher_2_id` … `Teacher_10_id`),
//! and which students are in them. Like the rest of a Clever upload, they
//! are a full snapshot.

use std::collections::HashMap;

use super::super::csvfile::CsvFile;
use super::super::fields::{fatal, field};
use super::super::{ClassLists, ClassRecord, EnrollmentRecord, Loader, Scope, Source};
use super::classes::{class_row, read_roster, ClassColumns};
use crate::error::Result;
use crate::people::ClassRole;

/// Reads sections.csv and, if given, enrollments.csv. `with_staff`: the
/// upload has a staff file (teachers.csv, staff.csv or admins.csv), so the
/// teachers sections name are in it.
pub fn read(
    sections: &Source,
    enrollments: Option<&Source>,
    with_staff: bool,
    loader: &mut dyn Loader,
) -> Result<()> {
    // A section's row names all its teachers; enrollments.csv all its
    // students. Without a staff file, stored staff are left alone, and so
    // are their places in classes.
    loader.lists_classes(ClassLists {
        classes: Some(Scope::Bulk),
        teachers: with_staff.then_some(Scope::Bulk),
        students: enrollments.map(|_| Scope::Bulk),
    })?;
    read_sections(sections, with_staff, loader)?;
    if let Some(e) = enrollments {
        read_enrollments(e, loader)?;
    }
    Ok(())
}

fn read_sections(src: &Source, with_staff: bool, loader: &mut dyn Loader) -> Result<()> {
    let mut f = CsvFile::open(src)?;
    let cols = f.require(&["School_id", "Section_id"]).map_err(fatal)?;
    let (c_school, c_id) = (cols[0], cols[1]);
    let teachers: Vec<usize> = std::iter::once("Teacher_id".to_owned())
        .chain((2..=10).map(|n| format!("Teacher_{n}_id")))
        .filter_map(|h| f.column(&h))
        .collect();
    let (c_name, c_number) = (f.column("Name"), f.column("Section_number"));
    let c_course = f.column("Course_name");
    let columns = ClassColumns {
        id: c_id,
        school: Some(c_school),
        school_required: true,
        schools_file: "schools.csv",
    };
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut rec = csv::StringRecord::new();
    while f.next(&mut rec)? {
        loader.progress(f.bytes_read())?;
        let Some((id, school)) = class_row(&f, &rec, &columns, &mut seen, loader)? else {
            continue;
        };
        let code = field(&rec, c_number);
        // Name is optional in Clever's files: then the course and section say it.
        let title = match field(&rec, c_name) {
            t if !t.is_empty() => t,
            _ => [field(&rec, c_course), code.clone()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" "),
        };
        loader.class(ClassRecord {
            sis_id: id.clone(),
            title,
            school,
            code,
            class_type: "scheduled".into(),
            removed: false,
        })?;
        let mut named: Vec<String> = Vec::new();
        for (i, &c) in teachers.iter().enumerate().filter(|_| with_staff) {
            let teacher = field(&rec, Some(c));
            // Named twice in one row (Teacher_id and Teacher_2_id): once, as first named.
            if teacher.is_empty() || named.contains(&teacher) {
                continue;
            }
            named.push(teacher.clone());
            loader.enrollment(EnrollmentRecord {
                at: f.link_at(&rec, c_id, c),
                class: id.clone(),
                person: teacher,
                role: ClassRole::Teacher,
                lead: i == 0,
                removed: false,
                in_class_row: true,
            })?;
        }
    }
    loader.file_done(f.info());
    Ok(())
}

fn read_enrollments(src: &Source, loader: &mut dyn Loader) -> Result<()> {
    let f = CsvFile::open(src)?;
    let cols = f.require(&["Section_id", "Student_id"]).map_err(fatal)?;
    read_roster(f, [cols[0], cols[1]], ClassRole::Student, loader)
}
