//! Two-factor sign-in as a client goes through it.

use serde_json::json;

use super::users::LOGIN;
use super::{PASSWORD, TestApp, code, mail};

/// Signs in with the password and returns the challenge id and the mailed code.
pub async fn challenge(app: &TestApp, email: &str) -> (String, String) {
    let before = app_mails(app, email).len();
    let (_, body) = app
        .gql(
            LOGIN,
            json!({ "input": { "email": email, "password": PASSWORD } }),
        )
        .await;
    let login = &body["data"]["login"];
    assert_eq!(login["__typename"], "OtpChallenge", "{body}");
    assert!(
        login["sentTo"]
            .as_str()
            .unwrap()
            .contains("***@example.com")
    );
    let mails = mail::wait_for(&app.mail_dir, email, before + 1).await;
    (
        login["challengeId"].as_str().unwrap().to_owned(),
        mails.last().unwrap().code(),
    )
}

pub fn app_mails(app: &TestApp, email: &str) -> Vec<mail::Mail> {
    mail::read_all(&app.mail_dir)
        .into_iter()
        .filter(|m| m.to == email)
        .collect()
}

pub async fn with_two_factor(app: &TestApp, email: &str) {
    let user = app.signed_in_user(email).await;
    let (_, body) = app
        .gql_as(
            Some(&user.bearer()),
            "mutation($p: String!) { enableTwoFactor(password: $p) { twoFactorEnabled } }",
            json!({ "p": "wrong password!!" }),
        )
        .await;
    assert_eq!(code(&body), "INVALID_CREDENTIALS");
    let (_, body) = app
        .gql_as(
            Some(&user.bearer()),
            "mutation($p: String!) { enableTwoFactor(password: $p) { twoFactorEnabled } }",
            json!({ "p": PASSWORD }),
        )
        .await;
    assert_eq!(
        body["data"]["enableTwoFactor"]["twoFactorEnabled"], true,
        "{body}"
    );
    let mails = mail::wait_for(&app.mail_dir, email, 2).await;
    assert!(
        mails
            .iter()
            .any(|m| m.subject.contains("two-factor sign-in was turned on"))
    );
}

pub fn wrong(right: &str) -> String {
    if right == "000000" {
        "000001".into()
    } else {
        "000000".into()
    }
}
