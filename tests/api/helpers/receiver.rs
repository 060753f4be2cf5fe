//! A webhook receiver on loopback, as a team's service would run one: it
//! verifies every delivery with the Standard Webhooks reference library
//! (`standardwebhooks`) against the secrets it was given, and answers the
//! status the test sets.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use poem::http::StatusCode;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::Data;
use poem::{EndpointExt, Request, Response, Route, Server, handler, post};
use serde_json::Value;

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub webhook_id: String,
    pub body: Value,
    pub raw: String,
    /// Which of the receiver's secrets verified it (indexes into `secrets`).
    pub verified_by: Vec<usize>,
}

#[derive(Default)]
struct State {
    secrets: Mutex<Vec<String>>,
    received: Mutex<Vec<Received>>,
    status: AtomicU16,
    /// The answer's body, and how long to wait before answering.
    body: Mutex<String>,
    delay_ms: std::sync::atomic::AtomicU64,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    state: Arc<State>,
}

#[handler]
async fn receive(req: &Request, body: String, Data(state): Data<&Arc<State>>) -> Response {
    let secrets = state.secrets.lock().unwrap().clone();
    let verified_by = secrets
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            standardwebhooks::Webhook::new(s)
                .and_then(|w| w.verify(body.as_bytes(), req.headers()))
                .is_ok()
        })
        .map(|(i, _)| i)
        .collect();
    state.received.lock().unwrap().push(Received {
        webhook_id: req.header("webhook-id").unwrap_or_default().to_owned(),
        body: serde_json::from_str(&body).unwrap_or(Value::Null),
        raw: body,
        verified_by,
    });
    let status = state.status.load(Ordering::SeqCst);
    let delay = state.delay_ms.load(Ordering::SeqCst);
    tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    let body = state.body.lock().unwrap().clone();
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::OK))
        .content_type("application/json")
        .body(body)
}

impl Receiver {
    /// Starts a receiver answering 200.
    pub async fn start() -> Receiver {
        Receiver::start_on(0).await
    }

    /// Starts a receiver on `port` (0: any free one).
    pub async fn start_on(port: u16) -> Receiver {
        let state = Arc::new(State {
            status: AtomicU16::new(200),
            ..State::default()
        });
        let acceptor = TcpListener::bind(format!("127.0.0.1:{port}"))
            .into_acceptor()
            .await
            .unwrap();
        let port = acceptor.local_addr()[0].as_socket_addr().unwrap().port();
        let app = Route::new().at("/hook", post(receive)).data(state.clone());
        tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
        Receiver {
            url: format!("http://127.0.0.1:{port}/hook"),
            state,
        }
    }

    pub fn trust(&self, secret: &str) {
        self.state.secrets.lock().unwrap().push(secret.to_owned());
    }

    pub fn answer(&self, status: u16) {
        self.state.status.store(status, Ordering::SeqCst);
    }

    /// Answers `status` with `body` after `delay_ms`.
    pub fn answer_with(&self, status: u16, body: &str, delay_ms: u64) {
        self.answer(status);
        *self.state.body.lock().unwrap() = body.to_owned();
        self.state.delay_ms.store(delay_ms, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// Waits (at most 20 s) until a delivery of `event_type` has arrived
    /// `n` times; answers them.
    pub async fn wait_for(&self, event_type: &str, n: usize) -> Vec<Received> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let got: Vec<_> = self
                .received()
                .into_iter()
                .filter(|r| r.body["type"] == event_type)
                .collect();
            if got.len() >= n {
                return got;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{n} × {event_type} never arrived: {:?}",
                self.received()
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}
