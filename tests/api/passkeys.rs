//! Passkeys (API.md §8.4) with a software authenticator: the ceremonies end
//! to end, and each way an attacker bends an assertion or a registration.

use serde_json::{Value, json};

use crate::helpers::passkey::{Authenticator, SETTINGS};
use crate::helpers::{TestApp, TestUser, code, spawn_app_with, spawn_process};

const BEGIN_REGISTRATION: &str = "mutation { beginPasskeyRegistration { challengeId options } }";
const FINISH_REGISTRATION: &str = "mutation($c: ID!, $cred: JSON!, $n: String) { finishPasskeyRegistration(challengeId: $c, credential: $cred, name: $n) { id name createdAt lastUsedAt } }";
const BEGIN_LOGIN: &str =
    "mutation($e: String) { beginPasskeyLogin(email: $e) { challengeId options } }";
const FINISH_LOGIN: &str = "mutation($c: ID!, $cred: JSON!) { finishPasskeyLogin(challengeId: $c, credential: $cred) { accessToken user { email } } }";

/// Adds `authenticator`'s passkey to `user`: the finish's answer.
async fn register(app: &TestApp, user: &TestUser, authenticator: &mut Authenticator) -> Value {
    let (_, begun) = app
        .gql_as(Some(&user.bearer()), BEGIN_REGISTRATION, json!({}))
        .await;
    let begun = &begun["data"]["beginPasskeyRegistration"];
    assert!(begun["options"]["challenge"].is_string(), "{begun}");
    let credential = authenticator.register(&begun["options"]);
    let (_, body) = app
        .gql_as(
            Some(&user.bearer()),
            FINISH_REGISTRATION,
            json!({ "c": begun["challengeId"], "cred": credential, "n": "Laptop" }),
        )
        .await;
    body
}

async fn begin_login(app: &TestApp, email: Option<&str>) -> (Value, Value) {
    let (_, body) = app.gql(BEGIN_LOGIN, json!({ "e": email })).await;
    let begun = body["data"]["beginPasskeyLogin"].clone();
    assert!(begun["options"]["challenge"].is_string(), "{body}");
    (begun["challengeId"].clone(), begun["options"].clone())
}

async fn finish_login(app: &TestApp, challenge: &Value, credential: Value) -> Value {
    app.gql(FINISH_LOGIN, json!({ "c": challenge, "cred": credential }))
        .await
        .1
}

/// One sign-in with `authenticator` as it stands.
async fn sign_in(app: &TestApp, authenticator: &mut Authenticator, email: Option<&str>) -> Value {
    let (challenge, options) = begin_login(app, email).await;
    let credential = authenticator.assert(&options);
    finish_login(app, &challenge, credential).await
}

#[tokio::test]
async fn passkeys_are_off_when_the_relying_party_would_be_an_ip_address() {
    let app = spawn_app_with(&[("PUBLIC_URL", "http://127.0.0.1:8000")]).await;
    let (_, body) = app.gql(BEGIN_LOGIN, json!({})).await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("IP address"), "{message}");
}

#[tokio::test]
async fn a_passkey_signs_in_with_no_password_then_is_renamed_and_deleted() {
    let app = spawn_app_with(&SETTINGS).await;
    let user = app.signed_in_user("pk@example.com").await;
    let mut phone = Authenticator::default();
    let added = register(&app, &user, &mut phone).await;
    let passkey = &added["data"]["finishPasskeyRegistration"];
    assert_eq!(passkey["name"], "Laptop", "{added}");
    assert!(passkey["lastUsedAt"].is_null());
    let (_, listed) = app
        .gql_as(Some(&user.bearer()), "{ passkeys { id name } }", json!({}))
        .await;
    assert_eq!(listed["data"]["passkeys"][0]["id"], passkey["id"]);

    // Discoverable (no address), then address first.
    for email in [None, Some("pk@example.com")] {
        let body = sign_in(&app, &mut phone, email).await;
        let signed = &body["data"]["finishPasskeyLogin"];
        assert_eq!(signed["user"]["email"], "pk@example.com", "{body}");
        let token = format!("Bearer {}", signed["accessToken"].as_str().unwrap());
        let (_, me) = app
            .gql_as(Some(&token), "{ me { email } }", json!({}))
            .await;
        assert_eq!(me["data"]["me"]["email"], "pk@example.com");
    }
    // Another address, known or not: the same kind of answer, then refused.
    for email in ["other@example.com", "nobody@example.com"] {
        if email == "other@example.com" {
            app.activated_user(email).await;
        }
        let body = sign_in(&app, &mut phone, Some(email)).await;
        assert_eq!(code(&body), "INVALID_CREDENTIALS", "{email}: {body}");
    }

    let rename =
        "mutation($id: ID!) { renamePasskey(id: $id, name: \"Phone\") { name lastUsedAt } }";
    let (_, renamed) = app
        .gql_as(Some(&user.bearer()), rename, json!({ "id": passkey["id"] }))
        .await;
    assert_eq!(
        renamed["data"]["renamePasskey"]["name"], "Phone",
        "{renamed}"
    );
    assert!(renamed["data"]["renamePasskey"]["lastUsedAt"].is_string());
    let other = app.signed_in_user("thief@example.com").await;
    let (_, stolen) = app
        .gql_as(
            Some(&other.bearer()),
            rename,
            json!({ "id": passkey["id"] }),
        )
        .await;
    assert_eq!(code(&stolen), "NOT_FOUND", "{stolen}");

    let delete = "mutation($id: ID!) { deletePasskey(id: $id) }";
    let (_, deleted) = app
        .gql_as(Some(&user.bearer()), delete, json!({ "id": passkey["id"] }))
        .await;
    assert_eq!(deleted["data"]["deletePasskey"], true, "{deleted}");
    let body = sign_in(&app, &mut phone, None).await;
    assert_eq!(code(&body), "INVALID_CREDENTIALS", "{body}");

    let (_, events) = app
        .gql_as(
            Some(&user.bearer()),
            "{ securityEvents(first: 50) { nodes { type } } }",
            json!({}),
        )
        .await;
    let types: Vec<&str> = events["data"]["securityEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"PASSKEY_ADDED") && types.contains(&"PASSKEY_REMOVED"),
        "{types:?}"
    );
}

/// Each bent assertion is INVALID_CREDENTIALS, and an honest one still
/// works afterwards.
#[tokio::test]
async fn assertions_an_attacker_bends_are_refused() {
    let app = spawn_app_with(&SETTINGS).await;
    let user = app.signed_in_user("bent@example.com").await;
    let mut key = Authenticator::default();
    register(&app, &user, &mut key).await;

    let refused = |body: Value, what: &str| {
        assert_eq!(code(&body), "INVALID_CREDENTIALS", "{what}: {body}");
    };
    key.origin = "https://evil.example".into();
    refused(sign_in(&app, &mut key, None).await, "wrong origin");
    key.origin = crate::helpers::passkey::ORIGIN.into();

    key.rp_id = "evil.example".into();
    refused(sign_in(&app, &mut key, None).await, "wrong RP ID hash");
    key.rp_id = crate::helpers::passkey::RP_ID.into();

    let (challenge, mut options) = begin_login(&app, None).await;
    options["challenge"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    refused(
        finish_login(&app, &challenge, key.assert(&options)).await,
        "wrong challenge",
    );

    let (challenge, options) = begin_login(&app, None).await;
    let mut credential = key.assert(&options);
    let signature = credential["response"]["signature"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut flipped = signature.into_bytes();
    let last = flipped.len() - 2;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    credential["response"]["signature"] = json!(String::from_utf8(flipped).unwrap());
    refused(
        finish_login(&app, &challenge, credential).await,
        "tampered signature",
    );

    // An honest assertion, then the same challenge again.
    let (challenge, options) = begin_login(&app, None).await;
    let credential = key.assert(&options);
    let body = finish_login(&app, &challenge, credential.clone()).await;
    assert!(
        body["data"]["finishPasskeyLogin"]["accessToken"].is_string(),
        "{body}"
    );
    refused(
        finish_login(&app, &challenge, credential).await,
        "replayed challenge",
    );

    // A cloned authenticator: its counter goes backwards.
    key.counter = 0;
    refused(sign_in(&app, &mut key, None).await, "counter backwards");
}

#[tokio::test]
async fn registration_rules_hold() {
    let app = spawn_app_with(&SETTINGS).await;
    let user = app.signed_in_user("rules@example.com").await;
    let mut first = Authenticator::default();
    register(&app, &user, &mut first).await;

    // The same credential again (by a fresh ceremony) is refused.
    let body = register(&app, &user, &mut first).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "duplicate: {body}");
    // So is a credential made for another origin.
    let mut elsewhere = Authenticator::default();
    elsewhere.origin = "https://evil.example".into();
    let body = register(&app, &user, &mut elsewhere).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "wrong origin: {body}");

    for _ in 1..10 {
        let body = register(&app, &user, &mut Authenticator::default()).await;
        assert!(body["errors"].is_null(), "{body}");
    }
    let (_, eleventh) = app
        .gql_as(Some(&user.bearer()), BEGIN_REGISTRATION, json!({}))
        .await;
    assert_eq!(code(&eleventh), "BAD_USER_INPUT", "11th: {eleventh}");

    // Another user's passkey: its credential cannot sign anyone else in,
    // whatever account its user handle claims.
    let victim = app.signed_in_user("victim@example.com").await;
    let mut forged = Authenticator::default();
    forged.credential_id = first.credential_id.clone();
    register(&app, &victim, &mut forged).await;
    forged.user_handle = uuid::Uuid::parse_str(&victim.id)
        .unwrap()
        .as_bytes()
        .to_vec();
    let body = sign_in(&app, &mut forged, Some("victim@example.com")).await;
    assert_eq!(code(&body), "INVALID_CREDENTIALS", "{body}");
}

#[tokio::test]
async fn a_deactivated_account_cannot_sign_in_with_its_passkey() {
    let app = spawn_app_with(&SETTINGS).await;
    let staff = app.staff_user("staff@example.com").await;
    let user = app.signed_in_user("gone@example.com").await;
    let mut key = Authenticator::default();
    register(&app, &user, &mut key).await;
    let deactivate = "mutation($id: ID!) { setUserActive(id: $id, active: false) { id } }";
    app.gql_as(Some(&staff.bearer()), deactivate, json!({ "id": user.id }))
        .await;
    let body = sign_in(&app, &mut key, None).await;
    assert_eq!(code(&body), "ACCOUNT_NOT_ACTIVE", "{body}");
}

/// The ceremony's state is in the database: begun on one instance,
/// finished on another, for registration and for sign-in.
#[tokio::test]
async fn a_ceremony_begun_on_one_instance_finishes_on_another() {
    let app = spawn_app_with(&SETTINGS).await;
    let other = spawn_process(&app.db.url, &app.mail_dir, &SETTINGS).await;
    let user = app.signed_in_user("two@example.com").await;
    let mut key = Authenticator::default();
    let (_, begun) = app
        .gql_as(Some(&user.bearer()), BEGIN_REGISTRATION, json!({}))
        .await;
    let begun = &begun["data"]["beginPasskeyRegistration"];
    let credential = key.register(&begun["options"]);
    let body = json!({ "query": FINISH_REGISTRATION, "variables": { "c": begun["challengeId"], "cred": credential } });
    let added = app.gql_at(&other.base, Some(&user.bearer()), body).await;
    assert!(added["errors"].is_null(), "{added}");

    let (challenge, options) = begin_login(&app, Some("two@example.com")).await;
    let body = json!({ "query": FINISH_LOGIN, "variables": { "c": challenge, "cred": key.assert(&options) } });
    let signed = app.gql_at(&other.base, None, body).await;
    assert_eq!(
        signed["data"]["finishPasskeyLogin"]["user"]["email"], "two@example.com",
        "{signed}"
    );
    other.terminate();
}
