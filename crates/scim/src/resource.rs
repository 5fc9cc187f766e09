//! A resource as a client sends it, checked and normalised before it is
//! kept: the schemas it names, its required attributes, booleans that
//! Entra sends as `"True"`/`"False"`, read-only attributes dropped, and the
//! password taken out (the server keeps only its hash).

use serde_json::{Map, Value};

use crate::error::{Result, ScimError, ScimType};
use crate::path;
use crate::schema::{self, Attr, Kind, Mutability, Type};

/// A resource to create or replace.
#[derive(Debug)]
pub struct Incoming {
    /// The document to keep (no id, meta, credentials or read-only parts).
    pub doc: Value,
    /// The credentials it carried, kept apart from the document.
    pub credentials: Credentials,
}

/// What a User may carry that is not kept in its document: a password (to
/// be hashed), the school extension's hashes, and the lock.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Credentials {
    pub password: Option<String>,
    /// An argon2id PHC string made by Keyroll.
    pub password_hash: Option<String>,
    pub activation_code_hash: Option<String>,
    /// An RFC 3339 time.
    pub activation_expires: Option<String>,
    pub must_change: Option<bool>,
    /// Sent as true: the office unlocks the account.
    pub unlock: Option<bool>,
}

/// Checks and normalises a POST or PUT body.
pub fn incoming(kind: Kind, body: Value) -> Result<Incoming> {
    let Value::Object(obj) = body else {
        return Err(ScimError::bad(
            ScimType::InvalidSyntax,
            "the body must be a JSON object",
        ));
    };
    check_schemas(kind, &obj)?;
    let mut doc = Value::Object(obj);
    drop_read_only(kind, &mut doc);
    normalise(kind, &mut doc)?;
    let credentials = take_credentials(kind, &mut doc)?;
    check_required(kind, &doc)?;
    Ok(Incoming { doc, credentials })
}

/// Takes the credentials out of a (normalised) User document, checking
/// their form; a Group has none.
pub fn take_credentials(kind: Kind, doc: &mut Value) -> Result<Credentials> {
    let mut c = Credentials::default();
    let Some(obj) = doc.as_object_mut().filter(|_| kind == Kind::User) else {
        return Ok(c);
    };
    let invalid = |d: String| ScimError::bad(ScimType::InvalidValue, d);
    let text = |v: Value, name: &str| match v {
        Value::String(s) if !s.is_empty() => Ok(Some(s)),
        Value::String(_) | Value::Null => Ok(None),
        _ => Err(invalid(format!("{name} must be a string"))),
    };
    if let Some(k) = path::key_ci(obj, "password").cloned() {
        c.password = text(obj.remove(&k).unwrap_or_default(), "password")?;
    }
    let Some(key) = path::key_ci(obj, schema::CREDENTIALS).cloned() else {
        return Ok(c);
    };
    // The whole extension comes out of the document: it is kept apart.
    let Some(Value::Object(mut ext)) = obj.remove(&key) else {
        return Err(invalid(format!("{key} must be an object")));
    };
    if let Some(Value::Array(names)) = path::get_ci_mut(obj, "schemas") {
        names.retain(|n| {
            !n.as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(schema::CREDENTIALS))
        });
    }
    let mut take = |name: &str| {
        let k = path::key_ci(&ext, name).cloned()?;
        ext.remove(&k)
    };
    // Only the forms Keyroll makes can ever match a password or a code.
    if let Some(v) = take("passwordHash") {
        c.password_hash = text(v, "passwordHash")?;
    }
    if let Some(v) = take("activationCodeHash") {
        c.activation_code_hash = text(v, "activationCodeHash")?.map(|h| h.to_ascii_lowercase());
    }
    if let Some(v) = take("activationExpires") {
        c.activation_expires = text(v, "activationExpires")?;
    }
    for (name, slot) in [
        ("mustChangePassword", &mut c.must_change),
        ("unlock", &mut c.unlock),
    ] {
        match take(name) {
            Some(Value::Bool(b)) => *slot = Some(b),
            Some(Value::Null) | None => {}
            Some(_) => return Err(invalid(format!("{name} must be true or false"))),
        }
    }
    Ok(c)
}

fn check_schemas(kind: Kind, obj: &Map<String, Value>) -> Result<()> {
    let schemas = path::get_ci(obj, "schemas").and_then(Value::as_array);
    let Some(schemas) = schemas else {
        return Err(ScimError::bad(
            ScimType::InvalidSyntax,
            format!(
                "the resource must list its schemas, including {:?}",
                kind.schema()
            ),
        ));
    };
    let mut core = false;
    for s in schemas {
        let Some(s) = s.as_str() else {
            return Err(ScimError::bad(
                ScimType::InvalidSyntax,
                "schemas must be strings",
            ));
        };
        if s.eq_ignore_ascii_case(kind.schema()) {
            core = true;
        } else if !kind.extensions().iter().any(|e| e.eq_ignore_ascii_case(s)) {
            return Err(ScimError::bad(
                ScimType::InvalidValue,
                format!(
                    "this server does not know the schema {s:?} for a {}",
                    kind.name()
                ),
            ));
        }
    }
    if !core {
        return Err(ScimError::bad(
            ScimType::InvalidValue,
            format!("a {} must list the schema {:?}", kind.name(), kind.schema()),
        ));
    }
    Ok(())
}

/// Removes what a client may not set: `id`, `meta`, a user's `groups`, and
/// the read-only parts of the extensions (sign-in state is the server's).
pub fn drop_read_only(kind: Kind, doc: &mut Value) {
    let Some(obj) = doc.as_object_mut() else {
        return;
    };
    strip(obj, kind.attributes());
    for ext in kind.extensions() {
        if let (Some(attrs), Some(inner)) = (
            schema::attributes_of(ext),
            path::get_ci_mut(obj, ext).and_then(Value::as_object_mut),
        ) {
            strip(inner, attrs);
        }
    }
}

fn strip(obj: &mut Map<String, Value>, attrs: &'static [Attr]) {
    obj.retain(|k, _| {
        !schema::find(attrs, k).is_some_and(|a| a.mutability == Mutability::ReadOnly)
    });
}

/// Makes values the types their schema says: `"True"`/`"False"` (Entra)
/// become booleans; any other value for a boolean is a 400. Attribute
/// names are kept as the client spelled them.
pub fn normalise(kind: Kind, doc: &mut Value) -> Result<()> {
    let Some(obj) = doc.as_object_mut() else {
        return Ok(());
    };
    coerce_all(obj, kind.attributes(), "")?;
    for ext in kind.extensions() {
        if let (Some(attrs), Some(inner)) = (
            schema::attributes_of(ext),
            path::get_ci_mut(obj, ext).and_then(Value::as_object_mut),
        ) {
            coerce_all(inner, attrs, ext)?;
        }
    }
    Ok(())
}

fn coerce_all(obj: &mut Map<String, Value>, attrs: &'static [Attr], prefix: &str) -> Result<()> {
    for (k, v) in obj.iter_mut() {
        if let Some(a) = schema::find(attrs, k) {
            coerce(a, v, prefix)?;
        }
    }
    Ok(())
}

fn coerce(a: &'static Attr, v: &mut Value, prefix: &str) -> Result<()> {
    if a.multi {
        if let Value::Array(items) = v {
            for item in items {
                coerce_one(a, item, prefix)?;
            }
            return Ok(());
        }
    }
    coerce_one(a, v, prefix)
}

fn coerce_one(a: &'static Attr, v: &mut Value, prefix: &str) -> Result<()> {
    match a.kind {
        Type::Boolean => match v {
            Value::Bool(_) | Value::Null => {}
            Value::String(s) if s.eq_ignore_ascii_case("true") => *v = Value::Bool(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => *v = Value::Bool(false),
            other => {
                return Err(ScimError::bad(
                    ScimType::InvalidValue,
                    format!(
                        "{prefix}{}{} must be true or false, not {other}",
                        if prefix.is_empty() { "" } else { ":" },
                        a.name
                    ),
                ))
            }
        },
        Type::Complex => {
            if let Value::Object(o) = v {
                coerce_all(o, a.sub, prefix)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn check_required(kind: Kind, doc: &Value) -> Result<()> {
    let obj = doc.as_object().expect("checked to be an object");
    for a in kind.attributes().iter().filter(|a| a.required) {
        let ok = path::get_ci(obj, a.name)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.trim().is_empty());
        if !ok {
            return Err(ScimError::bad(
                ScimType::InvalidValue,
                format!(
                    "a {} needs {} (a string that is not empty)",
                    kind.name(),
                    a.name
                ),
            ));
        }
    }
    Ok(())
}

/// A version as an ETag (weak: the server's JSON may be re-serialised).
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// Whether an `If-Match` / `If-None-Match` header names `version`: `*`
/// names any; weak and strong forms are the same here.
pub fn etag_matches(header: &str, version: i64) -> bool {
    header.split(',').map(str::trim).any(|tag| {
        tag == "*" || tag.trim_start_matches("W/").trim_matches('"') == version.to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn credentials_are_taken_out_and_checked() {
        let hash = "ab".repeat(64);
        let body = json!({
            "schemas": [schema::USER, schema::SCHOOL, schema::CREDENTIALS],
            "userName": "zoe",
            schema::SCHOOL: {"year": "7", "invitationAccepted": "2020-01-01T00:00:00Z"},
            schema::CREDENTIALS: {"ActivationCodeHash": hash.to_uppercase(),
                             "activationExpires": "2027-01-01T00:00:00Z",
                             "mustChangePassword": "True", "unlock": true,
                             "passwordHash": "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"}
        });
        let got = incoming(Kind::User, body).unwrap();
        assert_eq!(got.doc["schemas"], json!([schema::USER, schema::SCHOOL]));
        assert_eq!(got.doc[schema::SCHOOL], json!({"year": "7"}));
        assert!(got.doc.get(schema::CREDENTIALS).is_none());
        let c = got.credentials;
        assert_eq!(c.activation_code_hash, Some(hash));
        assert_eq!(
            c.activation_expires.as_deref(),
            Some("2027-01-01T00:00:00Z")
        );
        assert_eq!(c.must_change, Some(true));
        assert_eq!(c.unlock, Some(true));
        assert!(c.password_hash.unwrap().starts_with("$argon2id$"));
        for bad in [
            json!({"passwordHash": 12}),
            json!({"activationExpires": 12}),
            json!({"unlock": "maybe"}),
        ] {
            let body = json!({"schemas": [schema::USER, schema::CREDENTIALS], "userName": "zoe", schema::CREDENTIALS: bad});
            assert!(incoming(Kind::User, body.clone()).is_err(), "{body}");
        }
    }

    #[test]
    fn entra_booleans_become_booleans_and_read_only_parts_go() {
        let body = json!({
            "schemas": [schema::USER, schema::ENTERPRISE],
            "id": "client-made-up",
            "userName": "kim@demo.example",
            "active": "False",
            "password": "Initial-1",
            "emails": [{"value": "kim@demo.example", "primary": "True"}],
            "groups": [{"value": "g1"}],
            "meta": {"version": "W/\"9\""},
            schema::ENTERPRISE: {"department": "Maths"}
        });
        let got = incoming(Kind::User, body).unwrap();
        assert_eq!(got.credentials.password.as_deref(), Some("Initial-1"));
        assert_eq!(
            got.doc,
            json!({
                "schemas": [schema::USER, schema::ENTERPRISE],
                "userName": "kim@demo.example",
                "active": false,
                "emails": [{"value": "kim@demo.example", "primary": true}],
                schema::ENTERPRISE: {"department": "Maths"}
            })
        );
    }

    #[test]
    fn what_is_refused_and_why() {
        let cases = [
            (json!([1]), ScimType::InvalidSyntax),
            (json!({"userName": "a"}), ScimType::InvalidSyntax),
            (
                json!({"schemas": [schema::GROUP], "userName": "a"}),
                ScimType::InvalidValue,
            ),
            (
                json!({"schemas": [schema::USER, "urn:x"], "userName": "a"}),
                ScimType::InvalidValue,
            ),
            (json!({"schemas": [schema::USER]}), ScimType::InvalidValue),
            (
                json!({"schemas": [schema::USER], "userName": " "}),
                ScimType::InvalidValue,
            ),
            (
                json!({"schemas": [schema::USER], "userName": "a", "active": "yes"}),
                ScimType::InvalidValue,
            ),
        ];
        for (body, want) in cases {
            let e = incoming(Kind::User, body.clone()).unwrap_err();
            assert_eq!(e.scim_type, Some(want), "{body}");
        }
    }

    #[test]
    fn etags_as_a_table() {
        let cases = [
            ("W/\"3\"", 3, true),
            ("\"3\"", 3, true),
            ("W/\"2\"", 3, false),
            ("*", 3, true),
            ("W/\"1\", W/\"3\"", 3, true),
        ];
        for (header, version, want) in cases {
            assert_eq!(etag_matches(header, version), want, "{header}");
        }
        assert_eq!(etag(7), "W/\"7\"");
    }
}
