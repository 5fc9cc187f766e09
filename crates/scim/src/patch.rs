//! A PATCH request (RFC 7644 §3.5.2) applied to a resource: `add`,
//! `replace` and `remove`, with or without a path, paths with value
//! filters (`emails[type eq "work"].value`), as the clients schools have
//! really send them: Entra's `Replace` with a capital, its path-less values
//! keyed `name.givenName` or by an extension attribute's full URN, its
//! `"False"` strings, and its `remove` of group members listed in `value`.
//!
//! All or nothing: the operations act on a copy, which replaces the
//! resource only if every one of them succeeded.

use std::collections::{HashMap, HashSet};

use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, PatchPath, ValFilter};
use serde_json::{Map, Value};

use crate::error::{Result, ScimError, ScimType};
use crate::path;
use crate::resource;
use crate::schema::{self, Attr, Kind, Mutability};

/// What a PATCH did besides changing the document.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Patched {
    /// A new password it set (to be hashed, never kept in the document).
    pub password: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

/// Applies a PatchOp body to `doc`.
pub fn apply(kind: Kind, doc: &mut Value, body: &Value) -> Result<Patched> {
    let ops = operations(body)?;
    let mut work = doc.clone();
    let mut patched = Patched::default();
    for (i, (op, path, value)) in ops.into_iter().enumerate() {
        let at = |e: ScimError| ScimError {
            detail: format!("operation {}: {}", i + 1, e.detail),
            ..e
        };
        one(kind, &mut work, op, path, value, &mut patched).map_err(at)?;
    }
    resource::normalise(kind, &mut work)?;
    if kind == Kind::User {
        let user_name = work
            .as_object()
            .and_then(|o| path::get_ci(o, "userName"))
            .and_then(Value::as_str);
        if user_name.is_none_or(|u| u.trim().is_empty()) {
            return Err(ScimError::bad(
                ScimType::InvalidValue,
                "a User needs userName; it cannot be removed",
            ));
        }
    }
    *doc = work;
    Ok(patched)
}

type Operation = (Op, Option<PatchPath>, Option<Value>);

fn operations(body: &Value) -> Result<Vec<Operation>> {
    let syntax = |d: String| ScimError::bad(ScimType::InvalidSyntax, d);
    let obj = body
        .as_object()
        .ok_or_else(|| syntax("a PATCH body must be a JSON object".into()))?;
    let names_patch = path::get_ci(obj, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|s| s.as_str() == Some(schema::PATCH_OP)));
    if !names_patch {
        return Err(syntax(format!(
            "a PATCH body must list the schema {:?}",
            schema::PATCH_OP
        )));
    }
    let list = path::get_ci(obj, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| syntax("a PATCH body needs its Operations".into()))?;
    list.iter()
        .enumerate()
        .map(|(i, o)| {
            let o = o
                .as_object()
                .ok_or_else(|| syntax(format!("operation {} is not an object", i + 1)))?;
            let op = match path::get_ci(o, "op").and_then(Value::as_str) {
                Some(s) if s.eq_ignore_ascii_case("add") => Op::Add,
                Some(s) if s.eq_ignore_ascii_case("replace") => Op::Replace,
                Some(s) if s.eq_ignore_ascii_case("remove") => Op::Remove,
                other => {
                    return Err(syntax(format!(
                        "operation {}: op must be add, replace or remove, not {other:?}",
                        i + 1
                    )))
                }
            };
            let path = match path::get_ci(o, "path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) if p.trim().is_empty() => None,
                Some(Value::String(p)) => Some(p.parse::<PatchPath>().map_err(|e| {
                    ScimError::bad(
                        ScimType::InvalidPath,
                        format!(
                            "operation {}: the path {p:?} is not a SCIM path: {e}",
                            i + 1
                        ),
                    )
                })?),
                Some(_) => {
                    return Err(syntax(format!(
                        "operation {}: path must be a string",
                        i + 1
                    )))
                }
            };
            let value = path::get_ci(o, "value").cloned();
            Ok((op, path, value))
        })
        .collect()
}

fn one(
    kind: Kind,
    doc: &mut Value,
    op: Op,
    path: Option<PatchPath>,
    value: Option<Value>,
    patched: &mut Patched,
) -> Result<()> {
    if let Some(PatchPath::Attr(p)) = &path {
        if let Some(ext) = whole_extension(kind, p) {
            return match (op, value) {
                (Op::Remove, _) => {
                    remove_extension(doc, ext);
                    Ok(())
                }
                (_, Some(v)) => pathless(kind, doc, op, ext, v, patched),
                (_, None) => Err(ScimError::bad(
                    ScimType::InvalidValue,
                    "add and replace need a value",
                )),
            };
        }
    }
    match (op, path) {
        (Op::Remove, None) => Err(ScimError::bad(ScimType::NoTarget, "remove needs a path")),
        (_, None) => {
            let Some(Value::Object(values)) = value else {
                return Err(ScimError::bad(
                    ScimType::InvalidValue,
                    "without a path, value must be an object of attributes",
                ));
            };
            for (key, v) in values {
                pathless(kind, doc, op, &key, v, patched)?;
            }
            Ok(())
        }
        (Op::Remove, Some(PatchPath::Attr(p))) => remove_attr(kind, doc, &p, value.as_ref()),
        (_, Some(PatchPath::Attr(p))) => {
            let v = value.ok_or_else(|| {
                ScimError::bad(ScimType::InvalidValue, "add and replace need a value")
            })?;
            set_attr(kind, doc, op, &p, v, patched)
        }
        (_, Some(PatchPath::Value(vp))) => {
            let ext = path::extension(kind, vp.attr.uri.as_deref()).map(str::to_owned);
            let def = writable(kind, ext.as_deref(), &vp.attr.name, None)?;
            if !def.multi {
                return Err(ScimError::bad(
                    ScimType::InvalidPath,
                    format!(
                        "{} is not multi-valued, so it has no [filter]",
                        vp.attr.name
                    ),
                ));
            }
            filtered(
                kind,
                doc,
                op,
                ext.as_deref(),
                def,
                &vp.attr.name,
                &vp.filter,
                vp.sub_attr.as_deref(),
                value,
            )
        }
    }
}

/// The extension a path names as a whole (`urn:…:enterprise:2.0:User`,
/// which the path grammar reads as attribute `User` of `urn:…:2.0`).
fn whole_extension(kind: Kind, p: &AttrPath) -> Option<&'static str> {
    let uri = p.uri.as_deref()?;
    if p.sub_attr.is_some() {
        return None;
    }
    let named = format!("{uri}:{}", p.name);
    kind.extensions()
        .iter()
        .copied()
        .find(|e| e.eq_ignore_ascii_case(&named))
}

/// Removes an extension's object and its name from `schemas`.
fn remove_extension(doc: &mut Value, urn: &str) {
    let Some(obj) = doc.as_object_mut() else {
        return;
    };
    obj.retain(|k, _| !k.eq_ignore_ascii_case(urn));
    if let Some(Value::Array(names)) = path::get_ci_mut(obj, "schemas") {
        names.retain(|n| !n.as_str().is_some_and(|n| n.eq_ignore_ascii_case(urn)));
    }
}

/// The definition of an attribute a client may change.
fn writable(kind: Kind, ext: Option<&str>, name: &str, sub: Option<&str>) -> Result<&'static Attr> {
    let top = path::def(kind, ext, name, None).ok_or_else(|| {
        ScimError::bad(
            ScimType::InvalidPath,
            format!("{name:?} is not an attribute of a {}", kind.name()),
        )
    })?;
    let def = match sub {
        None => top,
        Some(s) => schema::find(top.sub, s).ok_or_else(|| {
            ScimError::bad(
                ScimType::InvalidPath,
                format!("{name}.{s} is not an attribute"),
            )
        })?,
    };
    for d in [top, def] {
        if matches!(d.mutability, Mutability::ReadOnly) {
            return Err(ScimError::bad(
                ScimType::Mutability,
                format!("{} is read-only", d.name),
            ));
        }
    }
    Ok(def)
}

/// One key of a path-less add or replace: an attribute, `name.givenName`,
/// an extension's URN (its attributes inside), or an extension
/// attribute's full URN.
fn pathless(
    kind: Kind,
    doc: &mut Value,
    op: Op,
    key: &str,
    v: Value,
    patched: &mut Patched,
) -> Result<()> {
    if let Some(ext) = kind
        .extensions()
        .iter()
        .find(|e| e.eq_ignore_ascii_case(key))
    {
        let Value::Object(inner) = v else {
            return Err(ScimError::bad(
                ScimType::InvalidValue,
                format!("{key} must be an object of its attributes"),
            ));
        };
        // Some clients send the extension's object with its own `schemas`.
        for (k, v) in inner
            .into_iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("schemas"))
        {
            let p = AttrPath {
                uri: Some((*ext).to_owned()),
                ..attr_path(&k)?
            };
            set_attr(kind, doc, op, &p, v, patched)?;
        }
        return Ok(());
    }
    let (ext, rest) = path::split_urn_key(kind, key);
    let p = AttrPath {
        uri: ext,
        ..attr_path(&rest)?
    };
    set_attr(kind, doc, op, &p, v, patched)
}

fn attr_path(text: &str) -> Result<AttrPath> {
    match format!("{text} pr").parse::<Filter>() {
        Ok(Filter::Attr(AttrExp::Present(p))) => Ok(p),
        _ => Err(ScimError::bad(
            ScimType::InvalidPath,
            format!("{text:?} is not an attribute name"),
        )),
    }
}

fn set_attr(
    kind: Kind,
    doc: &mut Value,
    op: Op,
    p: &AttrPath,
    v: Value,
    patched: &mut Patched,
) -> Result<()> {
    let ext = path::extension(kind, p.uri.as_deref()).map(str::to_owned);
    if ext.is_none() && p.name.eq_ignore_ascii_case("password") && kind == Kind::User {
        match v {
            Value::String(s) if !s.is_empty() => patched.password = Some(s),
            _ => {
                return Err(ScimError::bad(
                    ScimType::InvalidValue,
                    "password must be a string that is not empty",
                ))
            }
        }
        return Ok(());
    }
    // `schemas` itself may be added to (an extension named).
    if ext.is_none() && p.name.eq_ignore_ascii_case("schemas") {
        return add_schemas(kind, doc, v);
    }
    let def = writable(kind, ext.as_deref(), &p.name, p.sub_attr.as_deref())?;
    let top_def = path::def(kind, ext.as_deref(), &p.name, None).expect("checked above");
    if let Some(urn) = ext.as_deref() {
        name_schema(doc, urn);
    }
    let container = path::container_mut(doc, ext.as_deref())
        .ok_or_else(|| ScimError::bad(ScimType::InvalidSyntax, "the resource is not an object"))?;
    let key = path::key_ci(container, &p.name)
        .cloned()
        .unwrap_or_else(|| top_def.name.to_owned());
    match &p.sub_attr {
        None => {
            let slot = container.entry(key).or_insert(Value::Null);
            put(def, op, slot, v);
        }
        Some(sub) => {
            if top_def.multi {
                // name.sub on a multi-valued attribute: every element's.
                let Some(Value::Array(items)) = container.get_mut(&key) else {
                    return Err(ScimError::bad(
                        ScimType::NoTarget,
                        format!("{} has no values to set {sub} on", p.name),
                    ));
                };
                for item in items.iter_mut().filter_map(Value::as_object_mut) {
                    set_key(item, def, op, sub, v.clone());
                }
            } else {
                let slot = container
                    .entry(key)
                    .or_insert_with(|| Value::Object(Map::new()));
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                set_key(
                    slot.as_object_mut().expect("made an object"),
                    def,
                    op,
                    sub,
                    v,
                );
            }
        }
    }
    Ok(())
}

fn set_key(obj: &mut Map<String, Value>, def: &'static Attr, op: Op, name: &str, v: Value) {
    let key = path::key_ci(obj, name)
        .cloned()
        .unwrap_or_else(|| def.name.to_owned());
    let slot = obj.entry(key).or_insert(Value::Null);
    put(def, op, slot, v);
}

/// Puts `v` in `slot` as `op` says for an attribute defined by `def`:
/// add appends to a multi-valued attribute (a value already there is
/// replaced, not doubled), replace replaces it whole; a complex value's
/// sub-attributes are merged, others left as they were.
fn put(def: &'static Attr, op: Op, slot: &mut Value, v: Value) {
    if def.multi {
        let items = match v {
            Value::Array(a) => a,
            Value::Null => Vec::new(),
            one => vec![one],
        };
        if op == Op::Replace || !slot.is_array() {
            *slot = Value::Array(Vec::new());
        }
        let list = slot.as_array_mut().expect("made an array");
        // Indexed, not searched: adding members to a group of 100,000 must
        // not cost 100,000 comparisons per member.
        let mut at: HashMap<String, usize> = list
            .iter()
            .enumerate()
            .map(|(i, have)| (identity(have), i))
            .collect();
        for item in items {
            match at.get(&identity(&item)) {
                Some(&i) => list[i] = item,
                None => {
                    at.insert(identity(&item), list.len());
                    list.push(item);
                }
            }
        }
        return;
    }
    match (slot, v) {
        (Value::Object(have), Value::Object(new)) => {
            for (k, v) in new {
                let key = path::key_ci(have, &k).cloned().unwrap_or(k);
                have.insert(key, v);
            }
        }
        (slot, v) => *slot = v,
    }
}

/// What makes two elements of a multi-valued attribute the same value: a
/// complex value's `value` (a member added twice), or else the whole value.
fn identity(v: &Value) -> String {
    match v.as_object().and_then(|o| path::get_ci(o, "value")) {
        Some(value) => format!("value:{value}"),
        None => format!("whole:{v}"),
    }
}

fn add_schemas(kind: Kind, doc: &mut Value, v: Value) -> Result<()> {
    let items = match v {
        Value::Array(a) => a,
        one => vec![one],
    };
    for s in items {
        let Some(s) = s.as_str() else {
            return Err(ScimError::bad(
                ScimType::InvalidValue,
                "schemas must be strings",
            ));
        };
        if !s.eq_ignore_ascii_case(kind.schema())
            && !kind.extensions().iter().any(|e| e.eq_ignore_ascii_case(s))
        {
            return Err(ScimError::bad(
                ScimType::InvalidValue,
                format!("unknown schema {s:?}"),
            ));
        }
        name_schema(doc, s);
    }
    Ok(())
}

/// Lists `urn` in the resource's schemas (an extension just written to).
fn name_schema(doc: &mut Value, urn: &str) {
    let Some(obj) = doc.as_object_mut() else {
        return;
    };
    let key = path::key_ci(obj, "schemas")
        .cloned()
        .unwrap_or_else(|| "schemas".into());
    let list = obj.entry(key).or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(list) = list {
        if !list
            .iter()
            .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn)))
        {
            list.push(Value::String(urn.to_owned()));
        }
    }
}

fn remove_attr(kind: Kind, doc: &mut Value, p: &AttrPath, value: Option<&Value>) -> Result<()> {
    let ext = path::extension(kind, p.uri.as_deref()).map(str::to_owned);
    let def = writable(kind, ext.as_deref(), &p.name, p.sub_attr.as_deref())?;
    let top_def = path::def(kind, ext.as_deref(), &p.name, None).expect("checked above");
    if top_def.required && p.sub_attr.is_none() {
        return Err(ScimError::bad(
            ScimType::Mutability,
            format!("{} is required, so it cannot be removed", top_def.name),
        ));
    }
    let Some(container) = path::container_mut(doc, ext.as_deref()) else {
        return Ok(());
    };
    let Some(key) = path::key_ci(container, &p.name).cloned() else {
        return Ok(());
    };
    match &p.sub_attr {
        None => match value {
            // Entra: remove members listed in value, not all of them.
            Some(Value::Array(gone)) if def.multi => {
                if let Some(Value::Array(items)) = container.get_mut(&key) {
                    let gone: HashSet<String> = gone.iter().map(identity).collect();
                    items.retain(|have| !gone.contains(&identity(have)));
                }
            }
            _ => {
                container.remove(&key);
            }
        },
        Some(sub) => {
            let strip = |v: &mut Value| {
                if let Some(o) = v.as_object_mut() {
                    o.retain(|k, _| !k.eq_ignore_ascii_case(sub));
                }
            };
            match container.get_mut(&key) {
                Some(Value::Array(items)) => items.iter_mut().for_each(strip),
                Some(v) => strip(v),
                None => {}
            }
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn filtered(
    kind: Kind,
    doc: &mut Value,
    op: Op,
    ext: Option<&str>,
    def: &'static Attr,
    name: &str,
    filter: &ValFilter,
    sub: Option<&str>,
    value: Option<Value>,
) -> Result<()> {
    let sub_def = match sub {
        Some(s) => Some(writable(kind, ext, name, Some(s))?),
        None => None,
    };
    if let Some(urn) = ext.filter(|_| op != Op::Remove) {
        name_schema(doc, urn);
    }
    let container = path::container_mut(doc, ext)
        .ok_or_else(|| ScimError::bad(ScimType::InvalidSyntax, "the resource is not an object"))?;
    let key = path::key_ci(container, name)
        .cloned()
        .unwrap_or_else(|| def.name.to_owned());
    let mut items = match container.remove(&key) {
        Some(Value::Array(a)) => a,
        Some(Value::Null) | None => Vec::new(),
        Some(one) => vec![one],
    };
    let mut hits = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if crate::filter::eval_element(kind, ext, def, item, filter)? {
            hits.push(i);
        }
    }
    match op {
        Op::Remove => match sub {
            None => {
                let mut i = 0;
                items.retain(|_| {
                    i += 1;
                    !hits.contains(&(i - 1))
                });
            }
            Some(s) => {
                for &i in &hits {
                    if let Some(o) = items[i].as_object_mut() {
                        o.retain(|k, _| !k.eq_ignore_ascii_case(s));
                    }
                }
            }
        },
        Op::Add | Op::Replace => {
            let v = value.ok_or_else(|| {
                ScimError::bad(ScimType::InvalidValue, "add and replace need a value")
            })?;
            if hits.is_empty() {
                // Nothing matched: Entra's `emails[type eq "work"].value`
                // for a user with no work email makes one.
                let mut made = equalities(filter).ok_or_else(|| {
                    ScimError::bad(
                        ScimType::NoTarget,
                        format!("no value of {name} matches the filter, and it does not say what a new one would be"),
                    )
                })?;
                match (sub, sub_def) {
                    (Some(s), Some(d)) => set_key(&mut made, d, op, s, v),
                    _ => {
                        let Value::Object(fields) = v else {
                            return Err(ScimError::bad(
                                ScimType::InvalidValue,
                                format!("a value for {name}[…] must be an object"),
                            ));
                        };
                        made.extend(fields);
                    }
                }
                items.push(Value::Object(made));
            } else {
                set_each(&mut items, &hits, op, name, sub.zip(sub_def), &v)?;
            }
        }
    }
    if !items.is_empty() {
        container.insert(key, Value::Array(items));
    }
    Ok(())
}

/// Sets `v` on each matching element (or on its sub-attribute).
fn set_each(
    items: &mut [Value],
    hits: &[usize],
    op: Op,
    name: &str,
    sub: Option<(&str, &'static Attr)>,
    v: &Value,
) -> Result<()> {
    for &i in hits {
        let Some(o) = items[i].as_object_mut() else {
            continue;
        };
        match sub {
            Some((s, d)) => set_key(o, d, op, s, v.clone()),
            None => {
                let Value::Object(fields) = v.clone() else {
                    return Err(ScimError::bad(
                        ScimType::InvalidValue,
                        format!("a value for {name}[…] must be an object"),
                    ));
                };
                if op == Op::Replace {
                    *o = fields;
                } else {
                    o.extend(fields);
                }
            }
        }
    }
    Ok(())
}

/// The sub-attributes a filter made only of `eq` and `and` pins down, as
/// the start of a new element.
fn equalities(f: &ValFilter) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    fn walk(f: &ValFilter, out: &mut Map<String, Value>) -> bool {
        match f {
            ValFilter::Attr(AttrExp::Comparison(p, CompareOp::Eq, v)) if p.sub_attr.is_none() => {
                let v = match v {
                    CompValue::Str(s) => Value::String(s.clone()),
                    CompValue::True => Value::Bool(true),
                    CompValue::False => Value::Bool(false),
                    CompValue::Number(n) => Value::Number(n.clone()),
                    CompValue::Null => return false,
                };
                out.insert(p.name.clone(), v);
                true
            }
            ValFilter::And(items) => items.iter().all(|i| walk(i, out)),
            _ => false,
        }
    }
    walk(f, &mut out).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": [schema::USER],
            "userName": "kim",
            "active": true,
            "name": {"givenName": "Kim", "familyName": "Lee"},
            "emails": [{"value": "kim@home.example", "type": "home"}]
        })
    }

    fn patch(ops: Value) -> Value {
        json!({"schemas": [schema::PATCH_OP], "Operations": ops})
    }

    #[test]
    fn patches_as_a_table() {
        let cases: &[(Value, Value)] = &[
            // Entra: capitalised op, a string boolean.
            (
                json!([{"op": "Replace", "path": "active", "value": "False"}]),
                json!({"active": false}),
            ),
            // Path-less replace with Entra's dotted and URN keys.
            (
                json!([{"op": "replace", "value": {
                    "name.givenName": "Kimberley",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Maths"
                }}]),
                json!({"name": {"givenName": "Kimberley", "familyName": "Lee"},
                       "schemas": [schema::USER, schema::ENTERPRISE],
                       schema::ENTERPRISE: {"department": "Maths"}}),
            ),
            // A value filter that matches nothing makes the element.
            (
                json!([{"op": "add", "path": "emails[type eq \"work\"].value", "value": "kim@demo.example"}]),
                json!({"emails": [{"value": "kim@home.example", "type": "home"},
                                  {"type": "work", "value": "kim@demo.example"}]}),
            ),
            (
                json!([{"op": "replace", "path": "emails[type eq \"home\"].value", "value": "k@new.example"}]),
                json!({"emails": [{"value": "k@new.example", "type": "home"}]}),
            ),
            (
                json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
                json!({"emails": null}),
            ),
            (
                json!([{"op": "add", "path": "emails", "value": [{"value": "kim@home.example", "type": "other"}]}]),
                json!({"emails": [{"value": "kim@home.example", "type": "other"}]}),
            ),
            (
                json!([{"op": "replace", "path": "name", "value": {"familyName": "Li"}}]),
                json!({"name": {"givenName": "Kim", "familyName": "Li"}}),
            ),
            (
                json!([{"op": "remove", "path": "name.givenName"}]),
                json!({"name": {"familyName": "Lee"}}),
            ),
            (
                json!([{"op": "add", "value": {"title": "Teacher", "nickName": "K"}}]),
                json!({"title": "Teacher", "nickName": "K"}),
            ),
            (
                json!([{"op": "add", "path": "urn:keyroll:params:scim:schemas:extension:school:2.0:User:classes", "value": ["7A"]}]),
                json!({"schemas": [schema::USER, schema::SCHOOL], schema::SCHOOL: {"classes": ["7A"]}}),
            ),
            // A path that names an extension as a whole.
            (
                json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "value": {"department": "Art"}}]),
                json!({"schemas": [schema::USER, schema::ENTERPRISE], schema::ENTERPRISE: {"department": "Art"}}),
            ),
            (
                json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "value": {"department": "Art"}},
                       {"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}]),
                json!({"schemas": [schema::USER]}),
            ),
        ];
        for (ops, changes) in cases {
            let mut want = user();
            for (k, v) in changes.as_object().unwrap() {
                if v.is_null() {
                    want.as_object_mut().unwrap().remove(k);
                } else {
                    want[k] = v.clone();
                }
            }
            let mut got = user();
            apply(Kind::User, &mut got, &patch(ops.clone()))
                .unwrap_or_else(|e| panic!("{ops}: {e}"));
            assert_eq!(got, want, "{ops}");
        }
    }

    #[test]
    fn group_members_added_once_and_removed_either_way() {
        let mut g =
            json!({"schemas": [schema::GROUP], "displayName": "7A", "members": [{"value": "u1"}]});
        let ops = patch(json!([
            {"op": "Add", "path": "members", "value": [{"value": "u2"}, {"value": "u1"}]},
            {"op": "Add", "path": "members", "value": [{"value": "u3"}]}
        ]));
        apply(Kind::Group, &mut g, &ops).unwrap();
        assert_eq!(
            g["members"],
            json!([{"value": "u1"}, {"value": "u2"}, {"value": "u3"}])
        );
        let ops = patch(json!([
            {"op": "Remove", "path": "members[value eq \"u1\"]"},
            {"op": "Remove", "path": "members", "value": [{"value": "u3"}]}
        ]));
        apply(Kind::Group, &mut g, &ops).unwrap();
        assert_eq!(g["members"], json!([{"value": "u2"}]));
    }

    #[test]
    fn refusals_leave_the_resource_as_it_was() {
        let cases: &[(Value, ScimType)] = &[
            (
                json!([{"op": "replace", "path": "id", "value": "x"}]),
                ScimType::Mutability,
            ),
            (
                json!([{"op": "remove", "path": "userName"}]),
                ScimType::Mutability,
            ),
            (json!([{"op": "remove"}]), ScimType::NoTarget),
            (
                json!([{"op": "move", "path": "title"}]),
                ScimType::InvalidSyntax,
            ),
            (
                json!([{"op": "add", "path": "nope", "value": 1}]),
                ScimType::InvalidPath,
            ),
            (
                json!([{"op": "add", "path": "emails[", "value": 1}]),
                ScimType::InvalidPath,
            ),
            (
                json!([{"op": "replace", "path": "title", "value": "T"}, {"op": "replace", "path": "active", "value": "maybe"}]),
                ScimType::InvalidValue,
            ),
        ];
        for (ops, want) in cases {
            let mut u = user();
            let e = apply(Kind::User, &mut u, &patch(ops.clone())).unwrap_err();
            assert_eq!(e.scim_type, Some(*want), "{ops}: {e}");
            assert_eq!(u, user(), "{ops}");
        }
        let e = apply(Kind::User, &mut user(), &json!({"Operations": []})).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
    }

    #[test]
    fn a_password_is_taken_out() {
        let mut u = user();
        let p = apply(
            Kind::User,
            &mut u,
            &patch(json!([{"op": "replace", "value": {"password": "New-pass-1"}}])),
        )
        .unwrap();
        assert_eq!(p.password.as_deref(), Some("New-pass-1"));
        assert_eq!(u, user());
    }
}
