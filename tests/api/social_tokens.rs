//! ID tokens that must not verify (API.md §9.1), each minted by a real
//! OpenID provider on loopback: one issued to another client, one from
//! another issuer signed with the very same key, one past `exp` and the
//! clock skew; and a provider's key rotation, which needs nothing from the
//! operator (the keys are fetched again when a token names an unknown one).

use serde_json::{Value, json};

use crate::helpers::op::Op;
use crate::helpers::{TestApp, code};
use crate::social::{app_for, verified};

const SIGN_IN: &str = "mutation($t: String!, $n: String!) { signInWithIdToken(provider: \"test\", idToken: $t, nonce: $n) { __typename ... on AuthPayload { user { email } } } }";

/// A provider with two clients, `authql` (the app's) and `other`, and an
/// app trusting it with `extra` settings.
async fn spawn(op_env: &[(&str, &str)], extra: &[(&str, &str)]) -> (TestApp, Op, String) {
    let port = crate::helpers::free_port();
    let public = format!("http://127.0.0.1:{port}");
    let callback = format!("{public}/auth/test/callback");
    let clients = json!([
        { "client_id": "authql", "client_secret": "s3cret", "redirect_uris": [callback] },
        { "client_id": "other", "client_secret": "other-s3cret", "redirect_uris": [callback] },
    ]);
    let op = Op::start_clients(clients, op_env);
    let mut vars = vec![("SOCIAL_TRUSTED_PROVIDERS", "test")];
    vars.extend_from_slice(extra);
    let app = app_for(&op, port, &vars).await;
    (app, op, callback)
}

async fn sign_in(app: &TestApp, token: &str, nonce: &str) -> Value {
    app.gql(SIGN_IN, json!({ "t": token, "n": nonce })).await.1
}

fn email_of(body: &Value) -> &str {
    body["data"]["signInWithIdToken"]["user"]["email"]
        .as_str()
        .unwrap_or("")
}

#[tokio::test]
async fn tokens_for_another_client_or_from_another_issuer_do_not_verify() {
    let (app, op, callback) = spawn(&[], &[]).await;
    let good = op
        .id_token(&callback, "u-1", verified("u1@example.com"), "n-1")
        .await;
    assert_eq!(
        email_of(&sign_in(&app, &good, "n-1").await),
        "u1@example.com"
    );

    // Issued by our provider, to a client that is not ours.
    let elsewhere = op
        .id_token_for(
            ("other", "other-s3cret"),
            &callback,
            "u-2",
            verified("u2@example.com"),
            "n-2",
        )
        .await;
    assert_eq!(
        code(&sign_in(&app, &elsewhere, "n-2").await),
        "INVALID_TOKEN"
    );
    // The same token is accepted by an app that names `other` as its
    // native app (the audience is the only difference).
    let native = app_for(
        &op,
        crate::helpers::free_port(),
        &[
            ("SOCIAL_TRUSTED_PROVIDERS", "test"),
            ("OIDC_TEST_NATIVE_CLIENT_IDS", "other"),
        ],
    )
    .await;
    assert_eq!(
        email_of(&sign_in(&native, &elsewhere, "n-2").await),
        "u2@example.com"
    );

    // Another issuer that signs with the very same key (oidc-provider's
    // development key, which every instance shares): the signature
    // verifies, the issuer does not.
    let clients =
        json!([{ "client_id": "authql", "client_secret": "s3cret", "redirect_uris": [callback] }]);
    let impostor = Op::start_clients(clients, &[]);
    let forged = impostor
        .id_token(&callback, "u-1", verified("u1@example.com"), "n-3")
        .await;
    assert_eq!(code(&sign_in(&app, &forged, "n-3").await), "INVALID_TOKEN");
}

#[tokio::test]
async fn a_token_past_exp_and_the_clock_skew_does_not_verify() {
    let (app, op, callback) =
        spawn(&[("OP_ID_TOKEN_TTL", "2")], &[("OIDC_CLOCK_SKEW", "1s")]).await;
    let token = op
        .id_token(&callback, "late", verified("late@example.com"), "n")
        .await;
    // exp = iat + 2 s, accepted until 1 s later.
    tokio::time::sleep(std::time::Duration::from_millis(4_500)).await;
    assert_eq!(code(&sign_in(&app, &token, "n").await), "INVALID_TOKEN");
    let fresh = op
        .id_token(&callback, "late", verified("late@example.com"), "n")
        .await;
    assert_eq!(
        email_of(&sign_in(&app, &fresh, "n").await),
        "late@example.com"
    );
}

#[tokio::test]
async fn a_rotated_provider_key_is_fetched_when_a_token_names_it() {
    let (app, mut op, callback) = spawn(&[], &[]).await;
    let first = op
        .id_token(&callback, "rot", verified("rot@example.com"), "n-1")
        .await;
    assert_eq!(
        email_of(&sign_in(&app, &first, "n-1").await),
        "rot@example.com"
    );
    let keys_fetched = std::time::Instant::now();

    // The provider restarts with a new key only: its tokens name a key id
    // the app's cached keys lack.
    op.restart(&[("OP_NEW_KEY", "1")]);
    let rotated = op
        .id_token(&callback, "rot", verified("rot@example.com"), "n-2")
        .await;
    // Keys are fetched again at most every 10 seconds per provider.
    let wait = std::time::Duration::from_secs(11).saturating_sub(keys_fetched.elapsed());
    tokio::time::sleep(wait).await;
    assert_eq!(
        email_of(&sign_in(&app, &rotated, "n-2").await),
        "rot@example.com"
    );
}
