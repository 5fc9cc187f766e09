//! `/Bulk` (RFC 7644 §3.7): many writes in one request, each standing or
//! falling alone, committed together. A POST's `bulkId` may be named as
//! `bulkId:ID` by later operations (a group's members, a path); an
//! operation that names one made later in the request waits for it.
//! `failOnErrors` stops after that many failures; the limits are in
//! `/ServiceProviderConfig`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use keyroll_scim::resource::{etag, Credentials};
use keyroll_scim::{resource, schema, Kind, ScimError, ScimType};
use serde_json::{json, Map, Value};

use super::reply::{blocking, json_body, Answer, Failure, Reply};
use super::resources::{base, hash_password, not_found_as, patched, secrets};
use crate::storage::{Expect, Resources, Secrets};
use crate::Server;

/// Operations in one request.
pub const MAX_OPERATIONS: usize = 1000;
/// Bytes in one request: a thousand users with all their attributes.
pub const MAX_PAYLOAD: usize = 4 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

struct Operation {
    method: Method,
    bulk_id: Option<String>,
    path: String,
    version: Option<String>,
    data: Option<Value>,
    /// The credentials in `data`, a password hashed before the writes
    /// begin so that the database is not held while it is made.
    secrets: Secrets,
}

pub async fn bulk(State(server): State<Server>, body: Result<Bytes, BytesRejection>) -> Answer {
    let body = body.map_err(|_| too_large())?;
    if body.len() > MAX_PAYLOAD {
        return Err(too_large());
    }
    let request = json_body(&body)?;
    let (operations, fail_on_errors) = operations(&request)?;
    blocking(move || {
        let operations = operations
            .into_iter()
            .map(hash_first)
            .collect::<Result<Vec<_>, _>>()?;
        let results = run(&server, &operations, fail_on_errors)?;
        Ok(Reply::ok(json!({
            "schemas": [schema::BULK_RESPONSE],
            "Operations": results,
        })))
    })
    .await
}

fn too_large() -> Failure {
    Failure(ScimError::new(
        413,
        None,
        format!("a bulk request may be at most {MAX_PAYLOAD} bytes: send it in smaller parts"),
    ))
}

fn syntax(detail: String) -> Failure {
    Failure(ScimError::bad(ScimType::InvalidSyntax, detail))
}

fn operations(request: &Value) -> Result<(Vec<Operation>, usize), Failure> {
    let obj = request
        .as_object()
        .ok_or_else(|| syntax("a bulk request must be a JSON object".into()))?;
    let names_bulk = get(obj, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|s| s.as_str() == Some(schema::BULK_REQUEST)));
    if !names_bulk {
        return Err(syntax(format!(
            "a bulk request must list the schema {:?}",
            schema::BULK_REQUEST
        )));
    }
    let fail_on_errors = match get(obj, "failOnErrors") {
        None | Some(Value::Null) => usize::MAX,
        Some(v) => v
            .as_u64()
            .filter(|n| *n > 0)
            .map(|n| n as usize)
            .ok_or_else(|| syntax("failOnErrors must be a whole number above 0".into()))?,
    };
    let list = get(obj, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| syntax("a bulk request needs its Operations".into()))?;
    if list.len() > MAX_OPERATIONS {
        return Err(Failure(ScimError::new(
            413,
            Some(ScimType::TooMany),
            format!(
                "a bulk request may have at most {MAX_OPERATIONS} operations, not {}: send it in parts",
                list.len()
            ),
        )));
    }
    let ops: Vec<Operation> = list
        .iter()
        .enumerate()
        .map(|(i, o)| operation(o).map_err(|d| syntax(format!("operation {}: {d}", i + 1))))
        .collect::<Result<_, _>>()?;
    let mut seen = std::collections::HashSet::new();
    if let Some(b) = ops
        .iter()
        .filter_map(|o| o.bulk_id.as_deref())
        .find(|b| !seen.insert(*b))
    {
        return Err(Failure(ScimError::bad(
            ScimType::InvalidValue,
            format!("the bulkId {b:?} is given to more than one operation: each needs its own"),
        )));
    }
    Ok((ops, fail_on_errors))
}

fn get<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn operation(o: &Value) -> Result<Operation, String> {
    let o = o.as_object().ok_or("it is not an object")?;
    let text = |name: &str| get(o, name).and_then(Value::as_str).map(str::to_owned);
    let method = match text("method").map(|m| m.to_ascii_uppercase()).as_deref() {
        Some("POST") => Method::Post,
        Some("PUT") => Method::Put,
        Some("PATCH") => Method::Patch,
        Some("DELETE") => Method::Delete,
        other => {
            return Err(format!(
                "method must be POST, PUT, PATCH or DELETE, not {other:?}"
            ))
        }
    };
    let path = text("path").ok_or("it needs a path such as /Users")?;
    let data = get(o, "data").cloned().filter(|d| !d.is_null());
    if method != Method::Delete && data.is_none() {
        return Err(format!("{} needs data", method.name()));
    }
    Ok(Operation {
        method,
        bulk_id: text("bulkId"),
        path,
        version: text("version"),
        data,
        secrets: Secrets::default(),
    })
}

fn hash_first(mut op: Operation) -> Result<Operation, Failure> {
    if matches!(op.method, Method::Post | Method::Put) {
        let password = op
            .data
            .as_mut()
            .and_then(Value::as_object_mut)
            .and_then(|o| {
                let key = o
                    .keys()
                    .find(|k| k.eq_ignore_ascii_case("password"))?
                    .clone();
                o.remove(&key)
            });
        // As for one POST or PUT: empty or null is no password.
        match password {
            Some(Value::String(p)) if !p.is_empty() => {
                op.secrets.password_hash = Some(hash_password(&p)?);
            }
            Some(Value::String(_) | Value::Null) | None => {}
            Some(_) => {
                return Err(Failure(ScimError::bad(
                    ScimType::InvalidValue,
                    "password must be a string",
                )))
            }
        }
    }
    Ok(op)
}

/// The operation's own credentials (its hashes, the lock) beside the
/// password hashed first.
fn with_password(op: &Operation, c: Credentials) -> Result<Secrets, Failure> {
    let mut s = secrets(c)?;
    s.password_hash = s.password_hash.or_else(|| op.secrets.password_hash.clone());
    Ok(s)
}

/// What became of a `bulkId`: the id it made, or that it failed.
type Made = HashMap<String, Option<String>>;

fn run(server: &Server, ops: &[Operation], fail_on_errors: usize) -> Result<Vec<Value>, Failure> {
    let base = base(server);
    let defined: HashMap<&str, usize> = ops
        .iter()
        .enumerate()
        .filter_map(|(i, o)| Some((o.bulk_id.as_deref()?, i)))
        .collect();
    let mut results: Vec<Option<Value>> = vec![None; ops.len()];
    server.storage.batch(&mut |res| {
        let mut made = Made::new();
        let mut errors = 0;
        let mut pending: Vec<usize> = (0..ops.len()).collect();
        while !pending.is_empty() && errors < fail_on_errors {
            let mut waiting = Vec::new();
            let mut at = 0;
            while at < pending.len() && errors < fail_on_errors {
                // A run of new users goes in together, as many as could
                // fail before failOnErrors stops the request.
                let run = users_run(
                    ops,
                    &pending[at..],
                    &defined,
                    &made,
                    fail_on_errors - errors,
                );
                let answers: Vec<(usize, Result<Done, Failure>)> = if run > 1 {
                    let run = &pending[at..at + run];
                    run.iter()
                        .copied()
                        .zip(create_users(res, &base, ops, run, &made)?)
                        .collect()
                } else {
                    let i = pending[at];
                    let answer = match references(&ops[i], &defined, &made) {
                        Refs::Waiting => {
                            waiting.push(i);
                            at += 1;
                            continue;
                        }
                        Refs::Unknown(b) => Err(Failure(ScimError::bad(
                            ScimType::InvalidValue,
                            format!("no operation in this request has the bulkId {b:?}"),
                        ))),
                        Refs::Failed(b) => Err(Failure(ScimError::new(
                            409,
                            Some(ScimType::InvalidValue),
                            format!(
                                "the operation with bulkId {b:?} failed, so this one was not tried"
                            ),
                        ))),
                        Refs::Ready => perform(res, &base, &ops[i], &made),
                    };
                    vec![(i, answer)]
                };
                at += answers.len();
                for (i, answer) in answers {
                    let op = &ops[i];
                    if let Some(b) = &op.bulk_id {
                        made.insert(b.clone(), answer.as_ref().ok().and_then(|a| a.id.clone()));
                    }
                    if answer.is_err() {
                        errors += 1;
                    }
                    results[i] = Some(outcome(op, answer));
                }
            }
            if waiting.len() == pending.len() {
                // Nothing could go ahead: the rest wait for each other.
                for &i in &waiting {
                    if errors >= fail_on_errors {
                        break;
                    }
                    results[i] = Some(outcome(&ops[i], Err(circular())));
                    errors += 1;
                }
                break;
            }
            pending = waiting;
        }
        Ok(())
    })?;
    Ok(results.into_iter().flatten().collect())
}

/// How many of `pending`, from the first, are POSTs of users ready to
/// go, at most `allowed`.
fn users_run(
    ops: &[Operation],
    pending: &[usize],
    defined: &HashMap<&str, usize>,
    made: &Made,
    allowed: usize,
) -> usize {
    pending
        .iter()
        .take(allowed)
        .take_while(|&&i| {
            let op = &ops[i];
            op.method == Method::Post
                && matches!(target(&op.path, op.method), Ok((Kind::User, None)))
                && matches!(references(op, defined, made), Refs::Ready)
        })
        .count()
}

/// POSTs of users (`run`, ready to go) made in one call to storage; each
/// answered alone, in order.
fn create_users(
    res: &dyn Resources,
    base: &str,
    ops: &[Operation],
    run: &[usize],
    made: &Made,
) -> Result<Vec<Result<Done, Failure>>, crate::storage::StoreError> {
    let mut answers: Vec<Option<Result<Done, Failure>>> = Vec::with_capacity(run.len());
    let mut users = Vec::new();
    for &i in run {
        match new_user(&ops[i], made) {
            Ok(user) => {
                users.push(user);
                answers.push(None);
            }
            Err(e) => answers.push(Some(Err(e))),
        }
    }
    let mut stored = res.create_users(users)?.into_iter();
    Ok(answers
        .into_iter()
        .map(|a| {
            a.unwrap_or_else(|| {
                let s = stored.next().expect("one answer for each user")?;
                Ok(Done {
                    location: Some(format!("{base}/{}/{}", Kind::User.endpoint(), s.id)),
                    version: Some(etag(s.version)),
                    status: 201,
                    id: Some(s.id),
                })
            })
        })
        .collect())
}

/// A POST's new resource and its credentials, its bulkId references
/// resolved.
fn new_user(op: &Operation, made: &Made) -> Result<(Value, Secrets), Failure> {
    let data = op.data.as_ref().map(|d| resolve(d, made));
    let incoming = resource::incoming(Kind::User, data.unwrap_or_default())?;
    let secrets = with_password(op, incoming.credentials)?;
    Ok((incoming.doc, secrets))
}

fn circular() -> Failure {
    Failure(ScimError::new(
        409,
        Some(ScimType::InvalidValue),
        "this operation's bulkId references go round in a circle: break the circle with a later PATCH",
    ))
}

enum Refs {
    Ready,
    /// It names a bulkId whose operation is still to be tried.
    Waiting,
    Unknown(String),
    Failed(String),
}

fn references(op: &Operation, defined: &HashMap<&str, usize>, made: &Made) -> Refs {
    let mut waiting = false;
    for b in bulk_refs(op) {
        match made.get(&b) {
            Some(Some(_)) => {}
            Some(None) => return Refs::Failed(b),
            None if defined.contains_key(b.as_str()) => waiting = true,
            None => return Refs::Unknown(b),
        }
    }
    if waiting {
        Refs::Waiting
    } else {
        Refs::Ready
    }
}

/// Every `bulkId:ID` an operation names, in its path or its data.
fn bulk_refs(op: &Operation) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => {
                if let Some(b) = s.strip_prefix("bulkId:") {
                    out.push(b.to_owned());
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            Value::Object(o) => o.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for segment in op.path.split('/') {
        if let Some(b) = segment.strip_prefix("bulkId:") {
            out.push(b.to_owned());
        }
    }
    if let Some(d) = &op.data {
        walk(d, &mut out);
    }
    out
}

/// `v` with every `bulkId:ID` replaced by the id that operation made.
fn resolve(v: &Value, made: &Made) -> Value {
    match v {
        Value::String(s) => match s.strip_prefix("bulkId:").and_then(|b| made.get(b)) {
            Some(Some(id)) => Value::String(id.clone()),
            _ => v.clone(),
        },
        Value::Array(a) => Value::Array(a.iter().map(|v| resolve(v, made)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), resolve(v, made)))
                .collect(),
        ),
        v => v.clone(),
    }
}

/// What one operation did.
struct Done {
    id: Option<String>,
    location: Option<String>,
    version: Option<String>,
    status: u16,
}

fn perform(res: &dyn Resources, base: &str, op: &Operation, made: &Made) -> Result<Done, Failure> {
    let path: Vec<String> = op
        .path
        .split('/')
        .map(
            |seg| match seg.strip_prefix("bulkId:").and_then(|b| made.get(b)) {
                Some(Some(id)) => id.clone(),
                _ => seg.to_owned(),
            },
        )
        .collect();
    let (kind, id) = target(&path.join("/"), op.method)?;
    let data = op.data.as_ref().map(|d| resolve(d, made));
    let expect: Expect = op.version.clone().map(|t| {
        Box::new(move |v| keyroll_scim::resource::etag_matches(&t, v))
            as Box<dyn Fn(i64) -> bool + Send>
    });
    let location = |id: &str| format!("{base}/{}/{id}", kind.endpoint());
    let stored = match (op.method, id) {
        (Method::Post, None) => {
            let incoming = resource::incoming(kind, data.unwrap_or_default())?;
            let secrets = with_password(op, incoming.credentials)?;
            res.create(kind, incoming.doc, secrets)?
        }
        (Method::Put, Some(id)) => {
            let incoming = resource::incoming(kind, data.unwrap_or_default())?;
            let secrets = with_password(op, incoming.credentials)?;
            res.replace(kind, &id, expect, incoming.doc, secrets)
                .map_err(|e| not_found_as(kind, &id, e))?
        }
        (Method::Patch, Some(id)) => patched(
            res,
            kind,
            &id,
            op.version.as_deref(),
            &data.unwrap_or_default(),
        )?,
        (Method::Delete, Some(id)) => {
            res.delete(kind, &id, expect)
                .map_err(|e| not_found_as(kind, &id, e))?;
            return Ok(Done {
                location: Some(location(&id)),
                id: Some(id),
                version: None,
                status: 204,
            });
        }
        _ => unreachable!("target() pairs methods and paths"),
    };
    Ok(Done {
        location: Some(location(&stored.id)),
        version: Some(etag(stored.version)),
        status: if op.method == Method::Post { 201 } else { 200 },
        id: Some(stored.id),
    })
}

/// The resource type and (but for POST) the id a path names.
fn target(path: &str, method: Method) -> Result<(Kind, Option<String>), Failure> {
    let mut parts = path.trim_matches('/').splitn(2, '/');
    let endpoint = parts.next().unwrap_or_default();
    let kind = [Kind::User, Kind::Group]
        .into_iter()
        .find(|k| k.endpoint().eq_ignore_ascii_case(endpoint))
        .ok_or_else(|| {
            Failure(ScimError::bad(
                ScimType::InvalidPath,
                format!("{path:?} is not /Users or /Groups"),
            ))
        })?;
    let id = parts.next().filter(|i| !i.is_empty()).map(str::to_owned);
    match (method, &id) {
        (Method::Post, None) | (Method::Put | Method::Patch | Method::Delete, Some(_)) => {
            Ok((kind, id))
        }
        (Method::Post, Some(_)) => Err(Failure(ScimError::bad(
            ScimType::InvalidPath,
            format!("POST goes to /{}, without an id", kind.endpoint()),
        ))),
        (m, None) => Err(Failure(ScimError::bad(
            ScimType::InvalidPath,
            format!(
                "{} needs the resource's id: /{}/ID",
                m.name(),
                kind.endpoint()
            ),
        ))),
    }
}

fn outcome(op: &Operation, answer: Result<Done, Failure>) -> Value {
    let mut v = json!({"method": op.method.name()});
    if let Some(b) = &op.bulk_id {
        v["bulkId"] = json!(b);
    }
    match answer {
        Ok(done) => {
            v["status"] = json!(done.status.to_string());
            if let Some(l) = done.location {
                v["location"] = json!(l);
            }
            if let Some(t) = done.version {
                v["version"] = json!(t);
            }
        }
        Err(Failure(e)) => {
            v["status"] = json!(e.status.to_string());
            v["response"] = e.to_json();
        }
    }
    v
}
