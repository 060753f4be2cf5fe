//! The custom-claims hook (API.md §11.5) against a loopback hook that
//! verifies every call with the Standard Webhooks reference library: the
//! claims it adds reach the token, a slow or invalid hook under each
//! failure policy, and protected claims it may never override.

use base64::Engine;
use serde_json::{Value, json};

use crate::helpers::receiver::Receiver;
use crate::helpers::{PASSWORD, TestApp, code, spawn_app_with};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYo=";
const REFRESH: &str =
    "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }";
const PLAN: &str = "https://example.com/plan";

async fn spawn(hook: &Receiver, extra: &[(&str, &str)]) -> TestApp {
    let mut vars = vec![
        ("HOOK_CUSTOM_CLAIMS_URL", hook.url.as_str()),
        ("HOOK_SECRET", SECRET),
        ("HOOK_TIMEOUT", "500ms"),
    ];
    vars.extend_from_slice(extra);
    hook.trust(SECRET);
    spawn_app_with(&vars).await
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn the_hooks_claims_are_signed_into_every_minted_token() {
    let hook = Receiver::start().await;
    hook.answer_with(200, &json!({ "claims": { PLAN: "pro" } }).to_string(), 0);
    let app = spawn(&hook, &[]).await;
    let user = app.signed_in_user("hooked@example.com").await;
    assert_eq!(claims(&user.access_token)[PLAN], "pro");
    let (status, _) = app
        .gql_as(Some(&user.bearer()), "{ me { id } }", json!({}))
        .await;
    assert_eq!(status, 200, "a token with the hook's claims still verifies");
    let (_, body) = app.gql(REFRESH, json!({ "t": user.refresh_token })).await;
    let refreshed = body["data"]["refreshToken"]["accessToken"]
        .as_str()
        .unwrap();
    assert_eq!(claims(refreshed)[PLAN], "pro");
    let calls = hook.received();
    let triggers: Vec<_> = calls
        .iter()
        .map(|c| c.body["data"]["trigger"].clone())
        .collect();
    assert_eq!(triggers, vec![json!("login"), json!("refreshToken")]);
    for call in &calls {
        assert_eq!(call.verified_by, vec![0], "signed with HOOK_SECRET");
        assert_eq!(call.body["type"], "token.claims");
        assert_eq!(call.body["data"]["user"]["email"], "hooked@example.com");
        assert!(call.body["data"]["claims"]["sub"].is_string());
        assert!(!call.raw.contains(PASSWORD) && !call.raw.contains(&user.refresh_token));
    }
}

#[tokio::test]
async fn a_slow_hook_under_deny_fails_the_mutation_and_uses_nothing_up() {
    let hook = Receiver::start().await;
    hook.answer_with(200, "{}", 0);
    let app = spawn(&hook, &[]).await;
    let user = app.signed_in_user("deny@example.com").await;
    hook.answer_with(200, "{}", 2000);
    let (_, body) = app.gql(REFRESH, json!({ "t": user.refresh_token })).await;
    assert_eq!(code(&body), "HOOK_FAILED", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        !message.contains("127.0.0.1") && !message.contains("whsec"),
        "{message}"
    );
    assert_eq!(
        code(&app.login("deny@example.com", PASSWORD).await),
        "HOOK_FAILED"
    );
    // The hook is back: the same refresh token still works.
    hook.answer_with(200, "{}", 0);
    let (_, body) = app.gql(REFRESH, json!({ "t": user.refresh_token })).await;
    let token = body["data"]["refreshToken"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"));
    // Each failure is recorded once the failed transaction has let go.
    let query =
        "{ securityEvents(first: 20, filter: { types: [CLAIMS_HOOK_FAILED] }) { totalCount } }";
    let mut recorded = json!(null);
    for _ in 0..50 {
        let (_, body) = app
            .gql_as(Some(&format!("Bearer {token}")), query, json!({}))
            .await;
        recorded = body["data"]["securityEvents"]["totalCount"].clone();
        if recorded == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(recorded, 2);
}

#[tokio::test]
async fn a_slow_hook_under_continue_mints_without_its_claims() {
    let hook = Receiver::start().await;
    hook.answer_with(200, &json!({ "claims": { PLAN: "pro" } }).to_string(), 2000);
    let app = spawn(&hook, &[("HOOK_FAILURE", "continue")]).await;
    let user = app.signed_in_user("continue@example.com").await;
    assert!(claims(&user.access_token).get(PLAN).is_none());
}

#[tokio::test]
async fn the_hook_may_not_override_a_protected_claim() {
    let hook = Receiver::start().await;
    for reserved in [
        "sub",
        "sid",
        "amr",
        "aal",
        "exp",
        "https://hasura.io/jwt/claims",
    ] {
        hook.answer_with(200, &json!({ "claims": { reserved: "x" } }).to_string(), 0);
        let app = spawn(&hook, &[("REQUIRE_ACTIVATION", "false")]).await;
        let email = "override@example.com";
        app.register(email, PASSWORD).await;
        let body = app.login(email, PASSWORD).await;
        assert_eq!(code(&body), "HOOK_FAILED", "{reserved}: {body}");
    }
}

/// `HOOK_FAILED` uses nothing up (§9.1, §11.5): an email sign-in code and
/// a link's exchange code both work when tried again.
#[tokio::test]
async fn a_failed_hook_leaves_email_codes_and_exchange_codes_usable() {
    use crate::email_sign_in::{EXCHANGE, SIGN_IN, TARGET, exchange_code, link_path, request};
    let hook = Receiver::start().await;
    hook.answer_with(500, "{}", 0);
    let app = spawn(&hook, &[("AUTH_REDIRECT_URLS", TARGET)]).await;
    let mail = request(&app, "retry@example.com", json!({})).await;
    let args = json!({ "e": "retry@example.com", "c": mail.code() });
    let (_, body) = app.gql(SIGN_IN, args.clone()).await;
    assert_eq!(code(&body), "HOOK_FAILED", "{body}");
    hook.answer_with(200, "{}", 0);
    let (_, body) = app.gql(SIGN_IN, args).await;
    assert_eq!(
        body["data"]["signInWithEmailCode"]["__typename"], "AuthPayload",
        "{body}"
    );

    let mail = request(&app, "retry@example.com", json!({})).await;
    let resp = app
        .client
        .post(app.url(&link_path(&mail)))
        .send()
        .await
        .unwrap();
    let exchange = exchange_code(&resp);
    hook.answer_with(500, "{}", 0);
    let (_, body) = app.gql(EXCHANGE, json!({ "c": exchange })).await;
    assert_eq!(code(&body), "HOOK_FAILED", "{body}");
    hook.answer_with(200, "{}", 0);
    let (_, body) = app.gql(EXCHANGE, json!({ "c": exchange })).await;
    assert_eq!(
        body["data"]["exchangeSocialCode"]["__typename"], "AuthPayload",
        "{body}"
    );
}

/// `HOOK_FAILED` uses no passkey ceremony: the same assertion signs in
/// once the hook answers again.
#[tokio::test]
async fn a_failed_hook_leaves_the_passkey_ceremony_usable() {
    use crate::assurance::register_passkey;
    use crate::helpers::passkey::{Authenticator, SETTINGS};
    let hook = Receiver::start().await;
    hook.answer_with(200, "{}", 0);
    let mut vars = SETTINGS.to_vec();
    vars.push(("HOOK_CUSTOM_CLAIMS_URL", hook.url.as_str()));
    vars.push(("HOOK_SECRET", SECRET));
    hook.trust(SECRET);
    let app = spawn_app_with(&vars).await;
    let user = app.signed_in_user("pk-hook@example.com").await;
    let mut key = Authenticator::default();
    let body = register_passkey(&app, &user, &mut key).await;
    assert!(body["errors"].is_null(), "{body}");
    let (_, body) = app
        .gql(
            "mutation { beginPasskeyLogin { challengeId options } }",
            json!({}),
        )
        .await;
    let begun = &body["data"]["beginPasskeyLogin"];
    let assertion = key.assert(&begun["options"]);
    let finish = "mutation($c: ID!, $cred: JSON!) { finishPasskeyLogin(challengeId: $c, credential: $cred) { accessToken } }";
    let args = json!({ "c": begun["challengeId"], "cred": assertion });
    hook.answer_with(503, "{}", 0);
    let (_, body) = app.gql(finish, args.clone()).await;
    assert_eq!(code(&body), "HOOK_FAILED", "{body}");
    hook.answer_with(200, "{}", 0);
    let (_, body) = app.gql(finish, args).await;
    assert!(
        body["data"]["finishPasskeyLogin"]["accessToken"].is_string(),
        "{body}"
    );
}

/// Review finding: the hook's call comes between the password check and
/// the session's write, so an account deactivated (or reset) meanwhile
/// must not get the session.
#[tokio::test]
async fn an_account_deactivated_while_the_hook_answers_gets_no_session() {
    let hook = Receiver::start().await;
    hook.answer_with(200, "{}", 0);
    let app = spawn(&hook, &[("HOOK_TIMEOUT", "5s")]).await;
    let staff = app.staff_user("staff@example.com").await;
    let id = app.activated_user("late@example.com").await;
    hook.answer_with(200, "{}", 1500);
    let login = app.login("late@example.com", PASSWORD);
    let deactivate = async {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        app.gql_as(
            Some(&staff.bearer()),
            "mutation($id: ID!) { setUserActive(id: $id, active: false) { isActive } }",
            json!({ "id": id }),
        )
        .await
    };
    let (body, (_, deactivated)) = tokio::join!(login, deactivate);
    assert_eq!(
        deactivated["data"]["setUserActive"]["isActive"], false,
        "{deactivated}"
    );
    assert!(
        body["data"]["login"].is_null(),
        "a session for a deactivated account: {body}"
    );
}
