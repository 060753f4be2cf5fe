//! A tracing span per request, with a request id that is echoed in the
//! `X-Request-Id` response header so a client report can be matched to logs.
//! Only method, path, status and timing are logged: never headers or bodies,
//! which carry tokens and passwords.

use std::time::Instant;

use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use tracing::Instrument;

use crate::metrics::route_template;

pub struct RequestSpan;

/// A random (version 4) UUID from the thread's generator: `Uuid::new_v4`
/// asks the kernel (`getrandom`, a system call) on every request, and a
/// request id needs to be unique, not secret.
fn new_request_id() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string()
}

/// The path as logged: its route template (API.md §8.9), the same the
/// metrics use, so a uid, token or code in a path never reaches the logs,
/// for a route added later too (an unknown path is `other`).
fn loggable_path(path: &str) -> &'static str {
    route_template(path)
}

impl<E: Endpoint> Middleware<E> for RequestSpan {
    type Output = RequestSpanEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        RequestSpanEndpoint(ep)
    }
}

pub struct RequestSpanEndpoint<E>(E);

impl<E: Endpoint> Endpoint for RequestSpanEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let request_id = req
            .header("x-request-id")
            .filter(|id| {
                id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            .map(str::to_owned)
            .unwrap_or_else(new_request_id);
        let span = tracing::info_span!(
            "request",
            id = %request_id,
            method = %req.method(),
            path = %loggable_path(req.uri().path()),
        );
        async move {
            let started = Instant::now();
            let mut resp = match self.0.call(req).await {
                Ok(out) => out.into_response(),
                Err(err) => err.into_response(),
            };
            tracing::info!(
                status = resp.status().as_u16(),
                micros = started.elapsed().as_micros() as u64,
                "served"
            );
            if let Ok(value) = HeaderValue::from_str(&request_id) {
                resp.headers_mut().insert("x-request-id", value);
            }
            Ok(resp)
        }
        .instrument(span)
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn link_tokens_never_reach_the_logs() {
        for (path, logged) in [
            ("/activate/MDFh/abc-123", "/activate/{uid}/{token}"),
            (
                "/reset-password/MDFh/abc-123",
                "/reset-password/{uid}/{token}",
            ),
            (
                "/confirm-email/MDFh/abc-123",
                "/confirm-email/{uid}/{token}",
            ),
            ("/email-sign-in/abc-123", "/email-sign-in/{token}"),
            ("/no-such-route/secret-123", "other"),
            ("/graphql", "/graphql"),
        ] {
            assert_eq!(loggable_path(path), logged);
        }
    }
}
