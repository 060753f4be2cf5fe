//! Shortcuts through the public API: a registered, activated, signed-in user.

use serde_json::{Value, json};

use super::TestApp;
use super::mail;

pub const PASSWORD: &str = "a sturdy passphrase 42";

pub struct TestUser {
    pub id: String,
    pub access_token: String,
    pub refresh_token: String,
}

impl TestUser {
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.access_token)
    }
}

pub const REGISTER: &str =
    "mutation($input: RegisterInput!) { register(input: $input) { email activationRequired } }";
pub const LOGIN: &str = "mutation($input: LoginInput!) { login(input: $input) { __typename ... on AuthPayload { accessToken refreshToken tokenType expiresIn user { id email } } ... on OtpChallenge { challengeId expiresAt sentTo } } }";

impl TestApp {
    pub async fn register(&self, email: &str, password: &str) -> Value {
        let (status, body) = self
            .gql(REGISTER, json!({ "input": { "email": email, "password": password, "confirmPassword": password } }))
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Registers and activates by the mailed code.
    pub async fn activated_user(&self, email: &str) -> String {
        let body = self.register(email, PASSWORD).await;
        assert!(body["errors"].is_null(), "{body}");
        let mails = mail::wait_for(&self.mail_dir, email, 1).await;
        let code = mails.last().unwrap().code();
        let (_, body) = self
            .gql(
                "mutation($e: String!, $c: String!) { activateAccountWithCode(email: $e, code: $c) { id } }",
                json!({ "e": email, "c": code }),
            )
            .await;
        body["data"]["activateAccountWithCode"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("activation failed: {body}"))
            .to_owned()
    }

    pub async fn login(&self, email: &str, password: &str) -> Value {
        let (_, body) = self
            .gql(
                LOGIN,
                json!({ "input": { "email": email, "password": password } }),
            )
            .await;
        body
    }

    /// An activated user, signed in.
    pub async fn signed_in_user(&self, email: &str) -> TestUser {
        let id = self.activated_user(email).await;
        let body = self.login(email, PASSWORD).await;
        let payload = &body["data"]["login"];
        TestUser {
            id,
            access_token: payload["accessToken"]
                .as_str()
                .unwrap_or_else(|| panic!("login failed: {body}"))
                .to_owned(),
            refresh_token: payload["refreshToken"].as_str().unwrap().to_owned(),
        }
    }

    /// A signed-in user whom the database then makes staff (as
    /// `create-superuser` or an admin would); takes effect on the next request.
    pub async fn staff_user(&self, email: &str) -> TestUser {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
        let user = self.signed_in_user(email).await;
        entity::user::Entity::update_many()
            .col_expr(entity::user::Column::IsStaff, Expr::value(true))
            .filter(entity::user::Column::Id.eq(user.id.parse::<uuid::Uuid>().unwrap()))
            .exec(&self.db_conn().await)
            .await
            .unwrap();
        user
    }

    pub fn mails_to_count(&self, to: &str) -> usize {
        mail::read_all(&self.mail_dir)
            .iter()
            .filter(|m| m.to.eq_ignore_ascii_case(to))
            .count()
    }

    /// Everything the database holds: the SQLite file and its WAL, or every
    /// row of every table as PostgreSQL prints it.
    pub async fn stored_bytes(&self) -> Vec<u8> {
        if let Some(file) = self.db.sqlite_file() {
            let mut bytes = std::fs::read(&file).unwrap();
            bytes.extend(std::fs::read(file.with_extension("db-wal")).unwrap_or_default());
            return bytes;
        }
        use sea_orm::{ConnectionTrait, Statement};
        let db = self.db_conn().await;
        let backend = db.get_database_backend();
        let tables = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()",
            ))
            .await
            .unwrap();
        let mut bytes = Vec::new();
        for table in tables {
            let name: String = table.try_get_by_index(0).unwrap();
            let rows = db
                .query_all_raw(Statement::from_string(
                    backend,
                    format!("SELECT t::text FROM \"{name}\" t"),
                ))
                .await
                .unwrap();
            for row in rows {
                let text: String = row.try_get_by_index(0).unwrap();
                bytes.extend(text.into_bytes());
            }
        }
        bytes
    }

    /// Mints an API token as `auth` (a fresh session) and answers its
    /// `Authorization` header value, `Token …`.
    pub async fn api_token(&self, auth: &str) -> String {
        let (_, body) = self
            .gql_as(
                Some(auth),
                "mutation { createApiToken(name: \"kept\") { token } }",
                json!({}),
            )
            .await;
        let token = body["data"]["createApiToken"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("no API token: {body}"));
        format!("Token {token}")
    }

    /// The id of the session `auth` signs in with (`current`), or of
    /// another session of the same user.
    pub async fn session_id(&self, auth: &str, current: bool) -> Value {
        let (_, sessions) = self
            .gql_as(Some(auth), "{ sessions { id current } }", json!({}))
            .await;
        sessions["data"]["sessions"]
            .as_array()
            .unwrap_or_else(|| panic!("no sessions: {sessions}"))
            .iter()
            .find(|s| s["current"] == current)
            .unwrap_or_else(|| panic!("no such session: {sessions}"))["id"]
            .clone()
    }

    /// A GraphQL POST to another instance at `base`, as this test's client.
    pub async fn gql_at(&self, base: &str, auth: Option<&str>, body: Value) -> Value {
        let mut request = self.client.post(format!("{base}/graphql")).json(&body);
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        request.send().await.unwrap().json().await.unwrap()
    }

    /// A connection of the test's own to the app's database, to look behind the API.
    pub async fn db_conn(&self) -> sea_orm::DatabaseConnection {
        sea_orm::Database::connect(&self.db.url)
            .await
            .expect("connect to the test database")
    }
}

pub fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
}

/// The answer is `RATE_LIMITED` and says when to come back.
pub fn assert_rate_limited(body: &Value) {
    assert_eq!(code(body), "RATE_LIMITED", "{body}");
    let retry = body["errors"][0]["extensions"]["retryAfter"].as_u64();
    assert!(retry.is_some_and(|s| s > 0), "no retryAfter: {body}");
}
