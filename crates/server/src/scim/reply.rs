//! SCIM responses: `application/scim+json` bodies, ETags, and errors as
//! SCIM error documents.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use keyroll_scim::{ScimError, ScimType};
use serde_json::Value;

use crate::storage::StoreError;

/// A SCIM response.
pub struct Reply {
    pub status: StatusCode,
    pub body: Option<Value>,
    pub headers: Vec<(header::HeaderName, String)>,
}

impl Reply {
    pub fn ok(body: Value) -> Self {
        Reply {
            status: StatusCode::OK,
            body: Some(body),
            headers: Vec::new(),
        }
    }

    pub fn with(mut self, name: header::HeaderName, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut headers = HeaderMap::new();
        for (k, v) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&v) {
                headers.insert(k, v);
            }
        }
        match self.body {
            Some(body) => {
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(keyroll_scim::CONTENT_TYPE),
                );
                (self.status, headers, body.to_string()).into_response()
            }
            None => (self.status, headers).into_response(),
        }
    }
}

/// An error answer.
pub struct Failure(pub ScimError);

impl From<ScimError> for Failure {
    fn from(e: ScimError) -> Self {
        Failure(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure(match e {
            StoreError::Taken(what) => ScimError::new(
                409,
                Some(ScimType::Uniqueness),
                format!("{what}: choose another, or update the resource that has it"),
            ),
            StoreError::NotFound => ScimError::not_found("no such resource"),
            StoreError::Stale { version } => ScimError::new(
                412,
                None,
                format!(
                    "the resource changed since you read it (it is at version {}): read it again",
                    keyroll_scim::resource::etag(version)
                ),
            ),
            StoreError::NoSuchMember(id) => ScimError::bad(
                ScimType::InvalidValue,
                format!("members: no user or group here has the id {id:?}"),
            ),
            StoreError::Invalid(why) => ScimError::bad(ScimType::InvalidValue, why),
            StoreError::Database(why) => {
                eprintln!("keyroll-server: database error: {why}");
                ScimError::new(
                    500,
                    None,
                    "the server's database failed; the request changed nothing",
                )
            }
        })
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Reply {
            status,
            body: Some(self.0.to_json()),
            headers: Vec::new(),
        }
        .into_response()
    }
}

pub type Answer = Result<Reply, Failure>;

/// A request body as JSON, whatever JSON media type it came as.
pub fn json_body(body: &[u8]) -> Result<Value, Failure> {
    serde_json::from_slice(body).map_err(|e| {
        Failure(ScimError::bad(
            ScimType::InvalidSyntax,
            format!("the body is not JSON: {e}"),
        ))
    })
}

/// Runs storage work off the async workers.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Failure(ScimError::new(500, None, format!("internal error: {e}"))))?
}
