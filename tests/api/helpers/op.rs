//! A real OpenID provider on loopback: npm `oidc-provider`, started from
//! `clients/oidc-op.mjs` (needs `clients/node_modules`: `npm ci` in
//! `clients/`), and a browser's way through a social sign-in: redirects
//! followed by hand with the provider's cookies, up to the app's target.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use super::free_port;

pub struct Op {
    child: Child,
    pub issuer: String,
    http: reqwest::Client,
    port: u16,
    clients: Value,
}

impl Drop for Op {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `clients/`' npm packages, installed from its lockfile on first need
/// (one test at a time): `cargo test` alone runs the social tests.
fn ensure_packages() {
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/clients");
    if std::path::Path::new(dir)
        .join("node_modules/oidc-provider")
        .exists()
    {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir)
        .status()
        .expect("npm (Node 20) is needed for the social sign-in tests");
    assert!(status.success(), "npm ci in clients/ failed");
}

impl Op {
    /// A provider with one confidential client, `authql`/`s3cret`, whose
    /// redirect URI is `callback`.
    /// Settings of the provider script in `env` (`OP_CONFORM=1`: scope
    /// claims only at UserInfo, not in the ID token).
    pub fn start_with(callback: &str, env: &[(&str, &str)]) -> Op {
        let clients = json!([{ "client_id": "authql", "client_secret": "s3cret", "redirect_uris": [callback] }]);
        Op::start_clients(clients, env)
    }

    /// A provider with the given clients (`OP_CLIENTS` of the script).
    pub fn start_clients(clients: Value, env: &[(&str, &str)]) -> Op {
        Op::start_on(free_port(), clients, env)
    }

    /// The provider stopped and started again on its port, with `env`
    /// (`OP_NEW_KEY=1`: a key rotation).
    pub fn restart(&mut self, env: &[(&str, &str)]) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let again = Op::start_on(self.port, self.clients.clone(), env);
        // The new child replaces the old; the old value's drop is a no-op.
        let old = std::mem::replace(self, again);
        std::mem::forget(old);
    }

    fn start_on(port: u16, clients: Value, env: &[(&str, &str)]) -> Op {
        ensure_packages();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/clients/oidc-op.mjs");
        let mut child = Command::new("node")
            .arg(script)
            .env("OP_PORT", port.to_string())
            .env("OP_CLIENTS", clients.to_string())
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node clients/oidc-op.mjs (npm ci in clients/ first)");
        let mut line = String::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut line).unwrap();
        // Drained while it runs: a closed pipe would end the provider at
        // its next line of output.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let issuer = line
            .trim()
            .strip_prefix("ready ")
            .unwrap_or_else(|| panic!("the provider did not start: {line:?}"))
            .to_owned();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Op {
            child,
            issuer,
            http,
            port,
            clients,
        }
    }

    /// The account that signs in next, with its claims.
    pub async fn next(&self, sub: &str, claims: Value) {
        let resp = self
            .http
            .post(format!("{}/test/next", self.issuer))
            .json(&json!({ "sub": sub, "claims": claims }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 204);
    }

    /// A browser from `start` (authql's start URL) through the provider and
    /// the callback: the last `Location` (the app's target), or the status
    /// of the first answer that is not a redirect.
    pub async fn browse(&self, start: &str) -> Result<url::Url, u16> {
        self.browse_via(start, None).await
    }

    /// `browse`, with authql's callback sent to `callback_base` instead
    /// (another instance behind the same `PUBLIC_URL`).
    pub async fn browse_via(
        &self,
        start: &str,
        callback_base: Option<&str>,
    ) -> Result<url::Url, u16> {
        self.walk(start, callback_base, None).await
    }

    /// The walk of `browse`, stopping at the first URL under `stop_at`.
    async fn walk(
        &self,
        start: &str,
        callback_base: Option<&str>,
        stop_at: Option<&str>,
    ) -> Result<url::Url, u16> {
        let mut cookies: HashMap<String, String> = HashMap::new();
        let mut at = url::Url::parse(start).unwrap();
        for _ in 0..12 {
            let on_op = at.as_str().starts_with(&self.issuer);
            let mut req = self.http.get(at.clone());
            if on_op && !cookies.is_empty() {
                let jar: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
                req = req.header("cookie", jar.join("; "));
            }
            let resp = req.send().await.unwrap();
            if on_op {
                for set in resp.headers().get_all("set-cookie") {
                    let first = set.to_str().unwrap().split(';').next().unwrap();
                    if let Some((k, v)) = first.split_once('=') {
                        match v.is_empty() {
                            true => cookies.remove(k),
                            false => cookies.insert(k.to_owned(), v.to_owned()),
                        };
                    }
                }
            }
            if !resp.status().is_redirection() {
                return Err(resp.status().as_u16());
            }
            let location = resp.headers()["location"].to_str().unwrap().to_owned();
            let next = at.join(&location).unwrap();
            let leaves = (!next.as_str().starts_with(&self.issuer)
                && next.host_str() != Some("127.0.0.1"))
                || stop_at.is_some_and(|s| next.as_str().starts_with(s));
            if leaves {
                return Ok(next);
            }
            at = match callback_base {
                Some(base)
                    if next.path().ends_with("/callback")
                        && !next.as_str().starts_with(&self.issuer) =>
                {
                    let rest = &next.as_str()[next.origin().ascii_serialization().len()..];
                    url::Url::parse(&format!("{base}{rest}")).unwrap()
                }
                _ => next,
            };
        }
        panic!("too many redirects");
    }

    /// What a native app gets from the provider's SDK: an ID token for
    /// `sub` (with `claims`) issued to client `authql` with `nonce`, by
    /// the code flow against the provider itself (`callback` is the
    /// registered redirect URI; the walk stops there).
    pub async fn id_token(&self, callback: &str, sub: &str, claims: Value, nonce: &str) -> String {
        self.id_token_for(("authql", "s3cret"), callback, sub, claims, nonce)
            .await
    }

    /// `id_token`, issued to another of the provider's clients (id, secret).
    pub async fn id_token_for(
        &self,
        (client_id, secret): (&str, &str),
        callback: &str,
        sub: &str,
        claims: Value,
        nonce: &str,
    ) -> String {
        use base64::Engine;
        use sha2::{Digest, Sha256};
        self.next(sub, claims).await;
        let verifier = "a-native-app-verifier-that-is-long-enough-0123456789";
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(verifier.as_bytes()));
        let config: Value = self
            .http
            .get(format!("{}/.well-known/openid-configuration", self.issuer))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut auth = url::Url::parse(config["authorization_endpoint"].as_str().unwrap()).unwrap();
        auth.query_pairs_mut()
            .append_pair("client_id", client_id)
            .append_pair("response_type", "code")
            .append_pair("scope", "openid email profile")
            .append_pair("redirect_uri", callback)
            .append_pair("state", "native-state")
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        let landed = self
            .walk(auth.as_str(), None, Some(callback))
            .await
            .expect("the provider answers with a code");
        let code = landed
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap_or_else(|| panic!("no code in {landed}"))
            .1
            .into_owned();
        let tokens: Value = self
            .http
            .post(config["token_endpoint"].as_str().unwrap())
            .basic_auth(client_id, Some(secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", callback),
                ("code_verifier", verifier),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens["id_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no ID token: {tokens}"))
            .to_owned()
    }
}
