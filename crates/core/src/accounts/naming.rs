//! Choosing usernames by the policy: a pattern per kind or the SIS email,
//! collisions numbered, unique ignoring case across every account, the
//! recycle bin and the names retired in the last year, never a Windows
//! device name or a blocked word.

use std::collections::{HashMap, HashSet};

use rusqlite::params;
use serde::Serialize;

use super::lifecycle::days_before;
use super::policy::{EmailPart, Numbering, Policy, UsernameRule};
use super::report::display_name;
use super::username::{self, Pattern};
use crate::error::{Error, Result};
use crate::people::{Kind, PersonRecord, RawFields};

/// A username is not given out again this long after its account is gone.
pub const REUSE_AFTER_DAYS: i64 = 365;

/// Usernames not to give out: every account's (in any state, the recycle
/// bin too) and those retired less than a year ago, lower-cased.
pub(super) fn taken_usernames(conn: &rusqlite::Connection, now: &str) -> Result<HashSet<String>> {
    let mut taken = HashSet::new();
    let mut st = conn.prepare("SELECT lower(username) FROM account")?;
    for u in st.query_map([], |r| r.get::<_, String>(0))? {
        taken.insert(u?);
    }
    let cutoff = days_before(now, REUSE_AFTER_DAYS);
    let mut st =
        conn.prepare("SELECT lower(username) FROM retired_username WHERE retired_at > ?1")?;
    for u in st.query_map([cutoff], |r| r.get::<_, String>(0))? {
        taken.insert(u?);
    }
    Ok(taken)
}

/// Picks usernames by the policy, avoiding `taken` (and adding each pick).
pub(super) struct Namer<'a> {
    policy: &'a Policy,
    patterns: HashMap<Kind, Pattern>,
    taken: HashSet<String>,
    blocked: HashSet<String>,
    /// The last number given for each username base: a school with 70
    /// Emily Smiths must not try 2, 3… 69 again for the 70th.
    last_number: HashMap<String, u32>,
}

impl<'a> Namer<'a> {
    pub(super) fn new(policy: &'a Policy, taken: HashSet<String>) -> Result<Namer<'a>> {
        let mut patterns = HashMap::new();
        for kind in [Kind::Student, Kind::Staff, Kind::Contact] {
            if let UsernameRule::Pattern(p) = &policy.for_kind(kind).username {
                let parsed = Pattern::parse(p).map_err(Error::Invalid)?;
                patterns.insert(kind, parsed);
            }
        }
        let blocked = policy
            .blocklist
            .iter()
            .map(|b| b.trim().to_lowercase())
            .collect();
        Ok(Namer {
            policy,
            patterns,
            taken,
            blocked,
            last_number: HashMap::new(),
        })
    }

    /// The kinds whose pattern names a raw SIS column (the large raw
    /// fields need reading only for them).
    pub(super) fn kinds_needing_raw(&self) -> HashSet<Kind> {
        self.patterns
            .iter()
            .filter(|(_, p)| p.needs_raw())
            .map(|(k, _)| *k)
            .collect()
    }

    pub(super) fn free(&self, u: &str) -> bool {
        let lower = u.to_lowercase();
        !self.taken.contains(&lower) && !self.blocked.contains(&lower) && !username::is_reserved(u)
    }

    /// A username for `p`, or why there is none.
    pub(super) fn pick(
        &mut self,
        kind: Kind,
        p: &PersonRecord,
    ) -> std::result::Result<String, String> {
        let chosen = match &self.policy.for_kind(kind).username {
            UsernameRule::Email(part) => self.by_email(*part, p)?,
            UsernameRule::Pattern(_) => self.by_pattern(kind, p)?,
        };
        self.taken.insert(chosen.to_lowercase());
        Ok(chosen)
    }

    fn by_email(&self, part: EmailPart, p: &PersonRecord) -> std::result::Result<String, String> {
        let max = self.policy.max_length;
        let email = p.email.trim().to_lowercase();
        if email.is_empty() {
            return Err("no email in the SIS, and usernames are the SIS email".into());
        }
        let u = match part {
            EmailPart::WithDomain => email,
            EmailPart::WithoutDomain => email.split('@').next().unwrap_or("").to_owned(),
        };
        if u.chars().count() > max {
            return Err(format!("\"{u}\" is longer than {max} characters"));
        }
        if !self.free(&u) {
            return Err(format!("the username \"{u}\" is taken"));
        }
        Ok(u)
    }

    fn by_pattern(&mut self, kind: Kind, p: &PersonRecord) -> std::result::Result<String, String> {
        let (max, spelling) = (self.policy.max_length, &self.policy.spelling);
        let pattern = &self.patterns[&kind];
        let first = match self.policy.numbering {
            Numbering::BlankThenTwo => None,
            Numbering::Always => Some(1),
        };
        let base = pattern.render(p, None, spelling, max)?;
        let mut n = match self.last_number.get(&base) {
            Some(&k) => Some(k + 1),
            None => first,
        };
        let chosen = loop {
            // Unnumbered, it is the base already rendered.
            let u = match n {
                None => base.clone(),
                n => pattern.render(p, n, spelling, max)?,
            };
            if self.free(&u) {
                break u;
            }
            n = Some(match n {
                None => 2,
                Some(k) if k >= 9999 => return Err(format!("every numbered \"{u}\" is taken")),
                Some(k) => k + 1,
            });
        };
        if let Some(k) = n {
            self.last_number.insert(base, k);
        }
        Ok(chosen)
    }
}

/// A username a pattern would give one person, for the Settings screen's
/// live examples.
#[derive(Clone, Debug, Serialize)]
pub struct Example {
    pub name: String,
    pub username: Option<String>,
    /// Why there would be no username.
    pub problem: Option<String>,
}

/// What `policy` would name the first `n` people of `kind` (in list order),
/// from the school's own data. Nothing is written.
pub fn examples(
    conn: &rusqlite::Connection,
    policy: &Policy,
    kind: Kind,
    n: usize,
) -> Result<Vec<Example>> {
    let mut namer = Namer::new(policy, HashSet::new())?;
    let mut st = conn.prepare(
        "SELECT sis_id, given_name, middle_name, family_name, preferred_name, email, year_level,
                home_group, raw
         FROM person INDEXED BY person_list WHERE kind = ?1 AND status IN ('active', 'future')
         ORDER BY sort_key, id LIMIT ?2",
    )?;
    let mut rows = st.query(params![kind.as_str(), n as i64])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let p = PersonRecord {
            sis_id: r.get(0)?,
            given_name: r.get(1)?,
            middle_name: r.get(2)?,
            family_name: r.get(3)?,
            preferred_name: r.get(4)?,
            email: r.get(5)?,
            year_level: r.get(6)?,
            home_group: r.get(7)?,
            raw: RawFields::from_json(r.get(8)?),
            kind: Some(kind),
            ..Default::default()
        };
        let (username, problem) = match namer.pick(kind, &p) {
            Ok(u) => (Some(u), None),
            Err(why) => (None, Some(why)),
        };
        out.push(Example {
            name: display_name(&p.preferred_name, &p.given_name, &p.family_name),
            username,
            problem,
        });
    }
    Ok(out)
}
