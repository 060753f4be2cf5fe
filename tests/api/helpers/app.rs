use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use authql::config::Settings;
use authql::startup::Application;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::TestDatabase;

pub const SECRET_KEY: &str = "test-secret-key-that-is-long-enough-0123456789";

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub db: TestDatabase,
    pub mail_dir: PathBuf,
    pub client: reqwest::Client,
    /// Statements the server has run (its `AppContext::queries` gauge).
    pub queries: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// `http://…` of the metrics listener, when `METRICS_ADDR` was set.
    pub metrics_base: Option<String>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts the application with these settings on top of the test defaults.
pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    let db = TestDatabase::create().await;
    let mail_dir = db.scratch_dir("mail");
    let vars = test_vars(&db.url, &mail_dir, overrides);
    let (settings, _) =
        Settings::from_vars(&vars, Path::new("/nonexistent")).expect("test settings");
    let app = Application::build(settings)
        .await
        .expect("build the application");
    let addr = app.addr();
    let queries = app.query_counter();
    let metrics_base = app.metrics_addr().map(|a| format!("http://{a}"));
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    TestApp {
        addr,
        base: format!("http://{addr}"),
        db,
        mail_dir,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client"),
        queries,
        metrics_base,
        stop: Some(stop),
        server: Some(server),
    }
}

/// The variables a test server starts from: everything explicit, nothing
/// read from the developer's environment.
pub fn test_vars(
    database_url: &str,
    mail_dir: &Path,
    overrides: &[(&str, &str)],
) -> HashMap<String, String> {
    let mut vars: HashMap<String, String> = [
        ("DATABASE_URL", database_url.to_owned()),
        ("BIND_ADDR", "127.0.0.1:0".to_owned()),
        ("SECRET_KEY", SECRET_KEY.to_owned()),
        ("EMAIL_URL", format!("file://{}", mail_dir.display())),
        ("HASH_CONCURRENCY", "2".to_owned()),
        // Tests register many users from one address; the limit's own test
        // sets it low.
        ("REGISTER_RATE_LIMIT", "100000/1h".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (k, v) in overrides {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    vars
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// POSTs one operation; returns the HTTP status and the JSON body.
    pub async fn gql(&self, query: &str, variables: Value) -> (u16, Value) {
        self.gql_as(None, query, variables).await
    }

    /// POSTs one operation with `Authorization: <authorization>`.
    pub async fn gql_as(
        &self,
        authorization: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (u16, Value) {
        let mut req = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(a) = authorization {
            req = req.header("authorization", a);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// POSTs a whole JSON body (an operation, or a batch of them).
    pub async fn post_json(&self, body: &Value) -> (u16, Value) {
        let resp = self
            .client
            .post(self.url("/graphql"))
            .json(body)
            .send()
            .await
            .expect("request");
        (
            resp.status().as_u16(),
            resp.json().await.unwrap_or(Value::Null),
        )
    }

    /// POSTs a raw body with the given headers.
    pub async fn post_raw(
        &self,
        body: impl Into<reqwest::Body>,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut req = self.client.post(self.url("/graphql")).body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.expect("request")
    }

    /// POSTs a JSON body with this `Accept`; answers the status, the
    /// content type and the body, whose every error must carry a code.
    pub async fn post_accepting(&self, body: &str, accept: &str) -> (u16, String, Value) {
        let resp = self
            .post_raw(
                body.to_owned(),
                &[("content-type", "application/json"), ("accept", accept)],
            )
            .await;
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert_every_error_has_a_code(&body);
        (status, ct, body)
    }

    /// Sends every `(base URL, GraphQL body)` at once and returns the JSON
    /// answers in order: for races that must resolve in the database.
    pub async fn concurrently(&self, requests: Vec<(String, Value)>) -> Vec<Value> {
        self.concurrently_with(None, requests).await
    }

    /// `concurrently`, each request with `Authorization: <authorization>`.
    pub async fn concurrently_as(
        &self,
        authorization: &str,
        requests: Vec<(String, Value)>,
    ) -> Vec<Value> {
        self.concurrently_with(Some(authorization), requests).await
    }

    async fn concurrently_with(
        &self,
        authorization: Option<&str>,
        requests: Vec<(String, Value)>,
    ) -> Vec<Value> {
        let tasks: Vec<_> = requests
            .into_iter()
            .map(|(base, body)| {
                let client = self.client.clone();
                let authorization = authorization.map(str::to_owned);
                tokio::spawn(async move {
                    let mut req = client.post(format!("{base}/graphql")).json(&body);
                    if let Some(a) = authorization {
                        req = req.header("authorization", a);
                    }
                    let resp = req.send().await.expect("request");
                    resp.json::<Value>().await.unwrap_or(Value::Null)
                })
            })
            .collect();
        let mut answers = Vec::with_capacity(tasks.len());
        for task in tasks {
            answers.push(task.await.expect("request task"));
        }
        answers
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Every error object in a response body (single or batch) carries a code.
pub fn assert_every_error_has_a_code(body: &Value) {
    let items: Vec<&Value> = match body {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    for item in items {
        for err in item["errors"].as_array().into_iter().flatten() {
            assert!(
                err["extensions"]["code"].is_string(),
                "error without extensions.code: {err}"
            );
        }
    }
}
