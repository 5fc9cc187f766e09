//! `keyroll-server`: the school server. Its SCIM 2.0 API (RFC 7644) is
//! what Keyroll's sync, Entra ID and Okta provision accounts through; its
//! pages are where a family activates an account and signs in; its
//! storage sits behind [`storage::Storage`], one backend per database.
//!
//! - [`scim`]: the `/scim/v2` routes, every call authenticated.
//! - [`pages`]: activation, sign-in, password change and reset (HTML, no
//!   JavaScript needed).
//! - [`tls`]: HTTPS of its own, for a school with no reverse proxy.
//! - [`tokens`]: bearer tokens for office devices (kept hashed).
//! - [`storage`]: the resources, accounts and tokens, on SQLite.

pub mod pages;
pub mod passwords;
pub mod scim;
pub mod storage;
pub mod tls;
pub mod tokens;

use std::sync::Arc;

/// What the server needs to answer.
#[derive(Clone)]
pub struct Server {
    pub storage: Arc<dyn storage::Storage>,
    /// The address clients reach the server at (behind a reverse proxy,
    /// its public one), without a trailing slash: resources' `location`,
    /// links in emails.
    pub public_url: String,
    /// Sign-in, activation and reset attempts allowed per address.
    pub limiter: Arc<pages::Limiter>,
    /// Take the client's address from `X-Forwarded-For` (behind a proxy).
    pub behind_proxy: bool,
}

impl Server {
    pub fn new(storage: Arc<dyn storage::Storage>, public_url: String) -> Self {
        Server {
            storage,
            public_url,
            limiter: Arc::new(pages::Limiter::per_minute(pages::ATTEMPTS_PER_MINUTE)),
            behind_proxy: false,
        }
    }

    /// Whether browsers reach it over HTTPS (cookies marked Secure, HSTS):
    /// its own TLS, or a proxy's at a `https://` public URL.
    pub fn https(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// The whole HTTP application.
pub fn app(server: Server) -> axum::Router {
    axum::Router::new()
        .nest("/scim/v2", scim::routes(server.clone()))
        .merge(pages::routes(server))
}
