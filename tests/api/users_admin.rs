//! The staff users admin: staff-only queries, and (de)activation that takes
//! effect at once.

use serde_json::{Value, json};

use crate::helpers::{code, mail, spawn_app};

#[tokio::test]
async fn user_queries_are_for_staff_only() {
    let app = spawn_app().await;
    let member = app.signed_in_user("member@example.com").await;
    let staff = app.staff_user("admin@example.com").await.bearer();
    let q = "{ users(first: 10, orderBy: {field: EMAIL, direction: ASC}) { nodes { email } totalCount } usersPage { totalCount items { id } } }";
    let (_, body) = app.gql(q, json!({})).await;
    assert_eq!(code(&body), "UNAUTHENTICATED");
    let (_, body) = app.gql_as(Some(&member.bearer()), q, json!({})).await;
    assert_eq!(code(&body), "FORBIDDEN");
    let (_, body) = app.gql_as(Some(&staff), q, json!({})).await;
    assert_eq!(
        body["data"]["users"]["nodes"],
        json!([{ "email": "admin@example.com" }, { "email": "member@example.com" }])
    );
    assert_eq!(body["data"]["usersPage"]["totalCount"], 2);
    let (_, body) = app
        .gql_as(
            Some(&staff),
            &format!("{{ user(id: \"{}\") {{ email isStaff }} }}", member.id),
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["user"],
        json!({ "email": "member@example.com", "isStaff": false })
    );
    let (_, body) = app
        .gql_as(
            Some(&staff),
            &format!("{{ user(id: \"{}\") {{ email }} }}", uuid::Uuid::new_v4()),
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["user"], Value::Null);
    let (_, body) = app.gql_as(Some(&staff), "{ users(filter: {search: \"MEMBER\", isStaff: false, isActive: true}) { nodes { email } } }", json!({})).await;
    assert_eq!(
        body["data"]["users"]["nodes"],
        json!([{ "email": "member@example.com" }])
    );
    let (_, body) = app
        .gql_as(
            Some(&staff),
            "{ users(filter: {isStaff: true}) { nodes { email } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["users"]["nodes"],
        json!([{ "email": "admin@example.com" }])
    );
}

#[tokio::test]
async fn set_user_active_mails_the_user_and_deactivation_takes_effect_at_once() {
    let app = spawn_app().await;
    let member = app.signed_in_user("target@example.com").await;
    let staff = app.staff_user("boss@example.com").await.bearer();
    let q = "mutation($id: ID!, $a: Boolean!) { setUserActive(id: $id, active: $a) { isActive } }";
    let (_, body) = app
        .gql_as(
            Some(&member.bearer()),
            q,
            json!({ "id": member.id, "a": false }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    let (_, body) = app
        .gql_as(Some(&staff), q, json!({ "id": member.id, "a": false }))
        .await;
    assert_eq!(body["data"]["setUserActive"]["isActive"], false);
    assert_eq!(
        app.gql_as(Some(&member.bearer()), "{ me { id } }", json!({}))
            .await
            .0,
        401
    );
    assert_eq!(
        code(
            &app.login("target@example.com", crate::helpers::PASSWORD)
                .await
        ),
        "ACCOUNT_NOT_ACTIVE"
    );
    let (_, body) = app
        .gql(
            "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
            json!({ "t": member.refresh_token }),
        )
        .await;
    assert_eq!(code(&body), "INVALID_TOKEN");
    let mails = mail::wait_for(&app.mail_dir, "target@example.com", 2).await;
    assert!(
        mails[1].subject.contains("deactivated"),
        "{:?}",
        mails[1].subject
    );
    let (_, body) = app
        .gql_as(Some(&staff), q, json!({ "id": member.id, "a": true }))
        .await;
    assert_eq!(body["data"]["setUserActive"]["isActive"], true);
    assert_eq!(
        app.login("target@example.com", crate::helpers::PASSWORD)
            .await["data"]["login"]["__typename"],
        "AuthPayload"
    );
    let (_, body) = app
        .gql_as(
            Some(&staff),
            q,
            json!({ "id": uuid::Uuid::new_v4().to_string(), "a": true }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
}

/// Staff see each user's second factors in a list; the recovery-code
/// counts of a whole page come from one batched query.
#[tokio::test]
async fn staff_see_second_factors_across_a_page_of_users() {
    let app = spawn_app().await;
    let enrolled = app.signed_in_user("enrolled@example.com").await;
    crate::helpers::authenticator::enrol(&app, &enrolled, 0).await;
    app.signed_in_user("plain@example.com").await;
    let staff = app.staff_user("admin@example.com").await.bearer();
    let q = "{ users(first: 10, orderBy: {field: EMAIL, direction: ASC}) { nodes { email twoFactorMethods recoveryCodesLeft } } }";
    let (_, body) = app.gql_as(Some(&staff), q, json!({})).await;
    assert_eq!(
        body["data"]["users"]["nodes"],
        json!([
            { "email": "admin@example.com", "twoFactorMethods": [], "recoveryCodesLeft": 0 },
            { "email": "enrolled@example.com", "twoFactorMethods": ["TOTP"], "recoveryCodesLeft": 10 },
            { "email": "plain@example.com", "twoFactorMethods": [], "recoveryCodesLeft": 0 },
        ]),
        "{body}"
    );
}
