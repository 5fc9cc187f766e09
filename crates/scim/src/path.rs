//! Finding an attribute in a resource: names without regard to case,
//! extension attributes under their schema's URN, the core schema's URN
//! as a prefix meaning nothing.

use serde_json::{Map, Value};

use crate::schema::{self, Attr, Kind};

/// The key in `obj` that is `name` without regard to case.
pub(crate) fn key_ci<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a String> {
    obj.keys().find(|k| k.eq_ignore_ascii_case(name))
}

pub(crate) fn get_ci<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    key_ci(obj, name).and_then(|k| obj.get(k))
}

pub(crate) fn get_ci_mut<'a>(obj: &'a mut Map<String, Value>, name: &str) -> Option<&'a mut Value> {
    let key = key_ci(obj, name)?.clone();
    obj.get_mut(&key)
}

/// `uri` as the schema an attribute lives in: None for the core schema
/// (named or not), the extension's URN otherwise.
pub(crate) fn extension(kind: Kind, uri: Option<&str>) -> Option<&str> {
    uri.filter(|u| !u.eq_ignore_ascii_case(kind.schema()))
}

/// The object an attribute of schema `ext` lives in: the resource itself,
/// or the extension's object inside it.
pub(crate) fn container<'a>(
    resource: &'a Value,
    ext: Option<&str>,
) -> Option<&'a Map<String, Value>> {
    let obj = resource.as_object()?;
    match ext {
        None => Some(obj),
        Some(urn) => get_ci(obj, urn)?.as_object(),
    }
}

/// Like [`container`], made if missing.
pub(crate) fn container_mut<'a>(
    resource: &'a mut Value,
    ext: Option<&str>,
) -> Option<&'a mut Map<String, Value>> {
    let obj = resource.as_object_mut()?;
    match ext {
        None => Some(obj),
        Some(urn) => {
            let key = key_ci(obj, urn).cloned().unwrap_or_else(|| urn.to_owned());
            obj.entry(key)
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
        }
    }
}

/// The definition of an attribute, if a schema has one.
pub(crate) fn def(
    kind: Kind,
    ext: Option<&str>,
    name: &str,
    sub: Option<&str>,
) -> Option<&'static Attr> {
    schema::lookup(kind, ext, name, sub)
}

/// Splits a PATCH value's key such as
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`
/// (as Entra sends them in a path-less add) into the extension and the
/// attribute; a key that is an extension's URN itself stays whole.
pub(crate) fn split_urn_key(kind: Kind, key: &str) -> (Option<String>, String) {
    if !key.to_ascii_lowercase().starts_with("urn:") {
        return (None, key.to_owned());
    }
    let known = std::iter::once(kind.schema()).chain(kind.extensions().iter().copied());
    for urn in known {
        if key.eq_ignore_ascii_case(urn) {
            return (None, key.to_owned());
        }
        if key.len() > urn.len() + 1
            && key[..urn.len()].eq_ignore_ascii_case(urn)
            && key.as_bytes()[urn.len()] == b':'
        {
            let ext = extension(kind, Some(urn)).map(str::to_owned);
            return (ext, key[urn.len() + 1..].to_owned());
        }
    }
    (None, key.to_owned())
}
