//! HTTP to a SCIM service provider: the bearer token on every call, retries
//! with backoff (and the server's `Retry-After`) on 429, 5xx and dropped
//! connections, and what the server says it supports.

use std::time::Duration;

use serde_json::Value;
use zeroize::Zeroizing;

use super::document::Dialect;
use crate::{Error, Result};

/// Tries per request before giving up (the sync resumes on the next run).
const TRIES: u32 = 6;

pub struct Client {
    base: String,
    token: Zeroizing<String>,
    agent: ureq::Agent,
    /// Requests sent, by method (for the dry run's and benchmark's counts).
    pub sent: Sent,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Sent {
    pub reads: u64,
    pub writes: u64,
    pub retries: u64,
}

pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub etag: Option<String>,
}

/// What `/ServiceProviderConfig` and `/Schemas` say the server does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provider {
    /// Bulk's maxOperations and maxPayloadSize, when Bulk is supported.
    pub bulk: Option<(usize, usize)>,
    pub filter: bool,
    pub etag: bool,
    pub dialect: Dialect,
}

impl Client {
    pub fn new(base: &str, token: Zeroizing<String>) -> Client {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(120)))
            .http_status_as_error(false)
            .build()
            .into();
        Client {
            base: base.trim_end_matches('/').to_owned(),
            token,
            agent,
            sent: Sent::default(),
        }
    }

    pub fn get(&mut self, path: &str) -> Result<Answer> {
        self.sent.reads += 1;
        self.send("GET", path, None, None)
    }

    /// A write: POST, PUT or PATCH, with `If-Match` when an ETag is known.
    pub fn write(
        &mut self,
        method: &str,
        path: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<Answer> {
        self.sent.writes += 1;
        self.send(method, path, Some(body), if_match)
    }

    fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<Answer> {
        let url = format!("{}{path}", self.base);
        let body = body.map(|b| serde_json::to_vec(b).expect("JSON serialises"));
        let mut last = String::new();
        for attempt in 0..TRIES {
            if attempt > 0 {
                self.sent.retries += 1;
            }
            match self.once(method, &url, body.as_deref(), if_match) {
                Ok((a, _)) if !retryable(a.status) => return Ok(a),
                Ok((a, wait)) => {
                    last = format!("it answered {}", a.status);
                    std::thread::sleep(wait.unwrap_or_else(|| backoff(attempt)));
                }
                Err(e) => {
                    last = e;
                    std::thread::sleep(backoff(attempt));
                }
            }
        }
        Err(Error::Invalid(format!(
            "the school server at {} did not answer ({last}, {TRIES} tries); \
             nothing is lost: run the sync again when the server is back",
            self.base
        )))
    }

    fn once(
        &self,
        method: &str,
        url: &str,
        body: Option<&[u8]>,
        if_match: Option<&str>,
    ) -> std::result::Result<(Answer, Option<Duration>), String> {
        let auth = format!("Bearer {}", self.token.as_str());
        let builder = ureq::http::Request::builder()
            .method(method)
            .uri(url)
            .header("Authorization", auth)
            .header("Accept", keyroll_scim::CONTENT_TYPE);
        let builder = match if_match {
            Some(tag) => builder.header("If-Match", tag),
            None => builder,
        };
        let response = match body {
            Some(b) => {
                let request = builder
                    .header("Content-Type", keyroll_scim::CONTENT_TYPE)
                    .body(b.to_vec())
                    .map_err(|e| e.to_string())?;
                self.agent.run(request)
            }
            None => {
                let request = builder.body(()).map_err(|e| e.to_string())?;
                self.agent.run(request)
            }
        };
        let mut response = response.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let etag = header("etag");
        let wait = header("retry-after")
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map(|s| Duration::from_secs(s.min(60)));
        let text = response
            .body_mut()
            .with_config()
            .limit(256 * 1024 * 1024)
            .read_to_string()
            .map_err(|e| format!("the answer was cut short: {e}"))?;
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok((Answer { status, body, etag }, wait))
    }

    /// Reads what the server supports; refuses a server that is not SCIM
    /// or does not take the token.
    pub fn discover(&mut self) -> Result<Provider> {
        let config = self.get("/ServiceProviderConfig")?;
        self.check(&config, "/ServiceProviderConfig")?;
        let c = &config.body;
        let on = |k: &str| c[k]["supported"].as_bool().unwrap_or(false);
        let bulk = on("bulk").then(|| {
            let ops = c["bulk"]["maxOperations"].as_u64().unwrap_or(0) as usize;
            let size = c["bulk"]["maxPayloadSize"].as_u64().unwrap_or(0) as usize;
            (ops, size)
        });
        let bulk = bulk.filter(|(ops, size)| *ops > 1 && *size > 4096);
        // Discovery may be open to all (RFC 7644 §4): the token is checked
        // on a read that needs it.
        let probe = self.get("/Users?startIndex=1&count=1")?;
        self.check(&probe, "a list of users")?;
        let schemas = self.get("/Schemas")?;
        let ids: Vec<String> = if schemas.status == 200 {
            schemas.body["Resources"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s["id"].as_str().map(str::to_ascii_lowercase))
                .collect()
        } else {
            Vec::new()
        };
        let knows = |urn: &str| ids.iter().any(|i| i == &urn.to_ascii_lowercase());
        Ok(Provider {
            bulk,
            filter: on("filter"),
            etag: on("etag"),
            dialect: Dialect {
                school: knows(keyroll_scim::schema::SCHOOL),
                credentials: knows(keyroll_scim::schema::CREDENTIALS),
            },
        })
    }

    /// An error in the office's words for an answer that is not a success.
    pub fn check(&self, a: &Answer, what: &str) -> Result<()> {
        match a.status {
            200..=299 => Ok(()),
            401 | 403 => Err(Error::Invalid(format!(
                "the school server at {} refused Keyroll's token ({}): sign in again with \
                 `keyroll sync login --server {} --token-stdin` and a token from the server's \
                 administrator",
                self.base, a.status, self.base
            ))),
            404 if what == "/ServiceProviderConfig" => Err(Error::Invalid(format!(
                "{} does not answer as a SCIM 2.0 server (no {what}): check the address; \
                 for keyroll-server it ends in /scim/v2",
                self.base
            ))),
            s => Err(Error::Invalid(format!(
                "the school server at {} refused {what} ({s}{}{})",
                self.base,
                if detail(&a.body).is_empty() { "" } else { ": " },
                detail(&a.body)
            ))),
        }
    }
}

/// `s` percent-encoded for a query string (a filter's quotes and spaces).
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A SCIM error document's words.
pub fn detail(body: &Value) -> String {
    body["detail"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_default()
}

fn retryable(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

/// 0.25 s, 0.5 s, 1 s … at most 8 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250u64 << attempt.min(5))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_are_for_busy_or_failing_servers_only() {
        for (status, retry) in [
            (200, false),
            (400, false),
            (409, false),
            (412, false),
            (429, true),
            (500, true),
            (503, true),
        ] {
            assert_eq!(retryable(status), retry, "{status}");
        }
        assert_eq!(backoff(0), Duration::from_millis(250));
        assert_eq!(backoff(9), Duration::from_secs(8));
    }
}
