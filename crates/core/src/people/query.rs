//! Finding people: the filters every list, batch action and page shares
//! ([`PeopleQuery`]), people as a list shows them ([`ListedPerson`]), and the
//! few columns a batch needs of many ([`Chosen`]).

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::{Kind, Status};
use crate::error::Result;
use crate::text;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PeopleQuery {
    pub kind: Option<Kind>,
    pub status: Option<Status>,
    /// Words that must all appear in a name, email or SIS id (accents and case ignored).
    pub search: Option<String>,
    /// An account state (enabled, disabled, suspended, archived, recycled),
    /// or `none` for people without an account.
    pub state: Option<String>,
    /// Only accounts flagged NEW (not yet signed in, sent a letter or an email).
    pub new: bool,
    /// Only accounts in their state for one of these reasons ("waiting for
    /// review"); empty: any.
    pub reasons: Vec<String>,
    /// The account's group, by name (case ignored).
    pub group: Option<String>,
    /// A school (org SIS id) among the person's schools.
    pub school: Option<String>,
    pub year: Option<String>,
    pub home_group: Option<String>,
    /// The students of a class, by its SIS id.
    pub class: Option<String>,
    /// The students of a teacher's classes, by the teacher's SIS id.
    pub teacher: Option<String>,
    /// Only these people, by SIS id (empty: no such limit).
    pub sis_ids: Vec<String>,
    /// Only these people, by row id (empty: no such limit): the app's
    /// ticked rows, which SIS ids alone may not tell apart.
    pub ids: Vec<i64>,
    pub offset: u64,
    pub limit: Option<u64>,
}

/// The class or staff member a filter names: `SIS_ID`, or `SOURCE:SIS_ID`
/// where two SIS exports use the same id (a home group "7A" at two
/// schools); [`super::check_filters`] refuses an id that is ambiguous.
pub(super) const NAMED: &str = "(sis_id = ?1 OR source || ':' || sis_id = ?1)";

/// The students of the class the one parameter names (only a class's
/// students: a batch action for a class must not reach its teacher).
fn class_students() -> String {
    format!(
        "SELECT person_id FROM enrollment WHERE role = 'student' AND class_id IN (
           SELECT id FROM class WHERE {NAMED} AND status = 'active')"
    )
}

/// The students of the classes taught by the staff member the one parameter
/// names. (Nested `IN`s, so that SQLite seeks the enrollments by class and by
/// person rather than scanning them all.)
fn teacher_students() -> String {
    format!(
        "SELECT person_id FROM enrollment WHERE role = 'student' AND class_id IN (
           SELECT class_id FROM enrollment WHERE role = 'teacher'
             AND person_id IN (SELECT id FROM person WHERE {NAMED} AND kind = 'staff')
             AND class_id IN (SELECT id FROM class WHERE status = 'active'))"
    )
}

impl PeopleQuery {
    fn where_clause(&self) -> (String, Vec<rusqlite::types::Value>) {
        use rusqlite::types::Value;
        let mut sql = String::from(" WHERE 1 = 1");
        let mut args = Vec::new();
        if let Some(k) = self.kind {
            // The sort key's range of the kind: the list index is read from
            // there rather than whole.
            sql.push_str(" AND p.kind = ? AND p.sort_key >= ? AND p.sort_key < ?");
            args.push(Value::Text(k.as_str().into()));
            let rank = k.list_rank();
            args.push(Value::Text(rank.into()));
            args.push(Value::Text(char::from(rank as u8 + 1).into()));
        }
        if let Some(s) = self.status {
            sql.push_str(" AND p.status = ?");
            args.push(Value::Text(s.as_str().into()));
        }
        for word in self.search.as_deref().unwrap_or("").split_whitespace() {
            // Names, email and ids from the list index; usernames from one
            // pass over the (small) account table.
            sql.push_str(
                " AND (instr(p.search, ?) > 0 OR p.id IN
                   (SELECT person_id FROM account WHERE instr(lower(username), ?) > 0))",
            );
            args.push(Value::Text(text::fold(word)));
            args.push(Value::Text(word.to_lowercase()));
        }
        // Account filters pick person ids in one pass over the (small)
        // account table, rather than a lookup per listed person.
        let mut account: Vec<String> = Vec::new();
        match self.state.as_deref() {
            None | Some("none") => {}
            Some(s) => {
                account.push("state = ?".into());
                args.push(Value::Text(s.into()));
            }
        }
        if self.new {
            account.push("instr(',' || flags || ',', ',NEW,') > 0".into());
        }
        if !self.reasons.is_empty() {
            let marks = vec!["?"; self.reasons.len()].join(", ");
            account.push(format!("state_reason IN ({marks})"));
            args.extend(self.reasons.iter().map(|r| Value::Text(r.clone())));
        }
        if let Some(g) = &self.group {
            account.push(
                "group_id = (SELECT id FROM user_group WHERE name = ? COLLATE NOCASE)".into(),
            );
            args.push(Value::Text(g.clone()));
        }
        if self.state.as_deref() == Some("none") {
            sql.push_str(" AND p.id NOT IN (SELECT person_id FROM account)");
        }
        if !account.is_empty() {
            sql.push_str(&format!(
                " AND p.id IN (SELECT person_id FROM account WHERE {})",
                account.join(" AND ")
            ));
        }
        if let Some(s) = &self.school {
            sql.push_str(" AND instr(',' || p.schools || ',', ',' || ? || ',') > 0");
            args.push(Value::Text(s.clone()));
        }
        if let Some(y) = &self.year {
            sql.push_str(" AND p.year_level = ?");
            args.push(Value::Text(y.clone()));
        }
        if let Some(h) = &self.home_group {
            sql.push_str(" AND p.home_group = ?");
            args.push(Value::Text(h.clone()));
        }
        // Students only, by what they are now as well as by their place in
        // the class: an enrollment kept from before must not reach staff.
        if let Some(c) = &self.class {
            let numbered = class_students().replace("?1", "?");
            sql.push_str(&format!(" AND p.kind = 'student' AND p.id IN ({numbered})"));
            args.extend([Value::Text(c.clone()), Value::Text(c.clone())]);
        }
        if let Some(t) = &self.teacher {
            let numbered = teacher_students().replace("?1", "?");
            sql.push_str(&format!(" AND p.kind = 'student' AND p.id IN ({numbered})"));
            args.extend([Value::Text(t.clone()), Value::Text(t.clone())]);
        }
        if !self.sis_ids.is_empty() {
            let marks = vec!["?"; self.sis_ids.len()].join(", ");
            sql.push_str(&format!(" AND p.sis_id IN ({marks})"));
            args.extend(self.sis_ids.iter().map(|s| Value::Text(s.clone())));
        }
        if !self.ids.is_empty() {
            let marks = vec!["?"; self.ids.len()].join(", ");
            sql.push_str(&format!(" AND p.id IN ({marks})"));
            args.extend(self.ids.iter().map(|&i| Value::Integer(i)));
        }
        (sql, args)
    }
}

/// The one person of `kind` with SIS id `sis_id` (from `source`, when
/// given): their row id and source, or why there is not exactly one (two
/// SIS exports may use the same id: then `--source` says which).
pub fn find_one(
    conn: &Connection,
    kind: Kind,
    sis_id: &str,
    source: Option<&str>,
) -> Result<(i64, String)> {
    let found: Vec<(i64, String)> = conn
        .prepare_cached(
            "SELECT id, source FROM person
             WHERE sis_id = ?1 AND kind = ?2 AND (?3 IS NULL OR source = ?3)",
        )?
        .query_map(rusqlite::params![sis_id, kind.as_str(), source], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let word = kind.account_word();
    match <[_; 1]>::try_from(found) {
        Ok([one]) => Ok(one),
        Err(found) if found.is_empty() => Err(crate::Error::Invalid(format!(
            "there is no {word} with SIS id \"{sis_id}\"; `keyroll accounts list --search \
             {sis_id}` finds people"
        ))),
        Err(found) => {
            let sources: Vec<&str> = found.iter().map(|f| f.1.as_str()).collect();
            Err(crate::Error::Invalid(format!(
                "{} {word}s have SIS id \"{sis_id}\", from different SIS exports ({}): say which \
                 with --source",
                found.len(),
                sources.join(", ")
            )))
        }
    }
}

/// One row of `accounts list` and the app's people table.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ListedPerson {
    pub id: i64,
    /// student | staff | parent
    pub kind: &'static str,
    pub sis_id: String,
    pub source: String,
    pub role: String,
    pub given_name: String,
    pub middle_name: String,
    pub family_name: String,
    pub preferred_name: String,
    pub email: String,
    pub status: String,
    pub school: String,
    pub year_level: String,
    pub home_group: String,
    /// For contacts: their students' SIS ids.
    pub children: Vec<String>,
    pub username: Option<String>,
    pub state: Option<String>,
    /// Why the account is in its state ("waiting for review").
    pub reason: Option<String>,
    pub group: Option<String>,
    pub flags: Option<Vec<String>>,
    pub invitation: Option<String>,
}

/// People matching `q`: students, then staff, then contacts, each by family
/// then given name.
pub fn list(conn: &Connection, q: &PeopleQuery) -> Result<Vec<ListedPerson>> {
    let mut out = Vec::new();
    for_each(conn, q, |p| {
        out.push(p);
        Ok(())
    })?;
    Ok(out)
}

/// Like [`list`], one person at a time.
pub fn for_each(
    conn: &Connection,
    q: &PeopleQuery,
    mut f: impl FnMut(ListedPerson) -> Result<()>,
) -> Result<()> {
    let (filter, mut args) = q.where_clause();
    let sql = format!(
        "{} {filter} ORDER BY p.sort_key, p.id LIMIT ? OFFSET ?",
        listed_select("INDEXED BY person_list")
    );
    args.push(rusqlite::types::Value::Integer(
        q.limit.map(|l| l as i64).unwrap_or(-1),
    ));
    args.push(rusqlite::types::Value::Integer(q.offset as i64));
    let mut st = conn.prepare_cached(&sql)?;
    let mut rows = st.query(rusqlite::params_from_iter(args))?;
    while let Some(r) = rows.next()? {
        f(listed(r)?)?;
    }
    Ok(())
}

/// Over this many people, a batch reads what it needs of everyone in one
/// pass in row order instead of asking person by person (which reads the
/// large encrypted rows at random).
pub const BULK_AFTER: usize = 500;

/// Who a batch action chose: the little it needs of each person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chosen {
    pub id: i64,
    pub kind: Kind,
    pub source: String,
    pub sis_id: String,
    pub email: String,
    pub status: Status,
    pub given_name: String,
    pub family_name: String,
    pub preferred_name: String,
}

/// The people `q` chooses, in list order, for a batch action. Following the
/// list index reads each chosen person's (large, encrypted) row at random,
/// which is slow for many people. So the ids come from the index, and when
/// there are many their rows are read in one pass in row order.
pub fn chosen(conn: &Connection, q: &PeopleQuery) -> Result<Vec<Chosen>> {
    let (filter, mut args) = q.where_clause();
    let sql = format!(
        "SELECT p.id FROM person p INDEXED BY person_list {filter}
         ORDER BY p.sort_key, p.id LIMIT ? OFFSET ?"
    );
    args.push(rusqlite::types::Value::Integer(
        q.limit.map(|l| l as i64).unwrap_or(-1),
    ));
    args.push(rusqlite::types::Value::Integer(q.offset as i64));
    let ids: Vec<i64> = conn
        .prepare(&sql)?
        .query_map(rusqlite::params_from_iter(args), |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let read = |r: &rusqlite::Row<'_>| -> rusqlite::Result<Chosen> {
        Ok(Chosen {
            id: r.get(0)?,
            kind: Kind::parse(r.get_ref(1)?.as_str()?).unwrap_or(Kind::Contact),
            sis_id: r.get(2)?,
            status: Status::parse(r.get_ref(3)?.as_str()?).unwrap_or(Status::Active),
            given_name: r.get(4)?,
            family_name: r.get(5)?,
            preferred_name: r.get(6)?,
            source: r.get(7)?,
            email: r.get(8)?,
        })
    };
    const COLUMNS: &str =
        "id, kind, sis_id, status, given_name, family_name, preferred_name, source, email";
    if ids.len() <= BULK_AFTER {
        let mut st = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM person WHERE id = ?1"))?;
        return ids.iter().map(|id| Ok(st.query_row([id], read)?)).collect();
    }
    let place: std::collections::HashMap<i64, usize> =
        ids.iter().enumerate().map(|(i, &id)| (id, i)).collect();
    let mut slots: Vec<Option<Chosen>> = vec![None; ids.len()];
    let mut st = conn.prepare(&format!("SELECT {COLUMNS} FROM person"))?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        if let Some(&at) = place.get(&r.get::<_, i64>(0)?) {
            slots[at] = Some(read(r)?);
        }
    }
    Ok(slots.into_iter().flatten().collect())
}

/// The people with these row ids, in the order given (a page of
/// [`crate::roster::Roster::query`]); ids no longer stored are left out.
pub fn by_ids(conn: &Connection, ids: &[i64]) -> Result<Vec<ListedPerson>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; ids.len()].join(", ");
    let sql = format!("{} WHERE p.id IN ({marks})", listed_select(""));
    let mut st = conn.prepare(&sql)?;
    let mut found: std::collections::HashMap<i64, ListedPerson> =
        std::collections::HashMap::with_capacity(ids.len());
    let mut rows = st.query(rusqlite::params_from_iter(ids))?;
    while let Some(r) = rows.next()? {
        let p = listed(r)?;
        found.insert(p.id, p);
    }
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

/// The columns [`listed`] reads, from `person p` (with `index`, an INDEXED
/// BY clause or nothing) and its account.
fn listed_select(index: &str) -> String {
    format!(
        "SELECT p.id, p.kind, p.sis_id, p.source, p.role, p.given_name, p.family_name,
                p.preferred_name, p.email, p.status, p.schools, p.year_level, p.home_group,
                p.middle_name,
                (SELECT group_concat(s.sis_id, char(31)) FROM relationship r
                   JOIN person s ON s.id = r.student_id WHERE r.contact_id = p.id),
                a.username, a.state, g.name, a.flags, a.invitation, a.state_reason
         FROM person p {index}
         LEFT JOIN account a ON a.person_id = p.id
         LEFT JOIN user_group g ON g.id = a.group_id"
    )
}

fn listed(r: &rusqlite::Row<'_>) -> rusqlite::Result<ListedPerson> {
    let kind: String = r.get(1)?;
    let children: Option<String> = r.get(14)?;
    let flags: Option<String> = r.get(18)?;
    Ok(ListedPerson {
        id: r.get(0)?,
        kind: Kind::parse(&kind).unwrap_or(Kind::Contact).account_word(),
        sis_id: r.get(2)?,
        source: r.get(3)?,
        role: r.get(4)?,
        given_name: r.get(5)?,
        family_name: r.get(6)?,
        preferred_name: r.get(7)?,
        email: r.get(8)?,
        status: r.get(9)?,
        school: r.get(10)?,
        year_level: r.get(11)?,
        home_group: r.get(12)?,
        middle_name: r.get(13)?,
        children: children
            .map(|c| c.split('\u{1f}').map(str::to_owned).collect())
            .unwrap_or_default(),
        username: r.get(15)?,
        state: r.get(16)?,
        group: r.get(17)?,
        flags: flags.map(|f| {
            f.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        }),
        invitation: r.get(19)?,
        reason: r.get(20)?,
    })
}

/// How many people match `q` (ignoring its offset and limit).
pub fn count(conn: &Connection, q: &PeopleQuery) -> Result<u64> {
    let (filter, args) = q.where_clause();
    // Every filter is answered from the list index and the account table.
    let sql = format!("SELECT count(*) FROM person p INDEXED BY person_list {filter}");
    let n: i64 = conn
        .prepare_cached(&sql)?
        .query_row(rusqlite::params_from_iter(args), |r| r.get(0))?;
    Ok(n as u64)
}

/// People per kind, for the dashboard and first-run check.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Totals {
    pub students: u64,
    pub staff: u64,
    pub parents: u64,
}

pub fn totals(conn: &Connection) -> Result<Totals> {
    let mut t = Totals::default();
    let mut st = conn.prepare_cached("SELECT kind, count(*) FROM person GROUP BY kind")?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let n: i64 = r.get(1)?;
        match Kind::parse(&r.get::<_, String>(0)?) {
            Some(Kind::Student) => t.students = n as u64,
            Some(Kind::Staff) => t.staff = n as u64,
            _ => t.parents = n as u64,
        }
    }
    Ok(t)
}
