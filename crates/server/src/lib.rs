//! `keyroll-server`: the school server. Its SCIM 2.0 API (RFC 7644) is
//! what Keyroll's sync, Entra ID and Okta provision accounts through; its
//! storage sits behind [`storage::Storage`], one backend per database.
//!
//! - [`scim`]: the `/scim/v2` routes, every call authenticated.
//! - [`tokens`]: bearer tokens for office devices (kept hashed).
//! - [`storage`]: the resources and tokens, on SQLite.

pub mod scim;
pub mod storage;
pub mod tokens;

use std::sync::Arc;

/// What the server needs to answer.
#[derive(Clone)]
pub struct Server {
    pub storage: Arc<dyn storage::Storage>,
    /// The address clients reach the server at (behind a reverse proxy,
    /// its public one), without a trailing slash: resources' `location`.
    pub public_url: String,
}

/// The whole HTTP application.
pub fn app(server: Server) -> axum::Router {
    axum::Router::new().nest("/scim/v2", scim::routes(server))
}
