//! A `graphql-transport-ws` client over a real WebSocket (tokio-tungstenite),
//! speaking the protocol as the `graphql-ws` library does.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct Socket(WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>);

/// What the server sent next.
#[derive(Debug, PartialEq)]
pub enum Next {
    Message(Value),
    Closed(u16),
    Nothing,
}

impl Socket {
    /// Connects to `base` (`http://…`) and sends nothing yet.
    pub async fn raw(base: &str) -> Socket {
        let url = format!("{}/graphql", base.replacen("http", "ws", 1));
        let mut request = url.into_client_request().unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        let (stream, response) = tokio_tungstenite::connect_async(request)
            .await
            .expect("websocket upgrade");
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            "graphql-transport-ws"
        );
        Socket(stream)
    }

    /// Connects to `base` (`http://…`) and sends `connection_init` with this
    /// `Authorization` (none: an empty payload).
    pub async fn open(base: &str, authorization: Option<&str>) -> Socket {
        let mut socket = Socket::raw(base).await;
        let payload = match authorization {
            Some(a) => json!({ "Authorization": a }),
            None => json!({}),
        };
        socket
            .send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        socket
    }

    /// Opens and expects `connection_ack`.
    pub async fn acked(base: &str, authorization: &str) -> Socket {
        let mut socket = Socket::open(base, Some(authorization)).await;
        match socket.next(Duration::from_secs(5)).await {
            Next::Message(m) if m["type"] == "connection_ack" => socket,
            other => panic!("expected connection_ack, got {other:?}"),
        }
    }

    pub async fn send(&mut self, message: Value) {
        self.0
            .send(Message::text(message.to_string()))
            .await
            .expect("send");
    }

    /// Subscribes to `securityEvents` as operation `id`.
    pub async fn subscribe_events(&mut self, id: &str) {
        self.send(json!({
            "id": id,
            "type": "subscribe",
            "payload": { "query": "subscription { securityEvents { type sessionId } }" },
        }))
        .await;
    }

    /// The next protocol message or the close code, within `wait`;
    /// answers server pings as the protocol says.
    pub async fn next(&mut self, wait: Duration) -> Next {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = match tokio::time::timeout_at(deadline, self.0.next()).await {
                Err(_) => return Next::Nothing,
                Ok(None) => return Next::Closed(1006),
                Ok(Some(Err(e))) => panic!("websocket error: {e}"),
                Ok(Some(Ok(m))) => m,
            };
            match message {
                Message::Text(text) => {
                    let value: Value = serde_json::from_str(&text).expect("json message");
                    if value["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return Next::Message(value);
                }
                Message::Close(frame) => {
                    return Next::Closed(frame.map_or(1005, |f| u16::from(f.code)));
                }
                _ => continue,
            }
        }
    }

    /// The next event's type delivered on subscription `id`.
    pub async fn event(&mut self, id: &str, wait: Duration) -> Option<String> {
        match self.next(wait).await {
            Next::Message(m) if m["type"] == "next" && m["id"] == id => Some(
                m["payload"]["data"]["securityEvents"]["type"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            ),
            Next::Nothing => None,
            other => panic!("expected an event, got {other:?}"),
        }
    }
}
