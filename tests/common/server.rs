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

/// The `--db` for a test's database at `db`: that SQLite file, or, when
/// KEYROLL_TEST_POSTGRES names a running cluster (scripts/with-postgres
/// starts one), a PostgreSQL database of its own named after the file's
/// folder, made on first use. The same tests run on both backends.
pub fn db_url(db: &Path) -> String {
    let Ok(cluster) = std::env::var("KEYROLL_TEST_POSTGRES") else {
        return format!("sqlite:{}", db.display());
    };
    let name: String = db
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let name = format!("t_{name}");
    static MADE: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut made = MADE.lock().unwrap();
    if !made.contains(&name) {
        let out = Command::new("psql")
            .arg(format!("{cluster}/postgres"))
            .args(["-qc", &format!("CREATE DATABASE {name}")])
            .output()
            .expect("psql runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        made.push(name.clone());
    }
    format!("{cluster}/{name}")
}

/// Everything the database keeps, as bytes: the SQLite file, or a dump of
/// the PostgreSQL database (to look for secrets that must not be there).
pub fn stored_bytes(db: &Path) -> Vec<u8> {
    let url = db_url(db);
    match url.strip_prefix("sqlite:") {
        Some(path) => std::fs::read(path).unwrap(),
        None => {
            let out = Command::new("pg_dump")
                .arg(&url)
                .output()
                .expect("pg_dump runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        }
    }
}

/// Runs `keyroll-server --db DB ARGS…` to its end.
pub fn admin(db: &Path, args: &[&str]) -> super::Run {
    Command::new(server_bin())
        .arg("--db")
        .arg(db_url(db))
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
        ScimServer::start_with(db, &[])
    }

    /// Starts one with more options.
    pub fn start_with(db: &Path, extra: &[&str]) -> ScimServer {
        let mut child = Command::new(server_bin())
            .arg("--db")
            .arg(db_url(db))
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
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

    /// The server's own address, where its pages are.
    pub fn site(&self) -> String {
        self.base.trim_end_matches("/scim/v2").to_owned()
    }
}

/// A browser's part in a conversation with the pages: it keeps cookies,
/// does not follow redirects (the tests look at each), and posts forms.
pub struct Browser {
    agent: ureq::Agent,
    site: String,
    pub cookies: std::collections::BTreeMap<String, String>,
}

/// A page as the browser got it.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub headers: Vec<(String, String)>,
    pub html: String,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A hidden field's value, such as the form's CSRF token.
    pub fn field(&self, name: &str) -> String {
        let at = format!("name=\"{name}\" value=\"");
        let start = self
            .html
            .find(&at)
            .unwrap_or_else(|| panic!("no field {name} in {}", self.html))
            + at.len();
        let end = self.html[start..].find('"').unwrap() + start;
        self.html[start..end].to_owned()
    }
}

impl Browser {
    pub fn new(site: &str) -> Browser {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        Browser {
            agent,
            site: site.to_owned(),
            cookies: Default::default(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn page(&mut self, r: ureq::http::Response<ureq::Body>) -> Page {
        let mut headers = Vec::new();
        for (k, v) in r.headers() {
            let v = v.to_str().unwrap_or_default().to_owned();
            if k.as_str() == "set-cookie" {
                let pair = v.split(';').next().unwrap_or_default();
                if let Some((name, value)) = pair.split_once('=') {
                    if value.is_empty() || v.contains("Max-Age=0") {
                        self.cookies.remove(name);
                    } else {
                        self.cookies.insert(name.to_owned(), value.to_owned());
                    }
                }
            }
            headers.push((k.as_str().to_owned(), v));
        }
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let html = r.into_body().read_to_string().unwrap_or_default();
        Page {
            status,
            location,
            headers,
            html,
        }
    }

    pub fn get(&mut self, path: &str) -> Page {
        let r = self
            .agent
            .get(format!("{}{path}", self.site))
            .header("Cookie", self.cookie_header())
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        self.page(r)
    }

    pub fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let body: Vec<String> = form
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect();
        let r = self
            .agent
            .post(format!("{}{path}", self.site))
            .header("Cookie", self.cookie_header())
            .content_type("application/x-www-form-urlencoded")
            .send(body.join("&"))
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        self.page(r)
    }

    /// Gets `path` for its form's CSRF token, then posts `form` with it.
    pub fn submit(&mut self, path: &str, action: &str, form: &[(&str, &str)]) -> Page {
        let csrf = self.get(path).field("csrf");
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend_from_slice(form);
        self.post(action, &fields)
    }
}

pub fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
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
