//! Writes on the wire: each one a SCIM operation, sent in `/Bulk` requests
//! within the server's limits, or one by one to a server without Bulk.

use std::collections::VecDeque;
use std::sync::mpsc;

use serde_json::{json, Value};

use super::client::{Client, Provider};
use crate::Result;

/// One write to send.
#[derive(Clone, Debug)]
pub struct Op {
    pub method: &'static str,
    /// Relative to the SCIM base: `/Users`, `/Groups/ID`.
    pub path: String,
    pub body: Value,
    /// The ETag the change was made against (`If-Match`).
    pub version: Option<String>,
    /// What the op is for, to record its result.
    pub purpose: Purpose,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Purpose {
    CreateUser(usize),
    UpdateUser(usize),
    CreateGroup(i64),
    RenameGroup(i64),
    /// Accounts joining a group (account id, group id), and how many are
    /// leaving one.
    Members(Vec<(i64, i64)>),
    Leavers(usize),
}

/// An op's result as the server gave it.
#[derive(Clone, Debug)]
pub struct Done {
    pub status: u16,
    /// The resource's id, from its location or its body.
    pub id: Option<String>,
    pub version: Option<String>,
    pub body: Value,
}

/// Where a send's ops come from, and what keeps their results.
pub trait Batch {
    /// More ops to send; none when there are no more. Called as the ops
    /// already given run low, so a long list need never be in memory whole.
    fn more(&mut self) -> Result<Vec<Op>>;
    /// Keeps a request's results; says whether to go on.
    fn record(&mut self, ops: &[Op], done: &[Done]) -> Result<bool>;
}

/// Ops known up front, and what keeps their results.
pub struct Listed<F> {
    ops: Vec<Op>,
    record: F,
}

pub fn listed<F>(ops: Vec<Op>, record: F) -> Listed<F>
where
    F: FnMut(&[Op], &[Done]) -> Result<bool>,
{
    Listed { ops, record }
}

impl<F> Batch for Listed<F>
where
    F: FnMut(&[Op], &[Done]) -> Result<bool>,
{
    fn more(&mut self) -> Result<Vec<Op>> {
        Ok(std::mem::take(&mut self.ops))
    }

    fn record(&mut self, ops: &[Op], done: &[Done]) -> Result<bool> {
        (self.record)(ops, done)
    }
}

/// Sends the batch's ops in as few requests as the server allows, recording
/// each request's results as they come (so a crash loses at most the two
/// requests in flight, which the next sync finds on the server). Stops
/// early when `record` says so; returns whether every op was sent.
///
/// The next request goes out while the last one's results are kept:
/// Keyroll's database work and the server's run side by side instead of
/// taking turns (on 2 cores this halves a first push).
pub fn send(client: &mut Client, provider: &Provider, batch: &mut dyn Batch) -> Result<bool> {
    let bulk_limits = provider.bulk;
    // A full request's worth is kept ready, so a page boundary in the
    // batch never sends a short request.
    let want = bulk_limits.map_or(1, |(max_ops, _)| max_ops);
    let mut rest = VecDeque::new();
    let mut exhausted = false;
    std::thread::scope(|scope| {
        let (requests, to_send) = mpsc::sync_channel::<Vec<Op>>(0);
        let (answers, answered) = mpsc::channel::<(Vec<Op>, Result<Vec<Done>>)>();
        scope.spawn(move || {
            for chunk in to_send {
                let done = match bulk_limits {
                    Some(_) => bulk(client, &chunk),
                    None => single(client, &chunk[0]).map(|d| vec![d]),
                };
                let failed = done.is_err();
                if answers.send((chunk, done)).is_err() || failed {
                    break;
                }
            }
        });
        let mut in_flight = 0;
        let mut going = true;
        loop {
            // One request on the wire and one waiting to go.
            while going && in_flight < 2 {
                while !exhausted && rest.len() < want {
                    let more = batch.more()?;
                    exhausted = more.is_empty();
                    rest.extend(more);
                }
                if rest.is_empty() {
                    break;
                }
                let chunk = next_chunk(&mut rest, bulk_limits);
                if requests.send(chunk).is_err() {
                    break;
                }
                in_flight += 1;
            }
            if in_flight == 0 {
                break;
            }
            let Ok((chunk, done)) = answered.recv() else {
                break;
            };
            in_flight -= 1;
            // A request already sent is still recorded after a stop.
            going &= batch.record(&chunk, &done?)?;
        }
        Ok(exhausted && rest.is_empty())
    })
}

/// The ops for the next request: as many as fit the server's Bulk limits,
/// or one for a server without Bulk.
fn next_chunk(rest: &mut VecDeque<Op>, bulk_limits: Option<(usize, usize)>) -> Vec<Op> {
    let mut chunk = Vec::new();
    let Some((max_ops, max_size)) = bulk_limits else {
        chunk.extend(rest.pop_front());
        return chunk;
    };
    // Room for the request's envelope.
    let mut size = 200;
    while let Some(op) = rest.front() {
        let len = bulk_op_len(op);
        if !chunk.is_empty() && (chunk.len() == max_ops || size + len > max_size) {
            break;
        }
        size += len;
        chunk.extend(rest.pop_front());
    }
    chunk
}

/// The length of an op in a Bulk request, without building it.
fn bulk_op_len(op: &Op) -> usize {
    let body = serde_json::to_vec(&op.body).map_or(0, |b| b.len());
    let version = op.version.as_ref().map_or(0, |v| v.len() + 16);
    // {"method":"","path":"","bulkId":"k000","data":},
    body + op.method.len() + op.path.len() + version + 48
}

fn bulk_op(op: &Op, index: usize) -> Value {
    let mut v = json!({
        "method": op.method,
        "path": op.path,
        "bulkId": format!("k{index}"),
        "data": op.body,
    });
    if let Some(tag) = &op.version {
        v["version"] = json!(tag);
    }
    v
}

fn bulk(client: &mut Client, chunk: &[Op]) -> Result<Vec<Done>> {
    let operations: Vec<Value> = chunk
        .iter()
        .enumerate()
        .map(|(i, op)| bulk_op(op, i))
        .collect();
    let body = json!({
        "schemas": [keyroll_scim::schema::BULK_REQUEST],
        "Operations": operations,
    });
    let answer = client.write("POST", "/Bulk", &body, None)?;
    client.check(&answer, "a Bulk request")?;
    let results = answer.body["Operations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut done: Vec<Done> = (0..chunk.len())
        .map(|_| Done {
            // Not answered for: the server stopped (failOnErrors) or lost it.
            status: 0,
            id: None,
            version: None,
            body: Value::Null,
        })
        .collect();
    for (i, r) in results.iter().enumerate() {
        let index = r["bulkId"]
            .as_str()
            .and_then(|b| b.strip_prefix('k'))
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(i);
        let Some(slot) = done.get_mut(index) else {
            continue;
        };
        let status = match &r["status"] {
            Value::String(s) => s.parse().unwrap_or(0),
            Value::Number(n) => n.as_u64().unwrap_or(0) as u16,
            // RFC 7644's own examples nest it: {"status": {"code": "201"}}.
            Value::Object(o) => o
                .get("code")
                .and_then(|c| {
                    c.as_str()
                        .and_then(|s| s.parse().ok())
                        .or(c.as_u64().map(|n| n as u16))
                })
                .unwrap_or(0),
            _ => 0,
        };
        let body = r.get("response").cloned().unwrap_or(Value::Null);
        *slot = Done {
            status,
            id: r["location"]
                .as_str()
                .and_then(last_segment)
                .or_else(|| body["id"].as_str().map(str::to_owned)),
            version: r["version"]
                .as_str()
                .map(str::to_owned)
                .or_else(|| body["meta"]["version"].as_str().map(str::to_owned)),
            body,
        };
    }
    Ok(done)
}

fn single(client: &mut Client, op: &Op) -> Result<Done> {
    let a = client.write(op.method, &op.path, &op.body, op.version.as_deref())?;
    if matches!(a.status, 401 | 403) {
        client.check(&a, &op.path)?;
    }
    Ok(Done {
        status: a.status,
        id: a.body["id"].as_str().map(str::to_owned),
        version: a
            .etag
            .clone()
            .or_else(|| a.body["meta"]["version"].as_str().map(str::to_owned)),
        body: a.body,
    })
}

fn last_segment(location: &str) -> Option<String> {
    location
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A PATCH request's body.
pub fn patch(ops: Vec<Value>) -> Value {
    json!({"schemas": [keyroll_scim::schema::PATCH_OP], "Operations": ops})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_names_the_resource() {
        for (loc, id) in [
            ("https://s.example/scim/v2/Users/2819c223", Some("2819c223")),
            ("/Users/7/", Some("7")),
            ("", None),
        ] {
            assert_eq!(last_segment(loc).as_deref(), id, "{loc}");
        }
    }
}
