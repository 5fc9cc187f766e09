//! Classes and who is in them, as an import applies them once every person
//! is stored: new, changed and removed classes, each one audit entry.
//!
//! A full export that lists classes speaks for all of its schools' classes:
//! one it leaves out is removed (kept, with no members, as people are kept
//! when they leave). Its enrollments say exactly who is in each class. A
//! change file speaks only for the classes and enrollments it lists. Files
//! that list no classes at all leave the stored ones alone.

use std::collections::{HashMap, HashSet};

use super::{ClassRecord, Counts, EnrollmentRecord, RowError, Scope};
use crate::error::Result;
use crate::people::{self, ClassRole, ClassState, Kind, Member, StoredClass};
use crate::store::Writer;

/// What the files said about classes.
#[derive(Default)]
pub(super) struct ClassesRead {
    /// None: the files list no classes. Some((scope, with_members)): they
    /// do, as a full list or changes, and whether they also say who is in them.
    pub listed: Option<(Scope, bool)>,
    pub classes: Vec<ClassRecord>,
    pub enrollments: Vec<EnrollmentRecord>,
}

/// A person an enrollment names, as the import knows them: their row and
/// kind, or None when no such person is in the export (or stored, for a
/// change file); `Protected` when their own row was rejected.
pub(super) enum Enrolled {
    Person(i64, Kind),
    Unknown,
    Protected,
}

/// Where the import stands, for [`apply`].
pub(super) struct Context<'a> {
    pub source: &'a str,
    /// Whether a stored class of this school is one the export speaks for.
    pub covers: &'a dyn Fn(&str) -> bool,
}

/// Applies the classes read, `enrolled[i]` being who `read.enrollments[i]`
/// names.
pub(super) fn apply(
    w: &Writer,
    cx: &Context,
    read: ClassesRead,
    enrolled: Vec<Enrolled>,
    counts: &mut Counts,
    errors: &mut Vec<RowError>,
) -> Result<()> {
    let Some((scope, with_members)) = read.listed else {
        return Ok(());
    };
    let stored = people::stored_classes(w.conn(), cx.source)?;
    let mut wanted = Wanted::default();
    for class in read.classes {
        wanted.class(&stored, scope, with_members, class);
    }
    for (e, who) in read.enrollments.into_iter().zip(enrolled) {
        if let Err(why) = wanted.enrollment(&stored, scope, &e, who) {
            errors.push(why);
        }
    }
    if scope == Scope::Bulk {
        let mut gone: Vec<&String> = (stored.iter())
            .filter(|(sis_id, c)| {
                c.state.status == "active"
                    && !wanted.index.contains_key(*sis_id)
                    && (cx.covers)(&c.state.school)
            })
            .map(|(sis_id, _)| sis_id)
            .collect();
        gone.sort();
        wanted.removed.extend(gone.into_iter().cloned());
    }
    write(w, cx.source, &stored, wanted, counts)
}

/// Classes as they should be after the import, in the order the files list them.
#[derive(Default)]
struct Wanted {
    classes: Vec<(String, ClassState)>,
    index: HashMap<String, usize>,
    /// Stored classes to remove, by SIS id.
    removed: Vec<String>,
    removed_set: HashSet<String>,
}

impl Wanted {
    fn class(
        &mut self,
        stored: &HashMap<String, StoredClass>,
        scope: Scope,
        with_members: bool,
        c: ClassRecord,
    ) {
        if c.removed {
            if self.removed_set.insert(c.sis_id.clone()) {
                self.removed.push(c.sis_id);
            }
            return;
        }
        // Members start from what is stored unless the files say who is in
        // each class (a full export with its enrollments).
        let members = match stored.get(&c.sis_id) {
            Some(s) if !(with_members && scope == Scope::Bulk) => s.state.members.clone(),
            _ => Vec::new(),
        };
        let state = ClassState {
            title: c.title,
            school: c.school,
            code: c.code,
            class_type: c.class_type,
            status: "active".into(),
            members,
        };
        match self.index.get(&c.sis_id) {
            // A second row of one class: the later one stands, with the
            // members read so far.
            Some(&i) => {
                let members = std::mem::take(&mut self.classes[i].1.members);
                self.classes[i].1 = ClassState { members, ..state };
            }
            None => {
                self.index.insert(c.sis_id.clone(), self.classes.len());
                self.classes.push((c.sis_id, state));
            }
        }
    }

    /// The class an enrollment names: one these files list or, in a change
    /// file, one stored before.
    fn class_of(
        &mut self,
        stored: &HashMap<String, StoredClass>,
        scope: Scope,
        sis_id: &str,
    ) -> Option<&mut ClassState> {
        if !self.index.contains_key(sis_id) {
            let s = stored.get(sis_id).filter(|_| scope == Scope::Delta)?;
            if self.removed_set.contains(sis_id) {
                return None;
            }
            self.index.insert(sis_id.to_owned(), self.classes.len());
            self.classes.push((sis_id.to_owned(), s.state.clone()));
        }
        let i = self.index[sis_id];
        Some(&mut self.classes[i].1)
    }

    fn enrollment(
        &mut self,
        stored: &HashMap<String, StoredClass>,
        scope: Scope,
        e: &EnrollmentRecord,
        who: Enrolled,
    ) -> std::result::Result<(), RowError> {
        let Some(class) = self.class_of(stored, scope, &e.class) else {
            let why = format!("class \"{}\" is not in the export's classes", e.class);
            return Err(e.at.from_error(why));
        };
        let (person_id, kind) = match who {
            Enrolled::Protected => return Ok(()),
            Enrolled::Unknown if e.removed => return Ok(()),
            Enrolled::Unknown => {
                let why = format!("\"{}\" is not a person in the export", e.person);
                return Err(e.at.to_error(why));
            }
            Enrolled::Person(id, kind) => (id, kind),
        };
        let fits = matches!(
            (e.role, kind),
            (ClassRole::Student, Kind::Student) | (ClassRole::Teacher, Kind::Staff)
        );
        if !fits {
            let why = format!(
                "\"{}\" is {} in the export, so cannot be in a class as a {}",
                e.person,
                match kind {
                    Kind::Student => "a student",
                    Kind::Staff => "staff",
                    Kind::Contact => "a parent",
                },
                e.role.as_str()
            );
            return Err(e.at.to_error(why));
        }
        class.members.retain(|m| m.person_id != person_id);
        if !e.removed {
            class.members.push(Member {
                role: e.role,
                sis_id: e.person.clone(),
                lead: e.lead,
                person_id,
            });
        }
        Ok(())
    }
}

fn write(
    w: &Writer,
    source: &str,
    stored: &HashMap<String, StoredClass>,
    wanted: Wanted,
    counts: &mut Counts,
) -> Result<()> {
    for (sis_id, mut state) in wanted.classes {
        if wanted.removed_set.contains(&sis_id) {
            continue;
        }
        state.sort_members();
        let old = stored.get(&sis_id);
        match old {
            Some(o) if o.state == state => continue,
            Some(_) => counts.classes_updated += 1,
            None => counts.classes_new += 1,
        }
        people::store_class(w, source, &sis_id, old, &state)?;
    }
    for sis_id in &wanted.removed {
        let Some(old) = stored.get(sis_id).filter(|o| o.state.status == "active") else {
            continue;
        };
        let state = ClassState {
            status: "removed".into(),
            members: Vec::new(),
            ..old.state.clone()
        };
        people::store_class(w, source, sis_id, Some(old), &state)?;
        counts.classes_removed += 1;
    }
    Ok(())
}
