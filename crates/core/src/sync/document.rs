//! An account as a SCIM User, and what changed between two of them as PATCH
//! operations. Pure: no database, no network.

use serde_json::{json, Map, Value};

use keyroll_scim::schema::{CREDENTIALS, SCHOOL, USER};

/// What a SCIM server is sent about one account.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Local {
    /// Keyroll's stable id for the account (kind, SIS source and id): the
    /// `externalId`, the same in every Keyroll database of the school.
    pub key: String,
    pub username: String,
    pub given_name: String,
    pub middle_name: String,
    pub family_name: String,
    pub preferred_name: String,
    pub email: String,
    /// student, staff or parent.
    pub role: String,
    pub sis_id: String,
    pub sis_source: String,
    pub school: String,
    pub year: String,
    pub home_group: String,
    pub enabled: bool,
    pub access_restricted: bool,
    pub no_reports: bool,
    /// Linked people's keys, with `child` or `parent` and their names.
    pub links: Vec<(String, &'static str, String)>,
}

/// What the server says it understands, which shapes the document.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dialect {
    /// The server knows Keyroll's school extension.
    pub school: bool,
    /// The server takes credential hashes (keyroll-server).
    pub credentials: bool,
}

/// The attributes Keyroll owns on a User: only these are sent and compared.
pub const OWNED: [&str; 7] = [
    "userName",
    "externalId",
    "name",
    "displayName",
    "active",
    "emails",
    "userType",
];

/// The User document for `l` (without credentials: those travel apart).
pub fn user(l: &Local, dialect: Dialect) -> Value {
    let mut doc = Map::new();
    let mut schemas = vec![json!(USER)];
    doc.insert("userName".into(), json!(l.username));
    doc.insert("externalId".into(), json!(l.key));
    let mut name = Map::new();
    for (k, v) in [
        ("givenName", &l.given_name),
        ("middleName", &l.middle_name),
        ("familyName", &l.family_name),
    ] {
        if !v.is_empty() {
            name.insert(k.into(), json!(v));
        }
    }
    doc.insert("name".into(), Value::Object(name));
    doc.insert("displayName".into(), json!(display_name(l)));
    doc.insert("active".into(), json!(l.enabled));
    if !l.email.is_empty() {
        let kind = if l.role == "staff" { "work" } else { "home" };
        doc.insert(
            "emails".into(),
            json!([{"value": l.email, "type": kind, "primary": true}]),
        );
    }
    doc.insert("userType".into(), json!(l.role));
    if dialect.school {
        schemas.push(json!(SCHOOL));
        doc.insert(SCHOOL.into(), school(l));
    }
    doc.insert("schemas".into(), Value::Array(schemas));
    Value::Object(doc)
}

fn display_name(l: &Local) -> String {
    let given = if l.preferred_name.is_empty() {
        &l.given_name
    } else {
        &l.preferred_name
    };
    [given.as_str(), l.family_name.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn school(l: &Local) -> Value {
    let mut ext = Map::new();
    for (k, v) in [
        ("role", &l.role),
        ("sisId", &l.sis_id),
        ("sisSource", &l.sis_source),
        ("school", &l.school),
        ("year", &l.year),
        ("homeGroup", &l.home_group),
    ] {
        if !v.is_empty() {
            ext.insert(k.into(), json!(v));
        }
    }
    ext.insert("accessRestricted".into(), json!(l.access_restricted));
    ext.insert("noReports".into(), json!(l.no_reports));
    let links: Vec<Value> = l
        .links
        .iter()
        .map(|(key, kind, name)| json!({"value": key, "type": kind, "display": name}))
        .collect();
    if !links.is_empty() {
        ext.insert("familyLinks".into(), Value::Array(links));
    }
    Value::Object(ext)
}

/// The credentials extension as keyroll-server takes it: hashes only.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Credentials {
    pub password_hash: Option<String>,
    pub activation_hash: Option<String>,
    pub activation_expires: Option<String>,
    pub must_change_password: bool,
    pub unlock: bool,
}

impl Credentials {
    /// The extension's value (None when there is nothing to send).
    pub fn value(&self) -> Option<Value> {
        let mut ext = Map::new();
        if let Some(h) = &self.password_hash {
            ext.insert("passwordHash".into(), json!(h));
            ext.insert(
                "mustChangePassword".into(),
                json!(self.must_change_password),
            );
        }
        if let Some(h) = &self.activation_hash {
            ext.insert("activationCodeHash".into(), json!(h));
            if let Some(e) = &self.activation_expires {
                ext.insert("activationExpires".into(), json!(e));
            }
        }
        if self.unlock {
            ext.insert("unlock".into(), json!(true));
        }
        (!ext.is_empty()).then_some(Value::Object(ext))
    }

    /// A digest of the hashes (not the hashes): whether they changed since
    /// the last push, kept without keeping them twice.
    pub fn digest(&self) -> String {
        use blake2::{Blake2b512, Digest};
        if self.password_hash.is_none() && self.activation_hash.is_none() {
            return String::new();
        }
        let mut h = Blake2b512::new();
        for part in [
            self.password_hash.as_deref(),
            self.activation_hash.as_deref(),
            self.activation_expires.as_deref(),
        ] {
            let part = part.unwrap_or("\u{0}");
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        h.update([self.must_change_password as u8]);
        hex::encode(&h.finalize()[..16])
    }
}

/// The PATCH operations that turn `base` (as last pushed) into `now`, over
/// the attributes Keyroll owns; the school extension compared attribute
/// by attribute. Empty when nothing changed.
pub fn changes(base: &Value, now: &Value) -> Vec<Value> {
    let mut ops = Vec::new();
    for name in OWNED {
        compare(&mut ops, name, base.get(name), now.get(name));
    }
    let empty = Map::new();
    let ext = |d: &Value| d.get(SCHOOL).and_then(Value::as_object).cloned();
    let (b, n) = (ext(base), ext(now));
    if b.is_some() || n.is_some() {
        let (b, n) = (b.as_ref().unwrap_or(&empty), n.as_ref().unwrap_or(&empty));
        let mut names: Vec<&String> = b.keys().chain(n.keys()).collect();
        names.sort();
        names.dedup();
        for name in names {
            compare(
                &mut ops,
                &format!("{SCHOOL}:{name}"),
                b.get(name),
                n.get(name),
            );
        }
    }
    ops
}

fn compare(ops: &mut Vec<Value>, path: &str, base: Option<&Value>, now: Option<&Value>) {
    let absent = |v: Option<&Value>| match v {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(_) => false,
    };
    match (absent(base), absent(now)) {
        (true, true) => {}
        (false, true) => ops.push(json!({"op": "remove", "path": path})),
        _ if base == now => {}
        _ => ops.push(json!({"op": "replace", "path": path, "value": now})),
    }
}

/// The attributes Keyroll owns, taken from a server's copy of a User: the
/// base to compare with after adopting a resource the server already had.
pub fn owned_part(remote: &Value) -> Value {
    let mut doc = Map::new();
    for name in OWNED {
        if let Some(v) = remote.get(name) {
            doc.insert(name.into(), v.clone());
        }
    }
    if let Some(ext) = remote.get(SCHOOL).and_then(Value::as_object) {
        let mut ext = ext.clone();
        // The server's own: never part of what Keyroll sends.
        for own in ["lastSignIn", "locked", "invitationAccepted"] {
            ext.remove(own);
        }
        doc.insert(SCHOOL.into(), Value::Object(ext));
    }
    Value::Object(doc)
}

/// The PATCH operation that hands the server new credentials.
pub fn credentials_op(c: &Credentials) -> Option<Value> {
    c.value()
        .map(|v| json!({"op": "add", "value": {CREDENTIALS: v}}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alex() -> Local {
        Local {
            key: "student:oneroster:s1".into(),
            username: "alex.ng".into(),
            given_name: "Alexander".into(),
            family_name: "Ng".into(),
            preferred_name: "Alex".into(),
            role: "student".into(),
            sis_id: "s1".into(),
            year: "7".into(),
            enabled: true,
            ..Local::default()
        }
    }

    const BOTH: Dialect = Dialect {
        school: true,
        credentials: true,
    };

    #[test]
    fn a_user_carries_the_school_extension_only_to_servers_that_know_it() {
        let plain = user(&alex(), Dialect::default());
        assert_eq!(plain["schemas"], json!([USER]));
        assert!(plain.get(SCHOOL).is_none());
        assert_eq!(plain["displayName"], "Alex Ng");
        assert_eq!(plain["externalId"], "student:oneroster:s1");
        let school = user(&alex(), BOTH);
        assert_eq!(school["schemas"], json!([USER, SCHOOL]));
        assert_eq!(school[SCHOOL]["year"], "7");
        assert_eq!(school[SCHOOL]["sisId"], "s1");
    }

    #[test]
    fn changes_name_only_what_changed() {
        let base = user(&alex(), BOTH);
        type Change = Box<dyn Fn(&mut Local)>;
        let cases: Vec<(&str, Change, Vec<Value>)> = vec![
            ("nothing", Box::new(|_| {}), vec![]),
            (
                "disabled",
                Box::new(|l| l.enabled = false),
                vec![json!({"op": "replace", "path": "active", "value": false})],
            ),
            (
                "an email added",
                Box::new(|l| l.email = "a@x.example".into()),
                vec![json!({"op": "replace", "path": "emails",
                    "value": [{"value": "a@x.example", "type": "home", "primary": true}]})],
            ),
            (
                "year moved up, home group set",
                Box::new(|l| {
                    l.year = "8".into();
                    l.home_group = "8B".into();
                }),
                vec![
                    json!({"op": "replace", "path": format!("{SCHOOL}:homeGroup"), "value": "8B"}),
                    json!({"op": "replace", "path": format!("{SCHOOL}:year"), "value": "8"}),
                ],
            ),
            (
                "the preferred name dropped",
                Box::new(|l| l.preferred_name.clear()),
                vec![json!({"op": "replace", "path": "displayName", "value": "Alexander Ng"})],
            ),
        ];
        for (what, change, want) in cases {
            let mut l = alex();
            change(&mut l);
            assert_eq!(changes(&base, &user(&l, BOTH)), want, "{what}");
        }
    }

    #[test]
    fn a_removed_value_is_removed() {
        let mut l = alex();
        l.email = "a@x.example".into();
        let base = user(&l, BOTH);
        l.email.clear();
        assert_eq!(
            changes(&base, &user(&l, BOTH)),
            vec![json!({"op": "remove", "path": "emails"})]
        );
    }

    #[test]
    fn an_adopted_copy_compares_only_what_keyroll_owns() {
        let mut remote = user(&alex(), BOTH);
        remote["id"] = json!("9f2");
        remote["meta"] = json!({"version": "W/\"3\""});
        remote["groups"] = json!([{"value": "g1"}]);
        remote[SCHOOL]["lastSignIn"] = json!("2026-03-03T08:00:00Z");
        remote[SCHOOL]["locked"] = json!(true);
        assert!(changes(&owned_part(&remote), &user(&alex(), BOTH)).is_empty());
    }

    #[test]
    fn credentials_are_sent_as_hashes_and_remembered_as_a_digest() {
        let none = Credentials::default();
        assert_eq!(none.value(), None);
        assert_eq!(none.digest(), "");
        let c = Credentials {
            activation_hash: Some("ab".repeat(64)),
            activation_expires: Some("2027-01-01T00:00:00Z".into()),
            ..Credentials::default()
        };
        let v = c.value().unwrap();
        assert_eq!(v["activationCodeHash"], "ab".repeat(64));
        assert!(v.get("passwordHash").is_none());
        assert!(!c.digest().contains("abab"));
        let other = Credentials {
            activation_expires: Some("2027-02-01T00:00:00Z".into()),
            ..c.clone()
        };
        assert_ne!(c.digest(), other.digest());
    }
}
