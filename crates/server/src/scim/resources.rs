//! One resource: create, read, replace, PATCH and delete (RFC 7644 §3.3 to
//! §3.6), with ETags: `If-Match` on a write that names a stale version is
//! a 412, `If-None-Match` on a read that names the current one a 304.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use keyroll_scim::resource::Credentials;
use keyroll_scim::resource::{etag, etag_matches};
use keyroll_scim::select::Selection;
use keyroll_scim::{patch, resource, schema, Kind, ScimError, ScimType};
use serde_json::{json, Value};

use super::reply::{blocking, json_body, Answer, Failure, Reply};
use crate::storage::{Expect, Resources, Secrets, StoreError, Stored};
use crate::Server;

/// A stored resource as a client sees it: id, meta (with its ETag) and,
/// for a user, the groups it is in.
pub fn render(
    storage: &dyn Resources,
    base: &str,
    kind: Kind,
    s: &Stored,
    with_groups: bool,
) -> Result<Value, StoreError> {
    let mut v = s.doc.clone();
    let location = format!("{base}/{}/{}", kind.endpoint(), s.id);
    if let Some(o) = v.as_object_mut() {
        o.insert("id".into(), json!(s.id));
        o.insert(
            "meta".into(),
            json!({
                "resourceType": kind.name(),
                "created": s.created,
                "lastModified": s.modified,
                "location": location,
                "version": etag(s.version),
            }),
        );
        if kind == Kind::User && with_groups {
            let groups: Vec<Value> = storage
                .groups_of(&s.id)?
                .into_iter()
                .map(|(id, name)| {
                    json!({"value": id, "display": name, "type": "direct",
                           "$ref": format!("{base}/Groups/{id}")})
                })
                .collect();
            if !groups.is_empty() {
                o.insert("groups".into(), Value::Array(groups));
            }
        }
        if kind == Kind::User {
            show_state(o, &s.state);
        }
        if kind == Kind::Group {
            if let Some(Value::Array(members)) = o.get_mut("members") {
                for m in members.iter_mut().filter_map(Value::as_object_mut) {
                    if let Some(id) = m.get("value").and_then(Value::as_str).map(str::to_owned) {
                        m.entry("$ref")
                            .or_insert_with(|| json!(format!("{base}/Users/{id}")));
                    }
                }
            }
        }
    }
    Ok(v)
}

/// The server's own view of a user, in the school extension: only what
/// there is to say, so that a user nobody signed in with reads back as it
/// was written.
fn show_state(o: &mut serde_json::Map<String, Value>, state: &crate::storage::SignInState) {
    let mut shown = serde_json::Map::new();
    if let Some(t) = &state.last_sign_in {
        shown.insert("lastSignIn".into(), json!(t));
    }
    if state.locked.is_some() {
        shown.insert("locked".into(), json!(true));
    }
    if let Some(t) = &state.activated {
        shown.insert("invitationAccepted".into(), json!(t));
    }
    if shown.is_empty() {
        return;
    }
    let ext = o.entry(schema::SCHOOL).or_insert_with(|| json!({}));
    if let Some(ext) = ext.as_object_mut() {
        ext.extend(shown);
    }
    if let Some(Value::Array(names)) = o.get_mut("schemas") {
        if !names.iter().any(|n| n.as_str() == Some(schema::SCHOOL)) {
            names.push(json!(schema::SCHOOL));
        }
    }
}

/// How long an activation code sent without `activationExpires` works: a
/// code printed on paper must not open an account for ever.
pub const DEFAULT_ACTIVATION_DAYS: i64 = 30;

/// A user's credentials as the storage keeps them: a password hashed here
/// (slowly, on purpose), the expiry made the server's kind of time.
pub(super) fn secrets(c: Credentials) -> Result<Secrets, Failure> {
    let invalid = |d: String| Failure(ScimError::bad(ScimType::InvalidValue, d));
    let password_hash = match (c.password, c.password_hash) {
        (Some(p), _) => Some(hash_password(&p)?),
        (None, h) => h,
    };
    let expires = c
        .activation_expires
        .map(|t| {
            time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339)
                .map(crate::storage::stamp)
                .map_err(|_| invalid(format!("activationExpires {t:?} is not an RFC 3339 time")))
        })
        .transpose()?;
    let expires = || {
        expires.unwrap_or_else(|| {
            let days = time::Duration::days(DEFAULT_ACTIVATION_DAYS);
            crate::storage::stamp(time::OffsetDateTime::now_utc() + days)
        })
    };
    Ok(Secrets {
        password_hash,
        activation: c.activation_code_hash.map(|h| (h, Some(expires()))),
        must_change: c.must_change,
        unlock: c.unlock == Some(true),
    })
}

pub fn base(server: &Server) -> String {
    format!("{}/scim/v2", server.public_url)
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// `If-Match` as a write's precondition.
fn expect(h: &HeaderMap) -> Expect {
    let tag = header_str(h, header::IF_MATCH)?.to_owned();
    Some(Box::new(move |v| etag_matches(&tag, v)))
}

fn one(v: Value, s: &Stored) -> Reply {
    Reply::ok(v).with(header::ETAG, etag(s.version))
}

/// An argon2id hash of a password a client set, made off the async
/// workers (it takes tens of milliseconds on purpose).
pub(super) fn hash_password(p: &str) -> Result<String, Failure> {
    crate::passwords::hash(p)
        .ok_or_else(|| Failure(ScimError::new(500, None, "could not hash the password")))
}

pub async fn create(
    State(server): State<Server>,
    kind: Kind,
    _h: HeaderMap,
    body: Bytes,
) -> Answer {
    let incoming = resource::incoming(kind, json_body(&body)?)?;
    blocking(move || {
        let secrets = secrets(incoming.credentials)?;
        let s = server.storage.create(kind, incoming.doc, secrets)?;
        let base = base(&server);
        let v = render(server.storage.as_ref(), &base, kind, &s, true)?;
        let location = format!("{base}/{}/{}", kind.endpoint(), s.id);
        Ok(one(v, &s)
            .with(header::LOCATION, location)
            .status(StatusCode::CREATED))
    })
    .await
}

pub async fn read(
    State(server): State<Server>,
    kind: Kind,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    h: HeaderMap,
) -> Answer {
    let sel = Selection::parse(
        kind,
        q.get("attributes").map(String::as_str),
        q.get("excludedAttributes").map(String::as_str),
    )?;
    let if_none = header_str(&h, header::IF_NONE_MATCH).map(str::to_owned);
    blocking(move || {
        let s = server
            .storage
            .get(kind, &id)?
            .ok_or_else(|| missing(kind, &id))?;
        if if_none.is_some_and(|t| etag_matches(&t, s.version)) {
            return Ok(Reply {
                status: StatusCode::NOT_MODIFIED,
                body: None,
                headers: vec![(header::ETAG, etag(s.version))],
            });
        }
        let mut v = render(
            server.storage.as_ref(),
            &base(&server),
            kind,
            &s,
            !sel.leaves_out("groups"),
        )?;
        sel.apply(kind, &mut v);
        Ok(one(v, &s))
    })
    .await
}

pub(super) fn missing(kind: Kind, id: &str) -> Failure {
    Failure(ScimError::not_found(format!(
        "no {} has the id {id:?}",
        kind.name()
    )))
}

pub async fn replace(
    State(server): State<Server>,
    kind: Kind,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Answer {
    let incoming = resource::incoming(kind, json_body(&body)?)?;
    let expect = expect(&h);
    blocking(move || {
        let secrets = secrets(incoming.credentials)?;
        let s = server
            .storage
            .replace(kind, &id, expect, incoming.doc, secrets)
            .map_err(|e| not_found_as(kind, &id, e))?;
        let v = render(server.storage.as_ref(), &base(&server), kind, &s, true)?;
        Ok(one(v, &s))
    })
    .await
}

pub(super) fn not_found_as(kind: Kind, id: &str, e: StoreError) -> Failure {
    match e {
        StoreError::NotFound => missing(kind, id),
        e => e.into(),
    }
}

pub async fn patch(
    State(server): State<Server>,
    kind: Kind,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Answer {
    let ops = json_body(&body)?;
    let if_match = header_str(&h, header::IF_MATCH).map(str::to_owned);
    blocking(move || {
        let s = patched(
            server.storage.as_ref(),
            kind,
            &id,
            if_match.as_deref(),
            &ops,
        )?;
        let v = render(server.storage.as_ref(), &base(&server), kind, &s, true)?;
        Ok(one(v, &s))
    })
    .await
}

/// Applies a PatchOp body to a stored resource: read, apply, write only if
/// nobody wrote in between. A race with another writer is tried again; a
/// client's stale `If-Match` is not.
pub(super) fn patched(
    storage: &dyn Resources,
    kind: Kind,
    id: &str,
    if_match: Option<&str>,
    ops: &Value,
) -> Result<Stored, Failure> {
    for _ in 0..5 {
        let s = storage.get(kind, id)?.ok_or_else(|| missing(kind, id))?;
        if let Some(t) = if_match {
            if !etag_matches(t, s.version) {
                return Err(StoreError::Stale { version: s.version }.into());
            }
        }
        let read = s.version;
        let mut doc = s.doc;
        let patched = patch::apply(kind, &mut doc, ops)?;
        let mut credentials = resource::take_credentials(kind, &mut doc)?;
        credentials.password = credentials.password.or(patched.password);
        let secrets = secrets(credentials)?;
        match storage.replace(kind, id, Some(Box::new(move |v| v == read)), doc, secrets) {
            Ok(s) => return Ok(s),
            Err(StoreError::Stale { .. }) => continue,
            Err(e) => return Err(not_found_as(kind, id, e)),
        }
    }
    Err(Failure(ScimError::new(
        409,
        None,
        "the resource kept changing while this PATCH was applied: send it again",
    )))
}

pub async fn delete(
    State(server): State<Server>,
    kind: Kind,
    Path(id): Path<String>,
    h: HeaderMap,
) -> Answer {
    let expect = expect(&h);
    blocking(move || {
        server
            .storage
            .delete(kind, &id, expect)
            .map_err(|e| not_found_as(kind, &id, e))?;
        Ok(Reply {
            status: StatusCode::NO_CONTENT,
            body: None,
            headers: Vec::new(),
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expiry(sent: Option<&str>) -> Option<String> {
        let c = Credentials {
            activation_code_hash: Some("hash".into()),
            activation_expires: sent.map(str::to_owned),
            ..Credentials::default()
        };
        secrets(c).ok().unwrap().activation.unwrap().1
    }

    #[test]
    fn a_code_sent_without_an_expiry_gets_the_default() {
        let rfc3339 = &time::format_description::well_known::Rfc3339;
        let got = expiry(None).unwrap();
        let at = time::OffsetDateTime::parse(&got, rfc3339).unwrap();
        let off =
            at - time::OffsetDateTime::now_utc() - time::Duration::days(DEFAULT_ACTIVATION_DAYS);
        assert!(off.abs() < time::Duration::minutes(1), "{got}");
        assert_eq!(
            expiry(Some("2027-01-01T09:30:00+01:00")).as_deref(),
            Some("2027-01-01T08:30:00.000Z")
        );
        assert!(secrets(Credentials::default())
            .ok()
            .unwrap()
            .activation
            .is_none());
    }
}
