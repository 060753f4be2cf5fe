//! Asymmetric signing keys and the JWKS (API.md §8.3): tokens other
//! services verify with nothing but the published keys, checked here with
//! jsonwebtoken as such a service would, from the keys the server serves.

use std::path::{Path, PathBuf};
use std::process::Command;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, spawn_app_with, spawn_process};

const ISSUER: &str = "http://localhost:8000";
const ME: &str = "{ me { id } }";

/// `authql keys generate` in `dir`: the key file's path.
fn generate(dir: &Path, algorithm: &str, name: &str) -> PathBuf {
    let path = dir.join(name);
    let out = Command::new(env!("CARGO_BIN_EXE_authql"))
        .args(["keys", "generate", "--algorithm", algorithm])
        .arg(&path)
        .env_clear()
        .output()
        .expect("run authql keys generate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

fn scratch(app: &TestApp, what: &str) -> PathBuf {
    let dir = app.db.scratch_dir(what);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn jwks(client: &reqwest::Client, base: &str) -> JwkSet {
    let resp = client
        .get(format!("{base}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["cache-control"], "public, max-age=300");
    resp.json().await.unwrap()
}

async fn login(client: &reqwest::Client, base: &str, email: &str) -> String {
    let body: Value = client
        .post(format!("{base}/graphql"))
        .json(&json!({ "query": "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { ... on AuthPayload { accessToken } } }", "variables": { "e": email, "p": PASSWORD } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["data"]["login"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("login failed: {body}"))
        .to_owned()
}

async fn me_status(client: &reqwest::Client, base: &str, token: &str) -> u16 {
    client
        .post(format!("{base}/graphql"))
        .header("authorization", format!("Bearer {token}"))
        .json(&json!({ "query": ME }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Verifies `token` as another service would: the key named by its `kid`
/// from the served JWKS, the algorithm that key names, `iss` and `aud`.
fn verify_with(set: &JwkSet, token: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).unwrap();
    let kid = header.kid.expect("a kid in the header");
    let jwk = set.find(&kid).expect("the kid is published");
    assert_eq!(
        jwk.common.public_key_use,
        Some(jsonwebtoken::jwk::PublicKeyUse::Signature)
    );
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&["authql"]);
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .expect("the token verifies against the JWKS")
        .claims
}

#[tokio::test]
async fn each_algorithm_signs_tokens_that_verify_against_the_served_jwks() {
    for (algorithm, expected) in [
        ("EdDSA", Algorithm::EdDSA),
        ("ES256", Algorithm::ES256),
        ("RS256", Algorithm::RS256),
    ] {
        let holder = spawn_app_with(&[]).await;
        let key = generate(&scratch(&holder, "keys"), algorithm, "signing.pem");
        let key_file = key.to_string_lossy().into_owned();
        let app = spawn_app_with(&[
            ("JWT_ALGORITHM", algorithm),
            ("JWT_PRIVATE_KEY_FILE", &key_file),
            ("JWT_CLAIMS", "hasura"),
        ])
        .await;
        let user = app
            .signed_in_user(&format!("{algorithm}@example.com"))
            .await;
        let header = jsonwebtoken::decode_header(&user.access_token).unwrap();
        assert_eq!(header.alg, expected);
        let set = jwks(&app.client, &app.base).await;
        assert_eq!(set.keys.len(), 1);
        let published = serde_json::to_value(&set.keys[0]).unwrap();
        assert_eq!(published["alg"], algorithm);
        assert_eq!(published["kid"], header.kid.clone().unwrap().as_str());
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(
                published.get(private).is_none(),
                "{algorithm} publishes {private}"
            );
        }
        let claims = verify_with(&set, &user.access_token);
        assert_eq!(claims["sub"], user.id.as_str());
        assert!(claims["sid"].is_string() && claims["auth_time"].is_i64());
        assert_eq!(claims["scope"], "user");
        assert_eq!(
            claims["https://hasura.io/jwt/claims"]["x-hasura-default-role"],
            "user"
        );
        assert_eq!(
            me_status(&app.client, &app.base, &user.access_token).await,
            200
        );

        let discovery: Value = app
            .client
            .get(app.url("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(discovery["issuer"], claims["iss"]);
        assert_eq!(
            discovery["jwks_uri"],
            format!("{ISSUER}/.well-known/jwks.json")
        );
        assert_eq!(
            discovery["id_token_signing_alg_values_supported"],
            json!([algorithm])
        );
    }
}

#[tokio::test]
async fn hs256_publishes_no_key() {
    let app = spawn_app_with(&[]).await;
    assert!(jwks(&app.client, &app.base).await.keys.is_empty());
    let discovery: Value = app
        .client
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        json!(["HS256"])
    );
}

/// Tokens an attacker could make: HS256 keyed by the published public key
/// (algorithm confusion), and tokens signed by the real key but for another
/// issuer or audience, or for none.
#[tokio::test]
async fn confused_algorithms_and_foreign_claims_are_refused() {
    let holder = spawn_app_with(&[]).await;
    let key = generate(&scratch(&holder, "keys"), "EdDSA", "signing.pem");
    let app = spawn_app_with(&[
        ("JWT_ALGORITHM", "EdDSA"),
        ("JWT_PRIVATE_KEY_FILE", &key.to_string_lossy()),
    ])
    .await;
    let user = app.signed_in_user("target@example.com").await;
    let genuine = jsonwebtoken::dangerous::insecure_decode::<Value>(&user.access_token)
        .unwrap()
        .claims;
    let set = jwks(&app.client, &app.base).await;
    let public = serde_json::to_value(&set.keys[0]).unwrap();
    let kid = public["kid"].as_str().unwrap().to_owned();

    let mut forgeries = Vec::new();
    for secret in [
        public["x"].as_str().unwrap().as_bytes().to_vec(),
        serde_json::to_vec(&public).unwrap(),
    ] {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.clone());
        forgeries.push(
            jsonwebtoken::encode(&header, &genuine, &EncodingKey::from_secret(&secret)).unwrap(),
        );
    }
    let private = EncodingKey::from_ed_pem(&std::fs::read(&key).unwrap()).unwrap();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid);
    for (claim, value) in [
        ("iss", json!("https://evil.example")),
        ("aud", json!("another-service")),
        ("aud", Value::Null),
        ("iss", Value::Null),
    ] {
        let mut claims = genuine.clone();
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(claim);
        } else {
            claims[claim] = value;
        }
        forgeries.push(jsonwebtoken::encode(&header, &claims, &private).unwrap());
    }
    for forged in forgeries {
        assert_eq!(
            me_status(&app.client, &app.base, &forged).await,
            401,
            "{forged}"
        );
    }
    // The genuine claims re-signed by the real key still pass: the refusals
    // above are for what was changed.
    let resigned = jsonwebtoken::encode(&header, &genuine, &private).unwrap();
    assert_eq!(me_status(&app.client, &app.base, &resigned).await, 200);
}

/// Rotation in three restarts: the old key alone; the new key with the old
/// one as previous (tokens of both work, both are published); the new key
/// alone (the old key's tokens get 401). A previous key may be public only.
#[tokio::test]
async fn keys_rotate_across_restarts() {
    let app = spawn_app_with(&[]).await;
    app.activated_user("rotate@example.com").await;
    let dir = scratch(&app, "keys");
    let old = generate(&dir, "ES256", "old.pem");
    let new = generate(&dir, "EdDSA", "new.pem");
    let old_file = old.to_string_lossy().into_owned();
    let new_file = new.to_string_lossy().into_owned();
    let client = reqwest::Client::new();

    let first = spawn_process(
        &app.db.url,
        &app.mail_dir,
        &[
            ("JWT_ALGORITHM", "ES256"),
            ("JWT_PRIVATE_KEY_FILE", &old_file),
        ],
    )
    .await;
    let old_token = login(&client, &first.base, "rotate@example.com").await;
    first.terminate();

    let second = spawn_process(
        &app.db.url,
        &app.mail_dir,
        &[
            ("JWT_ALGORITHM", "EdDSA"),
            ("JWT_PRIVATE_KEY_FILE", &new_file),
            ("JWT_PREVIOUS_KEY_FILES", &old_file),
        ],
    )
    .await;
    let new_token = login(&client, &second.base, "rotate@example.com").await;
    assert_eq!(me_status(&client, &second.base, &old_token).await, 200);
    assert_eq!(me_status(&client, &second.base, &new_token).await, 200);
    let set = jwks(&client, &second.base).await;
    assert_eq!(set.keys.len(), 2);
    verify_with(&set, &old_token);
    verify_with(&set, &new_token);
    second.terminate();

    let third = spawn_process(
        &app.db.url,
        &app.mail_dir,
        &[
            ("JWT_ALGORITHM", "EdDSA"),
            ("JWT_PRIVATE_KEY_FILE", &new_file),
        ],
    )
    .await;
    assert_eq!(me_status(&client, &third.base, &old_token).await, 401);
    assert_eq!(me_status(&client, &third.base, &new_token).await, 200);
    assert_eq!(jwks(&client, &third.base).await.keys.len(), 1);
    third.terminate();
}

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_authql"));
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run authql")
}

#[tokio::test]
async fn production_refuses_an_asymmetric_algorithm_without_a_key_file() {
    let app = spawn_app_with(&[]).await;
    let out = run(
        &scratch(&app, "prod"),
        &["serve"],
        &[
            ("APP_ENV", "production"),
            ("SECRET_KEY", crate::helpers::app::SECRET_KEY),
            ("EMAIL_URL", "smtp://127.0.0.1:2525"),
            ("JWT_ALGORITHM", "EdDSA"),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("JWT_PRIVATE_KEY_FILE"));
}

#[tokio::test]
async fn the_development_key_is_generated_once_and_kept() {
    let app = spawn_app_with(&[]).await;
    let dir = scratch(&app, "dev");
    let env = [
        ("SECRET_KEY", crate::helpers::app::SECRET_KEY),
        ("JWT_ALGORITHM", "EdDSA"),
    ];
    let first = run(&dir, &["keys", "show"], &env);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(String::from_utf8_lossy(&first.stderr).contains(".authql-jwt-key.pem"));
    let second = run(&dir, &["keys", "show"], &env);
    let kid = |out: &std::process::Output| {
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["keys"][0]["kid"].clone()
    };
    assert!(kid(&first).is_string());
    assert_eq!(kid(&first), kid(&second), "the key changed across runs");
    assert_mode_0600(&dir.join(".authql-jwt-key.pem"));
}

#[tokio::test]
async fn keys_generate_writes_mode_0600_and_never_overwrites() {
    let app = spawn_app_with(&[]).await;
    let dir = scratch(&app, "generate");
    let path = generate(&dir, "EdDSA", "key.pem");
    assert_mode_0600(&path);
    let before = std::fs::read(&path).unwrap();
    let again = run(&dir, &["keys", "generate", "key.pem"], &[]);
    assert!(!again.status.success());
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the key file was overwritten"
    );
    let to_stdout = run(&dir, &["keys", "generate", "--algorithm", "ES256"], &[]);
    let pem = String::from_utf8(to_stdout.stdout).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
    assert!(
        pem.trim_end().ends_with("-----END PRIVATE KEY-----"),
        "nothing but the key: {pem}"
    );
}

fn assert_mode_0600(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{}", path.display());
}
