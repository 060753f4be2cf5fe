//! `POST /graphql` and `GET /graphql`, written by hand because the stock
//! async-graphql-poem extractor takes any body as JSON, runs mutations over
//! GET and has no body or batch limit (DESIGN.md "Stack pitfalls").
//!
//! The order of checks is the order of API.md §5: content type (415), body
//! size (413), JSON shape and batch size (400), parse, method (405), password
//! fields (400), credentials (401), then execution.

use async_graphql::dataloader::DataLoader;
use async_graphql::parser::types::OperationType;
use async_graphql::{ServerError, Variables};
use poem::http::{HeaderValue, StatusCode, header};
use poem::web::Data;
use poem::{Body, Request, Response, handler};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::auth::{RequestContext, Viewer};
use crate::config::Settings;
use crate::error::AppError;
use crate::graphql::codes::{PARSE_FAILED, VALIDATION_FAILED, with_code};
use crate::graphql::document::{
    self, ANONYMOUS_AUTH_FIELDS, DocumentCache, OperationShape, PASSWORD_FIELDS,
};
use crate::graphql::loaders::UserLoader;
use crate::http::client_ip;
use crate::http::graphiql;
use crate::http::state::AppState;
use crate::services::authentication;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const APPLICATION_JSON: &str = "application/json";

/// The response media type, chosen from the request's `Accept` (GraphQL over
/// HTTP: `application/graphql-response+json` when allowed, else `application/json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    GraphqlResponse,
    Json,
}

impl Flavor {
    /// `application/graphql-response+json` only when the client names it (at
    /// least as preferred as `application/json`): a bare wildcard such as
    /// `*/*` — what curl and `fetch` send by default — gets `application/json`,
    /// as GraphQL over HTTP recommends for clients that predate the new type
    /// (and graphql-http's audit checks), so they keep their 200 on
    /// validation errors.
    pub fn negotiate(accept: Option<&str>) -> Flavor {
        let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
            // The spec's legacy rule: no Accept header means application/json.
            return Flavor::Json;
        };
        let grj = quality_named(accept, "application", "graphql-response+json");
        let json = quality(accept, "application", "json");
        if grj > 0.0 && grj >= json {
            Flavor::GraphqlResponse
        } else {
            Flavor::Json
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Flavor::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            Flavor::Json => "application/json; charset=utf-8",
        }
    }
}

/// The q-value the most specific matching media range gives `ty/sub`.
fn quality(accept: &str, ty: &str, sub: &str) -> f32 {
    best_range(accept, ty, sub).map_or(0.0, |(_, q)| q)
}

/// The q-value of a range naming `ty/sub` itself; wildcards do not count.
fn quality_named(accept: &str, ty: &str, sub: &str) -> f32 {
    match best_range(accept, ty, sub) {
        Some((3, q)) => q,
        _ => 0.0,
    }
}

/// `(specificity, q)` of the most specific range matching `ty/sub`:
/// 3 for `ty/sub`, 2 for `ty/*`, 1 for `*/*`.
fn best_range(accept: &str, ty: &str, sub: &str) -> Option<(u8, f32)> {
    let mut best: Option<(u8, f32)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|v| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let Some((rt, rs)) = media.split_once('/') else {
            continue;
        };
        let specificity = match (rt, rs) {
            (t, s) if t == ty && s == sub => 3,
            (t, "*") if t == ty => 2,
            ("*", "*") => 1,
            _ => continue,
        };
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((specificity, q));
        }
    }
    best
}

/// One operation of a request, before execution.
struct Operation {
    request: async_graphql::Request,
    shape: Option<OperationShape>,
    parse_error: Option<ServerError>,
}

impl Operation {
    fn new(
        mut request: async_graphql::Request,
        documents: &DocumentCache,
        max_complexity: usize,
    ) -> Operation {
        match documents.parse(&request.query) {
            Ok(doc) => {
                let shape =
                    document::shape(&doc, request.operation_name.as_deref(), max_complexity);
                request.set_parsed_query(doc);
                Operation {
                    shape,
                    request,
                    parse_error: None,
                }
            }
            Err(e) => Operation {
                request,
                shape: None,
                parse_error: Some(with_code(e, PARSE_FAILED)),
            },
        }
    }
}

/// A request body as sent: one operation, or an array of them (batching).
struct Batch {
    operations: Vec<Operation>,
    is_batch: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetParams {
    query: Option<String>,
    variables: Option<String>,
    operation_name: Option<String>,
    extensions: Option<String>,
}

#[handler]
pub async fn post(req: &Request, body: Body, Data(state): Data<&AppState>) -> Response {
    let flavor = Flavor::negotiate(req.header(header::ACCEPT));
    if !is_json(req.header(header::CONTENT_TYPE)) {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            flavor,
            &AppError::BadRequest("Content-Type must be application/json".into()),
        );
    }
    let limit = state.app.settings.max_body_bytes;
    let bytes = match body.into_bytes_limit(limit).await {
        Ok(bytes) => bytes,
        Err(poem::error::ReadBodyError::PayloadTooLarge) => {
            return error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                flavor,
                &AppError::BadRequest(format!("the body is larger than {limit} bytes")),
            );
        }
        Err(e) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                flavor,
                &AppError::BadRequest(format!("could not read the body: {e}")),
            );
        }
    };
    match parse_post_body(&bytes, &state.app.settings, &state.documents) {
        Ok(batch) => execute(req, state, batch, flavor, false).await,
        Err(e) => error_response(StatusCode::BAD_REQUEST, flavor, &e),
    }
}

#[handler]
pub async fn get(req: &Request, Data(state): Data<&AppState>) -> Response {
    if state.app.settings.graphiql && wants_html(req) {
        return graphiql::page();
    }
    let flavor = Flavor::negotiate(req.header(header::ACCEPT));
    let request = req
        .params::<GetParams>()
        .map_err(|e| AppError::BadRequest(format!("malformed query string: {e}")))
        .and_then(request_from_get);
    match request {
        Ok(request) => {
            let batch = Batch {
                operations: vec![Operation::new(
                    request,
                    &state.documents,
                    state.app.settings.max_complexity,
                )],
                is_batch: false,
            };
            execute(req, state, batch, flavor, true).await
        }
        Err(e) => error_response(StatusCode::BAD_REQUEST, flavor, &e),
    }
}

fn wants_html(req: &Request) -> bool {
    req.header(header::ACCEPT)
        .is_some_and(|a| a.to_ascii_lowercase().contains("text/html"))
}

fn is_json(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else {
        return false;
    };
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    media == APPLICATION_JSON || media == GRAPHQL_RESPONSE_JSON
}

fn request_from_get(params: GetParams) -> Result<async_graphql::Request, AppError> {
    let query = params
        .query
        .ok_or_else(|| AppError::BadRequest("the query parameter is required".into()))?;
    let variables = params
        .variables
        .map(|v| serde_json::from_str::<Value>(&v))
        .transpose()
        .map_err(|_| AppError::BadRequest("variables must be a JSON object".into()))?;
    let extensions = params
        .extensions
        .map(|v| serde_json::from_str::<Value>(&v))
        .transpose()
        .map_err(|_| AppError::BadRequest("extensions must be a JSON object".into()))?;
    build_request(
        Value::String(query),
        variables,
        params.operation_name.map(Value::String),
        extensions,
    )
}

/// Strict reading of the body, so a wrongly typed parameter is a clear 400
/// instead of a guess (GraphQL over HTTP, "request parameters").
fn parse_post_body(
    bytes: &[u8],
    settings: &Settings,
    documents: &DocumentCache,
) -> Result<Batch, AppError> {
    let max_batch = settings.max_batch;
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| AppError::BadRequest(format!("the body is not valid JSON: {e}")))?;
    let (items, is_batch) = match value {
        Value::Array(items) => (items, true),
        single @ Value::Object(_) => (vec![single], false),
        _ => {
            return Err(AppError::BadRequest(
                "the body must be a JSON object or an array of them".into(),
            ));
        }
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
            let Value::Object(mut fields) = item else {
                return Err(AppError::BadRequest(
                    "each operation must be a JSON object".into(),
                ));
            };
            let query = fields.remove("query").unwrap_or(Value::Null);
            build_request(
                query,
                fields.remove("variables"),
                fields.remove("operationName"),
                fields.remove("extensions"),
            )
            .map(|request| Operation::new(request, documents, settings.max_complexity))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Batch {
        operations,
        is_batch,
    })
}

fn build_request(
    query: Value,
    variables: Option<Value>,
    operation_name: Option<Value>,
    extensions: Option<Value>,
) -> Result<async_graphql::Request, AppError> {
    let Value::String(query) = query else {
        return Err(AppError::BadRequest("query must be a string".into()));
    };
    let mut request = async_graphql::Request::new(query);
    match variables {
        None | Some(Value::Null) => {}
        Some(vars @ Value::Object(_)) => request = request.variables(Variables::from_json(vars)),
        Some(_) => {
            return Err(AppError::BadRequest(
                "variables must be a JSON object".into(),
            ));
        }
    }
    match operation_name {
        None | Some(Value::Null) => {}
        Some(Value::String(name)) => request = request.operation_name(name),
        Some(_) => {
            return Err(AppError::BadRequest(
                "operationName must be a string".into(),
            ));
        }
    }
    match extensions {
        None | Some(Value::Null) | Some(Value::Object(_)) => {}
        Some(_) => {
            return Err(AppError::BadRequest(
                "extensions must be a JSON object".into(),
            ));
        }
    }
    Ok(request)
}

async fn execute(
    req: &Request,
    state: &AppState,
    batch: Batch,
    flavor: Flavor,
    over_get: bool,
) -> Response {
    let shapes = || batch.operations.iter().filter_map(|op| op.shape.as_ref());
    if over_get && shapes().any(|s| s.ty != OperationType::Query) {
        let mut resp = error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            flavor,
            &AppError::BadRequest("mutations must be sent with POST".into()),
        );
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return resp;
    }
    if shapes().map(|s| s.count_of(PASSWORD_FIELDS)).sum::<usize>() > 1 {
        return error_response(
            StatusCode::BAD_REQUEST,
            flavor,
            &AppError::BadRequest(
                "a request may hold at most one field that checks or sets a password".into(),
            ),
        );
    }
    let ignores_credentials = batch.operations.iter().all(|op| {
        op.shape
            .as_ref()
            .is_some_and(|s| s.only(ANONYMOUS_AUTH_FIELDS))
    });
    let viewer = match req.header(header::AUTHORIZATION) {
        Some(credentials) if !ignores_credentials => {
            match authentication::authenticate(&state.app, credentials).await {
                Ok(viewer) => viewer,
                Err(AppError::Unauthenticated) => {
                    return unauthorized(flavor, batch.operations.len(), batch.is_batch);
                }
                // The credential could not be checked (say the database is
                // down): that is the server's fault, not a reason to sign out.
                Err(e) => return error_response(StatusCode::INTERNAL_SERVER_ERROR, flavor, &e),
            }
        }
        _ => Viewer::Anonymous,
    };
    let context = RequestContext {
        viewer,
        operation: OperationType::Query,
        client_ip: client_ip(req, &state.app.settings.trusted_proxies),
        user_agent: req
            .header(header::USER_AGENT)
            .map(|ua| ua.chars().take(512).collect()),
    };

    let mut bodies = Vec::with_capacity(batch.operations.len());
    let mut all_request_errors = true;
    for op in batch.operations {
        let too_complex = op
            .shape
            .as_ref()
            .is_some_and(|s| s.field_count > state.app.settings.max_complexity);
        let (body, request_error) = match op.parse_error {
            Some(e) => (json!({ "errors": [e] }), true),
            None if too_complex => {
                let e = with_code(
                    ServerError::new("Query is too complex.", None),
                    VALIDATION_FAILED,
                );
                (json!({ "errors": [e] }), true)
            }
            None => {
                let mut context = context.clone();
                context.operation = op.shape.as_ref().map_or(OperationType::Query, |s| s.ty);
                // One DataLoader per operation: batching within it, no
                // cache shared between requests.
                let owners = DataLoader::new(UserLoader::new(state.app.clone()), tokio::spawn);
                render(
                    state
                        .schema
                        .execute(op.request.data(context).data(owners))
                        .await,
                )
            }
        };
        all_request_errors &= request_error;
        bodies.push(body);
    }
    // GraphQL over HTTP: with application/graphql-response+json, a request that
    // never reached execution is a 400; application/json keeps the legacy 200.
    let status = if flavor == Flavor::GraphqlResponse && all_request_errors {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body = if batch.is_batch {
        Value::Array(bodies)
    } else {
        bodies.pop().unwrap_or(Value::Null)
    };
    json_response(status, flavor, &body)
}

/// Serialises one executed response. A response that failed before execution
/// (validation, unknown operation) has no `data` key. Every error leaves with
/// a code: those async-graphql raised itself get one here.
fn render(resp: async_graphql::Response) -> (Value, bool) {
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
fn unauthorized(flavor: Flavor, operations: usize, is_batch: bool) -> Response {
    let one = AppError::Unauthenticated.to_response_json();
    let body = if is_batch {
        Value::Array(vec![one; operations])
    } else {
        one
    };
    let mut resp = json_response(StatusCode::UNAUTHORIZED, flavor, &body);
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(r#"Bearer error="invalid_token""#),
    );
    resp
}

pub fn error_response(status: StatusCode, flavor: Flavor, err: &AppError) -> Response {
    json_response(status, flavor, &err.to_response_json())
}

fn json_response(status: StatusCode, flavor: Flavor, body: &Value) -> Response {
    Response::builder()
        .status(status)
        .content_type(flavor.content_type())
        .body(serde_json::to_vec(body).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(max_batch: usize) -> Settings {
        let vars = [
            ("SECRET_KEY".to_owned(), "k".repeat(32)),
            ("MAX_BATCH".to_owned(), max_batch.to_string()),
        ]
        .into();
        Settings::from_vars(&vars, std::path::Path::new("/x"))
            .unwrap()
            .0
    }

    #[test]
    fn negotiation_follows_accept() {
        assert_eq!(Flavor::negotiate(None), Flavor::Json);
        assert_eq!(Flavor::negotiate(Some("application/json")), Flavor::Json);
        assert_eq!(
            Flavor::negotiate(Some(GRAPHQL_RESPONSE_JSON)),
            Flavor::GraphqlResponse
        );
        assert_eq!(
            Flavor::negotiate(Some(
                "application/graphql-response+json, application/json;q=0.9"
            )),
            Flavor::GraphqlResponse
        );
        assert_eq!(
            Flavor::negotiate(Some("application/json, */*;q=0.5")),
            Flavor::Json
        );
        assert_eq!(Flavor::negotiate(Some("*/*")), Flavor::Json);
        assert_eq!(Flavor::negotiate(Some("application/*")), Flavor::Json);
        assert_eq!(
            Flavor::negotiate(Some("*/*, application/graphql-response+json")),
            Flavor::GraphqlResponse
        );
        assert_eq!(
            Flavor::negotiate(Some("application/graphql-response+json;q=0.5, */*")),
            Flavor::Json
        );
        assert_eq!(
            Flavor::negotiate(Some("*/*, application/graphql-response+json;q=0")),
            Flavor::Json
        );
        assert_eq!(Flavor::negotiate(Some("text/plain")), Flavor::Json);
    }

    #[test]
    fn only_json_content_types_are_accepted() {
        assert!(is_json(Some("application/json")));
        assert!(is_json(Some("Application/JSON; charset=utf-8")));
        assert!(!is_json(Some("text/plain")));
        assert!(!is_json(Some("application/x-www-form-urlencoded")));
        assert!(!is_json(Some("multipart/form-data; boundary=x")));
        assert!(!is_json(None));
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
        ] {
            assert!(
                parse_post_body(body.as_bytes(), &settings(10), &DocumentCache::default()).is_err(),
                "{body}"
            );
        }
        let documents = DocumentCache::default();
        assert!(
            parse_post_body(
                br#"[{"query":"{a}"},{"query":"{b}"}]"#,
                &settings(1),
                &documents
            )
            .is_err()
        );
        assert!(
            parse_post_body(
                br#"{"query":"{a}","variables":null}"#,
                &settings(1),
                &documents
            )
            .is_ok()
        );
    }
}
