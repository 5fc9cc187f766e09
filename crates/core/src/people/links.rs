//! The links between students and their contacts (parents, guardians,
//! relatives), and what each says about the contact: parental
//! responsibility, primary contact, access restriction (AR), no reports (NR).

use rusqlite::{params, Connection};

use crate::error::Result;
use crate::store::Writer;

/// A student–contact link and what it says about the contact.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkAttrs {
    pub family_code: String,
    pub primary_family: bool,
    pub parental_responsibility: bool,
    pub primary_contact: bool,
    pub access_restricted: bool,
    pub no_reports: bool,
}

impl LinkAttrs {
    /// Reads the audit form back (flags not named are unset).
    pub fn from_json(s: &str) -> LinkAttrs {
        let v: serde_json::Value = serde_json::from_str(s).unwrap_or_default();
        let flag = |k: &str| {
            v.get(k)
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false)
        };
        LinkAttrs {
            family_code: v
                .get("family_code")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            primary_family: flag("primary_family"),
            parental_responsibility: flag("parental_responsibility"),
            primary_contact: flag("primary_contact"),
            access_restricted: flag("access_restricted"),
            no_reports: flag("no_reports"),
        }
    }

    /// Appends the audit form's members, each after a comma
    /// (`,"family_code":"F1","parental_responsibility":true`), for a grouped
    /// creation entry: the same as [`LinkAttrs::to_json`] spells them.
    pub(super) fn push_members(&self, out: &mut String) {
        if !self.family_code.is_empty() {
            out.push_str(",\"family_code\":");
            crate::audit::push_json_string(out, &self.family_code);
        }
        for (name, set) in self.flags() {
            if set {
                out.push_str(",\"");
                out.push_str(name);
                out.push_str("\":true");
            }
        }
    }

    fn flags(&self) -> [(&'static str, bool); 5] {
        [
            ("primary_family", self.primary_family),
            ("parental_responsibility", self.parental_responsibility),
            ("primary_contact", self.primary_contact),
            ("access_restricted", self.access_restricted),
            ("no_reports", self.no_reports),
        ]
    }

    /// The audit form: the family code if any, then the flags that are set.
    fn to_json(&self) -> String {
        let mut m = serde_json::Map::new();
        if !self.family_code.is_empty() {
            m.insert("family_code".into(), self.family_code.clone().into());
        }
        for (name, set) in self.flags() {
            if set {
                m.insert(name.into(), true.into());
            }
        }
        serde_json::Value::Object(m).to_string()
    }
}

/// Every stored link, in (student, contact) order: the table's own, so an
/// import compares them with the links its files state (sorted the same
/// way) in one merge, not a map of them all.
pub fn links_of(conn: &Connection) -> Result<Vec<((i64, i64), LinkAttrs)>> {
    // One pass over the (small) link table, filtered by the caller: a join
    // from each of a source's people to their links sought the link table
    // once per person, holding a re-import up before it could compare
    // anyone.
    let mut st = conn.prepare(
        "SELECT student_id, contact_id, family_code, primary_family, parental_responsibility,
                primary_contact, access_restricted, no_reports
         FROM relationship ORDER BY student_id, contact_id",
    )?;
    let mut out = Vec::with_capacity(conn.query_row(
        "SELECT count(*) FROM relationship",
        [],
        |r| r.get::<_, i64>(0),
    )? as usize);
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        out.push((
            (r.get(0)?, r.get(1)?),
            LinkAttrs {
                family_code: r.get(2)?,
                primary_family: r.get(3)?,
                parental_responsibility: r.get(4)?,
                primary_contact: r.get(5)?,
                access_restricted: r.get(6)?,
                no_reports: r.get(7)?,
            },
        ));
    }
    Ok(out)
}

/// Creates, changes (`old` is Some) or removes (`new` is None) one link, audited.
pub fn set_link(
    w: &Writer,
    pair: (i64, i64),
    old: Option<&LinkAttrs>,
    new: Option<&LinkAttrs>,
) -> Result<()> {
    write_link(w, pair, new)?;
    let action = match (old, new) {
        (None, _) => "relationship.create",
        (Some(_), Some(_)) => "relationship.update",
        (Some(_), None) => "relationship.delete",
    };
    Ok(w.audit(
        action,
        "relationship",
        &link_key(pair),
        old.map(LinkAttrs::to_json).as_deref(),
        new.map(LinkAttrs::to_json).as_deref(),
    )?)
}

/// A link's audit key: `student id-contact id`.
pub fn link_key((student, contact): (i64, i64)) -> String {
    format!("{student}-{contact}")
}

/// Links a contact created in the same transaction to a student. Its audit
/// record is one of the import's grouped entries ([`super::CreatedLinks`]),
/// not an entry of its own.
pub fn link_new_contact(w: &Writer, pair: (i64, i64), attrs: &LinkAttrs) -> Result<()> {
    // A new contact has no links yet: a plain INSERT (a first import makes
    // nearly every link this way), not the upsert.
    insert_link(w, link_insert!(), pair, attrs)
}

fn write_link(w: &Writer, pair: (i64, i64), new: Option<&LinkAttrs>) -> Result<()> {
    match new {
        Some(a) => insert_link(
            w,
            concat!(
                link_insert!(),
                " ON CONFLICT (student_id, contact_id) DO UPDATE SET family_code = ?3,
                    primary_family = ?4, parental_responsibility = ?5, primary_contact = ?6,
                    access_restricted = ?7, no_reports = ?8"
            ),
            pair,
            a,
        ),
        None => {
            w.conn()
                .prepare_cached(
                    "DELETE FROM relationship WHERE student_id = ?1 AND contact_id = ?2",
                )?
                .execute([pair.0, pair.1])?;
            Ok(())
        }
    }
}

/// A link's INSERT with 8 parameters.
macro_rules! link_insert {
    () => {
        "INSERT INTO relationship (student_id, contact_id, family_code, primary_family,
            parental_responsibility, primary_contact, access_restricted, no_reports)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    };
}
use link_insert;

/// Runs `sql`, a [`link_insert!`] (or an upsert built on it), for one link.
fn insert_link(
    w: &Writer,
    sql: &str,
    (student_id, contact_id): (i64, i64),
    a: &LinkAttrs,
) -> Result<()> {
    w.conn().prepare_cached(sql)?.execute(params![
        student_id,
        contact_id,
        a.family_code,
        a.primary_family,
        a.parental_responsibility,
        a.primary_contact,
        a.access_restricted,
        a.no_reports
    ])?;
    Ok(())
}

/// Whether an SIS role gives a contact parental responsibility (a relative
/// or emergency contact does not).
pub fn has_parental_responsibility(role: &str) -> bool {
    // Asked for every person of an import: compared in place, not lowered
    // into a new string each time.
    // A list ("teacher,parent": a staff member who is a parent too) counts
    // if any of its roles does.
    role.split(',').any(|role| {
        let role = role.trim();
        [
            "parent",
            "guardian",
            "mother",
            "father",
            "carer",
            "legal guardian",
            "legalguardian",
        ]
        .iter()
        .any(|r| role.eq_ignore_ascii_case(r))
    })
}
