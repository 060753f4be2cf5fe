//! `POST /graphql` and `GET /graphql`, written by hand because the stock
//! async-graphql-poem extractor takes any body as JSON, runs mutations over
//! GET and has no body or batch limit (DESIGN.md "Stack pitfalls").
//!
//! The order of checks is the order of API.md §5: content type (415), body
//! size (413), JSON shape and batch size (400), parse, method (405), the
//! request caps (400), credentials (401), then each operation's admission
//! (`admission`, shared with the WebSocket) and execution. `negotiate` picks media
//! types, `wire` reads the request, `render` writes the answer.

mod admission;
mod context;
mod negotiate;
mod render;
mod wire;
mod ws;
mod ws_gate;

use async_graphql::dataloader::DataLoader;
use async_graphql::parser::types::OperationType;
use poem::http::{HeaderValue, StatusCode, header};
use poem::web::Data;
use poem::{Body, Request, Response, handler};
use serde_json::Value;

use crate::auth::Viewer;
use crate::error::AppError;
use crate::graphql::document::ANONYMOUS_AUTH_FIELDS;
use crate::graphql::loaders::UserLoader;
use crate::http::graphiql;
use crate::http::state::AppState;
use crate::services::credentials::authentication;
use context::request_context;
use negotiate::ResponseType;
use render::{error_response, json_response, render, unauthorized};
use wire::{Batch, GetParams};

#[handler]
pub async fn post(req: &Request, body: Body, Data(state): Data<&AppState>) -> Response {
    let format = ResponseType::negotiate(req.header(header::ACCEPT));
    if !negotiate::is_json(req.header(header::CONTENT_TYPE)) {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format,
            &AppError::BadRequest("Content-Type must be application/json".into()),
        );
    }
    let settings = &state.app.settings;
    let limit = settings.max_body_bytes;
    let bytes = match body.into_bytes_limit(limit).await {
        Ok(bytes) => bytes,
        Err(poem::error::ReadBodyError::PayloadTooLarge) => {
            return error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                format,
                &AppError::BadRequest(format!("the body is larger than {limit} bytes")),
            );
        }
        Err(e) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                format,
                &AppError::BadRequest(format!("could not read the body: {e}")),
            );
        }
    };
    match wire::parse_post_body(
        &bytes,
        settings.max_batch,
        &state.documents,
        settings.max_complexity,
    ) {
        Ok(batch) => execute(req, state, batch, format, false).await,
        Err(e) => error_response(StatusCode::BAD_REQUEST, format, &e),
    }
}

#[handler]
pub async fn get(req: &Request, Data(state): Data<&AppState>) -> Response {
    if ws::is_upgrade(req) {
        return ws::upgrade(req, state).await;
    }
    if state.app.settings.graphiql && negotiate::wants_html(req.header(header::ACCEPT)) {
        return graphiql::page();
    }
    let format = ResponseType::negotiate(req.header(header::ACCEPT));
    let batch = req
        .params::<GetParams>()
        .map_err(|e| AppError::BadRequest(format!("malformed query string: {e}")))
        .and_then(|params| {
            wire::parse_get(params, &state.documents, state.app.settings.max_complexity)
        });
    match batch {
        Ok(batch) => execute(req, state, batch, format, true).await,
        Err(e) => error_response(StatusCode::BAD_REQUEST, format, &e),
    }
}

/// The admission rules of API.md §5 and §1 over the whole request (method,
/// password fields, credentials), then each operation in turn.
async fn execute(
    req: &Request,
    state: &AppState,
    batch: Batch,
    format: ResponseType,
    over_get: bool,
) -> Response {
    let shapes = || batch.operations.iter().filter_map(|op| op.shape.as_ref());
    if shapes().any(|s| s.ty == OperationType::Subscription) {
        let message = "subscriptions are served over WebSocket (graphql-transport-ws)";
        return error_response(
            StatusCode::BAD_REQUEST,
            format,
            &AppError::BadRequest(message.into()),
        );
    }
    if over_get && shapes().any(|s| s.ty != OperationType::Query) {
        let mut resp = error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            format,
            &AppError::BadRequest("mutations must be sent with POST".into()),
        );
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return resp;
    }
    if let Err(e) = admission::check_caps(shapes()) {
        return error_response(StatusCode::BAD_REQUEST, format, &e);
    }
    let ignores_credentials = batch.operations.iter().all(|op| {
        op.shape
            .as_ref()
            .is_some_and(|s| s.only(ANONYMOUS_AUTH_FIELDS))
    });
    // A header that is not even text is a credential that does not
    // authenticate, not an anonymous request (API.md §8.1).
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or(""));
    let viewer = match authorization {
        Some(credentials) if !ignores_credentials => {
            match authentication::authenticate(&state.app, credentials).await {
                Ok(viewer) => viewer,
                Err(AppError::Unauthenticated) => {
                    return unauthorized(format, batch.operations.len(), batch.is_batch);
                }
                // The credential could not be checked (say the database is
                // down): that is the server's fault, not a reason to sign out.
                Err(e) => return error_response(StatusCode::INTERNAL_SERVER_ERROR, format, &e),
            }
        }
        _ => Viewer::Anonymous,
    };
    let context = request_context(req, state, viewer, OperationType::Query);

    let mut bodies = Vec::with_capacity(batch.operations.len());
    let mut all_request_errors = true;
    for op in batch.operations {
        let kind = match op.shape.as_ref().map(|s| s.ty) {
            Some(OperationType::Query) => "query",
            Some(OperationType::Mutation) => "mutation",
            Some(OperationType::Subscription) => "subscription",
            None => "unknown",
        };
        let (body, request_error) = match admission::check_operation(&op, &state.app.settings) {
            Err(refused) => refused.body(),
            Ok(()) => {
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
        let outcome = if request_error {
            "rejected"
        } else if body.get("errors").is_some() {
            "error"
        } else {
            "ok"
        };
        state
            .app
            .metrics
            .graphql_operations
            .with_label_values(&[kind, outcome])
            .inc();
        bodies.push(body);
    }
    // GraphQL over HTTP: with application/graphql-response+json, a request that
    // never reached execution is a 400; application/json keeps the legacy 200.
    let status = if format == ResponseType::GraphqlResponseJson && all_request_errors {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body = if batch.is_batch {
        Value::Array(bodies)
    } else {
        bodies.pop().unwrap_or(Value::Null)
    };
    json_response(status, format, &body)
}
