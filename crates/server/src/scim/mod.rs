//! The SCIM 2.0 API under `/scim/v2`: discovery (`/ServiceProviderConfig`,
//! `/Schemas`, `/ResourceTypes`), `/Users` and `/Groups` (list with
//! filters, sorting and paging; create, read, replace, PATCH, delete, with
//! ETags), `/Bulk`, `/Me` answered as not supported. Every call needs a bearer
//! token; bodies are `application/scim+json`.

mod auth;
mod bulk;
mod discovery;
mod list;
mod reply;
mod resources;

use axum::routing::{get, post};
use axum::Router;
use keyroll_scim::Kind;

use crate::Server;

pub use reply::Reply;

pub fn routes(server: Server) -> Router {
    let resources = |kind: Kind| {
        Router::new()
            .route(
                "/",
                get(move |s, q, h| list::list(s, kind, q, h))
                    .post(move |s, h, b| resources::create(s, kind, h, b)),
            )
            .route("/.search", post(move |s, h, b| list::search(s, kind, h, b)))
            .route(
                "/{id}",
                get(move |s, p, q, h| resources::read(s, kind, p, q, h))
                    .put(move |s, p, h, b| resources::replace(s, kind, p, h, b))
                    .patch(move |s, p, h, b| resources::patch(s, kind, p, h, b))
                    .delete(move |s, p, h| resources::delete(s, kind, p, h)),
            )
    };
    Router::new()
        .route(
            "/ServiceProviderConfig",
            get(discovery::service_provider_config),
        )
        .route("/Schemas", get(discovery::schemas))
        .route("/Schemas/{id}", get(discovery::schema))
        .route("/ResourceTypes", get(discovery::resource_types))
        .route("/ResourceTypes/{id}", get(discovery::resource_type))
        .route("/Me", axum::routing::any(discovery::me))
        .route("/.search", post(discovery::search_everything))
        .route(
            "/Bulk",
            post(bulk::bulk).layer(axum::extract::DefaultBodyLimit::max(bulk::MAX_PAYLOAD)),
        )
        .nest("/Users", resources(Kind::User))
        .nest("/Groups", resources(Kind::Group))
        .fallback(discovery::not_found)
        .layer(axum::middleware::from_fn_with_state(
            server.clone(),
            auth::require_token,
        ))
        .with_state(server)
}
