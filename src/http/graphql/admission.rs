//! One admission for every way in (API.md §8.9, SECURITY.md rule 8): the
//! checks a document passes before anything of it runs, whether it came as
//! an HTTP POST or GET, a batch, or a WebSocket `subscribe` message. A
//! transport adds only what is its own (HTTP: the method and the status
//! codes; the WebSocket: subscriptions only, and how many a socket holds).

use async_graphql::ServerError;
use serde_json::{Value, json};

use super::wire::Operation;
use crate::config::Settings;
use crate::error::AppError;
use crate::graphql::codes::{VALIDATION_FAILED, with_code};
use crate::graphql::document::{
    ANONYMOUS_WRITE_FIELDS, MAX_ANONYMOUS_WRITES, OperationShape, PASSWORD_FIELDS,
};

/// The root fields of introspection.
const INTROSPECTION_FIELDS: &[&str] = &["__schema", "__type"];

/// Fields a whole request (every alias, every operation of a batch) may
/// hold only so many of; over a cap nothing runs.
const REQUEST_CAPS: &[(&[&str], usize, &str)] = &[
    (PASSWORD_FIELDS, 1, "field that checks or sets a password"),
    (
        ANONYMOUS_WRITE_FIELDS,
        MAX_ANONYMOUS_WRITES,
        "anonymous or credential-checking mutations",
    ),
];

/// The caps over a request's operations: `BAD_REQUEST` when any is passed.
pub fn check_caps<'a>(
    shapes: impl Iterator<Item = &'a OperationShape> + Clone,
) -> Result<(), AppError> {
    for (fields, max, what) in REQUEST_CAPS {
        if shapes.clone().map(|s| s.count_of(fields)).sum::<usize>() > *max {
            return Err(AppError::BadRequest(format!(
                "a request may hold at most {max} {what}"
            )));
        }
    }
    Ok(())
}

/// Why one operation does not run.
pub enum Refused {
    /// The document itself: unparsable, too complex, introspection while
    /// it is off. A request error: no `data`.
    Document(ServerError),
    /// Its input (a NUL, say): the field's error, as if it had run.
    Input(ServerError),
}

impl Refused {
    /// The answer's body, and whether the operation never reached execution.
    pub fn body(self) -> (Value, bool) {
        match self {
            Refused::Document(e) => (json!({ "errors": [e] }), true),
            Refused::Input(e) => (json!({ "data": null, "errors": [e] }), false),
        }
    }

    pub fn errors(self) -> Vec<ServerError> {
        match self {
            Refused::Document(e) | Refused::Input(e) => vec![e],
        }
    }
}

/// The checks of one operation: it parsed, it asks for no introspection
/// while that is off, it costs at most `MAX_COMPLEXITY` (depth is the
/// schema's own limit, on every transport), and its strings are text.
pub fn check_operation(op: &Operation, settings: &Settings) -> Result<(), Refused> {
    if let Some(e) = &op.parse_error {
        return Err(Refused::Document(e.clone()));
    }
    let shape = op.shape.as_ref();
    // With introspection off, a document that asks for it is refused as
    // invalid, not answered with a silent `null` (API.md §8.1).
    if !settings.graphiql && shape.is_some_and(|s| s.count_of(INTROSPECTION_FIELDS) > 0) {
        return Err(Refused::Document(with_code(
            ServerError::new("Introspection is disabled on this server.", None),
            VALIDATION_FAILED,
        )));
    }
    if shape.is_some_and(|s| s.field_count > settings.max_complexity) {
        return Err(Refused::Document(with_code(
            ServerError::new("Query is too complex.", None),
            VALIDATION_FAILED,
        )));
    }
    if let Some(e) = &op.input_error {
        return Err(Refused::Input(e.clone()));
    }
    Ok(())
}
