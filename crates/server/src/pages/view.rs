//! What every page shares: the frame (the school's name and logo, the
//! form's CSRF token), turning a template into a response, the client's
//! address, and reading a user for display.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};

use askama::Template;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::{header, request::Parts, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use keyroll_scim::credentials::{self, PasswordRules, Rule};
use serde_json::Value;

use super::{cookies, settings};
use crate::storage::{Account, AccountKey, Storage};
use crate::Server;

/// The frame of every page.
pub struct Page {
    storage: Arc<dyn Storage>,
    /// The school's name and whether it has a logo, read when a page is
    /// drawn: a sign-in that succeeds is a redirect and needs neither.
    frame: OnceLock<(String, bool)>,
    pub csrf: String,
    /// A new CSRF cookie to set, if the browser had none.
    set_csrf: Option<String>,
}

impl Page {
    pub fn new(server: &Server, headers: &HeaderMap) -> Page {
        let (csrf, set_csrf) = match cookies::get(server, headers, cookies::CSRF) {
            Some(t) if t.len() == 64 => (t, None),
            _ => {
                let t = cookies::random_token();
                let c = cookies::set(server, cookies::CSRF, &t, Some(86_400), "Strict");
                (t, Some(c))
            }
        };
        Page {
            storage: server.storage.clone(),
            frame: OnceLock::new(),
            csrf,
            set_csrf,
        }
    }

    pub fn school(&self) -> &str {
        &self.frame().0
    }

    pub fn logo(&self) -> bool {
        self.frame().1
    }

    fn frame(&self) -> &(String, bool) {
        self.frame
            .get_or_init(|| settings::frame(self.storage.as_ref()))
    }

    /// The frame for a form post that counts as an attempt (sign-in,
    /// activation, a password change or reset): refused if its CSRF token is
    /// not its cookie's, or if the address has used its allowance.
    pub fn attempt(
        server: &Server,
        headers: &HeaderMap,
        csrf: &str,
        addr: IpAddr,
    ) -> Result<Page, Box<Response>> {
        let page = Page::new(server, headers);
        if !page.csrf_ok(csrf) {
            return Err(Box::new(page.refused_form()));
        }
        if !server.limiter.allow(addr) {
            return Err(Box::new(page.too_many()));
        }
        Ok(page)
    }

    /// Whether a form's token is the one its cookie holds.
    pub fn csrf_ok(&self, sent: &str) -> bool {
        self.set_csrf.is_none() && cookies::same(&self.csrf, sent)
    }

    /// A template as a response, with the CSRF cookie if it is new.
    pub fn render(&self, status: StatusCode, t: &impl Template) -> Response {
        let mut r = match t.render() {
            Ok(html) => (
                status,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                html,
            )
                .into_response(),
            Err(e) => {
                eprintln!("keyroll-server: a page failed to render: {e}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The page failed: try again.",
                )
                    .into_response()
            }
        };
        if let Some(c) = &self.set_csrf {
            if let Ok(v) = c.parse() {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        r
    }

    pub fn message(
        &self,
        status: StatusCode,
        heading: &str,
        text: &str,
        link: (&str, &str),
    ) -> Response {
        self.render(
            status,
            &Message {
                page: self,
                heading,
                text,
                link,
            },
        )
    }

    /// The answer to a form whose CSRF token is missing or wrong.
    pub fn refused_form(&self) -> Response {
        self.message(
            StatusCode::FORBIDDEN,
            "Please try again",
            "This form was out of date (or sent from another site). It has been reloaded: fill it in again.",
            ("/sign-in", "Back to sign in"),
        )
    }

    pub fn too_many(&self) -> Response {
        self.message(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts",
            "There have been too many attempts from this computer. Wait a minute, then try again.",
            ("/sign-in", "Back to sign in"),
        )
    }

    pub fn failed(&self) -> Response {
        self.message(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "The server could not do that just now, and nothing was changed. Try again in a moment.",
            ("/sign-in", "Back to sign in"),
        )
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct Message<'a> {
    page: &'a Page,
    heading: &'a str,
    text: &'a str,
    link: (&'a str, &'a str),
}

/// The client's address: the connection's, or behind a proxy the last
/// `X-Forwarded-For` entry (the one the proxy itself added).
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<Server> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        server: &Server,
    ) -> Result<Self, Self::Rejection> {
        let forwarded = server
            .behind_proxy
            .then(|| {
                // The last header, then its last entry: what the proxy
                // added (a client can send its own before it).
                parts
                    .headers
                    .get_all("x-forwarded-for")
                    .iter()
                    .next_back()?
                    .to_str()
                    .ok()?
                    .rsplit(',')
                    .next()?
                    .trim()
                    .parse()
                    .ok()
            })
            .flatten();
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(ClientAddr(
            forwarded
                .or(peer)
                .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
        ))
    }
}

/// The password rules as a form first shows them: none met yet.
pub fn checks(rules: &PasswordRules, user_name: &str) -> Vec<Rule> {
    let mut rules = credentials::check(rules, "", user_name);
    for r in &mut rules {
        r.met = false;
    }
    rules
}

/// What is wrong with a chosen password and its confirmation, in words.
pub fn password_problems(
    rules: &PasswordRules,
    password: &str,
    confirm: &str,
    user_name: &str,
) -> Vec<String> {
    let mut out: Vec<String> = credentials::check(rules, password, user_name)
        .into_iter()
        .filter(|r| !r.met)
        .map(|r| format!("The password must be {}.", r.text))
        .collect();
    if password != confirm {
        out.push("The two passwords are not the same.".into());
    }
    out
}

pub fn user_name(doc: &Value) -> String {
    doc.get("userName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The name to greet someone by.
pub fn display_name(doc: &Value) -> String {
    if let Some(d) = doc
        .get("displayName")
        .and_then(Value::as_str)
        .filter(|d| !d.trim().is_empty())
    {
        return d.to_owned();
    }
    let part = |k: &str| {
        doc.pointer(&format!("/name/{k}"))
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    let name = format!("{} {}", part("givenName"), part("familyName"));
    match name.trim() {
        "" => user_name(doc),
        n => n.to_owned(),
    }
}

pub fn active(doc: &Value) -> bool {
    doc.get("active").and_then(Value::as_bool).unwrap_or(true)
}

/// The address to send a reset link to: the primary email, or the first.
pub fn email(doc: &Value) -> Option<String> {
    let emails = doc.get("emails")?.as_array()?;
    let primary = emails
        .iter()
        .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true));
    primary
        .or(emails.first())?
        .get("value")?
        .as_str()
        .map(str::to_owned)
}

/// A parent's children as (name, username), from the school extension's
/// family links (by the server's id, or by Keyroll's as externalId).
pub fn children(server: &Server, doc: &Value) -> Vec<(String, String)> {
    let school = doc.get(keyroll_scim::schema::SCHOOL);
    // An access restriction (AR): this adult is not given the children's
    // details, not even their names.
    if school
        .and_then(|e| e.get("accessRestricted"))
        .and_then(Value::as_bool)
        == Some(true)
    {
        return Vec::new();
    }
    let links = school
        .and_then(|e| e.get("familyLinks"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    links
        .iter()
        .filter(|l| {
            l.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case("child"))
        })
        .filter_map(|l| {
            let id = l.get("value").and_then(Value::as_str)?;
            let child = server
                .storage
                .account(AccountKey::Id(id))
                .ok()
                .flatten()
                .map(|a| a.doc)
                .or_else(|| {
                    use crate::storage::{Narrow, Resources};
                    let found = Resources::find(
                        server.storage.as_ref(),
                        keyroll_scim::Kind::User,
                        &Narrow::ExternalId(id.to_owned()),
                    );
                    found.ok()?.into_iter().next().map(|s| s.doc)
                });
            let shown = l.get("display").and_then(Value::as_str).map(str::to_owned);
            match child {
                Some(c) => Some((shown.unwrap_or_else(|| display_name(&c)), user_name(&c))),
                None => shown.map(|s| (s, String::new())),
            }
        })
        .collect()
}

/// The signed-in user, if the session cookie names a live session.
pub fn signed_in(server: &Server, headers: &HeaderMap) -> Option<Account> {
    let token = cookies::get(server, headers, cookies::SESSION)?;
    let id = server
        .storage
        .session_user(&credentials::hash_token(&token))
        .ok()??;
    let a = server.storage.account(AccountKey::Id(&id)).ok()??;
    // Taken out of use or locked since: the session no longer counts.
    (active(&a.doc) && a.locked.is_none()).then_some(a)
}

/// A new session's token, the hash kept of it, and when it ends.
pub struct NewSession {
    token: String,
    pub hash: String,
    pub expires: String,
}

impl NewSession {
    pub fn new() -> NewSession {
        let token = cookies::random_token();
        NewSession {
            hash: credentials::hash_token(&token),
            expires: crate::storage::stamp(
                time::OffsetDateTime::now_utc() + time::Duration::hours(cookies::SESSION_HOURS),
            ),
            token,
        }
    }

    /// The cookie that carries it.
    pub fn cookie(&self, server: &Server) -> String {
        cookies::set(
            server,
            cookies::SESSION,
            &self.token,
            Some(cookies::SESSION_HOURS * 3600),
            "Lax",
        )
    }
}

/// Starts a session for `user_id`: the cookie to set.
pub fn start_session(server: &Server, user_id: &str) -> crate::storage::Result<String> {
    let s = NewSession::new();
    server.storage.start_session(&s.hash, user_id, &s.expires)?;
    Ok(s.cookie(server))
}

/// A 303 to `to`, setting `cookie`.
pub fn see_other(to: &str, cookie: Option<String>) -> Response {
    let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response();
    if let Some(v) = cookie.and_then(|c| c.parse().ok()) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

pub use crate::passwords::{hash, verify};

pub async fn style() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../static/style.css"),
    )
        .into_response()
}

pub async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../../static/password.js"),
    )
        .into_response()
}

pub async fn logo(State(server): State<Server>) -> Response {
    super::account::blocking(move || logo_file(&server)).await
}

fn logo_file(server: &Server) -> Response {
    let Some(path) = server.storage.setting("logo").ok().flatten() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let kind = match path
        .rsplit('.')
        .next()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("svg") => "image/svg+xml",
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    match std::fs::read(&path) {
        Ok(bytes) => ([(header::CONTENT_TYPE, kind)], bytes).into_response(),
        Err(e) => {
            eprintln!("keyroll-server: the logo {path}: {e}");
            StatusCode::NOT_FOUND.into_response()
        }
    }
}
