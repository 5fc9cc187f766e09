//! Listing resources (RFC 7644 §3.4.2): `filter`, `sortBy`/`sortOrder`,
//! `startIndex`/`count` and attribute selection, by GET or by POST to
//! `.search`. A filter that pins one resource down (`userName eq`, Entra's
//! and Okta's lookup; `externalId eq`, Keyroll's) reads one index entry;
//! any other filter is applied to every resource of the kind.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use keyroll_scim::filter::{self, AttrExp, CompValue, CompareOp, Filter};
use keyroll_scim::select::Selection;
use keyroll_scim::{schema, Kind, ScimError, ScimType};
use serde_json::{json, Value};

use super::reply::{blocking, json_body, Answer, Failure, Reply};
use super::resources::{base, render};
use crate::storage::Narrow;
use crate::Server;

/// The most resources one page holds (ServiceProviderConfig says so).
pub const MAX_RESULTS: usize = 1000;
const DEFAULT_COUNT: usize = 100;

/// A list query, from a query string or a SearchRequest body.
#[derive(Debug, Default)]
struct ListQuery {
    filter: Option<String>,
    sort_by: Option<String>,
    descending: bool,
    start_index: usize,
    count: usize,
    attributes: Option<String>,
    excluded: Option<String>,
}

fn number(name: &str, v: Option<&Value>, default: usize) -> Result<usize, Failure> {
    match v {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Number(n)) => Ok(n.as_i64().unwrap_or(0).max(0) as usize),
        Some(Value::String(s)) => {
            s.trim()
                .parse::<i64>()
                .map(|n| n.max(0) as usize)
                .map_err(|_| {
                    Failure(ScimError::bad(
                        ScimType::InvalidValue,
                        format!("{name} must be a whole number, not {s:?}"),
                    ))
                })
        }
        Some(other) => Err(Failure(ScimError::bad(
            ScimType::InvalidValue,
            format!("{name} must be a whole number, not {other}"),
        ))),
    }
}

impl ListQuery {
    fn from_pairs(get: impl Fn(&str) -> Option<Value>) -> Result<Self, Failure> {
        let text = |name: &str| match get(name) {
            Some(Value::String(s)) => Some(s),
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => None,
        };
        let order = text("sortOrder");
        let descending = match order.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("ascending") => false,
            Some("descending") => true,
            Some(other) => {
                return Err(Failure(ScimError::bad(
                    ScimType::InvalidValue,
                    format!("sortOrder must be ascending or descending, not {other:?}"),
                )))
            }
        };
        Ok(ListQuery {
            filter: text("filter").filter(|f| !f.trim().is_empty()),
            sort_by: text("sortBy").filter(|f| !f.trim().is_empty()),
            descending,
            // startIndex is 1-based; less than 1 means 1 (§3.4.2.4).
            start_index: number("startIndex", get("startIndex").as_ref(), 1)?.max(1),
            count: number("count", get("count").as_ref(), DEFAULT_COUNT)?.min(MAX_RESULTS),
            attributes: text("attributes"),
            excluded: text("excludedAttributes"),
        })
    }
}

pub async fn list(
    State(server): State<Server>,
    kind: Kind,
    Query(q): Query<HashMap<String, String>>,
    _h: HeaderMap,
) -> Answer {
    let q = ListQuery::from_pairs(|k| q.get(k).map(|v| Value::String(v.clone())))?;
    answer(server, kind, q).await
}

pub async fn search(
    State(server): State<Server>,
    kind: Kind,
    _h: HeaderMap,
    body: Bytes,
) -> Answer {
    let body = json_body(&body)?;
    let obj = body.as_object().cloned().unwrap_or_default();
    let q = ListQuery::from_pairs(|k| {
        obj.iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.clone())
    })?;
    answer(server, kind, q).await
}

async fn answer(server: Server, kind: Kind, q: ListQuery) -> Answer {
    let sel = Selection::parse(kind, q.attributes.as_deref(), q.excluded.as_deref())?;
    let parsed = q.filter.as_deref().map(filter::parse).transpose()?;
    blocking(move || {
        let narrow = parsed
            .as_ref()
            .map(|f| narrow(kind, f))
            .unwrap_or(Narrow::All);
        let base = base(&server);
        let storage = server.storage.as_ref();
        let shown = |s: &crate::storage::Stored| -> Result<Value, Failure> {
            let mut v = render(storage, &base, kind, s, !sel.leaves_out("groups"))?;
            if kind == Kind::Group && sel.leaves_out("members") {
                if let Some(o) = v.as_object_mut() {
                    o.remove("members");
                }
            }
            sel.apply(kind, &mut v);
            Ok(v)
        };
        // Unfiltered and unsorted (Okta's connection test, a sync's full
        // read page by page): only the page is read.
        if parsed.is_none() && q.sort_by.is_none() {
            let (total, rows) = storage.page(kind, q.start_index - 1, q.count)?;
            let page = rows.iter().map(&shown).collect::<Result<Vec<_>, _>>()?;
            return Ok(list_response(total, q.start_index, page));
        }
        let mut hits = Vec::new();
        for s in storage.find(kind, &narrow)? {
            let v = render(storage, &base, kind, &s, false)?;
            if let Some(f) = &parsed {
                if !filter::matches(kind, &v, f)? {
                    continue;
                }
            }
            hits.push((s, v));
        }
        if let Some(by) = &q.sort_by {
            let mut keyed = Vec::with_capacity(hits.len());
            for (s, v) in hits {
                keyed.push((filter::sort_key(kind, &v, by)?, s, v));
            }
            // Resources without the attribute come last either way.
            keyed.sort_by(|a, b| match (&a.0, &b.0) {
                (Some(x), Some(y)) if q.descending => y.cmp(x),
                (Some(x), Some(y)) => x.cmp(y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            });
            hits = keyed.into_iter().map(|(_, s, v)| (s, v)).collect();
        }
        let total = hits.len();
        let page = hits
            .iter()
            .skip(q.start_index - 1)
            .take(q.count)
            .map(|(s, _)| shown(s))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(list_response(total, q.start_index, page))
    })
    .await
}

fn list_response(total: usize, start_index: usize, page: Vec<Value>) -> Reply {
    Reply::ok(json!({
        "schemas": [schema::LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": page.len(),
        "Resources": page,
    }))
}

/// The index a filter can be answered from: an `eq` on a looked-up
/// attribute at the top, or inside an `and`.
fn narrow(kind: Kind, f: &Filter) -> Narrow {
    match f {
        Filter::Attr(AttrExp::Comparison(p, op, CompValue::Str(v))) => {
            let core = p
                .uri
                .as_deref()
                .is_none_or(|u| u.eq_ignore_ascii_case(kind.schema()));
            if !core {
                return Narrow::All;
            }
            let name = p.name.as_str();
            match (op, p.sub_attr.as_deref()) {
                (CompareOp::Eq, None) if name.eq_ignore_ascii_case("userName") => {
                    Narrow::UserName(v.clone())
                }
                (CompareOp::Eq, None) if name.eq_ignore_ascii_case("externalId") => {
                    Narrow::ExternalId(v.clone())
                }
                (CompareOp::Eq, None) if name.eq_ignore_ascii_case("id") => Narrow::Id(v.clone()),
                (CompareOp::Eq, None)
                    if name.eq_ignore_ascii_case("displayName") && kind == Kind::Group =>
                {
                    Narrow::DisplayName(v.clone())
                }
                (CompareOp::Gt | CompareOp::Ge, Some(sub))
                    if name.eq_ignore_ascii_case("meta")
                        && sub.eq_ignore_ascii_case("lastModified") =>
                {
                    match stamp(v) {
                        // Inclusive either way: the filter itself decides
                        // the boundary; the index only must not miss.
                        Some(at) => Narrow::ModifiedSince {
                            at,
                            inclusive: true,
                        },
                        None => Narrow::All,
                    }
                }
                _ => Narrow::All,
            }
        }
        Filter::And(items) => items
            .iter()
            .map(|i| narrow(kind, i))
            .find(|n| *n != Narrow::All)
            .unwrap_or(Narrow::All),
        _ => Narrow::All,
    }
}

/// A client's time in the server's own stamp format (so that text order
/// is time order), rounded down to the millisecond.
fn stamp(text: &str) -> Option<String> {
    let t =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    let t = t.to_offset(time::UtcOffset::UTC);
    t.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    ))
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_that_an_index_answers() {
        let cases: &[(Kind, &str, Narrow)] = &[
            (
                Kind::User,
                r#"userName eq "Kim""#,
                Narrow::UserName("Kim".into()),
            ),
            (
                Kind::User,
                r#"externalId eq "kr-1""#,
                Narrow::ExternalId("kr-1".into()),
            ),
            (
                Kind::User,
                r#"active eq true and externalId eq "kr-1""#,
                Narrow::ExternalId("kr-1".into()),
            ),
            (
                Kind::User,
                r#"userName eq "a" or userName eq "b""#,
                Narrow::All,
            ),
            (Kind::User, r#"userName sw "a""#, Narrow::All),
            (Kind::User, r#"displayName eq "7A""#, Narrow::All),
            (
                Kind::Group,
                r#"displayName eq "7A""#,
                Narrow::DisplayName("7A".into()),
            ),
            (
                Kind::User,
                r#"meta.lastModified gt "2026-03-03T10:00:00+01:00""#,
                Narrow::ModifiedSince {
                    at: "2026-03-03T09:00:00.000Z".into(),
                    inclusive: true,
                },
            ),
            (
                Kind::User,
                r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "Kim""#,
                Narrow::UserName("Kim".into()),
            ),
        ];
        for (kind, text, want) in cases {
            let f = filter::parse(text).unwrap();
            assert_eq!(&narrow(*kind, &f), want, "{text}");
        }
    }
}
