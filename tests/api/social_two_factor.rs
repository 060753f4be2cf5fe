//! A provider sign-in into an account whose second factor applies (API.md
//! §9.1 rule 3): the answer is what `login` gives — a challenge — and the
//! identity is linked only when `verifyOtp` completes the sign-in, so one
//! that fails its second factor leaves no identity behind.

use serde_json::{Value, json};

use crate::helpers::two_factor::{challenge, with_two_factor, wrong};
use crate::helpers::{TestApp, code, mail};
use crate::social::{VERIFIER, sign_in, spawn, verified};

const EXCHANGE: &str = "mutation($c: String!, $v: String) { exchangeSocialCode(code: $c, codeVerifier: $v) { __typename ... on OtpChallenge { challengeId } } }";
const VERIFY: &str = "mutation($id: ID!, $c: String!) { verifyOtp(challengeId: $id, code: $c) { accessToken user { email } } }";
const LINKED: &str = "a sign-in with Test ID was linked";

/// The identities of `email`'s account, seen after its password and code.
async fn identities(app: &TestApp, email: &str) -> Value {
    let (id, code) = challenge(app, email).await;
    let (_, body) = app.gql(VERIFY, json!({ "id": id, "c": code })).await;
    let token = format!(
        "Bearer {}",
        body["data"]["verifyOtp"]["accessToken"].as_str().unwrap()
    );
    let (_, body) = app
        .gql_as(Some(&token), "{ identities { subject } }", json!({}))
        .await;
    body["data"]["identities"].clone()
}

fn notices(app: &TestApp, email: &str) -> usize {
    mail::read_all(&app.mail_dir)
        .iter()
        .filter(|m| m.to == email && m.text.contains(LINKED))
        .count()
}

/// The challenge a provider sign-in as `sub` answers, and its mailed code.
async fn provider_challenge(
    app: &TestApp,
    op: &crate::helpers::op::Op,
    sub: &str,
    email: &str,
) -> (String, String) {
    let before = mail::read_all(&app.mail_dir)
        .iter()
        .filter(|m| m.to == email)
        .count();
    let exchange_code = sign_in(app, op, sub, verified(email)).await;
    let (_, body) = app
        .gql(EXCHANGE, json!({ "c": exchange_code, "v": VERIFIER }))
        .await;
    let answer = &body["data"]["exchangeSocialCode"];
    assert_eq!(answer["__typename"], "OtpChallenge", "{body}");
    let mails = mail::wait_for(&app.mail_dir, email, before + 1).await;
    (
        answer["challengeId"].as_str().unwrap().to_owned(),
        mails.last().unwrap().code(),
    )
}

#[tokio::test]
async fn the_link_waits_for_the_second_factor_and_a_failed_one_leaves_none() {
    let (app, op) = spawn(true, &[]).await;
    let email = "two@example.com";
    with_two_factor(&app, email).await;

    // Abandoned after a wrong code: nothing linked, nothing mailed.
    let (id, right) = provider_challenge(&app, &op, "two-1", email).await;
    let (_, body) = app
        .gql(VERIFY, json!({ "id": id, "c": wrong(&right) }))
        .await;
    assert_eq!(code(&body), "INVALID_OTP", "{body}");
    assert_eq!(identities(&app, email).await, json!([]));
    assert_eq!(notices(&app, email), 0);

    // Passed: the sign-in is fed + otp, the identity linked and announced.
    let (id, right) = provider_challenge(&app, &op, "two-1", email).await;
    let (_, body) = app.gql(VERIFY, json!({ "id": id, "c": right })).await;
    let token = format!(
        "Bearer {}",
        body["data"]["verifyOtp"]["accessToken"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
    );
    let (_, body) = app
        .gql_as(
            Some(&token),
            "{ identities { subject } sessions { amr provider aal } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["identities"],
        json!([{ "subject": "two-1" }]),
        "{body}"
    );
    let session = &body["data"]["sessions"][0];
    assert_eq!(session["amr"], json!(["fed", "otp", "mfa"]), "{body}");
    assert_eq!(session["provider"], "test");
    assert_eq!(session["aal"], "aal2");
    mail::wait_for(&app.mail_dir, email, 1).await;
    assert_eq!(notices(&app, email), 1);
}

#[tokio::test]
async fn an_identity_linked_elsewhere_while_the_code_was_typed_signs_nobody_in() {
    let (app, op) = spawn(true, &[]).await;
    let email = "slow@example.com";
    with_two_factor(&app, email).await;
    let (id, right) = provider_challenge(&app, &op, "contested", email).await;

    // Meanwhile another account links the same provider identity.
    let other = app.signed_in_user("other@example.com").await;
    let link_code = sign_in(&app, &op, "contested", verified("other@example.com")).await;
    let (_, body) = app
        .gql_as(
            Some(&other.bearer()),
            "mutation($c: String!, $v: String!) { linkIdentity(code: $c, codeVerifier: $v) { subject } }",
            json!({ "c": link_code, "v": VERIFIER }),
        )
        .await;
    assert_eq!(
        body["data"]["linkIdentity"]["subject"], "contested",
        "{body}"
    );

    let (_, body) = app.gql(VERIFY, json!({ "id": id, "c": right })).await;
    assert_eq!(code(&body), "IDENTITY_LINK_REQUIRED", "{body}");
    assert_eq!(identities(&app, email).await, json!([]));
}
