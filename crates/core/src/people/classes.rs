//! Classes (sections, home groups) and who is in them: students and their
//! teachers, as the SIS lists them. An import stores them
//! ([`store_class`]); lists, filters and a person's panel read them
//! ([`classes`], [`classes_of`], [`check_filters`]).
//!
//! Each change to a class is one audit entry whose before and after hold the
//! whole class, members by SIS id ([`ClassState`]): a class has tens of
//! members, so this is small, and a rollback restores a class from it alone.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::store::Writer;

/// Who someone is in a class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClassRole {
    Student,
    Teacher,
}

impl ClassRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ClassRole::Student => "student",
            ClassRole::Teacher => "teacher",
        }
    }

    fn parse(s: &str) -> ClassRole {
        match s {
            "teacher" => ClassRole::Teacher,
            _ => ClassRole::Student,
        }
    }
}

/// Someone in a class.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Member {
    pub role: ClassRole,
    pub sis_id: String,
    /// The teacher who leads the class.
    pub lead: bool,
    /// Their person row (0 when only the SIS id is known, as in an audit entry).
    pub person_id: i64,
}

/// A class as stored, and as its audit entries hold it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClassState {
    pub title: String,
    pub school: String,
    pub code: String,
    pub class_type: String,
    /// `active`, or `removed` once the SIS no longer lists it.
    pub status: String,
    /// Sorted by role, then SIS id (so two states compare as sets).
    pub members: Vec<Member>,
}

/// The audit form: members as lists of SIS ids.
#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct ClassJson {
    title: String,
    school: String,
    code: String,
    class_type: String,
    status: String,
    students: Vec<String>,
    teachers: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    lead: Vec<String>,
}

impl ClassState {
    /// Puts members in their one order, each person once (a later statement
    /// of someone already in the class wins).
    pub fn sort_members(&mut self) {
        self.members.sort_by(|a, b| a.sis_id.cmp(&b.sis_id));
        self.members.dedup_by(|later, kept| {
            let same = later.sis_id == kept.sis_id;
            if same {
                std::mem::swap(later, kept);
            }
            same
        });
        self.members.sort();
    }

    pub fn to_json(&self) -> String {
        let ids = |role: ClassRole| -> Vec<String> {
            (self.members.iter().filter(|m| m.role == role))
                .map(|m| m.sis_id.clone())
                .collect()
        };
        let json = ClassJson {
            title: self.title.clone(),
            school: self.school.clone(),
            code: self.code.clone(),
            class_type: self.class_type.clone(),
            status: self.status.clone(),
            students: ids(ClassRole::Student),
            teachers: ids(ClassRole::Teacher),
            lead: (self.members.iter().filter(|m| m.lead))
                .map(|m| m.sis_id.clone())
                .collect(),
        };
        serde_json::to_string(&json).expect("a class serialises")
    }

    /// Reads the audit form back; members have no person row yet.
    pub fn from_json(s: &str) -> ClassState {
        let j: ClassJson = serde_json::from_str(s).unwrap_or_default();
        let member = |role, sis_id: String| Member {
            role,
            lead: j.lead.contains(&sis_id),
            sis_id,
            person_id: 0,
        };
        let mut members: Vec<Member> = Vec::new();
        members.extend(
            j.students
                .iter()
                .cloned()
                .map(|s| member(ClassRole::Student, s)),
        );
        members.extend(
            j.teachers
                .iter()
                .cloned()
                .map(|s| member(ClassRole::Teacher, s)),
        );
        let mut state = ClassState {
            title: j.title,
            school: j.school,
            code: j.code,
            class_type: j.class_type,
            status: j.status,
            members,
        };
        state.sort_members();
        state
    }
}

/// A stored class: its row and what it holds.
pub struct StoredClass {
    pub id: i64,
    pub state: ClassState,
}

/// The classes stored for `source`, by SIS id, with their members.
pub fn stored_classes(conn: &Connection, source: &str) -> Result<HashMap<String, StoredClass>> {
    read_classes(conn, "c.source = ?1", params![source])
}

fn stored_class(conn: &Connection, source: &str, sis_id: &str) -> Result<Option<StoredClass>> {
    let mut one = read_classes(
        conn,
        "c.source = ?1 AND c.sis_id = ?2",
        params![source, sis_id],
    )?;
    Ok(one.remove(sis_id))
}

/// The classes `filter` (an SQL condition on `c`, the class) picks.
fn read_classes(
    conn: &Connection,
    filter: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<HashMap<String, StoredClass>> {
    let mut out: HashMap<String, StoredClass> = HashMap::new();
    let mut by_id: HashMap<i64, String> = HashMap::new();
    let mut st = conn.prepare(&format!(
        "SELECT c.id, c.sis_id, c.title, c.school, c.code, c.class_type, c.status FROM class c
         WHERE {filter}"
    ))?;
    let mut rows = st.query(args)?;
    while let Some(r) = rows.next()? {
        let (id, sis_id): (i64, String) = (r.get(0)?, r.get(1)?);
        let state = ClassState {
            title: r.get(2)?,
            school: r.get(3)?,
            code: r.get(4)?,
            class_type: r.get(5)?,
            status: r.get(6)?,
            members: Vec::new(),
        };
        by_id.insert(id, sis_id.clone());
        out.insert(sis_id, StoredClass { id, state });
    }
    let mut st = conn.prepare(&format!(
        "SELECT e.class_id, e.person_id, p.sis_id, e.role, e.lead
         FROM class c JOIN enrollment e ON e.class_id = c.id JOIN person p ON p.id = e.person_id
         WHERE {filter}"
    ))?;
    let mut rows = st.query(args)?;
    while let Some(r) = rows.next()? {
        let class = by_id.get(&r.get::<_, i64>(0)?).and_then(|s| out.get_mut(s));
        if let Some(class) = class {
            class.state.members.push(Member {
                person_id: r.get(1)?,
                sis_id: r.get(2)?,
                role: ClassRole::parse(r.get_ref(3)?.as_str()?),
                lead: r.get(4)?,
            });
        }
    }
    for class in out.values_mut() {
        class.state.sort_members();
    }
    Ok(out)
}

/// The audit key of a class.
pub fn class_key(source: &str, sis_id: &str) -> String {
    format!("{source}:{sis_id}")
}

/// Stores class `sis_id` of `source` as `new` (members with their person
/// rows), over `old` as stored (None: a new class), with its audit entry.
/// Returns the class's row id.
pub fn store_class(
    w: &Writer,
    source: &str,
    sis_id: &str,
    old: Option<&StoredClass>,
    new: &ClassState,
) -> Result<i64> {
    let conn = w.conn();
    let id = match old {
        Some(old) => {
            conn.prepare_cached(
                "UPDATE class SET title = ?2, school = ?3, code = ?4, class_type = ?5, status = ?6
                 WHERE id = ?1",
            )?
            .execute(params![
                old.id,
                new.title,
                new.school,
                new.code,
                new.class_type,
                new.status
            ])?;
            conn.prepare_cached("DELETE FROM enrollment WHERE class_id = ?1")?
                .execute([old.id])?;
            old.id
        }
        None => {
            conn.prepare_cached(
                "INSERT INTO class (source, sis_id, title, school, code, class_type, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                source,
                sis_id,
                new.title,
                new.school,
                new.code,
                new.class_type,
                new.status
            ])?;
            conn.last_insert_rowid()
        }
    };
    let mut enrol = conn.prepare_cached(
        "INSERT OR REPLACE INTO enrollment (class_id, person_id, role, lead) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for m in new.members.iter().filter(|m| m.person_id != 0) {
        enrol.execute(params![id, m.person_id, m.role.as_str(), m.lead])?;
    }
    let action = match (old, new.status.as_str()) {
        (None, _) => "class.create",
        (Some(o), "removed") if o.state.status != "removed" => "class.remove",
        _ => "class.update",
    };
    let before = old.map(|o| o.state.to_json());
    w.audit(
        action,
        "class",
        &class_key(source, sis_id),
        before.as_deref(),
        Some(&new.to_json()),
    )?;
    Ok(id)
}

/// Deletes a class and its members (a rollback of the import that created
/// it), with its audit entry.
pub fn delete_class(w: &Writer, source: &str, sis_id: &str) -> Result<bool> {
    let conn = w.conn();
    let Some(old) = stored_class(conn, source, sis_id)? else {
        return Ok(false);
    };
    conn.execute("DELETE FROM enrollment WHERE class_id = ?1", [old.id])?;
    conn.execute("DELETE FROM class WHERE id = ?1", [old.id])?;
    w.audit(
        "class.delete",
        "class",
        &class_key(source, sis_id),
        Some(&old.state.to_json()),
        None,
    )?;
    Ok(true)
}

/// Puts a class back as an audit entry held it: its members found again by
/// SIS id among `source`'s people (anyone no longer stored is left out).
pub fn restore_class(w: &Writer, source: &str, sis_id: &str, json: &str) -> Result<()> {
    let conn = w.conn();
    let mut state = ClassState::from_json(json);
    let mut find =
        conn.prepare_cached("SELECT id FROM person WHERE source = ?1 AND sis_id = ?2")?;
    for m in &mut state.members {
        m.person_id = find
            .query_row(params![source, m.sis_id], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
    }
    // Only those still stored: the audit entry says who is in it now.
    state.members.retain(|m| m.person_id != 0);
    let old = stored_class(conn, source, sis_id)?;
    store_class(w, source, sis_id, old.as_ref(), &state)?;
    Ok(())
}

/// Refuses a query whose class or teacher filter names no one, or more
/// than one: a typo in `--class` must not read as "this class has no
/// students", and "7A" must not reach two schools' home groups at once.
pub fn check_filters(conn: &Connection, q: &super::PeopleQuery) -> Result<()> {
    let named = super::query::NAMED;
    let checks = [
        (
            &q.class,
            format!(
                "SELECT source || ':' || sis_id FROM class WHERE {named} AND status = 'active'"
            ),
            "class",
            "`keyroll classes list` shows them",
        ),
        (
            &q.teacher,
            format!("SELECT source || ':' || sis_id FROM person WHERE {named} AND kind = 'staff'"),
            "staff member",
            "`keyroll accounts list --kind staff` shows them",
        ),
    ];
    for (wanted, sql, what, hint) in checks {
        let Some(id) = wanted else { continue };
        let found: Vec<String> = conn
            .prepare(&sql)?
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        match found.len() {
            1 => {}
            0 => {
                return Err(crate::Error::Invalid(format!(
                    "There is no {what} with SIS id \"{id}\": {hint}."
                )))
            }
            _ => {
                return Err(crate::Error::Invalid(format!(
                "{} {what}s have SIS id \"{id}\", from different SIS exports: say which, as {}.",
                found.len(),
                found.join(" or ")
            )))
            }
        }
    }
    Ok(())
}

/// A class as lists show it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ListedClass {
    pub source: String,
    pub sis_id: String,
    pub title: String,
    pub school: String,
    pub code: String,
    pub class_type: String,
    pub students: u64,
    /// Its teachers' names, the lead first.
    pub teachers: Vec<String>,
}

/// Every class the SIS still lists, by title.
pub fn classes(conn: &Connection) -> Result<Vec<ListedClass>> {
    let mut st = conn.prepare(
        "SELECT c.source, c.sis_id, c.title, c.school, c.code, c.class_type,
                (SELECT count(*) FROM enrollment e WHERE e.class_id = c.id AND e.role = 'student'),
                (SELECT json_group_array(n) FROM (
                    SELECT trim(p.given_name || ' ' || p.family_name) AS n
                    FROM enrollment e JOIN person p ON p.id = e.person_id
                    WHERE e.class_id = c.id AND e.role = 'teacher'
                    ORDER BY e.lead DESC, p.sort_key))
         FROM class c WHERE c.status = 'active' ORDER BY c.title, c.code, c.sis_id",
    )?;
    let rows = st.query_map([], |r| {
        let teachers: String = r.get(7)?;
        Ok(ListedClass {
            source: r.get(0)?,
            sis_id: r.get(1)?,
            title: r.get(2)?,
            school: r.get(3)?,
            code: r.get(4)?,
            class_type: r.get(5)?,
            students: r.get(6)?,
            teachers: serde_json::from_str(&teachers).unwrap_or_default(),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A class someone is in, as their panel shows it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PersonClass {
    pub sis_id: String,
    pub title: String,
    pub code: String,
    /// Whether they are in it as a student or a teacher.
    pub role: ClassRole,
    /// The class's teachers' names, the lead first.
    pub teachers: Vec<String>,
}

/// The classes person `id` is in (those the SIS still lists), by title.
pub fn classes_of(conn: &Connection, id: i64) -> Result<Vec<PersonClass>> {
    let mut st = conn.prepare_cached(
        "SELECT c.sis_id, c.title, c.code, e.role,
                (SELECT json_group_array(n) FROM (
                    SELECT trim(p.given_name || ' ' || p.family_name) AS n
                    FROM enrollment t JOIN person p ON p.id = t.person_id
                    WHERE t.class_id = c.id AND t.role = 'teacher'
                    ORDER BY t.lead DESC, p.sort_key))
         FROM enrollment e JOIN class c ON c.id = e.class_id
         WHERE e.person_id = ?1 AND c.status = 'active' ORDER BY c.title, c.code, c.sis_id",
    )?;
    let rows = st.query_map([id], |r| {
        let teachers: String = r.get(4)?;
        Ok(PersonClass {
            sis_id: r.get(0)?,
            title: r.get(1)?,
            code: r.get(2)?,
            role: ClassRole::parse(r.get_ref(3)?.as_str()?),
            teachers: serde_json::from_str(&teachers).unwrap_or_default(),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(role: ClassRole, sis_id: &str, lead: bool) -> Member {
        Member {
            role,
            sis_id: sis_id.into(),
            lead,
            person_id: 0,
        }
    }

    #[test]
    fn the_audit_form_reads_back_as_written() {
        let mut state = ClassState {
            title: "Maths 7B".into(),
            school: "s1".into(),
            code: "7B-MA".into(),
            class_type: "scheduled".into(),
            status: "active".into(),
            members: vec![
                member(ClassRole::Teacher, "t2", false),
                member(ClassRole::Student, "s9", false),
                member(ClassRole::Teacher, "t1", true),
                member(ClassRole::Student, "s1", false),
            ],
        };
        state.sort_members();
        let json = state.to_json();
        assert_eq!(
            json,
            r#"{"title":"Maths 7B","school":"s1","code":"7B-MA","class_type":"scheduled","status":"active","students":["s1","s9"],"teachers":["t1","t2"],"lead":["t1"]}"#
        );
        assert_eq!(ClassState::from_json(&json), state);
    }

    #[test]
    fn someone_stated_twice_is_in_the_class_once_as_last_stated() {
        let mut state = ClassState {
            members: vec![
                member(ClassRole::Student, "p1", false),
                member(ClassRole::Student, "p2", false),
                member(ClassRole::Teacher, "p1", true),
            ],
            ..Default::default()
        };
        state.sort_members();
        assert_eq!(
            state.members,
            vec![
                member(ClassRole::Student, "p2", false),
                member(ClassRole::Teacher, "p1", true),
            ]
        );
    }
}
