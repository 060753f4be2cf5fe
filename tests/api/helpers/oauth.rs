//! The provider's side of tests (API.md §9.3): a server with the provider
//! on and an EdDSA key, clients made by staff, and a cookie-keeping browser
//! that walks the built-in pages with plain HTTP (no JavaScript needed).

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::app::{TestApp, spawn_app_with};
use super::users::{PASSWORD, TestUser};

/// A key file for the provider's server.
pub fn key_file(app_dir: &std::path::Path) -> String {
    std::fs::create_dir_all(app_dir).unwrap();
    let key = app_dir.join("signing.pem");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_authql"))
        .args(["keys", "generate", "--algorithm", "EdDSA"])
        .arg(&key)
        .env_clear()
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    key.to_string_lossy().into_owned()
}

/// A new EdDSA key file for a provider's servers (several instances share it).
pub fn provider_key() -> String {
    let dir = std::env::temp_dir().join(format!("authql-oauth-{}", uuid::Uuid::new_v4()));
    key_file(&dir)
}

/// The settings that turn the provider on with `key`.
pub fn provider_vars(key: &str) -> Vec<(&'static str, String)> {
    vec![
        ("JWT_ALGORITHM", "EdDSA".to_owned()),
        ("JWT_PRIVATE_KEY_FILE", key.to_owned()),
        ("OAUTH_PROVIDER", "true".to_owned()),
    ]
}

/// A server with the provider on, plus `extra` settings.
pub async fn provider_app(extra: &[(&str, &str)]) -> TestApp {
    provider_app_with_key(&provider_key(), extra).await
}

pub async fn provider_app_with_key(key: &str, extra: &[(&str, &str)]) -> TestApp {
    let owned = provider_vars(key);
    let mut vars: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    vars.extend_from_slice(extra);
    spawn_app_with(&vars).await
}

pub const REDIRECT: &str = "https://app.example/cb";

/// A client made by staff: `(client_id, secret)`.
pub async fn client(
    app: &TestApp,
    staff: &TestUser,
    public: bool,
    skip_consent: bool,
) -> (String, Option<String>) {
    let (_, body) = app
        .gql_as(
            Some(&staff.bearer()),
            "mutation($i: CreateOAuthClientInput!) { createOAuthClient(input: $i) { client { id } clientSecret } }",
            json!({"i": {
                "name": "Test App",
                "type": if public { "PUBLIC" } else { "CONFIDENTIAL" },
                "redirectUris": [REDIRECT, "http://127.0.0.1/loop"],
                "postLogoutRedirectUris": ["https://app.example/bye"],
                "skipConsent": skip_consent,
            }}),
        )
        .await;
    let created = &body["data"]["createOAuthClient"];
    let id = created["client"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    (id, created["clientSecret"].as_str().map(str::to_owned))
}

/// Staff make a public client (alice, activated, will use it): its id and
/// a PKCE challenge.
pub async fn public_client(app: &TestApp, skip_consent: bool) -> (String, String) {
    let staff = app.staff_user("staff@example.com").await;
    app.activated_user("alice@example.com").await;
    let (id, _) = client(app, &staff, true, skip_consent).await;
    (id, pkce().1)
}

/// A PKCE pair: `(verifier, challenge)`.
pub fn pkce() -> (String, String) {
    let verifier = format!("v{}", uuid::Uuid::new_v4().simple()) + "-0123456789abcdef";
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The query pairs of a URL.
pub fn query_of(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// A browser: cookies kept, redirects not followed.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub cookies: HashMap<String, String>,
}

/// What a page answered.
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
    pub headers: reqwest::header::HeaderMap,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Browser {
            app,
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The app's own path of an absolute URL of it (`PUBLIC_URL` differs
    /// from the test server's address).
    pub fn path_of(url: &str) -> String {
        let u = url::Url::parse(url).unwrap();
        match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        }
    }

    async fn answer(&mut self, resp: reqwest::Response) -> Answer {
        for v in resp.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let pair = v.split(';').next().unwrap();
            let (k, val) = pair.split_once('=').unwrap();
            if val.is_empty() || v.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), val.to_owned());
            }
        }
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let location = headers
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        Answer {
            status,
            location,
            body: resp.text().await.unwrap(),
            headers,
        }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let resp = self
            .app
            .client
            .get(self.app.url(path))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.answer(resp).await
    }

    pub async fn post(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        origin: Option<&str>,
    ) -> Answer {
        let mut req = self
            .app
            .client
            .post(self.app.url(path))
            .header("cookie", self.cookie_header())
            .form(form);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let resp = req.send().await.unwrap();
        self.answer(resp).await
    }
}

/// A hidden field's value in a page.
pub fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].replace("&amp;", "&")
}

/// Follows an authorization's answer to the sign-in page and posts alice's
/// password there (with `origin`): the request's id and the answer.
pub async fn post_sign_in(
    browser: &mut Browser<'_>,
    authorize: &Answer,
    origin: Option<&str>,
) -> (String, Answer) {
    let page = browser
        .get(&Browser::path_of(authorize.location.as_deref().unwrap()))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let id = field(&page.body, "authorization_id");
    let csrf = field(&page.body, "csrf_token");
    let form = [
        ("username", "alice@example.com"),
        ("password", PASSWORD),
        ("authorization_id", id.as_str()),
        ("csrf_token", csrf.as_str()),
    ];
    let done = browser.post("/oauth/login", &form, origin).await;
    (id, done)
}

/// `/oauth/authorize` for `client` with the usual parameters and `extra`.
pub fn authorize_path(client: &str, challenge: &str, extra: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", client),
        ("redirect_uri", REDIRECT),
        ("scope", "openid email profile offline_access"),
        ("state", "st-1"),
        ("nonce", "n-1"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    pairs.extend_from_slice(extra);
    format!(
        "/oauth/authorize?{}",
        serde_urlencoded::to_string(&pairs).unwrap()
    )
}

/// Walks authorize → sign-in → consent (approving) and answers the code.
pub async fn code_for(
    browser: &mut Browser<'_>,
    client: &str,
    email: &str,
    challenge: &str,
) -> String {
    let a = browser.get(&authorize_path(client, challenge, &[])).await;
    assert_eq!(a.status, 303, "{}", a.body);
    let mut next = Browser::path_of(a.location.as_deref().unwrap());
    if next.starts_with("/oauth/login") {
        let page = browser.get(&next).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let id = field(&page.body, "authorization_id");
        let csrf = field(&page.body, "csrf_token");
        let done = browser
            .post(
                "/oauth/login",
                &[
                    ("username", email),
                    ("password", PASSWORD),
                    ("authorization_id", &id),
                    ("csrf_token", &csrf),
                ],
                None,
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        next = done.location.unwrap();
        if next.starts_with("http://") && !next.starts_with(REDIRECT) {
            next = Browser::path_of(&next);
        }
    }
    if next.starts_with("/oauth/consent") {
        let page = browser.get(&next).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let id = field(&page.body, "authorization_id");
        let csrf = field(&page.body, "csrf_token");
        let done = browser
            .post(
                "/oauth/consent",
                &[
                    ("decision", "approve"),
                    ("scope", "email"),
                    ("scope", "profile"),
                    ("scope", "offline_access"),
                    ("authorization_id", &id),
                    ("csrf_token", &csrf),
                ],
                None,
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        next = done.location.unwrap();
    }
    assert!(next.starts_with(REDIRECT), "{next}");
    let q = query_of(&next);
    assert_eq!(q.get("state").map(String::as_str), Some("st-1"));
    q["code"].clone()
}

/// What a confidential client and its user's approval produced.
pub struct Signed {
    pub id: String,
    pub secret: String,
    pub verifier: String,
    pub challenge: String,
    pub code: String,
}

/// Staff make a confidential client; alice (activated) signs in on the
/// built-in pages and approves: her code.
pub async fn signed_code(browser: &mut Browser<'_>, skip_consent: bool) -> Signed {
    let app = browser.app;
    let staff = app.staff_user("staff@example.com").await;
    app.activated_user("alice@example.com").await;
    let (id, secret) = client(app, &staff, false, skip_consent).await;
    let (verifier, challenge) = pkce();
    let code = code_for(browser, &id, "alice@example.com", &challenge).await;
    Signed {
        id,
        secret: secret.unwrap(),
        verifier,
        challenge,
        code,
    }
}

/// `POST /oauth/token` with `form` (and Basic credentials when given).
pub async fn token(
    app: &TestApp,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (u16, Value) {
    let mut req = app.client.post(app.url("/oauth/token")).form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A code exchange by a confidential client.
pub async fn exchange(
    app: &TestApp,
    client: (&str, &str),
    code: &str,
    verifier: &str,
) -> (u16, Value) {
    token(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ],
        Some(client),
    )
    .await
}

/// `GET /oauth/userinfo` with a bearer token: status and body.
pub async fn userinfo(app: &TestApp, access: &str) -> (u16, Value) {
    let resp = app
        .client
        .get(app.url("/oauth/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// `POST /oauth/introspect` as a confidential client.
pub async fn introspect(app: &TestApp, client: (&str, &str), token: &str) -> Value {
    let resp = app
        .client
        .post(app.url("/oauth/introspect"))
        .basic_auth(client.0, Some(client.1))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.unwrap()
}
