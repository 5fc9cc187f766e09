//! What the links say about people ([`Links`]), read from the database for
//! [`super::lifecycle`]: for everyone in one pass over the (small) link
//! table, or for one person at a time.

use std::collections::HashMap;

use super::lifecycle::Links;
use crate::error::Result;
use crate::people::Status;

/// One link as the rules read it.
struct Link {
    student: i64,
    contact: i64,
    responsible: bool,
    primary: bool,
    access_restricted: bool,
    no_reports: bool,
}

const SELECT: &str = "SELECT r.student_id, r.contact_id, r.parental_responsibility,
        r.primary_contact, r.access_restricted, r.no_reports";

fn link(r: &rusqlite::Row<'_>) -> rusqlite::Result<Link> {
    Ok(Link {
        student: r.get(0)?,
        contact: r.get(1)?,
        responsible: r.get(2)?,
        primary: r.get(3)?,
        access_restricted: r.get(4)?,
        no_reports: r.get(5)?,
    })
}

/// Adds what `l` says to its student's and contact's links; `current`:
/// whether its student is at the school.
fn add(out: &mut HashMap<i64, Links>, l: &Link, current: bool) {
    let c = out.entry(l.contact).or_default();
    c.linked = true;
    if l.responsible {
        c.responsible = true;
        c.responsible_primary |= l.primary;
        c.current_children += u32::from(current);
    }
    c.access_restricted |= l.access_restricted;
    c.no_reports |= l.no_reports;
    out.entry(l.student).or_default().access_restricted |= l.access_restricted;
}

/// Everyone's links, by person row id; `current` tells whether a student
/// (by row id) is at the school. (Statuses come from the caller, who has
/// read everyone already: joining here would read the rows again.)
pub(super) fn everyone(
    conn: &rusqlite::Connection,
    current: impl Fn(i64) -> bool,
) -> Result<HashMap<i64, Links>> {
    let mut out = HashMap::new();
    let mut st = conn.prepare(&format!("{SELECT} FROM relationship r"))?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let l = link(r)?;
        let current = current(l.student);
        add(&mut out, &l, current);
    }
    Ok(out)
}

/// One person's links (as student or contact), with their students'
/// statuses: for a batch of a few people, where a pass over everyone would
/// cost more than it saves.
pub(super) fn of_person(conn: &rusqlite::Connection, id: i64) -> Result<Links> {
    let mut st = conn.prepare_cached(&format!(
        "{SELECT}, s.status FROM relationship r JOIN person s ON s.id = r.student_id
         WHERE r.contact_id = ?1 OR r.student_id = ?1"
    ))?;
    let mut out = HashMap::new();
    let mut rows = st.query([id])?;
    while let Some(r) = rows.next()? {
        let l = link(r)?;
        let current = Status::parse(r.get_ref(6)?.as_str()?).is_some_and(Status::is_current);
        add(&mut out, &l, current);
    }
    Ok(out.remove(&id).unwrap_or_default())
}
