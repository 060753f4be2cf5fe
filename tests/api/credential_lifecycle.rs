//! The credential lifecycle (API.md §8.8), as the round-3 review attacked
//! it: a silently added passkey that outlived a reset, a flood of sign-in
//! code mails, a session thief's pending address change, staff who are not
//! superusers acting on superusers.

use std::time::Duration;

use serde_json::json;

use crate::assurance::{passkey_sign_in, register_passkey};
use crate::helpers::passkey::{Authenticator, SETTINGS};
use crate::helpers::two_factor::with_two_factor;
use crate::helpers::{PASSWORD, TestApp, TestUser, code, mail, spawn_app, spawn_app_with};

/// The review's second finding: a passkey added by a session thief was
/// silent and outlived the owner's password reset. Now the owner is mailed
/// on add and remove, and the reset ends it and says so.
#[tokio::test]
async fn a_passkey_is_announced_and_ends_at_a_password_reset() {
    let app = spawn_app_with(&SETTINGS).await;
    let thief = app.signed_in_user("owner@example.com").await;
    let mut key = Authenticator::default();
    let body = register_passkey(&app, &thief, &mut key).await;
    assert!(body["errors"].is_null(), "{body}");
    let mails = mail::wait_for(&app.mail_dir, "owner@example.com", 2).await;
    assert!(
        mails
            .iter()
            .any(|m| m.subject.contains("passkey") && m.text.contains("Thief's key")),
        "{mails:?}"
    );

    let (_, _) = app
        .gql(
            "mutation { requestPasswordReset(email: \"owner@example.com\") }",
            json!({}),
        )
        .await;
    let mails = mail::wait_for(&app.mail_dir, "owner@example.com", 3).await;
    let (uid, token) = mails.last().unwrap().link("reset-password");
    let (_, body) = app
        .gql(
            "mutation($u: String!, $t: String!, $p: String!) { resetPassword(uid: $u, token: $t, newPassword: $p, confirmPassword: $p) }",
            json!({ "u": uid, "t": token, "p": "a completely different secret 93" }),
        )
        .await;
    assert_eq!(body["data"]["resetPassword"], true, "{body}");
    let mails = mail::wait_for(&app.mail_dir, "owner@example.com", 4).await;
    let notice = mails.last().unwrap();
    assert!(
        notice.text.contains("Thief's key"),
        "the reset notice lists the passkey it ended: {}",
        notice.text
    );
    let body = passkey_sign_in(&app, &mut key).await;
    assert_eq!(code(&body), "INVALID_CREDENTIALS", "{body}");
}

/// The review's third finding: right-password logins queued unlimited
/// urgent code mails. The sixth in a window is `RATE_LIMITED`, unmailed.
#[tokio::test]
async fn the_sixth_sign_in_code_in_a_window_is_refused_and_not_mailed() {
    let app = spawn_app().await;
    with_two_factor(&app, "flooded@example.com").await;
    for _ in 0..5 {
        let body = app.login("flooded@example.com", PASSWORD).await;
        assert_eq!(
            body["data"]["login"]["__typename"], "OtpChallenge",
            "{body}"
        );
    }
    let mailed = mail::wait_for(&app.mail_dir, "flooded@example.com", 7)
        .await
        .len();
    let body = app.login("flooded@example.com", PASSWORD).await;
    assert_eq!(code(&body), "RATE_LIMITED", "{body}");
    assert!(
        body["errors"][0]["extensions"]["retryAfter"]
            .as_u64()
            .unwrap()
            > 0
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        mail::settled(&app.mail_dir, "flooded@example.com")
            .await
            .len(),
        mailed
    );
}

/// The review's fourth finding: a session thief's address change could be
/// confirmed after the owner signed out everywhere.
#[tokio::test]
async fn a_pending_email_change_dies_with_sign_out_everywhere() {
    let app = spawn_app().await;
    let user = app.signed_in_user("moving@example.com").await;
    let body = app.login("moving@example.com", PASSWORD).await;
    let thief = format!(
        "Bearer {}",
        body["data"]["login"]["accessToken"].as_str().unwrap()
    );
    let (_, body) = app
        .gql_as(
            Some(&thief),
            "mutation { requestEmailChange(newEmail: \"thief@example.com\") }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["requestEmailChange"], true, "{body}");
    let link = mail::wait_for(&app.mail_dir, "thief@example.com", 1).await;
    let (uid, token) = link[0].link("confirm-email");
    let (_, body) = app
        .gql_as(
            Some(&user.bearer()),
            "mutation { logout(allSessions: true) }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["logout"], true, "{body}");
    let (_, body) = app
        .gql(
            "mutation($u: String!, $t: String!) { confirmEmailChange(uid: $u, token: $t) { email } }",
            json!({ "u": uid, "t": token }),
        )
        .await;
    assert_eq!(code(&body), "INVALID_TOKEN", "{body}");
    assert!(
        app.login("moving@example.com", PASSWORD).await["data"]["login"]["accessToken"].is_string()
    );
}

async fn make_superuser(app: &TestApp, user: &TestUser) {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    entity::user::Entity::update_many()
        .col_expr(entity::user::Column::IsStaff, Expr::value(true))
        .col_expr(entity::user::Column::IsSuperuser, Expr::value(true))
        .filter(entity::user::Column::Id.eq(user.id.parse::<uuid::Uuid>().unwrap()))
        .exec(&app.db_conn().await)
        .await
        .unwrap();
}

/// The review's fifth finding: staff who are not superusers deactivated
/// superusers. And the lost phone: a superuser turns the factors off.
#[tokio::test]
async fn only_a_superuser_deactivates_staff_or_resets_second_factors() {
    let app = spawn_app().await;
    let root = app.signed_in_user("root@example.com").await;
    make_superuser(&app, &root).await;
    let other_root = app.signed_in_user("root2@example.com").await;
    make_superuser(&app, &other_root).await;
    let staff = app.staff_user("staff@example.com").await;
    let colleague = app.staff_user("colleague@example.com").await;
    let set_active =
        "mutation($id: ID!, $a: Boolean!) { setUserActive(id: $id, active: $a) { isActive } }";
    for target in [&root.id, &colleague.id] {
        let (_, body) = app
            .gql_as(
                Some(&staff.bearer()),
                set_active,
                json!({ "id": target, "a": false }),
            )
            .await;
        assert_eq!(code(&body), "FORBIDDEN", "{body}");
    }
    let (_, body) = app
        .gql_as(
            Some(&root.bearer()),
            set_active,
            json!({ "id": colleague.id, "a": false }),
        )
        .await;
    assert_eq!(body["data"]["setUserActive"]["isActive"], false, "{body}");

    let phone = app.signed_in_user("lost@example.com").await;
    crate::helpers::authenticator::enrol(&app, &phone, 0).await;
    let reset = "mutation($id: ID!) { resetSecondFactors(userId: $id) { twoFactorEnabled twoFactorMethods } }";
    let (_, body) = app
        .gql_as(Some(&staff.bearer()), reset, json!({ "id": phone.id }))
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let before = app.mails_to_count("lost@example.com");
    let (_, body) = app
        .gql_as(Some(&root.bearer()), reset, json!({ "id": phone.id }))
        .await;
    assert_eq!(
        body["data"]["resetSecondFactors"]["twoFactorMethods"],
        json!([]),
        "{body}"
    );
    let (status, _) = app
        .gql_as(Some(&phone.bearer()), "{ me { id } }", json!({}))
        .await;
    assert_eq!(status, 401, "the user's sessions ended");
    mail::wait_for(&app.mail_dir, "lost@example.com", before + 1).await;
    let body = app.login("lost@example.com", PASSWORD).await;
    assert!(body["data"]["login"]["accessToken"].is_string(), "{body}");
    let (_, events) = app
        .gql_as(
            Some(&root.bearer()),
            "query($u: ID!) { securityEvents(userId: $u, first: 20) { edges { node { type } } } }",
            json!({ "u": phone.id }),
        )
        .await;
    assert!(
        events.to_string().contains("SECOND_FACTORS_RESET"),
        "{events}"
    );
}
