//! The account-takeover holes of the security review, each written as the
//! attack (API.md §8.1): the password holder who cycles logins to guess
//! sign-in codes, the address prober, and parallel logins.

use serde_json::{Value, json};

use crate::helpers::two_factor::{challenge, with_two_factor, wrong};
use crate::helpers::users::LOGIN;
use crate::helpers::{PASSWORD, assert_rate_limited, code, mail, spawn_app, spawn_app_with};

const VERIFY: &str =
    "mutation($id: ID!, $c: String!) { verifyOtp(challengeId: $id, code: $c) { accessToken } }";
const ACTIVATE_CODE: &str =
    "mutation($e: String!, $c: String!) { activateAccountWithCode(email: $e, code: $c) { id } }";

/// The attacker has the password, not the mailbox: every login opens a new
/// challenge with fresh tries, and a right password used to clear the
/// counter. The account's own budget (2 × OTP_MAX_ATTEMPTS = 10) stops the
/// guessing, and past it even the right code is refused.
#[tokio::test]
async fn a_password_holder_cycling_logins_cannot_guess_codes_past_the_account_budget() {
    let app = spawn_app_with(&[("OTP_MAX_ATTEMPTS", "5")]).await;
    with_two_factor(&app, "cycled@example.com").await;
    let mut guesses = 0;
    let mut refused = None;
    'cycle: for _ in 0..5 {
        let (id, right) = challenge(&app, "cycled@example.com").await;
        for _ in 0..5 {
            let (_, body) = app
                .gql(VERIFY, json!({ "id": id, "c": wrong(&right) }))
                .await;
            match code(&body) {
                "INVALID_OTP" => guesses += 1,
                "RATE_LIMITED" => {
                    refused = Some((id, right));
                    break 'cycle;
                }
                other => panic!("unexpected {other}: {body}"),
            }
        }
    }
    assert_eq!(
        guesses, 10,
        "wrong codes judged before the budget stopped them"
    );
    let (id, right) = refused.expect("the budget never stopped the guessing");
    // The right code of a live challenge is refused the same way, and a
    // right password does not reopen the budget.
    let (_, body) = app.gql(VERIFY, json!({ "id": id, "c": right })).await;
    assert_rate_limited(&body);
    let (id, right) = challenge(&app, "cycled@example.com").await;
    let (_, body) = app.gql(VERIFY, json!({ "id": id, "c": right })).await;
    assert_eq!(code(&body), "RATE_LIMITED", "{body}");
}

/// Logging in again and again cannot stockpile challenges: a fourth ends
/// the oldest, whose right code then no longer works.
#[tokio::test]
async fn at_most_three_sign_in_challenges_are_live() {
    let app = spawn_app().await;
    with_two_factor(&app, "stockpile@example.com").await;
    let mut challenges = Vec::new();
    for _ in 0..4 {
        challenges.push(challenge(&app, "stockpile@example.com").await);
    }
    let (oldest, oldest_code) = &challenges[0];
    let (_, body) = app
        .gql(VERIFY, json!({ "id": oldest, "c": oldest_code }))
        .await;
    assert_eq!(code(&body), "INVALID_TOKEN", "{body}");
    for (id, right) in &challenges[1..] {
        let (_, body) = app.gql(VERIFY, json!({ "id": id, "c": right })).await;
        assert!(
            body["data"]["verifyOtp"]["accessToken"].is_string(),
            "{body}"
        );
    }
}

/// The error of a wrong activation code, without its position in the
/// response (`path`, `locations`): what a prober compares.
fn answer(body: &Value) -> Value {
    let mut error = body["errors"][0].clone();
    if let Some(e) = error.as_object_mut() {
        e.remove("path");
        e.remove("locations");
    }
    error
}

#[tokio::test]
async fn a_wrong_activation_code_answers_alike_for_unknown_active_and_pending_addresses() {
    let app = spawn_app().await;
    app.register("pending@example.com", PASSWORD).await;
    let right = mail::wait_for(&app.mail_dir, "pending@example.com", 1).await[0].code();
    app.activated_user("active@example.com").await;
    let mut answers = Vec::new();
    for email in [
        "pending@example.com",
        "active@example.com",
        "nobody@example.com",
    ] {
        let (_, body) = app
            .gql(ACTIVATE_CODE, json!({ "e": email, "c": wrong(&right) }))
            .await;
        answers.push(answer(&body));
    }
    assert_eq!(
        answers[0]["extensions"]["code"], "INVALID_TOKEN",
        "{answers:?}"
    );
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[1], answers[2]);
    assert_eq!(
        serde_json::to_vec(&answers[0]).unwrap(),
        serde_json::to_vec(&answers[2]).unwrap()
    );
    // The pending account's code still works: the wrong one was only counted.
    let (_, body) = app
        .gql(
            ACTIVATE_CODE,
            json!({ "e": "pending@example.com", "c": right }),
        )
        .await;
    assert!(
        body["data"]["activateAccountWithCode"]["id"].is_string(),
        "{body}"
    );
}

/// Attempts are counted before they are judged, but right passwords in
/// parallel wait for the pending ones instead of being refused.
#[tokio::test]
async fn fifteen_parallel_right_logins_of_one_account_all_succeed() {
    let app = spawn_app().await;
    app.activated_user("crowd@example.com").await;
    let body = json!({ "query": LOGIN, "variables": { "input": { "email": "crowd@example.com", "password": PASSWORD } } });
    let answers = app.concurrently(vec![(app.base.clone(), body); 15]).await;
    for answer in &answers {
        assert_eq!(
            answer["data"]["login"]["__typename"], "AuthPayload",
            "{answers:?}"
        );
    }
}

/// … while wrong ones still cannot slip past the limit: of 11 parallel
/// wrong passwords under 10/15m exactly 10 are judged.
#[tokio::test]
async fn eleven_parallel_wrong_passwords_judge_exactly_ten() {
    let app = spawn_app_with(&[("LOGIN_RATE_LIMIT", "10/15m")]).await;
    app.activated_user("eleven@example.com").await;
    let body = json!({ "query": LOGIN, "variables": { "input": { "email": "eleven@example.com", "password": "wrong password!!" } } });
    let answers = app.concurrently(vec![(app.base.clone(), body); 11]).await;
    let judged = answers
        .iter()
        .filter(|b| code(b) == "INVALID_CREDENTIALS")
        .count();
    let limited = answers.iter().filter(|b| code(b) == "RATE_LIMITED").count();
    assert_eq!((judged, limited), (10, 1), "{answers:?}");
    // And the right password is refused while the identifier is limited.
    let body = app.login("eleven@example.com", PASSWORD).await;
    assert_eq!(code(&body), "RATE_LIMITED", "{body}");
}
