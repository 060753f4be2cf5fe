//! What a GraphQL request looks like on the wire: a POST body (one
//! operation, or an array of them for batching) or a GET query string, read
//! strictly so that a wrongly typed parameter is a clear 400 instead of a
//! guess (GraphQL over HTTP, "request parameters").

use async_graphql::{ErrorExtensions, Pos, ServerError, Variables};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::AppError;
use crate::graphql::codes::{PARSE_FAILED, with_code};
use crate::graphql::document::{self, DocumentCache, OperationShape};
use crate::graphql::text_input;

/// One operation as a client sends it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireOperation {
    query: String,
    /// `null` is as good as absent.
    #[serde(default)]
    variables: Option<Map<String, Value>>,
    #[serde(default)]
    operation_name: Option<String>,
    /// Accepted and ignored; only its type is checked.
    #[serde(default)]
    #[allow(dead_code)]
    extensions: Option<Map<String, Value>>,
}

/// A POST body: one operation, or a batch (as Apollo's `BatchHttpLink` sends).
#[derive(Deserialize)]
#[serde(untagged)]
enum WireBody {
    Batch(Vec<Value>),
    One(Map<String, Value>),
}

/// A GET request's parameters: `variables` and `extensions` are JSON text.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetParams {
    query: Option<String>,
    variables: Option<String>,
    operation_name: Option<String>,
    extensions: Option<String>,
}

/// One operation of a request, parsed (through the cache) but not run.
pub struct Operation {
    pub request: async_graphql::Request,
    pub shape: Option<OperationShape>,
    pub parse_error: Option<ServerError>,
    /// Input refused before anything runs: `BAD_USER_INPUT` (a NUL in a string).
    pub input_error: Option<ServerError>,
}

impl Operation {
    fn new(
        mut request: async_graphql::Request,
        documents: &DocumentCache,
        max_complexity: usize,
    ) -> Operation {
        match documents.parse(&request.query) {
            Ok(doc) => {
                let name = request.operation_name.as_deref();
                let shape = document::shape(&doc, name, &request.variables, max_complexity);
                let input_error = text_input::nul_field(&doc, name, &request.variables).map(|f| {
                    AppError::field(&f, "must not contain a NUL character")
                        .extend()
                        .into_server_error(Pos::default())
                });
                request.set_parsed_query(doc);
                Operation {
                    shape,
                    request,
                    parse_error: None,
                    input_error,
                }
            }
            Err(e) => Operation {
                request,
                shape: None,
                parse_error: Some(with_code(e, PARSE_FAILED)),
                input_error: None,
            },
        }
    }
}

/// A request as sent: one operation, or an array of them (batching).
pub struct Batch {
    pub operations: Vec<Operation>,
    pub is_batch: bool,
}

/// Reads a POST body: JSON, an object or a non-empty array of at most
/// `max_batch` objects, each with a string `query`.
pub fn parse_post_body(
    bytes: &[u8],
    max_batch: usize,
    documents: &DocumentCache,
    max_complexity: usize,
) -> Result<Batch, AppError> {
    let body: WireBody = serde_json::from_slice(bytes).map_err(|e| {
        AppError::BadRequest(if e.is_data() {
            "the body must be a JSON object or an array of them".into()
        } else {
            format!("the body is not valid JSON: {e}")
        })
    })?;
    let (items, is_batch) = match body {
        WireBody::Batch(items) => (items, true),
        WireBody::One(one) => (vec![Value::Object(one)], false),
    };
    if items.is_empty() {
        return Err(AppError::BadRequest("the batch is empty".into()));
    }
    if items.len() > max_batch {
        return Err(AppError::BadRequest(format!(
            "a batch may hold at most {max_batch} operations"
        )));
    }
    let operations = items
        .into_iter()
        .map(|item| {
            let wire: WireOperation = serde_json::from_value(item)
                .map_err(|e| AppError::BadRequest(format!("a malformed operation: {e}")))?;
            Ok(Operation::new(request(wire), documents, max_complexity))
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    Ok(Batch {
        operations,
        is_batch,
    })
}

/// Reads a GET request's parameters as one operation.
pub fn parse_get(
    params: GetParams,
    documents: &DocumentCache,
    max_complexity: usize,
) -> Result<Batch, AppError> {
    let object = |name: &str, text: Option<String>| {
        text.map(|t| serde_json::from_str::<Option<Map<String, Value>>>(&t))
            .transpose()
            .map(Option::flatten)
            .map_err(|_| AppError::BadRequest(format!("{name} must be a JSON object")))
    };
    let wire = WireOperation {
        query: params
            .query
            .ok_or_else(|| AppError::BadRequest("the query parameter is required".into()))?,
        variables: object("variables", params.variables)?,
        operation_name: params.operation_name,
        extensions: object("extensions", params.extensions)?,
    };
    Ok(Batch {
        operations: vec![Operation::new(request(wire), documents, max_complexity)],
        is_batch: false,
    })
}

/// Reads a WebSocket `subscribe` message's payload as one operation, read
/// as strictly as a POST body's; `None` when it is not one (the protocol
/// then closes the socket as its rules say).
pub fn parse_ws_payload(
    payload: Value,
    documents: &DocumentCache,
    max_complexity: usize,
) -> Option<Operation> {
    let wire: WireOperation = serde_json::from_value(payload).ok()?;
    Some(Operation::new(request(wire), documents, max_complexity))
}

fn request(wire: WireOperation) -> async_graphql::Request {
    let mut request = async_graphql::Request::new(wire.query);
    if let Some(variables) = wire.variables {
        request = request.variables(Variables::from_json(Value::Object(variables)));
    }
    if let Some(name) = wire.operation_name {
        request = request.operation_name(name);
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str, max_batch: usize) -> Result<Batch, AppError> {
        parse_post_body(body.as_bytes(), max_batch, &DocumentCache::default(), 1000)
    }

    #[test]
    fn wrongly_typed_parameters_are_bad_requests() {
        for body in [
            r#"{"query": 1}"#,
            r#"{"variables": {}}"#,
            r#"{"query": "{a}", "variables": "x"}"#,
            r#"{"query": "{a}", "operationName": 3}"#,
            r#"{"query": "{a}", "extensions": []}"#,
            r#"[]"#,
            r#""{a}""#,
            r#"[1]"#,
            r#"{"query": "{a}""#,
        ] {
            assert!(parse(body, 10).is_err(), "{body}");
        }
        assert!(parse(r#"[{"query":"{a}"},{"query":"{b}"}]"#, 1).is_err());
        assert!(parse(r#"{"query":"{a}","variables":null}"#, 1).is_ok());
        let batch = parse(r#"[{"query":"{a}"},{"query":"{b}"}]"#, 2).unwrap();
        assert!(batch.is_batch);
        assert_eq!(batch.operations.len(), 2);
    }
}
