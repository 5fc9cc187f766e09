//! Who gets a letter: the chosen people's accounts (or, one per family, the
//! parents of the chosen students), with everything a merge field needs,
//! and who does not, with the reason.

use std::collections::{HashMap, HashSet};

use rusqlite::Connection;
use serde::Serialize;

use crate::accounts::lifecycle::{Flags, State};
use crate::accounts::policy::{self, Credential};
use crate::accounts::{display_name, key};
use crate::error::Result;
use crate::people::{self, Kind, PeopleQuery, PersonClass, RawFields};

/// One letter per account, or one per parent for the chosen students'
/// families.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Per {
    #[default]
    Account,
    Family,
}

/// A child as their parent's letter lists them.
#[derive(Clone, Debug, Serialize)]
pub struct Child {
    pub name: String,
    /// Empty when the child has no account yet.
    pub username: String,
    pub year: String,
    pub home_group: String,
}

/// An account a letter, slip or list line is for.
#[derive(Clone, Debug, Serialize)]
pub struct Recipient {
    pub person_id: i64,
    pub kind: Kind,
    /// The account's audit key.
    pub key: String,
    pub sis_id: String,
    pub username: String,
    /// NEW: never handed out, so a letter gives it a fresh secret.
    pub new: bool,
    /// What its kind's policy hands out.
    pub credential: Credential,
    pub given_name: String,
    pub family_name: String,
    pub preferred_name: String,
    pub email: String,
    pub year: String,
    pub home_group: String,
    pub group: String,
    #[serde(skip)]
    pub raw: RawFields,
    pub classes: Vec<PersonClass>,
    pub children: Vec<Child>,
    /// The class list a class-list run prints them on.
    #[serde(skip)]
    pub list_group: String,
}

impl Recipient {
    /// Their preferred name, or their given name when the SIS has none.
    pub fn first_name(&self) -> &str {
        if self.preferred_name.is_empty() {
            &self.given_name
        } else {
            &self.preferred_name
        }
    }

    /// The name a letter greets them by.
    pub fn name(&self) -> String {
        display_name(&self.preferred_name, &self.given_name, &self.family_name)
    }

    /// Every name printed on their letter (theirs and their children's):
    /// what must be printable.
    pub fn printed_names(&self) -> impl Iterator<Item = &str> {
        [
            self.given_name.as_str(),
            self.family_name.as_str(),
            self.preferred_name.as_str(),
        ]
        .into_iter()
        .chain(self.children.iter().map(|c| c.name.as_str()))
    }
}

/// Someone chosen who gets no letter, and why.
#[derive(Clone, Debug, Serialize)]
pub struct Skipped {
    pub sis_id: String,
    pub name: String,
    pub kind: Kind,
    pub reason: String,
}

/// The letters' recipients, in list order, and those left out.
#[derive(Default)]
pub struct Recipients {
    pub recipients: Vec<Recipient>,
    pub skipped: Vec<Skipped>,
}

/// The recipients `query` chooses, one per account or per family.
pub fn recipients(conn: &Connection, query: &PeopleQuery, per: Per) -> Result<Recipients> {
    let chosen = people::chosen(conn, query)?;
    let mut out = Recipients::default();
    let mut ids: Vec<i64> = Vec::with_capacity(chosen.len());
    let mut seen = HashSet::new();
    let parents = match per {
        Per::Family => parents_of(conn, &chosen.iter().map(|c| c.id).collect::<Vec<_>>())?,
        Per::Account => HashMap::new(),
    };
    for c in &chosen {
        let skip = |reason: &str| Skipped {
            sis_id: c.sis_id.clone(),
            name: display_name(&c.preferred_name, &c.given_name, &c.family_name),
            kind: c.kind,
            reason: reason.into(),
        };
        match (per, c.kind) {
            (Per::Account, _) | (Per::Family, Kind::Contact) => {
                if seen.insert(c.id) {
                    ids.push(c.id);
                }
            }
            (Per::Family, Kind::Staff) => out.skipped.push(skip("staff have no family letter")),
            (Per::Family, Kind::Student) => match parents.get(&c.id) {
                Some(ps) => ids.extend(ps.iter().filter(|p| seen.insert(**p))),
                None => out.skipped.push(skip(
                    "no parent or carer with parental responsibility and an account (access-restricted contacts are never sent one)",
                )),
            },
        }
    }
    let policy = policy::load(conn)?;
    let mut rows = rows_of(conn, &ids)?;
    for id in ids {
        let Some(r) = rows.remove(&id) else {
            continue;
        };
        match r {
            Row::Skipped(s) => out.skipped.push(s),
            Row::Ready(mut rec) => {
                rec.credential = policy.for_kind(rec.kind).credential;
                rec.classes = people::classes_of(conn, rec.person_id)?;
                if rec.kind == Kind::Contact {
                    rec.children = children_of(conn, rec.person_id)?;
                }
                out.recipients.push(*rec);
            }
        }
    }
    Ok(out)
}

enum Row {
    /// No account, or one that is not enabled.
    Skipped(Skipped),
    Ready(Box<Recipient>),
}

/// People's rows and accounts, by id, in one pass.
fn rows_of(conn: &Connection, ids: &[i64]) -> Result<HashMap<i64, Row>> {
    let mut st = conn.prepare(
        "SELECT p.id, p.kind, p.source, p.sis_id, p.given_name, p.family_name, p.preferred_name,
                p.email, p.year_level, p.home_group, p.raw,
                a.username, a.state, a.flags, coalesce(g.name, '')
         FROM person p LEFT JOIN account a ON a.person_id = p.id
              LEFT JOIN user_group g ON g.id = a.group_id
         WHERE p.id IN (SELECT value FROM json_each(?1))",
    )?;
    let list = serde_json::to_string(ids).expect("ids serialise");
    let mut rows = st.query([list])?;
    let mut out = HashMap::with_capacity(ids.len());
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let kind = Kind::parse(r.get_ref(1)?.as_str()?).unwrap_or(Kind::Student);
        let source: String = r.get(2)?;
        let sis_id: String = r.get(3)?;
        let (given_name, family_name, preferred_name): (String, String, String) =
            (r.get(4)?, r.get(5)?, r.get(6)?);
        let skipped = |reason: String| Skipped {
            sis_id: sis_id.clone(),
            name: display_name(&preferred_name, &given_name, &family_name),
            kind,
            reason,
        };
        let username: Option<String> = r.get(11)?;
        let Some(username) = username else {
            out.insert(
                id,
                Row::Skipped(skipped("no account yet: generate accounts first".into())),
            );
            continue;
        };
        let state = State::parse(r.get_ref(12)?.as_str()?).unwrap_or(State::Disabled);
        if state != State::Enabled {
            let why = match state {
                State::Disabled => "the account is disabled (a parent waiting for review, or a leaver): enable it first",
                State::Suspended => "the account is suspended",
                State::Archived => "the account is archived",
                _ => "the account is in the recycle bin",
            };
            out.insert(id, Row::Skipped(skipped(why.into())));
            continue;
        }
        let flags = Flags::parse(r.get_ref(13)?.as_str()?);
        out.insert(
            id,
            Row::Ready(Box::new(Recipient {
                person_id: id,
                kind,
                key: key(kind, &source, &sis_id),
                sis_id: sis_id.clone(),
                username,
                new: flags.new,
                credential: Credential::InitialPassword,
                email: r.get(7)?,
                year: r.get(8)?,
                home_group: r.get(9)?,
                raw: RawFields::from_json(r.get(10)?),
                group: r.get(14)?,
                given_name,
                family_name,
                preferred_name,
                classes: vec![],
                children: vec![],
                list_group: String::new(),
            })),
        );
    }
    Ok(out)
}

/// The contacts each student's family letters go to: those linked to them
/// with parental responsibility and an account, never over an
/// access-restricted link (an emergency contact is not sent a child's
/// account, even one who is a parent of another child).
fn parents_of(conn: &Connection, students: &[i64]) -> Result<HashMap<i64, Vec<i64>>> {
    let mut st = conn.prepare(
        "SELECT r.student_id, r.contact_id FROM relationship r
         JOIN person c ON c.id = r.contact_id
         WHERE r.student_id IN (SELECT value FROM json_each(?1))
           AND r.access_restricted = 0 AND r.parental_responsibility = 1
           AND r.contact_id IN (SELECT person_id FROM account)
         ORDER BY r.student_id, r.primary_contact DESC, c.sort_key, c.id",
    )?;
    let list = serde_json::to_string(students).expect("ids serialise");
    let mut out: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut rows = st.query([list])?;
    while let Some(r) = rows.next()? {
        out.entry(r.get(0)?).or_default().push(r.get(1)?);
    }
    Ok(out)
}

/// A contact's children as their letter lists them: every student they
/// have parental responsibility for, except over an access-restricted link,
/// and not those who left.
fn children_of(conn: &Connection, contact: i64) -> Result<Vec<Child>> {
    let mut st = conn.prepare_cached(
        "SELECT p.preferred_name, p.given_name, p.family_name, coalesce(a.username, ''),
                p.year_level, p.home_group
         FROM relationship r JOIN person p ON p.id = r.student_id
              LEFT JOIN account a ON a.person_id = p.id AND a.state = 'enabled'
         WHERE r.contact_id = ?1 AND r.access_restricted = 0 AND r.parental_responsibility = 1
           AND p.status IN ('active', 'future', 'leaving')
         ORDER BY p.birth_date, p.sort_key, p.id",
    )?;
    let rows = st.query_map([contact], |r| {
        Ok(Child {
            name: display_name(
                r.get_ref(0)?.as_str()?,
                r.get_ref(1)?.as_str()?,
                r.get_ref(2)?.as_str()?,
            ),
            username: r.get(3)?,
            year: r.get(4)?,
            home_group: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
