//! Two-factor sign-in with emailed one-time codes.

use std::time::Duration;

use serde_json::json;

use crate::helpers::two_factor::{challenge, with_two_factor, wrong};
use crate::helpers::{PASSWORD, code, mail, spawn_app_with, spawn_process};

const VERIFY: &str = "mutation($id: ID!, $c: String!) { verifyOtp(challengeId: $id, code: $c) { accessToken refreshToken user { email } } }";
const RESEND: &str =
    "mutation($id: ID!) { resendOtp(challengeId: $id) { challengeId expiresAt sentTo } }";

#[tokio::test]
async fn a_challenge_is_exchanged_for_tokens_once() {
    let app = spawn_app_with(&[]).await;
    with_two_factor(&app, "otp@example.com").await;
    let (id, right) = challenge(&app, "otp@example.com").await;
    let (_, body) = app
        .gql(VERIFY, json!({ "id": id, "c": wrong(&right) }))
        .await;
    assert_eq!(code(&body), "INVALID_OTP");
    assert_eq!(body["errors"][0]["extensions"]["attemptsLeft"], 4);
    let (_, body) = app.gql(VERIFY, json!({ "id": id, "c": right })).await;
    assert_eq!(
        body["data"]["verifyOtp"]["user"]["email"], "otp@example.com",
        "{body}"
    );
    let token = body["data"]["verifyOtp"]["accessToken"].as_str().unwrap();
    let (_, me) = app
        .gql_as(
            Some(&format!("Bearer {token}")),
            "{ me { email twoFactorEnabled } }",
            json!({}),
        )
        .await;
    assert_eq!(me["data"]["me"]["twoFactorEnabled"], true);
    let (_, body) = app.gql(VERIFY, json!({ "id": id, "c": right })).await;
    assert_eq!(code(&body), "INVALID_TOKEN", "used once");
    let (_, body) = app
        .gql(VERIFY, json!({ "id": "made-up", "c": right }))
        .await;
    assert_eq!(code(&body), "INVALID_TOKEN");
    let (_, body) = app.gql(VERIFY, json!({ "id": id, "c": "12" })).await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    // Disabling needs the password and sends a notice too.
    let (_, body) = app
        .gql_as(
            Some(&format!("Bearer {token}")),
            "mutation($p: String!) { disableTwoFactor(password: $p) { twoFactorEnabled } }",
            json!({ "p": PASSWORD }),
        )
        .await;
    assert_eq!(body["data"]["disableTwoFactor"]["twoFactorEnabled"], false);
    let body = app.login("otp@example.com", PASSWORD).await;
    assert_eq!(body["data"]["login"]["__typename"], "AuthPayload");
    let mails = mail::wait_for(&app.mail_dir, "otp@example.com", 4).await;
    assert!(mails.iter().any(|m| m.subject.contains("turned off")));
}

/// Twenty aliased wrong codes in one request: over the cap of three
/// credential checks per request (API.md §8.9), so none is judged and the
/// challenge keeps every try.
#[tokio::test]
async fn twenty_aliased_wrong_codes_are_refused_before_any_is_judged() {
    let app = spawn_app_with(&[("OTP_MAX_ATTEMPTS", "5"), ("LOGIN_RATE_LIMIT", "1000/15m")]).await;
    with_two_factor(&app, "alias@example.com").await;
    let (id, right) = challenge(&app, "alias@example.com").await;
    let aliases: String = (0..20)
        .map(|i| {
            format!(
                "a{i}: verifyOtp(challengeId: \"{id}\", code: \"{}\") {{ accessToken }} ",
                wrong(&right)
            )
        })
        .collect();
    let (status, body) = app
        .gql(&format!("mutation {{ {aliases} }}"), json!({}))
        .await;
    assert_eq!((status, code(&body)), (400, "BAD_REQUEST"), "{body}");
    let (_, body) = app.gql(VERIFY, json!({ "id": id, "c": right })).await;
    assert!(
        body["data"]["verifyOtp"]["accessToken"].is_string(),
        "{body}"
    );
}

#[tokio::test]
async fn parallel_wrong_codes_across_two_instances_use_at_most_the_allowed_tries() {
    let app = spawn_app_with(&[("OTP_MAX_ATTEMPTS", "5"), ("LOGIN_RATE_LIMIT", "1000/15m")]).await;
    let other = spawn_process(
        &app.db.url,
        &app.mail_dir,
        &[("OTP_MAX_ATTEMPTS", "5"), ("LOGIN_RATE_LIMIT", "1000/15m")],
    )
    .await;
    with_two_factor(&app, "parallel@example.com").await;
    let (id, right) = challenge(&app, "parallel@example.com").await;
    let body = json!({ "query": VERIFY, "variables": { "id": id, "c": wrong(&right) } });
    let requests = (0..20)
        .map(|i| {
            (
                if i % 2 == 0 {
                    app.base.clone()
                } else {
                    other.base.clone()
                },
                body.clone(),
            )
        })
        .collect();
    let mut counted = 0;
    for body in app.concurrently(requests).await {
        match code(&body) {
            "INVALID_OTP" => counted += 1,
            // The challenge is dead, or the account's code budget (2 × 5)
            // is spent.
            "INVALID_TOKEN" | "RATE_LIMITED" => {}
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(counted <= 5, "{counted} wrong tries counted");
    let (_, body) = app.gql(VERIFY, json!({ "id": id, "c": right })).await;
    assert_eq!(code(&body), "INVALID_TOKEN");
}

#[tokio::test]
async fn two_factor_required_challenges_everyone_and_off_challenges_no_one() {
    let app = spawn_app_with(&[("TWO_FACTOR", "required")]).await;
    app.activated_user("req@example.com").await;
    let (id, right) = challenge(&app, "req@example.com").await;
    let (_, body) = app.gql(VERIFY, json!({ "id": id, "c": right })).await;
    assert!(
        body["data"]["verifyOtp"]["accessToken"].is_string(),
        "{body}"
    );

    let app = spawn_app_with(&[("TWO_FACTOR", "off")]).await;
    let user = app.signed_in_user("off@example.com").await;
    app.gql_as(
        Some(&user.bearer()),
        "mutation($p: String!) { enableTwoFactor(password: $p) { id } }",
        json!({ "p": PASSWORD }),
    )
    .await;
    let body = app.login("off@example.com", PASSWORD).await;
    assert_eq!(body["data"]["login"]["__typename"], "AuthPayload");
}

#[tokio::test]
async fn a_challenge_expires() {
    let app = spawn_app_with(&[("OTP_TTL", "1s")]).await;
    with_two_factor(&app, "late@example.com").await;
    let (id, right) = challenge(&app, "late@example.com").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, body) = app.gql(VERIFY, json!({ "id": id, "c": right })).await;
    assert_eq!(code(&body), "INVALID_TOKEN");
}

#[tokio::test]
async fn resend_is_spaced_capped_and_keeps_the_wrong_try_count() {
    let app = spawn_app_with(&[("OTP_RESEND_INTERVAL", "1s"), ("MAIL_RATE_LIMIT", "100/1h")]).await;
    with_two_factor(&app, "again@example.com").await;
    let (id, first) = challenge(&app, "again@example.com").await;
    let (_, body) = app.gql(RESEND, json!({ "id": id })).await;
    assert_eq!(
        code(&body),
        "RATE_LIMITED",
        "too soon after the login's own code"
    );
    assert!(
        body["errors"][0]["extensions"]["retryAfter"]
            .as_u64()
            .unwrap()
            >= 1
    );
    let (_, body) = app
        .gql(VERIFY, json!({ "id": id, "c": wrong(&first) }))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["attemptsLeft"], 4);
    let mut latest = first.clone();
    for n in 1..=3 {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let (_, body) = app.gql(RESEND, json!({ "id": id })).await;
        assert_eq!(
            body["data"]["resendOtp"]["challengeId"],
            id.as_str(),
            "{body}"
        );
        latest = mail::wait_for(&app.mail_dir, "again@example.com", 3 + n)
            .await
            .last()
            .unwrap()
            .code();
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (_, body) = app.gql(RESEND, json!({ "id": id })).await;
    assert_eq!(code(&body), "RATE_LIMITED", "at most three resends");
    if latest != first {
        let (_, body) = app.gql(VERIFY, json!({ "id": id, "c": first })).await;
        assert_eq!(
            body["errors"][0]["extensions"]["attemptsLeft"], 3,
            "the old code was replaced and the count kept"
        );
    }
    let (_, body) = app.gql(VERIFY, json!({ "id": id, "c": latest })).await;
    assert!(
        body["data"]["verifyOtp"]["accessToken"].is_string(),
        "{body}"
    );
}
