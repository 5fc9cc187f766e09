//! The pages a family or a member of staff sees: activation (the letter's
//! link or QR code, or a typed code), sign-in with a lockout after five
//! failures in a row, the forced change of a handed-out password, forgot
//! password by email, and a signed-in page. Server-rendered HTML (askama);
//! a small script shows the password rules as they are met, and the forms
//! work without it.
//!
//! Every form carries a CSRF token equal to its cookie's; cookies are
//! HttpOnly and SameSite (Secure over HTTPS); every page is sent with a
//! strict CSP, `Referrer-Policy: no-referrer` (activation links carry
//! their code) and, over HTTPS, HSTS. Messages never say whether an
//! account exists.

mod account;
mod activate;
mod cookies;
mod limit;
mod mail;
mod reset;
mod settings;
mod view;

use axum::http::{header, HeaderValue};
use axum::routing::get;
use axum::Router;

use crate::Server;

pub use limit::{Limiter, ATTEMPTS_PER_MINUTE};
pub use settings::{SettingKey, SETTINGS};

/// A user's failures in a row that lock their account.
pub const LOCK_AFTER: i64 = 5;

pub fn routes(server: Server) -> Router {
    let https = server.https();
    Router::new()
        .route("/", get(account::home))
        .route(
            "/sign-in",
            get(account::sign_in_page).post(account::sign_in),
        )
        .route("/sign-out", axum::routing::post(account::sign_out))
        .route("/account", get(account::account))
        .route(
            "/change-password",
            get(account::change_page).post(account::change),
        )
        .route("/activate", get(activate::page).post(activate::activate))
        .route("/forgot", get(reset::forgot_page).post(reset::forgot))
        .route("/reset", get(reset::reset_page).post(reset::reset))
        .route("/static/style.css", get(view::style))
        .route("/static/password.js", get(view::script))
        .route("/logo", get(view::logo))
        .layer(axum::middleware::map_response(
            move |mut r: axum::response::Response| async move {
                let h = r.headers_mut();
                for (name, value) in security_headers(https) {
                    h.insert(name, HeaderValue::from_static(value));
                }
                r
            },
        ))
        .with_state(server)
}

fn security_headers(https: bool) -> Vec<(header::HeaderName, &'static str)> {
    let mut h = vec![
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    if https {
        h.push((
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ));
    }
    h
}
