//! Turning results and refusals into HTTP responses (API.md §5's table).

use async_graphql::ServerError;
use poem::Response;
use poem::http::{HeaderValue, StatusCode, header};
use serde_json::{Map, Value};

use super::negotiate::ResponseType;
use crate::error::AppError;
use crate::graphql::codes::{VALIDATION_FAILED, with_code};

/// Serialises one executed response; also says whether it failed as a
/// whole before execution (validation, unknown operation), which has no
/// `data` key. Every error leaves with a code: those async-graphql raised
/// itself get one here.
pub fn render(resp: async_graphql::Response) -> (Value, bool) {
    let request_error = resp.data == async_graphql::Value::Null
        && !resp.errors.is_empty()
        && resp.errors.iter().all(|e| e.path.is_empty());
    let errors: Vec<ServerError> = resp
        .errors
        .into_iter()
        .map(|e| {
            if e.extensions
                .as_ref()
                .is_some_and(|x| x.get("code").is_some())
            {
                e
            } else if request_error {
                with_code(e, VALIDATION_FAILED)
            } else {
                // Resolvers only raise coded `AppError`s; an uncoded error at a
                // field is async-graphql refusing the input (an argument or
                // variable of the wrong type, a missing variable).
                with_code(e, "BAD_USER_INPUT")
            }
        })
        .collect();
    let mut body = Map::new();
    if !request_error {
        body.insert("data".into(), resp.data.into_json().unwrap_or(Value::Null));
    }
    if !errors.is_empty() {
        body.insert(
            "errors".into(),
            serde_json::to_value(errors).unwrap_or(Value::Null),
        );
    }
    if !resp.extensions.is_empty()
        && let Ok(ext) = serde_json::to_value(&resp.extensions)
    {
        body.insert("extensions".into(), ext);
    }
    (Value::Object(body), request_error)
}

/// A credential that does not authenticate fails the whole request (API.md §1).
pub fn unauthorized(format: ResponseType, operations: usize, is_batch: bool) -> Response {
    let one = AppError::Unauthenticated.to_response_json();
    let body = if is_batch {
        Value::Array(vec![one; operations])
    } else {
        one
    };
    let mut resp = json_response(StatusCode::UNAUTHORIZED, format, &body);
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(r#"Bearer error="invalid_token""#),
    );
    resp
}

pub fn error_response(status: StatusCode, format: ResponseType, err: &AppError) -> Response {
    json_response(status, format, &err.to_response_json())
}

pub fn json_response(status: StatusCode, format: ResponseType, body: &Value) -> Response {
    Response::builder()
        .status(status)
        .content_type(format.content_type())
        .body(serde_json::to_vec(body).unwrap_or_default())
}
