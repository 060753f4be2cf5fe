//! The contract's codes for errors that async-graphql raises itself, before
//! or during execution, without any `extensions.code` (API.md §2). The HTTP
//! layer applies them to every response (see `http::graphql::render`), so no
//! error leaves without a code. This is done on the response rather than in
//! an async-graphql extension: any registered extension wraps every field
//! resolution, a cost paid on each of a list's rows.

use async_graphql::ServerError;

pub const PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
pub const VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";

/// Sets `extensions.code` unless the error already has one.
pub fn with_code(mut err: ServerError, code: &str) -> ServerError {
    let ext = err.extensions.get_or_insert_with(Default::default);
    if ext.get("code").is_none() {
        ext.set("code", code);
    }
    err
}
