//! `GET /graphql` with a WebSocket upgrade (API.md §8.6): the
//! `graphql-transport-ws` protocol, as async-graphql implements it
//! (`async_graphql::http::WebSocket`, the engine `async-graphql-poem`'s
//! `GraphQLWebSocket` wraps), with the socket's life decided here:
//!
//! - every `subscribe` passes the one admission first (`ws_gate`): the
//!   engine runs subscriptions only, a few per socket;
//! - `connection_init` carries the credential (`{"Authorization": …}`);
//!   a missing or bad one closes with `4403`, one socket too many for the
//!   user with `4429`, no `connection_init` within `INIT_TIMEOUT` with `4408`;
//! - once open, `services::live` watches the credential: when it stops
//!   authenticating the event that revoked it is sent, then `4401`;
//! - the server pings every `KEEPALIVE`, and closes with `1001` when it
//!   shuts down.
//!
//! `GraphQLWebSocket::serve` owns the socket until the protocol ends and
//! closes a refused `connection_init` with `1002`, so it cannot close with
//! the codes the contract names; the protocol engine it drives can be
//! driven here instead, with nothing of the protocol written by hand.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::Data;
use async_graphql::dataloader::DataLoader;
use async_graphql::http::{WebSocket as Protocol, WebSocketProtocols, WsMessage};
use async_graphql::parser::types::OperationType;
use futures_util::{SinkExt, StreamExt, future};
use poem::http::{StatusCode, header};
use poem::web::websocket::{Message, WebSocket, WebSocketConfig};
use poem::{FromRequest, IntoResponse, Request, Response};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::context::request_context;
use super::ws_gate::Gate;
use crate::auth::{RequestContext, Viewer};
use crate::graphql::loaders::UserLoader;
use crate::http::state::AppState;
use crate::services::live::{self, LiveSocket, Refused};

const SUBPROTOCOL: &str = "graphql-transport-ws";
const INIT_TIMEOUT: Duration = Duration::from_secs(10);
const KEEPALIVE: Duration = Duration::from_secs(15);
/// After a revocation, how long the protocol may take to send the events
/// already handed to it before the socket closes.
const FLUSH: Duration = Duration::from_millis(50);

/// Whether `req` asks to become a WebSocket.
pub fn is_upgrade(req: &Request) -> bool {
    req.header(header::UPGRADE)
        .is_some_and(|u| u.eq_ignore_ascii_case("websocket"))
}

/// Accepts the upgrade when the client speaks `graphql-transport-ws`.
pub async fn upgrade(req: &Request, state: &AppState) -> Response {
    let offered = req
        .header(header::SEC_WEBSOCKET_PROTOCOL)
        .unwrap_or(SUBPROTOCOL);
    if !offered.split(',').any(|p| p.trim() == SUBPROTOCOL) {
        return (
            StatusCode::BAD_REQUEST,
            "only graphql-transport-ws is served",
        )
            .into_response();
    }
    let ws = match WebSocket::from_request_without_body(req).await {
        Ok(ws) => ws,
        Err(e) => return e.into_response(),
    };
    let state = state.clone();
    let context = request_context(req, &state, Viewer::Anonymous, OperationType::Subscription);
    // Sockets mostly sit idle: small buffers (tungstenite's 128 KiB each
    // way were most of a socket's memory), and client messages no bigger
    // than a request body may be.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_message_size(Some(state.app.settings.max_body_bytes))
        .max_frame_size(Some(state.app.settings.max_body_bytes));
    ws.protocols([SUBPROTOCOL])
        .config(config)
        .on_upgrade(move |socket| serve(socket, state, context))
        .into_response()
}

async fn serve(
    socket: poem::web::websocket::WebSocketStream,
    state: AppState,
    context: RequestContext,
) {
    let _serving = state.app.live.serving();
    let (mut sink, stream) = socket.split();
    let Some(slot) = state.unacked.take(context.client_ip.to_string()) else {
        let close = Message::close_with(4429u16, "Too many unacknowledged connections");
        let _ = sink.send(close).await;
        return;
    };
    let slot = Arc::new(Mutex::new(Some(slot)));
    let (refusals, mut refused) = mpsc::unbounded_channel::<String>();
    let gate = Arc::new(Gate::new(state.clone(), refusals));
    let inbound = {
        let gate = gate.clone();
        stream
            .take_while(|m| future::ready(m.is_ok()))
            .filter_map(move |m| {
                future::ready(match m {
                    Ok(Message::Text(text)) => gate.inbound(text.into_bytes()),
                    Ok(Message::Binary(bytes)) => gate.inbound(bytes),
                    _ => None,
                })
            })
    };
    let refusal: Arc<Mutex<Option<(u16, &'static str)>>> = Arc::default();
    let (opened, socket_open) = oneshot::channel::<Arc<LiveSocket>>();
    let acked = Arc::new(AtomicBool::new(false));
    let init = {
        let (app, refusal, acked) = (state.app.clone(), refusal.clone(), acked.clone());
        let slot = slot.clone();
        move |payload: Value| async move {
            let authorization = payload
                .get("Authorization")
                .or_else(|| payload.get("authorization"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let socket = match live::open(&app, authorization).await {
                Ok(socket) => Arc::new(socket),
                Err(why) => {
                    let code = match why {
                        Refused::Credential => (4403, "Forbidden"),
                        Refused::TooMany => (4429, "Too many connections for this user"),
                        Refused::Unavailable(e) => {
                            e.log();
                            (1013, "Try again later")
                        }
                    };
                    *refusal.lock().unwrap_or_else(|p| p.into_inner()) = Some(code);
                    return Err(code.1.into());
                }
            };
            let mut data = Data::default();
            data.insert(RequestContext {
                viewer: socket.viewer.clone(),
                ..context
            });
            data.insert(DataLoader::new(UserLoader::new(app.clone()), tokio::spawn));
            data.insert(socket.clone());
            let _ = opened.send(socket);
            acked.store(true, Ordering::Relaxed);
            // Acknowledged: no longer one of the IP's pending sockets.
            slot.lock().unwrap_or_else(|p| p.into_inner()).take();
            Ok(data)
        }
    };
    let protocol = Protocol::new(state.schema.clone(), inbound, WebSocketProtocols::GraphQLWS)
        .on_connection_init(init);
    let mut protocol = std::pin::pin!(protocol);

    let app = state.app.clone();
    let revoked = async move {
        match socket_open.await {
            Ok(socket) => socket.watch(&app).await,
            Err(_) => future::pending().await,
        }
    };
    let mut revoked = std::pin::pin!(revoked);
    let init_timeout = tokio::time::sleep(INIT_TIMEOUT);
    let mut init_timeout = std::pin::pin!(init_timeout);
    let mut keepalive = tokio::time::interval(KEEPALIVE);
    let mut stopping = state.app.live.stopping();

    let close = loop {
        tokio::select! {
            message = protocol.next() => match message {
                Some(WsMessage::Text(text)) => {
                    gate.outbound(&text);
                    if sink.send(Message::Text(text)).await.is_err() {
                        return;
                    }
                }
                Some(WsMessage::Close(code, reason)) => {
                    let refused = refusal.lock().unwrap_or_else(|p| p.into_inner()).take();
                    break match refused {
                        Some((code, reason)) => (code, reason.to_owned()),
                        None => protocol_close(code, reason),
                    };
                }
                None => return,
            },
            Some(text) = refused.recv() => {
                if sink.send(Message::Text(text)).await.is_err() {
                    return;
                }
            }
            _ = &mut revoked => {
                while let Ok(Some(WsMessage::Text(text))) =
                    tokio::time::timeout(FLUSH, protocol.next()).await
                {
                    if sink.send(Message::Text(text)).await.is_err() {
                        return;
                    }
                }
                break (4401, "Unauthorized".to_owned());
            }
            _ = &mut init_timeout, if !acked.load(Ordering::Relaxed) => {
                break (4408, "Connection initialisation timeout".to_owned());
            }
            _ = keepalive.tick(), if acked.load(Ordering::Relaxed) => {
                let ping = Message::Text(r#"{"type":"ping"}"#.to_owned());
                if sink.send(ping).await.is_err() {
                    return;
                }
            }
            _ = stopping.changed() => break (1001, "Server shutting down".to_owned()),
        }
    };
    let _ = sink
        .send(Message::close_with(close.0, fit_close_reason(close.1)))
        .await;
    let _ = sink.close().await;
}

/// The codes the graphql-transport-ws protocol gives where async-graphql's
/// engine uses generic ones: a message that is not the protocol's is
/// `4400`, a `subscribe` before the acknowledgement `4401`.
fn protocol_close(code: u16, reason: String) -> (u16, String) {
    match code {
        1002 => (4400, reason),
        1011 => (4401, "Unauthorized".to_owned()),
        _ => (code, reason),
    }
}

/// A close frame's reason is at most 123 bytes (RFC 6455 §5.5): a longer
/// one (a parse error's message) is cut at a character boundary.
fn fit_close_reason(mut reason: String) -> String {
    const MAX: usize = 123;
    if reason.len() > MAX {
        let mut end = MAX;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
    }
    reason
}

#[cfg(test)]
mod tests {
    use super::fit_close_reason;

    #[test]
    fn close_reasons_fit_a_control_frame() {
        assert_eq!(fit_close_reason("short".into()), "short");
        let long = "é".repeat(100);
        let cut = fit_close_reason(long);
        assert!(cut.len() <= 123 && cut.chars().all(|c| c == 'é'));
    }
}
