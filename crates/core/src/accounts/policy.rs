//! The school's account policy: set once, stored in the database (audited),
//! exported and imported as a JSON file.

use serde::{Deserialize, Serialize};

use super::username::{Pattern, Spelling};
use std::path::Path;

use crate::error::{Error, Result};
use crate::output::{self, FileKind};
use crate::people::Kind;
use crate::store::Writer;

/// Where a kind's usernames come from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum UsernameRule {
    /// A pattern such as `{first}.{last}`.
    Pattern(String),
    /// The SIS email, whole or without its domain. No collision handling:
    /// a missing or taken email is reported and no account is made.
    Email(EmailPart),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailPart {
    WithDomain,
    WithoutDomain,
}

/// How a person first signs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Credential {
    /// A password on their letter, changed at first sign-in.
    InitialPassword,
    /// A single-use activation link or QR code with an expiry date.
    Activation,
}

/// The policy for one kind of account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindPolicy {
    pub username: UsernameRule,
    /// The group new accounts of this kind join.
    pub group: String,
    pub credential: Credential,
    /// Days an activation link stays valid.
    #[serde(default = "default_activation_days")]
    pub activation_days: u32,
}

fn default_activation_days() -> u32 {
    14
}

/// Collision numbering: `jo.lee`, `jo.lee2`, `jo.lee3`… or `jo.lee1`, `jo.lee2`…
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Numbering {
    #[default]
    BlankThenTwo,
    Always,
}

/// Which contacts with parental responsibility and an email get an account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParentContacts {
    #[default]
    All,
    PrimaryOnly,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordPolicy {
    pub min_length: usize,
    /// Upper, lower, digit and symbol each at least once.
    pub all_classes: bool,
    /// Words joined by hyphens instead of random characters.
    pub passphrase: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_length: 10,
            all_classes: true,
            passphrase: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    pub students: KindPolicy,
    pub staff: KindPolicy,
    pub parents: KindPolicy,
    pub spelling: Spelling,
    pub numbering: Numbering,
    /// Longest username (20 is the limit of Windows sign-in names).
    pub max_length: usize,
    /// Usernames never given out (besides Windows' reserved device names).
    pub blocklist: Vec<String>,
    pub parent_contacts: ParentContacts,
    /// Days a leaver's disabled account waits before the recycle bin.
    pub recycle_after_days: u32,
    pub passwords: PasswordPolicy,
}

impl Default for Policy {
    fn default() -> Self {
        let kind = |pattern: &str, group: &str, credential| KindPolicy {
            username: UsernameRule::Pattern(pattern.into()),
            group: group.into(),
            credential,
            activation_days: default_activation_days(),
        };
        Policy {
            students: kind("{first}.{last}", "Students", Credential::InitialPassword),
            staff: kind("{first:1}{last}", "Staff", Credential::InitialPassword),
            parents: kind("p.{last}{first:1}", "Parents", Credential::Activation),
            spelling: Spelling::default(),
            numbering: Numbering::default(),
            max_length: 20,
            blocklist: [
                "admin",
                "administrator",
                "root",
                "guest",
                "support",
                "office",
                "test",
            ]
            .map(String::from)
            .to_vec(),
            parent_contacts: ParentContacts::default(),
            recycle_after_days: 90,
            passwords: PasswordPolicy::default(),
        }
    }
}

/// The least strength a policy's passwords may have, in bits.
pub const MIN_BITS: f64 = 50.0;

impl From<&Policy> for super::lifecycle::Rules {
    fn from(p: &Policy) -> Self {
        super::lifecycle::Rules {
            parent_contacts: p.parent_contacts,
            recycle_after_days: p.recycle_after_days,
        }
    }
}

/// Fields a password must never be built from: anyone who knows the child
/// knows them.
const PERSONAL: &[&str] = &[
    "birth", "dob", "first", "last", "given", "family", "name", "id", "year", "email",
];

impl Policy {
    pub fn for_kind(&self, kind: Kind) -> &KindPolicy {
        match kind {
            Kind::Student => &self.students,
            Kind::Staff => &self.staff,
            Kind::Contact => &self.parents,
        }
    }

    /// Checks the policy makes sense; every problem, in plain words.
    pub fn check(&self) -> std::result::Result<(), Vec<String>> {
        let mut problems = Vec::new();
        for (what, k) in [
            ("students", &self.students),
            ("staff", &self.staff),
            ("parents", &self.parents),
        ] {
            if let UsernameRule::Pattern(p) = &k.username {
                if let Err(e) = Pattern::parse(p) {
                    problems.push(format!("{what}' username pattern {e}"));
                }
            }
            if k.group.trim().is_empty() {
                problems.push(format!("{what} need a group"));
            }
            if k.activation_days == 0 {
                problems.push(format!("{what}' activation links must last at least a day"));
            }
        }
        if !(6..=64).contains(&self.max_length) {
            problems.push("the longest username must be between 6 and 64 characters".into());
        }
        // Passphrases too: a short one is a weak one.
        if self.passwords.min_length < 10 {
            problems.push("passwords must be at least 10 characters".into());
        }
        let bits = super::password::strength(&self.passwords).in_force;
        if bits < MIN_BITS {
            problems.push(format!(
                "these passwords would carry {bits:.0} bits; at least {MIN_BITS:.0} are needed \
                 (make them longer, or use every kind of character)"
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Reads the policy file at `path` (see [`Policy::from_json`]).
    pub fn from_file(path: &Path) -> Result<Policy> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Policy::from_json(&text, &path.display().to_string())
    }

    /// Reads a policy file (JSON), refusing a password pattern built from
    /// personal data with the reason.
    pub fn from_json(text: &str, origin: &str) -> Result<Policy> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            Error::Invalid(format!(
                "{origin}:{}:{}: this is not a Keyroll account policy: {e}",
                e.line(),
                e.column()
            ))
        })?;
        if let Some(pattern) = value
            .get("passwords")
            .and_then(|p| p.get("pattern"))
            .and_then(|p| p.as_str())
        {
            let lower = pattern.to_ascii_lowercase();
            if let Some(word) = PERSONAL.iter().find(|w| lower.contains(*w)) {
                return Err(Error::Invalid(format!(
                    "{origin}: the password pattern \"{pattern}\" is built from personal data \
                     ({word}): anyone who knows the child could guess it. Keyroll makes random \
                     passwords (or passphrases) from the computer's secure random source instead; \
                     remove the pattern."
                )));
            }
            return Err(Error::Invalid(format!(
                "{origin}: password patterns are not supported; Keyroll makes random passwords \
                 (or passphrases with \"passphrase\": true). Remove the pattern."
            )));
        }
        let policy: Policy = serde_json::from_value(value).map_err(|e| {
            Error::Invalid(format!(
                "{origin}: this is not a Keyroll account policy: {e}"
            ))
        })?;
        policy
            .check()
            .map_err(|p| Error::Invalid(format!("{origin}: {}", p.join("; "))))?;
        Ok(policy)
    }
}

/// What a policy file is, for [`crate::output::check`]: JSON, whose first
/// line (a brace) says little, so [`export`] also reads a file already there.
pub const FILE: FileKind = FileKind {
    name: "account policy",
    header: "{",
    replaces: true,
};

/// Saves `policy` as a file at `path`, to keep or to give another school's
/// Keyroll. It replaces only an earlier policy file: never the database at
/// `database`, nor any other file that happens to start with a brace.
pub fn export(path: &Path, policy: &Policy, database: &Path) -> Result<()> {
    match std::fs::read(path) {
        Ok(bytes) if !bytes.is_empty() && serde_json::from_slice::<Policy>(&bytes).is_err() => {
            return Err(Error::Invalid(format!(
                "{} already exists and is not a Keyroll account policy, so it was left as it \
                 is; choose a new file name",
                path.display()
            )));
        }
        _ => {}
    }
    let text = serde_json::to_string_pretty(policy).expect("a policy serialises");
    output::write(path, FILE, database, |out| {
        out.write_all(text.as_bytes())
            .and_then(|()| out.write_all(b"\n"))
            .map_err(|e| Error::io(path, e))
    })
}

/// The stored policy, or the defaults if none was saved yet.
pub fn load(conn: &rusqlite::Connection) -> Result<Policy> {
    use rusqlite::OptionalExtension;
    let text: Option<String> = conn
        .query_row("SELECT value FROM setting WHERE key = 'policy'", [], |r| {
            r.get(0)
        })
        .optional()?;
    match text {
        // As saved, without today's checks: a policy saved under an older
        // rule must not lock the office out of every account (it is checked
        // again when it is next saved).
        Some(t) => serde_json::from_str(&t).map_err(|e| {
            Error::Invalid(format!(
                "the stored account policy cannot be read ({e}); set one again with \
                 `keyroll accounts policy set FILE` or in Settings"
            ))
        }),
        None => Ok(Policy::default()),
    }
}

/// Saves the policy, audited with before and after. Saving it unchanged
/// writes nothing.
pub fn save(w: &Writer, policy: &Policy) -> Result<bool> {
    policy.check().map_err(|p| Error::Invalid(p.join("; ")))?;
    let before = serde_json::to_string(&load(w.conn())?).expect("a policy serialises");
    let after = serde_json::to_string(policy).expect("a policy serialises");
    if before == after {
        return Ok(false);
    }
    w.conn().execute(
        "INSERT INTO setting (key, value) VALUES ('policy', ?1)
         ON CONFLICT (key) DO UPDATE SET value = ?1",
        [&after],
    )?;
    w.audit(
        "policy.update",
        "policy",
        "accounts",
        Some(&before),
        Some(&after),
    )?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_round_trip() {
        let p = Policy::default();
        assert_eq!(p.check(), Ok(()));
        let text = serde_json::to_string_pretty(&p).unwrap();
        assert_eq!(Policy::from_json(&text, "x").unwrap(), p);
    }

    #[test]
    fn personal_password_patterns_are_refused_with_the_reason() {
        let text = r#"{ "passwords": { "pattern": "{first}{birth_date}" } }"#;
        let err = Policy::from_json(text, "policy.json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("built from personal data (birth)"), "{err}");
        assert!(err.contains("could guess it"), "{err}");
    }

    #[test]
    fn a_policy_stored_under_an_older_rule_still_loads() {
        let (_dir, mut store) = crate::testing::empty_store();
        let mut old = Policy::default();
        old.passwords.passphrase = true;
        old.passwords.min_length = 6; // allowed for passphrases until v10
        store
            .write("t", |w| {
                w.conn().execute(
                    "INSERT INTO setting (key, value) VALUES ('policy', ?1)",
                    [serde_json::to_string(&old).unwrap()],
                )?;
                Ok::<_, Error>(())
            })
            .unwrap();
        assert_eq!(load(store.conn()).unwrap(), old);
        // Saving a fixed one works; saving it unfixed says why.
        let err = store.write("t", |w| save(w, &old)).unwrap_err();
        assert!(err.to_string().contains("at least 10 characters"), "{err}");
        old.passwords.min_length = 10;
        assert!(store.write("t", |w| save(w, &old)).unwrap());
    }

    #[test]
    fn a_policy_file_replaces_only_a_policy_file() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("k.db");
        let file = dir.path().join("policy.json");
        let mut policy = Policy::default();
        export(&file, &policy, &db).unwrap();
        policy.recycle_after_days = 30;
        export(&file, &policy, &db).unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(Policy::from_json(&text, "policy.json").unwrap(), policy);
        let other = dir.path().join("package.json");
        std::fs::write(&other, "{\n  \"name\": \"a school's own file\"\n}\n").unwrap();
        let err = export(&other, &policy, &db).unwrap_err();
        assert!(
            err.to_string().contains("not a Keyroll account policy"),
            "{err}"
        );
        assert!(std::fs::read_to_string(&other)
            .unwrap()
            .contains("school's own"));
    }

    #[test]
    fn a_bad_pattern_is_named() {
        let text = r#"{ "students": { "username": { "pattern": "{first" }, "group": "Students",
                                      "credential": "initial_password" } }"#;
        let err = Policy::from_json(text, "p.json").unwrap_err().to_string();
        assert!(err.contains("students' username pattern"), "{err}");
    }
}
