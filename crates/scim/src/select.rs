//! Which attributes a response carries (RFC 7643 §7 `returned`, RFC 7644
//! §3.9 `attributes` and `excludedAttributes`): `id` and `schemas` always,
//! `password` never, `members` left out when a client asks (as Entra does
//! to keep group reads small).

use serde_json::{Map, Value};

use crate::error::{Result, ScimError, ScimType};
use crate::filter::{AttrExp, AttrPath, Filter};
use crate::path;
use crate::schema::{self, Kind, Returned};

/// One name in `attributes` or `excludedAttributes`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Name {
    /// An extension's URN (None: the core schema).
    ext: Option<String>,
    /// None: the whole extension (`attributes=urn:…:User`).
    attr: Option<String>,
    sub: Option<String>,
}

/// A response's attribute selection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    only: Vec<Name>,
    without: Vec<Name>,
}

impl Selection {
    /// From the two query parameters (comma-separated names); both at once
    /// is a 400.
    pub fn parse(kind: Kind, attributes: Option<&str>, excluded: Option<&str>) -> Result<Self> {
        let only = names(kind, attributes)?;
        let without = names(kind, excluded)?;
        if !only.is_empty() && !without.is_empty() {
            return Err(ScimError::bad(
                ScimType::InvalidValue,
                "attributes and excludedAttributes cannot both be given (RFC 7644 §3.9)",
            ));
        }
        Ok(Selection { only, without })
    }

    /// Whether the response leaves out `name` (a core attribute), so that a
    /// server can skip working it out (a group's members).
    pub fn leaves_out(&self, name: &str) -> bool {
        let is = |n: &Name| {
            n.ext.is_none()
                && n.sub.is_none()
                && n.attr
                    .as_deref()
                    .is_some_and(|a| a.eq_ignore_ascii_case(name))
        };
        if !self.only.is_empty() {
            return !self.only.iter().any(|n| {
                n.ext.is_none()
                    && n.attr
                        .as_deref()
                        .is_some_and(|a| a.eq_ignore_ascii_case(name))
            });
        }
        self.without.iter().any(is)
    }

    /// Applies the selection (and `returned: never`) to a resource.
    pub fn apply(&self, kind: Kind, resource: &mut Value) {
        let Some(obj) = resource.as_object_mut() else {
            return;
        };
        strip_never(kind, obj);
        if !self.only.is_empty() {
            keep_only(kind, obj, &self.only);
        }
        for n in &self.without {
            remove(kind, obj, n);
        }
    }
}

fn names(kind: Kind, raw: Option<&str>) -> Result<Vec<Name>> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(Vec::new());
    };
    raw.split(',').map(|n| name(kind, n.trim())).collect()
}

fn name(kind: Kind, text: &str) -> Result<Name> {
    let bad = || {
        ScimError::bad(
            ScimType::InvalidValue,
            format!("{text:?} is not an attribute name"),
        )
    };
    if text.is_empty() {
        return Err(bad());
    }
    // An extension's URN on its own selects all of it.
    if let Some(ext) = kind
        .extensions()
        .iter()
        .find(|e| e.eq_ignore_ascii_case(text))
    {
        return Ok(Name {
            ext: Some((*ext).to_owned()),
            attr: None,
            sub: None,
        });
    }
    let p: AttrPath = match format!("{text} pr").parse::<Filter>() {
        Ok(Filter::Attr(AttrExp::Present(p))) => p,
        _ => return Err(bad()),
    };
    Ok(Name {
        ext: path::extension(kind, p.uri.as_deref()).map(str::to_owned),
        attr: Some(p.name),
        sub: p.sub_attr,
    })
}

fn strip_never(kind: Kind, obj: &mut Map<String, Value>) {
    for a in kind.attributes() {
        if a.returned == Returned::Never {
            if let Some(k) = path::key_ci(obj, a.name).cloned() {
                obj.remove(&k);
            }
        }
    }
}

/// Always returned whatever is asked (RFC 7643 §7, and `schemas`).
fn always(kind: Kind, key: &str) -> bool {
    key == "schemas"
        || schema::find(kind.attributes(), key).is_some_and(|a| a.returned == Returned::Always)
}

fn keep_only(kind: Kind, obj: &mut Map<String, Value>, only: &[Name]) {
    let keys: Vec<String> = obj.keys().cloned().collect();
    for key in keys {
        if always(kind, &key) {
            continue;
        }
        let ext = kind
            .extensions()
            .iter()
            .find(|e| e.eq_ignore_ascii_case(&key));
        let wanted: Vec<&Name> = match ext {
            Some(e) => only
                .iter()
                .filter(|n| n.ext.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(e)))
                .collect(),
            None => only
                .iter()
                .filter(|n| {
                    n.ext.is_none()
                        && n.attr
                            .as_deref()
                            .is_some_and(|a| a.eq_ignore_ascii_case(&key))
                })
                .collect(),
        };
        if wanted.is_empty() {
            obj.remove(&key);
            continue;
        }
        let value = obj.get_mut(&key).expect("a key just listed");
        if ext.is_some() {
            if wanted.iter().any(|n| n.attr.is_none()) {
                continue;
            }
            if let Some(inner) = value.as_object_mut() {
                let inner_only: Vec<Name> = wanted
                    .iter()
                    .map(|n| Name {
                        ext: None,
                        attr: n.attr.clone(),
                        sub: n.sub.clone(),
                    })
                    .collect();
                let keys: Vec<String> = inner.keys().cloned().collect();
                for k in keys {
                    let keep: Vec<&Name> = inner_only
                        .iter()
                        .filter(|n| {
                            n.attr
                                .as_deref()
                                .is_some_and(|a| a.eq_ignore_ascii_case(&k))
                        })
                        .collect();
                    if keep.is_empty() {
                        inner.remove(&k);
                    } else if let Some(v) = inner.get_mut(&k) {
                        keep_subs(v, &keep);
                    }
                }
            }
        } else {
            keep_subs(value, &wanted);
        }
    }
}

/// `name.givenName` keeps only that part of `name` (of each element, for
/// a multi-valued attribute); `name` on its own keeps all of it.
fn keep_subs(value: &mut Value, wanted: &[&Name]) {
    if wanted.iter().any(|n| n.sub.is_none()) {
        return;
    }
    let subs: Vec<&str> = wanted.iter().filter_map(|n| n.sub.as_deref()).collect();
    let trim = |v: &mut Value| {
        if let Some(o) = v.as_object_mut() {
            o.retain(|k, _| subs.iter().any(|s| s.eq_ignore_ascii_case(k)));
        }
    };
    match value {
        Value::Array(items) => items.iter_mut().for_each(trim),
        v => trim(v),
    }
}

fn remove(kind: Kind, obj: &mut Map<String, Value>, n: &Name) {
    let container = match &n.ext {
        None => obj,
        Some(e) => {
            let Some(key) = path::key_ci(obj, e).cloned() else {
                return;
            };
            if n.attr.is_none() {
                obj.remove(&key);
                return;
            }
            match obj.get_mut(&key).and_then(Value::as_object_mut) {
                Some(inner) => inner,
                None => return,
            }
        }
    };
    let Some(attr) = &n.attr else { return };
    if n.ext.is_none() && always(kind, attr) {
        return;
    }
    let Some(key) = path::key_ci(container, attr).cloned() else {
        return;
    };
    match &n.sub {
        None => {
            container.remove(&key);
        }
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": [schema::USER, schema::SCHOOL],
            "id": "1",
            "userName": "zoe",
            "password": "never shown",
            "name": {"givenName": "Zoë", "familyName": "Ångström"},
            "emails": [{"value": "z@x", "type": "work"}],
            "meta": {"resourceType": "User"},
            schema::SCHOOL: {"role": "student", "year": "7"}
        })
    }

    #[test]
    fn selections_as_a_table() {
        let cases: &[(Option<&str>, Option<&str>, Value)] = &[
            (
                None,
                None,
                json!({"schemas": [schema::USER, schema::SCHOOL], "id": "1", "userName": "zoe",
                    "name": {"givenName": "Zoë", "familyName": "Ångström"},
                    "emails": [{"value": "z@x", "type": "work"}], "meta": {"resourceType": "User"},
                    schema::SCHOOL: {"role": "student", "year": "7"}}),
            ),
            (
                Some("userName,name.givenName"),
                None,
                json!({"schemas": [schema::USER, schema::SCHOOL], "id": "1", "userName": "zoe",
                    "name": {"givenName": "Zoë"}}),
            ),
            (
                Some("USERNAME, urn:keyroll:params:scim:schemas:extension:school:2.0:User:year"),
                None,
                json!({"schemas": [schema::USER, schema::SCHOOL], "id": "1", "userName": "zoe",
                    schema::SCHOOL: {"year": "7"}}),
            ),
            (
                Some("id"),
                None,
                json!({"schemas": [schema::USER, schema::SCHOOL], "id": "1"}),
            ),
            (
                None,
                Some("emails,name.familyName,id,urn:keyroll:params:scim:schemas:extension:school:2.0:User"),
                json!({"schemas": [schema::USER, schema::SCHOOL], "id": "1", "userName": "zoe",
                    "name": {"givenName": "Zoë"}, "meta": {"resourceType": "User"}}),
            ),
        ];
        for (only, without, want) in cases {
            let sel = Selection::parse(Kind::User, *only, *without).unwrap();
            let mut u = user();
            sel.apply(Kind::User, &mut u);
            assert_eq!(&u, want, "{only:?} {without:?}");
        }
    }

    #[test]
    fn groups_can_leave_out_their_members() {
        let sel = Selection::parse(Kind::Group, None, Some("members")).unwrap();
        assert!(sel.leaves_out("members"));
        let sel = Selection::parse(Kind::Group, Some("displayName"), None).unwrap();
        assert!(sel.leaves_out("members"));
        assert!(!Selection::default().leaves_out("members"));
        assert!(Selection::parse(Kind::User, Some("userName"), Some("emails")).is_err());
        assert!(Selection::parse(Kind::User, Some("user name"), None).is_err());
    }
}
