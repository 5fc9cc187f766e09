//! Every SCIM call carries a bearer token made with `keyroll-server token
//! create`; without a live one the answer is 401 with `WWW-Authenticate`.

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use keyroll_scim::ScimError;

use super::reply::{blocking, Reply};
use crate::{tokens, Server};

pub async fn require_token(State(server): State<Server>, request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| rest.trim().to_owned())
        });
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return refuse(
            "this call needs a bearer token: make one with `keyroll-server token create`",
        );
    };
    let hash = tokens::hash(&token);
    let storage = server.storage.clone();
    match blocking(move || Ok(storage.use_token(&hash)?)).await {
        Ok(Some(_name)) => next.run(request).await,
        Ok(None) => refuse("the token is not known or was revoked: ask for a new one"),
        Err(f) => f.into_response(),
    }
}

fn refuse(detail: &str) -> Response {
    let e = ScimError::new(401, None, detail);
    Reply {
        status: StatusCode::UNAUTHORIZED,
        body: Some(e.to_json()),
        headers: vec![(
            header::WWW_AUTHENTICATE,
            "Bearer realm=\"keyroll\"".to_owned(),
        )],
    }
    .into_response()
}
