//! The real `keyroll-server` binary on loopback, on a SQLite file in a
//! temporary folder, and an HTTP client that speaks SCIM to it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

pub fn server_bin() -> PathBuf {
    let bin = super::target_dir().join(format!("keyroll-server{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --workspace` first (scripts/test does)",
        bin.display()
    );
    bin
}

/// Runs `keyroll-server --db sqlite:DB ARGS…` to its end.
pub fn admin(db: &Path, args: &[&str]) -> super::Run {
    Command::new(server_bin())
        .arg("--db")
        .arg(format!("sqlite:{}", db.display()))
        .args(args)
        .output()
        .expect("keyroll-server runs")
        .into()
}

/// Makes a token named `name` and returns it.
pub fn token(db: &Path, name: &str) -> String {
    let r = admin(db, &["token", "create", "--name", name]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout.trim().to_owned()
}

pub struct ScimServer {
    child: Child,
    pub base: String,
    pub db: PathBuf,
}

impl Drop for ScimServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ScimServer {
    /// Starts a server on a free port and waits until it listens.
    pub fn start(db: &Path) -> ScimServer {
        let mut child = Command::new(server_bin())
            .arg("--db")
            .arg(format!("sqlite:{}", db.display()))
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("keyroll-server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("its first line");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("keyroll-server said {line:?}"))
            .to_owned();
        ScimServer {
            child,
            base: format!("{addr}/scim/v2"),
            db: db.to_owned(),
        }
    }
}

/// An answer: status, headers we look at, and the JSON body (Null if none).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub etag: Option<String>,
    pub location: Option<String>,
    pub content_type: Option<String>,
    pub www_authenticate: Option<String>,
    pub body: Value,
}

pub struct Client {
    agent: ureq::Agent,
    base: String,
    token: Option<String>,
}

impl Client {
    pub fn new(base: &str, token: Option<&str>) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Client {
            agent,
            base: base.to_owned(),
            token: token.map(str::to_owned),
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    /// Sends `method path` with `headers` and an optional JSON body.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Answer {
        let url = self.url(path);
        let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let with_headers = |mut b: ureq::RequestBuilder<ureq::typestate::WithoutBody>| {
            if let Some(a) = &auth {
                b = b.header("Authorization", a);
            }
            for (k, v) in headers {
                b = b.header(*k, *v);
            }
            b
        };
        let with_headers_body = |mut b: ureq::RequestBuilder<ureq::typestate::WithBody>| {
            if let Some(a) = &auth {
                b = b.header("Authorization", a);
            }
            for (k, v) in headers {
                b = b.header(*k, *v);
            }
            b.content_type("application/scim+json")
        };
        let text = body.map(|b| b.to_string()).unwrap_or_default();
        let response = match method {
            "GET" => with_headers(self.agent.get(&url)).call(),
            "DELETE" => with_headers(self.agent.delete(&url)).call(),
            "POST" => with_headers_body(self.agent.post(&url)).send(&text),
            "PUT" => with_headers_body(self.agent.put(&url)).send(&text),
            "PATCH" => with_headers_body(self.agent.patch(&url)).send(&text),
            m => panic!("no method {m}"),
        }
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let header = |n: &str| {
            response
                .headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (status, etag, location, content_type, www_authenticate) = (
            response.status().as_u16(),
            header("etag"),
            header("location"),
            header("content-type"),
            header("www-authenticate"),
        );
        let raw = response.into_body().read_to_string().unwrap_or_default();
        let body = if raw.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&raw)
                .unwrap_or_else(|e| panic!("{method} {url} answered {raw:?}: {e}"))
        };
        Answer {
            status,
            etag,
            location,
            content_type,
            www_authenticate,
            body,
        }
    }

    pub fn get(&self, path: &str) -> Answer {
        self.send("GET", path, &[], None)
    }

    pub fn post(&self, path: &str, body: &Value) -> Answer {
        self.send("POST", path, &[], Some(body))
    }

    pub fn patch(&self, path: &str, body: &Value) -> Answer {
        self.send("PATCH", path, &[], Some(body))
    }
}

/// The `scim2` command of PyPI's scim2-cli, as scripts/install-deps
/// installs it (a venv in the build cache), or on PATH.
pub fn scim2_cli() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from)?;
    let venv = home.join(".cache/keyroll/scim-venv/bin/scim2");
    if venv.exists() {
        return Some(venv);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("scim2"))
            .find(|p| p.exists())
    })
}
