//! The pages' two cookies: the session, and the CSRF token that every form
//! carries back (double submit: the form's copy must equal the cookie's).
//! HttpOnly always; Secure, with the `__Host-` prefix, when the server is
//! reached over HTTPS.

use axum::http::{header, HeaderMap};

use crate::Server;

pub const SESSION: &str = "kr_session";
pub const CSRF: &str = "kr_csrf";

/// How long a sign-in lasts.
pub const SESSION_HOURS: i64 = 8;

fn name(server: &Server, base: &str) -> String {
    if server.https() {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

/// A cookie's value from the request.
pub fn get(server: &Server, headers: &HeaderMap, base: &str) -> Option<String> {
    let want = name(server, base);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == want)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value; `max_age` None ends the cookie.
pub fn set(
    server: &Server,
    base: &str,
    value: &str,
    max_age: Option<i64>,
    same_site: &str,
) -> String {
    let secure = if server.https() { "; Secure" } else { "" };
    let age = max_age.unwrap_or(0);
    format!(
        "{}={value}; Path=/; HttpOnly; SameSite={same_site}; Max-Age={age}{secure}",
        name(server, base)
    )
}

/// 32 random bytes in hex: a session or CSRF token, a reset link's token.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("the OS's random source");
    hex::encode(b)
}

/// Compares without stopping at the first difference.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
