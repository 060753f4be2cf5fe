//! The WebSocket's side of the one admission (API.md §8.9): every
//! `subscribe` message passes `admission` as an HTTP request does before
//! async-graphql's protocol engine sees it, the engine runs subscriptions
//! only (a query or mutation sent as `subscribe` is an `error` message,
//! `BAD_REQUEST`, and runs nothing), and one socket holds at most
//! `MAX_OPERATIONS_PER_SOCKET` live subscriptions (one more: `error`,
//! `RATE_LIMITED`). A refused message never reaches the engine; its `error`
//! message goes out through the socket's own sender.

use std::collections::HashSet;
use std::sync::Mutex;

use async_graphql::parser::types::OperationType;
use async_graphql::{ErrorExtensions, Pos, ServerError};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedSender;

use super::admission;
use super::wire::parse_ws_payload;
use crate::error::AppError;
use crate::http::state::AppState;

/// The fields of a client message the gate reads.
#[derive(Deserialize)]
struct ClientMessage {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    payload: Option<Value>,
}

/// One socket's gate.
pub struct Gate {
    state: AppState,
    /// The ids of the subscriptions the engine runs.
    live: Mutex<HashSet<String>>,
    /// Where refusals' `error` messages go (the socket's sender).
    refusals: UnboundedSender<String>,
}

impl Gate {
    pub fn new(state: AppState, refusals: UnboundedSender<String>) -> Gate {
        Gate {
            state,
            live: Mutex::default(),
            refusals,
        }
    }

    fn live(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A client message: `Some` to hand to the engine, `None` when refused
    /// (its `error` message is queued). What is not the protocol's passes,
    /// for the engine to close the socket as the protocol says.
    pub fn inbound(&self, bytes: Vec<u8>) -> Option<Vec<u8>> {
        let Ok(message) = serde_json::from_slice::<ClientMessage>(&bytes) else {
            return Some(bytes);
        };
        let Some(id) = message.id else {
            return Some(bytes);
        };
        // async-graphql's engine also takes the older protocol's names
        // (`start` for `subscribe`, `stop` for `complete`): the gate reads
        // them alike, so no name slips past it.
        match message.kind.as_str() {
            "complete" | "stop" => {
                self.live().remove(&id);
                Some(bytes)
            }
            "subscribe" | "start" => match self.admit(&id, message.payload) {
                Ok(()) => Some(bytes),
                Err(errors) => {
                    let refusal = json!({ "id": id, "type": "error", "payload": errors });
                    let _ = self.refusals.send(refusal.to_string());
                    None
                }
            },
            _ => Some(bytes),
        }
    }

    /// The admission of one `subscribe`. An id already running is refused
    /// here: the engine would replace that operation with the new one.
    fn admit(&self, id: &str, payload: Option<Value>) -> Result<(), Vec<ServerError>> {
        if self.live().contains(id) {
            return Err(refusal(AppError::BadRequest(format!(
                "an operation with id {id:?} is already running"
            ))));
        }
        let settings = &self.state.app.settings;
        // What the gate cannot read, it does not admit: the engine must
        // never run a payload the admission did not see.
        let Some(op) = payload
            .and_then(|p| parse_ws_payload(p, &self.state.documents, settings.max_complexity))
        else {
            return Err(refusal(AppError::BadRequest(
                "a subscribe payload is {query, variables?, operationName?, extensions?}".into(),
            )));
        };
        admission::check_operation(&op, settings).map_err(admission::Refused::errors)?;
        let Some(shape) = &op.shape else {
            return Err(refusal(AppError::BadRequest(
                "name the one operation to run (operationName)".into(),
            )));
        };
        if shape.ty != OperationType::Subscription {
            return Err(refusal(AppError::BadRequest(
                "the WebSocket runs subscriptions only: send queries and mutations over HTTP"
                    .into(),
            )));
        }
        admission::check_caps(std::iter::once(shape)).map_err(refusal)?;
        let mut live = self.live();
        if live.len() >= settings.max_operations_per_socket {
            return Err(refusal(AppError::RateLimited {
                retry_after_secs: 1,
            }));
        }
        live.insert(id.to_owned());
        Ok(())
    }

    /// A server message: a `complete` or `error` ends its operation.
    pub fn outbound(&self, text: &str) {
        if !(text.contains("\"complete\"") || text.contains("\"error\"")) {
            return;
        }
        if let Ok(message) = serde_json::from_str::<ClientMessage>(text)
            && matches!(message.kind.as_str(), "complete" | "error")
            && let Some(id) = message.id
        {
            self.live().remove(&id);
        }
    }
}

fn refusal(error: AppError) -> Vec<ServerError> {
    vec![error.extend().into_server_error(Pos::default())]
}
