//! Fresh sessions, API tokens, session lifetime, mail that cannot be
//! silenced and staff that cannot lock the house (API.md §8.1), each
//! written as what an attacker (or a careless admin) does.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::two_factor::with_two_factor;
use crate::helpers::{PASSWORD, TestApp, code, mail, spawn_app, spawn_app_with, spawn_process};

const CREATE_TOKEN: &str = "mutation { createApiToken(name: \"ci\") { token apiToken { id } } }";
const REAUTH: &str = "mutation($p: String!) { reauthenticate(password: $p) { __typename ... on ReauthenticateOk { authenticatedAt } ... on OtpChallenge { challengeId method sentTo } } }";
const VERIFY: &str = "mutation($id: ID!, $c: String!) { verifyOtp(challengeId: $id, code: $c) { accessToken refreshToken } }";
const ME: &str = "{ me { id } }";
const SET_ACTIVE: &str =
    "mutation($id: ID!, $a: Boolean!) { setUserActive(id: $id, active: $a) { isActive } }";

async fn sessions(app: &TestApp, auth: &str) -> Value {
    app.gql_as(Some(auth), "{ sessions { id current } }", json!({}))
        .await
        .1
}

async fn create_token(app: &TestApp, auth: &str) -> Value {
    app.gql_as(Some(auth), CREATE_TOKEN, json!({})).await.1
}

/// A stolen access token used to mint a never-expiring API token that
/// survived the victim's password reset. Now minting needs a sign-in
/// within PRIVILEGED_SESSION_TTL, and an API token can never mint one.
#[tokio::test]
async fn an_old_access_token_cannot_mint_an_api_token_until_reauthenticate() {
    let app = spawn_app_with(&[("PRIVILEGED_SESSION_TTL", "1s")]).await;
    let user = app.signed_in_user("stale@example.com").await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let body = create_token(&app, &user.bearer()).await;
    assert_eq!(code(&body), "REAUTHENTICATION_REQUIRED", "{body}");

    let (_, body) = app
        .gql_as(
            Some(&user.bearer()),
            REAUTH,
            json!({ "p": "wrong password!!" }),
        )
        .await;
    assert_eq!(code(&body), "INVALID_CREDENTIALS", "{body}");
    let (_, body) = app
        .gql_as(Some(&user.bearer()), REAUTH, json!({ "p": PASSWORD }))
        .await;
    assert_eq!(
        body["data"]["reauthenticate"]["__typename"], "ReauthenticateOk",
        "{body}"
    );
    let (_, sessions) = app
        .gql_as(
            Some(&user.bearer()),
            "{ sessions { current authenticatedAt } }",
            json!({}),
        )
        .await;
    let current = &sessions["data"]["sessions"][0];
    assert_eq!(current["current"], true);
    assert_eq!(
        current["authenticatedAt"],
        body["data"]["reauthenticate"]["authenticatedAt"]
    );

    let body = create_token(&app, &user.bearer()).await;
    let token = body["data"]["createApiToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let notices = mail::wait_for(&app.mail_dir, "stale@example.com", 2).await;
    assert!(
        notices.iter().any(|m| m.text.contains("API token")),
        "{notices:?}"
    );

    // An API token is never fresh: it can neither mint nor re-authenticate.
    let as_token = format!("Token {token}");
    assert_eq!(code(&create_token(&app, &as_token).await), "FORBIDDEN");
    let (_, body) = app
        .gql_as(Some(&as_token), REAUTH, json!({ "p": PASSWORD }))
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
}

/// With two-factor on, the password alone does not make a session fresh:
/// the mailed code does, and `verifyOtp` answers new tokens for the same
/// session.
#[tokio::test]
async fn reauthenticating_with_two_factor_takes_the_mailed_code() {
    let app = spawn_app_with(&[("PRIVILEGED_SESSION_TTL", "1s")]).await;
    with_two_factor(&app, "twice@example.com").await;
    let (id, right) = crate::helpers::two_factor::challenge(&app, "twice@example.com").await;
    let (_, body) = app.gql(VERIFY, json!({ "id": id, "c": right })).await;
    let bearer = format!(
        "Bearer {}",
        body["data"]["verifyOtp"]["accessToken"].as_str().unwrap()
    );
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(
        code(&create_token(&app, &bearer).await),
        "REAUTHENTICATION_REQUIRED"
    );

    let sessions_before = sessions(&app, &bearer).await;
    let before = app.mails_to_count("twice@example.com");
    let (_, body) = app
        .gql_as(Some(&bearer), REAUTH, json!({ "p": PASSWORD }))
        .await;
    let challenge = &body["data"]["reauthenticate"];
    assert_eq!(challenge["__typename"], "OtpChallenge", "{body}");
    assert_eq!(challenge["method"], "EMAIL");
    // Still not fresh until the code comes back.
    assert_eq!(
        code(&create_token(&app, &bearer).await),
        "REAUTHENTICATION_REQUIRED"
    );
    let code_mail = mail::wait_for(&app.mail_dir, "twice@example.com", before + 1).await;
    let (_, body) = app
        .gql(
            VERIFY,
            json!({ "id": challenge["challengeId"], "c": code_mail.last().unwrap().code() }),
        )
        .await;
    let renewed = format!(
        "Bearer {}",
        body["data"]["verifyOtp"]["accessToken"].as_str().unwrap()
    );
    // The same session, renewed: no new one was opened.
    assert_eq!(sessions(&app, &renewed).await, sessions_before);
    let body = create_token(&app, &bearer).await;
    assert!(
        body["data"]["createApiToken"]["token"].is_string(),
        "{body}"
    );
}

/// The victim resets the password (or staff deactivate the account): the
/// API token the attacker minted is dead on the next request, on every
/// instance.
#[tokio::test]
async fn a_reset_and_a_deactivation_revoke_api_tokens_on_the_next_request() {
    let app = spawn_app().await;
    let other = spawn_process(&app.db.url, &app.mail_dir, &[]).await;
    let user = app.signed_in_user("victim@example.com").await;
    let token = create_token(&app, &user.bearer()).await["data"]["createApiToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let as_token = format!("Token {token}");
    let (status, _) = app.gql_as(Some(&as_token), ME, json!({})).await;
    assert_eq!(status, 200);

    app.gql(
        "mutation($e: String!) { requestPasswordReset(email: $e) }",
        json!({ "e": "victim@example.com" }),
    )
    .await;
    let reset = mail::wait_for(&app.mail_dir, "victim@example.com", 3).await;
    let (uid, reset_token) = reset.last().unwrap().link("reset-password");
    let (_, body) = app
        .gql(
            "mutation($u: String!, $t: String!, $n: String!) { resetPassword(uid: $u, token: $t, newPassword: $n, confirmPassword: $n) }",
            json!({ "u": uid, "t": reset_token, "n": "a brand new passphrase 9" }),
        )
        .await;
    assert_eq!(body["data"]["resetPassword"], true, "{body}");
    let resp = app
        .client
        .post(format!("{}/graphql", other.base))
        .header("authorization", &as_token)
        .json(&json!({ "query": ME }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        401,
        "the other instance still took it"
    );

    // Deactivation by staff does the same.
    let staff = app.staff_user("staff@example.com").await;
    let member = app.signed_in_user("member@example.com").await;
    let token = create_token(&app, &member.bearer()).await["data"]["createApiToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, body) = app
        .gql_as(
            Some(&staff.bearer()),
            SET_ACTIVE,
            json!({ "id": member.id, "a": false }),
        )
        .await;
    assert_eq!(body["data"]["setUserActive"]["isActive"], false, "{body}");
    let (status, _) = app
        .gql_as(Some(&format!("Token {token}")), ME, json!({}))
        .await;
    assert_eq!(status, 401);
}

/// A refreshed session used to live for ever; now it ends SESSION_MAX_AGE
/// after its login, however often it is refreshed.
#[tokio::test]
async fn a_session_ends_at_its_max_age_however_often_it_is_refreshed() {
    let app = spawn_app_with(&[("SESSION_MAX_AGE", "2s"), ("REFRESH_TOKEN_TTL", "1d")]).await;
    let user = app.signed_in_user("ageing@example.com").await;
    let refresh =
        "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }";
    let (_, body) = app.gql(refresh, json!({ "t": user.refresh_token })).await;
    let next = body["data"]["refreshToken"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let access = body["data"]["refreshToken"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let (_, body) = app.gql(refresh, json!({ "t": next })).await;
    assert_eq!(code(&body), "INVALID_TOKEN", "{body}");
    let (status, _) = app
        .gql_as(Some(&format!("Bearer {access}")), ME, json!({}))
        .await;
    assert_eq!(status, 401);
}

/// A stranger spends the address's anonymous mail budget with reset
/// requests; sign-in codes and security notices still arrive.
#[tokio::test]
async fn codes_and_notices_arrive_with_the_anonymous_budget_spent() {
    let app = spawn_app_with(&[("MAIL_RATE_LIMIT", "2/1h")]).await;
    with_two_factor(&app, "silenced@example.com").await;
    let before = app.mails_to_count("silenced@example.com");
    for _ in 0..4 {
        app.gql(
            "mutation($e: String!) { requestPasswordReset(email: $e) }",
            json!({ "e": "silenced@example.com" }),
        )
        .await;
    }
    // Activation took one of the two; one reset link got through.
    let after_flood = mail::settled(&app.mail_dir, "silenced@example.com")
        .await
        .len();
    assert_eq!(after_flood, before + 1);
    let (id, right) = crate::helpers::two_factor::challenge(&app, "silenced@example.com").await;
    let (_, body) = app.gql(VERIFY, json!({ "id": id, "c": right })).await;
    let bearer = format!(
        "Bearer {}",
        body["data"]["verifyOtp"]["accessToken"].as_str().unwrap()
    );
    let (_, body) = app
        .gql_as(
            Some(&bearer),
            "mutation($p: String!) { disableTwoFactor(password: $p) { twoFactorEnabled } }",
            json!({ "p": PASSWORD }),
        )
        .await;
    assert_eq!(
        body["data"]["disableTwoFactor"]["twoFactorEnabled"], false,
        "{body}"
    );
    let mails = mail::wait_for(&app.mail_dir, "silenced@example.com", after_flood + 2).await;
    assert!(
        mails
            .iter()
            .any(|m| m.subject.contains("two-factor sign-in was turned off"))
    );
}

#[tokio::test]
async fn staff_cannot_deactivate_themselves_or_the_last_superuser() {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let app = spawn_app().await;
    let admin = app.staff_user("root@example.com").await;
    let staff = app.staff_user("helper@example.com").await;
    entity::user::Entity::update_many()
        .col_expr(entity::user::Column::IsSuperuser, Expr::value(true))
        .filter(entity::user::Column::Id.eq(admin.id.parse::<uuid::Uuid>().unwrap()))
        .exec(&app.db_conn().await)
        .await
        .unwrap();
    for (who, target) in [
        (&admin, &admin.id),
        (&staff, &staff.id),
        (&staff, &admin.id),
    ] {
        let (_, body) = app
            .gql_as(
                Some(&who.bearer()),
                SET_ACTIVE,
                json!({ "id": target, "a": false }),
            )
            .await;
        assert_eq!(code(&body), "FORBIDDEN", "{body}");
    }
    let (status, _) = app.gql_as(Some(&admin.bearer()), ME, json!({})).await;
    assert_eq!(status, 200, "the superuser is still in");
    // The admin may deactivate the other staff member.
    let (_, body) = app
        .gql_as(
            Some(&admin.bearer()),
            SET_ACTIVE,
            json!({ "id": staff.id, "a": false }),
        )
        .await;
    assert_eq!(body["data"]["setUserActive"]["isActive"], false, "{body}");
}

/// Staff deactivate an account that was never activated; its owner tries
/// every way back in that a new account has.
#[tokio::test]
async fn a_staff_deactivated_account_cannot_reactivate_itself() {
    let app = spawn_app().await;
    let staff = app.staff_user("boss@example.com").await;
    app.register("banned@example.com", PASSWORD).await;
    let first = mail::wait_for(&app.mail_dir, "banned@example.com", 1).await[0].clone();
    let db = app.db_conn().await;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let id = entity::user::Entity::find()
        .filter(entity::user::Column::EmailKey.eq("banned@example.com"))
        .one(&db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let (_, body) = app
        .gql_as(
            Some(&staff.bearer()),
            SET_ACTIVE,
            json!({ "id": id.to_string(), "a": false }),
        )
        .await;
    assert_eq!(body["data"]["setUserActive"]["isActive"], false, "{body}");
    // The activation mail and the deactivation notice.
    let notices = mail::wait_for(&app.mail_dir, "banned@example.com", 2)
        .await
        .len();

    let (_, body) = app
        .gql(
            "mutation($e: String!) { resendActivationEmail(email: $e) }",
            json!({ "e": "banned@example.com" }),
        )
        .await;
    assert_eq!(body["data"]["resendActivationEmail"], true);
    let (_, body) = app
        .gql(
            "mutation($e: String!, $c: String!) { activateAccountWithCode(email: $e, code: $c) { id } }",
            json!({ "e": "banned@example.com", "c": first.code() }),
        )
        .await;
    assert_eq!(code(&body), "INVALID_TOKEN", "{body}");
    let (uid, token) = first.link("activate");
    let (_, body) = app
        .gql(
            "mutation($u: String!, $t: String!) { activateAccount(uid: $u, token: $t) { id } }",
            json!({ "u": uid, "t": token }),
        )
        .await;
    assert_eq!(code(&body), "INVALID_TOKEN", "{body}");
    assert_eq!(
        code(&app.login("banned@example.com", PASSWORD).await),
        "ACCOUNT_NOT_ACTIVE"
    );
    assert_eq!(
        mail::settled(&app.mail_dir, "banned@example.com")
            .await
            .len(),
        notices,
        "the resend mailed a way back in"
    );
}
