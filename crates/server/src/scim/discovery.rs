//! What the server says about itself (RFC 7644 §4): its features, its
//! schemas and resource types; and the endpoints it does not offer.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use keyroll_scim::{schema, ScimError};
use serde_json::{json, Value};

use super::list::MAX_RESULTS;
use super::reply::{Answer, Failure, Reply};
use crate::Server;

fn base(server: &Server) -> String {
    format!("{}/scim/v2", server.public_url)
}

pub async fn service_provider_config(State(server): State<Server>) -> Answer {
    Ok(Reply::ok(json!({
        "schemas": [schema::SERVICE_PROVIDER_CONFIG],
        "documentationUri": "https://github.com/keyroll/keyroll/blob/main/docs/server.md",
        "patch": {"supported": true},
        "bulk": {
            "supported": true,
            "maxOperations": super::bulk::MAX_OPERATIONS,
            "maxPayloadSize": super::bulk::MAX_PAYLOAD,
        },
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": true},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A token made with `keyroll-server token create`, sent as Authorization: Bearer",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", base(&server)),
        },
    })))
}

fn list_of(items: Vec<Value>) -> Value {
    json!({
        "schemas": [schema::LIST_RESPONSE],
        "totalResults": items.len(),
        "startIndex": 1,
        "itemsPerPage": items.len(),
        "Resources": items,
    })
}

fn by_id(items: Vec<Value>, id: &str, what: &str) -> Answer {
    items
        .into_iter()
        .find(|d| d["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(id)))
        .map(Reply::ok)
        .ok_or_else(|| Failure(ScimError::not_found(format!("no {what} {id:?} here"))))
}

pub async fn schemas(State(server): State<Server>) -> Answer {
    Ok(Reply::ok(list_of(schema::documents(&base(&server)))))
}

pub async fn schema(State(server): State<Server>, Path(id): Path<String>) -> Answer {
    by_id(schema::documents(&base(&server)), &id, "schema")
}

pub async fn resource_types(State(server): State<Server>) -> Answer {
    Ok(Reply::ok(list_of(schema::resource_types(&base(&server)))))
}

pub async fn resource_type(State(server): State<Server>, Path(id): Path<String>) -> Answer {
    by_id(schema::resource_types(&base(&server)), &id, "resource type")
}

/// `/Me` needs a signed-in user, not an office device's token.
pub async fn me() -> Failure {
    Failure(ScimError::new(
        501,
        None,
        "/Me is not supported: office devices sign in with a token, not as a user",
    ))
}

/// RFC 7644 §3.4.3 lets a server search every resource type at once;
/// this one searches one type at a time, and says where.
pub async fn search_everything() -> Failure {
    Failure(ScimError::new(
        501,
        None,
        "searching every resource type at once is not supported: POST to /Users/.search or /Groups/.search",
    ))
}

pub async fn not_found() -> Failure {
    Failure(ScimError::new(
        StatusCode::NOT_FOUND.as_u16(),
        None,
        "no such SCIM endpoint: see /scim/v2/ResourceTypes",
    ))
}
