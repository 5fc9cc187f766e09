//! Whether a resource matches a SCIM filter (RFC 7644 §3.4.2.2): `eq`,
//! `ne`, `co`, `sw`, `ew`, `pr`, `gt`/`ge`/`lt`/`le` (dates compared as
//! instants, numbers as numbers), `and`, `or`, `not` and value paths such as
//! `emails[type eq "work"]`. Strings compare by the attribute's case rule:
//! `userName` without regard to case, `id` and `externalId` exactly.

pub use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, ValFilter};
use serde_json::Value;

use crate::error::{Result, ScimError, ScimType};
use crate::path;
use crate::schema::{Attr, Kind, Type};

/// Parses a `filter` parameter; a mistake is a 400 `invalidFilter`.
pub fn parse(text: &str) -> Result<Filter> {
    text.parse::<Filter>().map_err(|e| {
        ScimError::bad(
            ScimType::InvalidFilter,
            format!("the filter {text:?} is not a SCIM filter: {e}"),
        )
    })
}

/// Whether `resource` (of `kind`) matches `filter`. Comparing a boolean
/// with `gt` and the like is an `invalidFilter` error.
pub fn matches(kind: Kind, resource: &Value, filter: &Filter) -> Result<bool> {
    let scope = Scope {
        kind,
        value: resource,
        parent: None,
    };
    eval(&scope, filter)
}

/// What a path is resolved against: the resource, or one element of a
/// multi-valued attribute inside a value path's brackets.
struct Scope<'a> {
    kind: Kind,
    value: &'a Value,
    /// The multi-valued attribute whose element `value` is.
    parent: Option<(Option<&'a str>, &'static Attr)>,
}

fn eval(scope: &Scope, f: &Filter) -> Result<bool> {
    Ok(match f {
        Filter::Attr(e) => attr_exp(scope, e)?,
        Filter::ValuePath(vp) => {
            let ext = path::extension(scope.kind, vp.attr.uri.as_deref());
            let Some(def) = path::def(scope.kind, ext, &vp.attr.name, None) else {
                return Ok(false);
            };
            let elements = path::container(scope.value, ext)
                .and_then(|c| path::get_ci(c, &vp.attr.name))
                .map(as_list)
                .unwrap_or_default();
            for el in elements {
                let inner = Scope {
                    kind: scope.kind,
                    value: el,
                    parent: Some((ext, def)),
                };
                if eval_val(&inner, &vp.filter)? {
                    return Ok(true);
                }
            }
            false
        }
        Filter::Not(inner) => !eval(scope, inner)?,
        Filter::And(items) => {
            for i in items {
                if !eval(scope, i)? {
                    return Ok(false);
                }
            }
            true
        }
        Filter::Or(items) => {
            for i in items {
                if eval(scope, i)? {
                    return Ok(true);
                }
            }
            false
        }
    })
}

/// A value path's inner filter on one element.
pub(crate) fn eval_element(
    kind: Kind,
    ext: Option<&str>,
    def: &'static Attr,
    element: &Value,
    f: &ValFilter,
) -> Result<bool> {
    let scope = Scope {
        kind,
        value: element,
        parent: Some((ext, def)),
    };
    eval_val(&scope, f)
}

fn eval_val(scope: &Scope, f: &ValFilter) -> Result<bool> {
    Ok(match f {
        ValFilter::Attr(e) => attr_exp(scope, e)?,
        ValFilter::Not(inner) => !eval_val(scope, inner)?,
        ValFilter::And(items) => {
            for i in items {
                if !eval_val(scope, i)? {
                    return Ok(false);
                }
            }
            true
        }
        ValFilter::Or(items) => {
            for i in items {
                if eval_val(scope, i)? {
                    return Ok(true);
                }
            }
            false
        }
    })
}

fn as_list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().collect(),
        Value::Null => Vec::new(),
        v => vec![v],
    }
}

/// The definition and the values at `p` in the scope: every element's
/// value for a multi-valued attribute (its `value` sub-attribute if the
/// elements are complex and no sub-attribute is named).
fn resolve<'a>(scope: &Scope<'a>, p: &AttrPath) -> (Option<&'static Attr>, Vec<&'a Value>) {
    if let Some((_, parent)) = scope.parent {
        // Inside brackets, a name is a sub-attribute of the element.
        let def = crate::schema::find(parent.sub, &p.name);
        let v = scope
            .value
            .as_object()
            .and_then(|o| path::get_ci(o, &p.name));
        return (def, v.map(as_list).unwrap_or_default());
    }
    let ext = path::extension(scope.kind, p.uri.as_deref());
    let top = path::container(scope.value, ext).and_then(|c| path::get_ci(c, &p.name));
    let top_def = path::def(scope.kind, ext, &p.name, None);
    let Some(top) = top else {
        let def = match &p.sub_attr {
            Some(sub) => path::def(scope.kind, ext, &p.name, Some(sub)),
            None => top_def,
        };
        return (def, Vec::new());
    };
    let sub = p.sub_attr.as_deref().or(match top_def {
        Some(d) if d.multi && d.kind == Type::Complex => Some("value"),
        _ => None,
    });
    match sub {
        None => (top_def, as_list(top)),
        Some(sub) => {
            let def = top_def.and_then(|d| crate::schema::find(d.sub, sub));
            let values = as_list(top)
                .into_iter()
                .filter_map(|el| el.as_object().and_then(|o| path::get_ci(o, sub)))
                .flat_map(as_list)
                .collect();
            (def, values)
        }
    }
}

fn attr_exp(scope: &Scope, e: &AttrExp) -> Result<bool> {
    match e {
        AttrExp::Present(p) => {
            let (_, values) = resolve(scope, p);
            Ok(values.iter().any(|v| present(v)))
        }
        AttrExp::Comparison(p, op, want) => {
            let (def, values) = resolve(scope, p);
            if matches!(want, CompValue::Null) {
                let absent = !values.iter().any(|v| present(v));
                return Ok(match op {
                    CompareOp::Eq => absent,
                    CompareOp::Ne => !absent,
                    _ => return Err(bad_op(p, op, "null")),
                });
            }
            if *op == CompareOp::Ne {
                // Not equal: no value equals it (an absent attribute too).
                for v in &values {
                    if compare(def, p, v, &CompareOp::Eq, want)? {
                        return Ok(false);
                    }
                }
                return Ok(true);
            }
            for v in &values {
                if compare(def, p, v, op, want)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
    }
}

fn present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

fn bad_op(p: &AttrPath, op: &CompareOp, what: &str) -> ScimError {
    ScimError::bad(
        ScimType::InvalidFilter,
        format!("{p} cannot be compared with {op} to {what}"),
    )
}

fn compare(
    def: Option<&Attr>,
    p: &AttrPath,
    have: &Value,
    op: &CompareOp,
    want: &CompValue,
) -> Result<bool> {
    match (have, want) {
        (Value::Bool(h), CompValue::True | CompValue::False) => {
            let w = matches!(want, CompValue::True);
            match op {
                CompareOp::Eq => Ok(*h == w),
                _ => Err(bad_op(p, op, "a boolean")),
            }
        }
        // Entra's string booleans, should one have been stored.
        (Value::String(h), CompValue::True | CompValue::False) => {
            let w = matches!(want, CompValue::True);
            Ok(*op == CompareOp::Eq && h.eq_ignore_ascii_case(if w { "true" } else { "false" }))
        }
        (Value::Number(h), CompValue::Number(w)) => {
            let (h, w) = (
                h.as_f64().unwrap_or(f64::NAN),
                w.as_f64().unwrap_or(f64::NAN),
            );
            Ok(ordered(op, h.partial_cmp(&w), || false)?)
        }
        (Value::String(h), CompValue::Str(w)) => {
            if def.is_some_and(|d| d.kind == Type::DateTime) {
                if let (Some(h), Some(w)) = (instant(h), instant(w)) {
                    return ordered(op, Some(h.cmp(&w)), || false);
                }
            }
            let exact = def.is_some_and(|d| d.case_exact);
            let (h, w) = if exact {
                (h.clone(), w.clone())
            } else {
                (h.to_lowercase(), w.to_lowercase())
            };
            Ok(match op {
                CompareOp::Co => h.contains(&w),
                CompareOp::Sw => h.starts_with(&w),
                CompareOp::Ew => h.ends_with(&w),
                _ => ordered(op, Some(h.cmp(&w)), || false)?,
            })
        }
        (Value::Bool(_), _) => Err(bad_op(p, op, "a value that is not a boolean")),
        _ => Ok(false),
    }
}

fn ordered(
    op: &CompareOp,
    ord: Option<std::cmp::Ordering>,
    otherwise: impl Fn() -> bool,
) -> Result<bool> {
    use std::cmp::Ordering::*;
    let Some(ord) = ord else {
        return Ok(otherwise());
    };
    Ok(match op {
        CompareOp::Eq => ord == Equal,
        CompareOp::Ne => ord != Equal,
        CompareOp::Gt => ord == Greater,
        CompareOp::Ge => ord != Less,
        CompareOp::Lt => ord == Less,
        CompareOp::Le => ord != Greater,
        // co/sw/ew on numbers and dates match nothing.
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => otherwise(),
    })
}

fn instant(s: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

/// The value a list is sorted by (`sortBy`): the attribute's first value,
/// as text that orders as the attribute's case rule says; None when the
/// resource has none (those sort last).
pub fn sort_key(kind: Kind, resource: &Value, sort_by: &str) -> Result<Option<String>> {
    let p = match format!("{sort_by} pr").parse::<Filter>() {
        Ok(Filter::Attr(AttrExp::Present(p))) => p,
        _ => {
            return Err(ScimError::bad(
                ScimType::InvalidValue,
                format!("sortBy {sort_by:?} is not an attribute name"),
            ))
        }
    };
    let scope = Scope {
        kind,
        value: resource,
        parent: None,
    };
    let (def, values) = resolve(&scope, &p);
    let exact = def.is_some_and(|d| d.case_exact);
    Ok(values.into_iter().find(|v| present(v)).map(|v| match v {
        Value::String(s) if exact => s.clone(),
        Value::String(s) => s.to_lowercase(),
        // Numbers sort as numbers: fixed width, sign first.
        Value::Number(n) => format!("{:+024.6}", n.as_f64().unwrap_or(0.0)),
        other => other.to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": [crate::schema::USER, crate::schema::SCHOOL],
            "id": "A1b2",
            "externalId": "kr-17",
            "userName": "Zoe.Angstrom@demo.example",
            "name": {"givenName": "Zoë", "familyName": "Ångström"},
            "active": true,
            "emails": [
                {"value": "zoe@home.example", "type": "home"},
                {"value": "zoe@demo.example", "type": "work", "primary": true}
            ],
            "meta": {"lastModified": "2026-03-03T09:00:00Z"},
            crate::schema::SCHOOL: {"role": "student", "year": "7", "classes": ["7A", "Maths 7"]}
        })
    }

    #[test]
    fn filters_as_a_table() {
        let cases: &[(&str, bool)] = &[
            (r#"userName eq "zoe.angstrom@DEMO.example""#, true),
            (r#"USERNAME Eq "zoe.angstrom@demo.example""#, true),
            (r#"externalId eq "KR-17""#, false),
            (r#"externalId eq "kr-17""#, true),
            (r#"id eq "a1b2""#, false),
            (r#"name.familyName sw "Ång""#, true),
            (r#"name.givenName co "ë""#, true),
            (r#"userName ew "@demo.example""#, true),
            (r#"userName ne "someone""#, true),
            (r#"title ne "x""#, true),
            ("title pr", false),
            ("emails pr", true),
            (r#"emails eq "zoe@demo.example""#, true),
            (r#"emails.type eq "work""#, true),
            (r#"emails[type eq "work" and value co "demo"]"#, true),
            (r#"emails[type eq "work" and value co "home"]"#, false),
            ("active eq true", true),
            ("active eq false", false),
            (r#"meta.lastModified gt "2026-03-01T00:00:00Z""#, true),
            (r#"meta.lastModified gt "2026-03-03T10:00:00+01:00""#, false),
            (r#"meta.lastModified ge "2026-03-03T10:00:00+01:00""#, true),
            (r#"meta.lastModified lt "2026-03-03T09:00:01Z""#, true),
            (
                r#"urn:keyroll:params:scim:schemas:extension:school:2.0:User:year eq "7""#,
                true,
            ),
            (
                r#"urn:keyroll:params:scim:schemas:extension:school:2.0:User:classes eq "maths 7""#,
                true,
            ),
            (
                r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "zoe""#,
                true,
            ),
            (r#"not (userName sw "zoe")"#, false),
            (r#"userName sw "x" or active eq true"#, true),
            (r#"userName sw "x" and active eq true"#, false),
            ("title eq null", true),
            ("userName eq null", false),
        ];
        let u = user();
        for (text, want) in cases {
            let f = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(matches(Kind::User, &u, &f).unwrap(), *want, "{text}");
        }
    }

    #[test]
    fn mistakes_are_invalid_filters() {
        for text in [r#"userName eq"#, r#"userName xx "a""#, "(active eq true"] {
            let e = parse(text).unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{text}");
        }
        let f = parse("active gt true").unwrap();
        let e = matches(Kind::User, &user(), &f).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
    }
}
