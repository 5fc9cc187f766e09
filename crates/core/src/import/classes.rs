//! Classes and who is in them, as an import applies them: worked out as
//! their records arrive, written once every person is stored (new, changed
//! and removed classes, each one audit entry).
//!
//! What the files say comes in three parts, each a full list, changes, or
//! not said ([`ClassLists`]): the classes, their students, their teachers.
//! A full list of classes speaks for its schools' classes: one it leaves out
//! is removed (kept, with no members, as people are kept when they leave). A
//! full list of a role's members says exactly who is in each class in that
//! role; a list of changes adds and drops single members; a role not said
//! keeps its stored members. Rows rejected earlier lose nothing: a class
//! whose row was rejected stays as stored, and a person whose row was
//! rejected keeps their stored classes.

use std::collections::{HashMap, HashSet};

use super::{ClassLists, ClassRecord, Counts, EnrollmentRecord, RowError, Scope};
use crate::error::Result;
use crate::people::{self, ClassRole, ClassState, Kind, Member, StoredClass};
use crate::store::Writer;

/// Classes as an import applies them: what the files say, worked into the
/// classes wanted as each record arrives (a large school states hundreds of
/// thousands of enrollments: none is held longer than it must be), then
/// written once every person is stored ([`Applying::finish`]).
pub(super) struct Applying {
    stored: HashMap<String, StoredClass>,
    wanted: Wanted,
    /// Enrollments that name someone not read yet, or a class not listed
    /// yet (CASES21 states a home group before it is a class): resolved at
    /// the end.
    pending: Vec<EnrollmentRecord>,
}

/// A person an enrollment names, as the import knows them: their row and
/// kind; `Unknown` when no such person is in the export (or stored, for a
/// change file); `Protected` when their own row was rejected.
pub(super) enum Enrolled {
    Person(i64, Kind),
    Unknown,
    Protected,
}

/// Where the import stands at its end, for [`Applying::finish`].
pub(super) struct Context<'a> {
    pub source: &'a str,
    /// Whether a stored class of this school is one the export speaks for.
    pub covers: &'a dyn Fn(&str) -> bool,
    /// Whether a person's row was rejected (by SIS id).
    pub protected: &'a dyn Fn(&str) -> bool,
}

impl Applying {
    /// Starts applying what `lists` says, over `source`'s stored classes.
    pub(super) fn start(
        conn: &rusqlite::Connection,
        source: &str,
        lists: ClassLists,
    ) -> Result<Applying> {
        Ok(Applying {
            stored: people::stored_classes(conn, source)?,
            wanted: Wanted {
                lists,
                ..Default::default()
            },
            pending: Vec::new(),
        })
    }

    pub(super) fn class(&mut self, class: ClassRecord) {
        self.wanted.class(&self.stored, class);
    }

    /// A class whose row was rejected: left as stored.
    pub(super) fn keep(&mut self, sis_id: String) {
        self.wanted.kept.insert(sis_id);
    }

    /// An enrollment, `who` being the person it names as the import knows
    /// them so far; a problem with it goes to `errors`.
    pub(super) fn enrollment(
        &mut self,
        e: EnrollmentRecord,
        who: Enrolled,
        errors: &mut Vec<RowError>,
    ) {
        match self.wanted.enrollment(&self.stored, &e, who, false) {
            Ok(Applied::Done) => {}
            Ok(Applied::Later) => self.pending.push(e),
            Err(why) => errors.push(why),
        }
    }

    /// The enrollments waiting for the end, to be resolved by the caller.
    pub(super) fn take_pending(&mut self) -> Vec<EnrollmentRecord> {
        std::mem::take(&mut self.pending)
    }

    /// Applies the `pending` enrollments (with who each names), completes
    /// the classes wanted and writes them.
    pub(super) fn finish(
        mut self,
        w: &Writer,
        cx: &Context,
        pending: Vec<(EnrollmentRecord, Enrolled)>,
        counts: &mut Counts,
        errors: &mut Vec<RowError>,
    ) -> Result<()> {
        for (e, who) in pending {
            if let Err(why) = self.wanted.enrollment(&self.stored, &e, who, true) {
                errors.push(why);
            }
        }
        let (stored, wanted) = (&self.stored, &mut self.wanted);
        let mut untouched: Vec<&String> = (stored.iter())
            .filter(|(sis_id, c)| {
                c.state.status == "active"
                    && !wanted.index.contains_key(*sis_id)
                    && !wanted.removed_set.contains(*sis_id)
                    && !wanted.kept.contains(*sis_id)
                    && (cx.covers)(&c.state.school)
            })
            .map(|(sis_id, _)| sis_id)
            .collect();
        untouched.sort();
        if wanted.lists.classes == Some(Scope::Bulk) {
            // A full list of classes leaves these out: they are gone.
            for sis_id in untouched {
                wanted.remove(sis_id.clone());
            }
        } else if wanted.restates(ClassRole::Student) || wanted.restates(ClassRole::Teacher) {
            // A full list of members names nobody in these: they lose the
            // members of the roles it lists.
            for sis_id in untouched {
                wanted.class_of(stored, sis_id);
            }
        }
        wanted.keep_protected_members(stored, cx.protected);
        write(w, cx.source, stored, std::mem::take(wanted), counts)
    }
}

/// Classes as they should be after the import, in the order the files list them.
#[derive(Default)]
struct Wanted {
    lists: ClassLists,
    classes: Vec<(String, ClassState)>,
    index: HashMap<String, usize>,
    /// Stored classes to remove, by SIS id, in order.
    removed: Vec<String>,
    removed_set: HashSet<String>,
    /// Classes whose rows were rejected: left as stored.
    kept: HashSet<String>,
}

/// What became of an enrollment.
enum Applied {
    Done,
    /// It names someone not read yet, or a class not listed yet, who may
    /// still come: it waits for the end.
    Later,
}

/// The class an enrollment names.
enum ClassOf<'a> {
    Found(&'a mut ClassState),
    /// One to leave alone: its row was rejected, or it is being removed.
    Skip,
    Unknown,
}

impl Wanted {
    /// Whether the files list everyone in `role` (so stored members in it go).
    fn restates(&self, role: ClassRole) -> bool {
        let scope = match role {
            ClassRole::Student => self.lists.students,
            ClassRole::Teacher => self.lists.teachers,
        };
        scope == Some(Scope::Bulk)
    }

    /// A class's stored members that these files do not restate.
    fn kept_members(&self, stored: Option<&StoredClass>) -> Vec<Member> {
        let Some(s) = stored else { return Vec::new() };
        (s.state.members.iter())
            .filter(|m| !self.restates(m.role))
            .cloned()
            .collect()
    }

    fn remove(&mut self, sis_id: String) {
        if self.removed_set.insert(sis_id.clone()) {
            self.removed.push(sis_id);
        }
    }

    fn class(&mut self, stored: &HashMap<String, StoredClass>, c: ClassRecord) {
        // A class an earlier rejected row named stays as stored.
        if self.kept.contains(&c.sis_id) {
            return;
        }
        if c.removed {
            self.remove(c.sis_id);
            return;
        }
        let state = ClassState {
            title: c.title,
            school: c.school,
            code: c.code,
            class_type: c.class_type,
            status: "active".into(),
            members: self.kept_members(stored.get(&c.sis_id)),
        };
        match self.index.get(&c.sis_id) {
            // Already wanted (an enrollment in a change file brought in the
            // stored class first): this row's fields, the members so far.
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

    /// The class `sis_id`: one these files list or, unless they list every
    /// class, one stored before.
    fn class_of(&mut self, stored: &HashMap<String, StoredClass>, sis_id: &str) -> ClassOf<'_> {
        if self.kept.contains(sis_id) || self.removed_set.contains(sis_id) {
            return ClassOf::Skip;
        }
        if !self.index.contains_key(sis_id) {
            let found = stored
                .get(sis_id)
                .filter(|s| s.state.status == "active")
                .filter(|_| self.lists.classes != Some(Scope::Bulk));
            let Some(s) = found else {
                return ClassOf::Unknown;
            };
            let state = ClassState {
                members: self.kept_members(Some(s)),
                ..s.state.clone()
            };
            self.index.insert(sis_id.to_owned(), self.classes.len());
            self.classes.push((sis_id.to_owned(), state));
        }
        let i = self.index[sis_id];
        ClassOf::Found(&mut self.classes[i].1)
    }

    /// Applies `e`, naming `who`; `at_end`: every record is read, so what is
    /// unknown now stays unknown.
    fn enrollment(
        &mut self,
        stored: &HashMap<String, StoredClass>,
        e: &EnrollmentRecord,
        who: Enrolled,
        at_end: bool,
    ) -> std::result::Result<Applied, RowError> {
        // A problem with someone a class's own row names is the class's
        // warning: it is imported without them.
        let problem = |why: String| {
            let e_ = e.at.to_error(why);
            if e.in_class_row {
                e_.warning("the class is imported without them")
            } else {
                e_
            }
        };
        let class = match self.class_of(stored, &e.class) {
            ClassOf::Found(class) => class,
            ClassOf::Skip => return Ok(Applied::Done),
            ClassOf::Unknown if !at_end => return Ok(Applied::Later),
            // Dropping someone from a class that is not there drops nothing.
            ClassOf::Unknown if e.removed => return Ok(Applied::Done),
            ClassOf::Unknown => {
                let why = format!("class \"{}\" is not in the export's classes", e.class);
                return Err(e.at.from_error(why));
            }
        };
        let (person_id, kind) = match who {
            // Their stored classes are kept (keep_protected_members).
            Enrolled::Protected => return Ok(Applied::Done),
            Enrolled::Unknown if !at_end => return Ok(Applied::Later),
            Enrolled::Unknown if e.removed => return Ok(Applied::Done),
            Enrolled::Unknown => {
                return Err(problem(format!(
                    "\"{}\" is not a person in the export",
                    e.person
                )))
            }
            Enrolled::Person(id, kind) => (id, kind),
        };
        let fits = matches!(
            (e.role, kind),
            (ClassRole::Student, Kind::Student) | (ClassRole::Teacher, Kind::Staff)
        );
        if !fits {
            let is = match kind {
                Kind::Student => "a student",
                Kind::Staff => "staff",
                Kind::Contact => "a parent",
            };
            return Err(problem(format!(
                "\"{}\" is {is} in the export, so cannot be in a class as a {}",
                e.person,
                e.role.as_str()
            )));
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
        Ok(Applied::Done)
    }

    /// People whose rows were rejected are in their classes as stored.
    fn keep_protected_members(
        &mut self,
        stored: &HashMap<String, StoredClass>,
        protected: &dyn Fn(&str) -> bool,
    ) {
        for (sis_id, state) in &mut self.classes {
            // As stored, whatever was applied for them on arrival.
            state.members.retain(|m| !protected(&m.sis_id));
            if let Some(s) = stored.get(sis_id) {
                let kept = s.state.members.iter().filter(|m| protected(&m.sis_id));
                state.members.extend(kept.cloned());
            }
        }
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
        if wanted.removed_set.contains(&sis_id) || wanted.kept.contains(&sis_id) {
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
