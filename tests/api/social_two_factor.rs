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

/// A fresh `aal2` session of `email`'s account: its password and code.
async fn signed_in(app: &TestApp, email: &str) -> String {
    let (id, code) = challenge(app, email).await;
    let (_, body) = app.gql(VERIFY, json!({ "id": id, "c": code })).await;
    format!(
        "Bearer {}",
        body["data"]["verifyOtp"]["accessToken"].as_str().unwrap()
    )
}

/// The identities of `email`'s account, seen after its password and code.
async fn identities(app: &TestApp, email: &str) -> Value {
    let token = signed_in(app, email).await;
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
    // The notice goes out through the outbox: waited for.
    for _ in 0..100 {
        if notices(&app, email) > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
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

/// From a review: a pending link is checked again when its code is typed,
/// the address included. The account's owner lost the mailbox and moved
/// the account to a new address; whoever holds the old mailbox (and a
/// trusted provider's identity for it) must not finish the link begun
/// before the move. The refusal uses the challenge up and is recorded.
#[tokio::test]
async fn a_pending_link_dies_with_the_address_it_was_begun_for() {
    let (app, op) = spawn(true, &[]).await;
    let lost = "lost@example.com";
    with_two_factor(&app, lost).await;
    let (id, right) = provider_challenge(&app, &op, "squatter", lost).await;

    let owner = signed_in(&app, lost).await;
    let (_, body) = app
        .gql_as(
            Some(&owner),
            "mutation($e: String!) { requestEmailChange(newEmail: $e) }",
            json!({ "e": "safe@example.com" }),
        )
        .await;
    assert_eq!(body["data"]["requestEmailChange"], true, "{body}");
    let link = mail::wait_for(&app.mail_dir, "safe@example.com", 1).await;
    let (uid, token) = link[0].link("confirm-email");
    let resp = app
        .client
        .get(app.url(&format!("/confirm-email/{uid}/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let (_, body) = app.gql(VERIFY, json!({ "id": id, "c": right })).await;
    assert_eq!(code(&body), "IDENTITY_LINK_REQUIRED", "{body}");
    let (_, body) = app.gql(VERIFY, json!({ "id": id, "c": right })).await;
    assert_eq!(code(&body), "INVALID_TOKEN", "used up: {body}");
    let (_, body) = app
        .gql_as(
            Some(&owner),
            "{ identities { subject } securityEvents(first: 1, filter: {types: [LOGIN_FAILED]}) { nodes { provider amr } } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["identities"], json!([]), "{body}");
    let failed = &body["data"]["securityEvents"]["nodes"][0];
    assert_eq!(failed["provider"], "test", "{body}");
    assert_eq!(failed["amr"], json!(["fed"]));
}
