//! Native apps and linking (API.md §9.1): `signInWithIdToken` with the ID
//! token an app got from the provider itself (each accepted once, the
//! nonce or its SHA-256), and `linkIdentity` / `linkIdentityWithIdToken`
//! for a signed-in user (an identity of another account is FORBIDDEN).

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, code};
use crate::social::{VERIFIER, sign_in, spawn, verified};

const SIGN_IN: &str = "mutation($p: String!, $t: String!, $n: String!) { signInWithIdToken(provider: $p, idToken: $t, nonce: $n) { __typename ... on AuthPayload { accessToken user { email } } } }";
const LINK_TOKEN: &str = "mutation($p: String!, $t: String!, $n: String!) { linkIdentityWithIdToken(provider: $p, idToken: $t, nonce: $n) { provider subject } }";
const LINK_CODE: &str = "mutation($c: String!, $v: String!) { linkIdentity(code: $c, codeVerifier: $v) { provider subject } }";

fn callback(app: &TestApp) -> String {
    format!("{}/auth/test/callback", app.base)
}

/// The same token with its last character's unused low bit flipped: the
/// signature decodes to the same bytes.
fn reencoded(token: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = *token.as_bytes().last().unwrap();
    let index = ALPHABET.iter().position(|c| *c == last).unwrap();
    let mut out = token[..token.len() - 1].to_owned();
    out.push(ALPHABET[index ^ 1] as char);
    out
}

async fn sign_in_with(app: &TestApp, token: &str, nonce: &str) -> Value {
    app.gql(SIGN_IN, json!({"p": "test", "t": token, "n": nonce}))
        .await
        .1
}

#[tokio::test]
async fn a_native_id_token_signs_in_once_with_its_nonce() {
    let (app, op) = spawn(true, &[]).await;
    let token = op
        .id_token(
            &callback(&app),
            "native-1",
            verified("native@example.com"),
            "raw-nonce-1",
        )
        .await;
    let body = sign_in_with(&app, &token, "a-wrong-nonce").await;
    assert_eq!(code(&body), "INVALID_TOKEN", "{body}");
    let body = sign_in_with(&app, &token, "raw-nonce-1").await;
    assert_eq!(
        body["data"]["signInWithIdToken"]["user"]["email"], "native@example.com",
        "{body}"
    );
    // The session and its sign-in event name the provider.
    let access = body["data"]["signInWithIdToken"]["accessToken"]
        .as_str()
        .unwrap();
    let (_, mine) = app
        .gql_as(
            Some(&format!("Bearer {access}")),
            "{ sessions { provider amr } securityEvents(first: 5, filter: { types: [LOGIN_SUCCEEDED] }) { nodes { provider amr } } }",
            json!({}),
        )
        .await;
    assert_eq!(mine["data"]["sessions"][0]["provider"], "test", "{mine}");
    assert_eq!(mine["data"]["sessions"][0]["amr"], json!(["fed"]), "{mine}");
    assert_eq!(
        mine["data"]["securityEvents"]["nodes"][0]["provider"], "test",
        "{mine}"
    );
    // Accepted once, however its signature is re-encoded: the last
    // character of a 2048-bit RSA signature carries 4 unused bits.
    let body = sign_in_with(&app, &token, "raw-nonce-1").await;
    assert_eq!(code(&body), "INVALID_TOKEN", "{body}");
    let body = sign_in_with(&app, &reencoded(&token), "raw-nonce-1").await;
    assert_eq!(code(&body), "INVALID_TOKEN", "a re-encoded replay: {body}");
    // Apple's SDKs are given the nonce's SHA-256; the app keeps the raw one.
    let hashed = hex::encode(Sha256::digest(b"raw-nonce-2"));
    let token = op
        .id_token(
            &callback(&app),
            "native-1",
            verified("native@example.com"),
            &hashed,
        )
        .await;
    let body = sign_in_with(&app, &token, "raw-nonce-2").await;
    assert_eq!(
        body["data"]["signInWithIdToken"]["__typename"], "AuthPayload",
        "{body}"
    );
    // A made-up token, an unknown or a plain OAuth provider.
    assert_eq!(
        code(&sign_in_with(&app, "not.a.token", "n").await),
        "INVALID_TOKEN"
    );
    for provider in ["github", "nope"] {
        let (_, body) = app
            .gql(SIGN_IN, json!({"p": provider, "t": token, "n": "n"}))
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    }
}

#[tokio::test]
async fn a_signed_in_user_links_by_token_or_code_and_never_anothers_identity() {
    let (app, op) = spawn(false, &[]).await;
    let ann = app.signed_in_user("ann@example.com").await;
    let bob = app.signed_in_user("bob@example.com").await;
    // An untrusted provider's identity with another address: linking asks
    // for no email match.
    let token = op
        .id_token(
            &callback(&app),
            "ann-at-test",
            verified("ann.elsewhere@example.com"),
            "n-1",
        )
        .await;
    let (_, body) = app
        .gql_as(
            Some(&ann.bearer()),
            LINK_TOKEN,
            json!({"p": "test", "t": token, "n": "n-1"}),
        )
        .await;
    assert_eq!(
        body["data"]["linkIdentityWithIdToken"]["subject"], "ann-at-test",
        "{body}"
    );
    // Bob cannot take it, by a token of his own for that subject…
    let token = op
        .id_token(
            &callback(&app),
            "ann-at-test",
            verified("ann.elsewhere@example.com"),
            "n-2",
        )
        .await;
    let (_, body) = app
        .gql_as(
            Some(&bob.bearer()),
            LINK_TOKEN,
            json!({"p": "test", "t": token, "n": "n-2"}),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    // …and links his own through the browser flow's exchange code.
    let exchange_code = sign_in(&app, &op, "bob-at-test", verified("bob@example.com")).await;
    let (_, body) = app
        .gql_as(
            Some(&bob.bearer()),
            LINK_CODE,
            json!({"c": exchange_code, "v": VERIFIER}),
        )
        .await;
    assert_eq!(
        body["data"]["linkIdentity"]["subject"], "bob-at-test",
        "{body}"
    );
    // The linked identity signs Ann in, whatever the provider's trust.
    let token = op
        .id_token(
            &callback(&app),
            "ann-at-test",
            verified("ann.elsewhere@example.com"),
            "n-3",
        )
        .await;
    let body = sign_in_with(&app, &token, "n-3").await;
    assert_eq!(
        body["data"]["signInWithIdToken"]["user"]["email"], "ann@example.com",
        "{body}"
    );
    // An API token cannot link.
    let api = app.api_token(&ann.bearer()).await;
    let token = op
        .id_token(&callback(&app), "ann-2", verified("a2@example.com"), "n-4")
        .await;
    let (_, body) = app
        .gql_as(
            Some(&api),
            LINK_TOKEN,
            json!({"p": "test", "t": token, "n": "n-4"}),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
}
