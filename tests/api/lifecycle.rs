//! An account's life after sign-up (API.md §8.5): deleting it, and
//! changing its address.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, code, mail, products, spawn_app, spawn_process};

const DELETE: &str = "mutation($p: String!) { deleteAccount(password: $p) }";
const ME: &str = "{ me { id } }";

async fn status_on(app: &TestApp, base: &str, auth: &str) -> u16 {
    app.client
        .post(format!("{base}/graphql"))
        .header("authorization", auth)
        .json(&json!({ "query": ME }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn make_superuser(app: &TestApp, id: &str) {
    use sea_orm::sea_query::Expr;
    entity::user::Entity::update_many()
        .col_expr(entity::user::Column::IsSuperuser, Expr::value(true))
        .col_expr(entity::user::Column::IsStaff, Expr::value(true))
        .filter(entity::user::Column::Id.eq(id.parse::<uuid::Uuid>().unwrap()))
        .exec(&app.db_conn().await)
        .await
        .unwrap();
}

/// Deletion takes everything with it at once: every token fails on the
/// next request on every instance, the products are gone, and the address
/// and username can be registered again.
#[tokio::test]
async fn a_deleted_account_is_gone_everywhere_and_its_names_are_free() {
    let app = spawn_app().await;
    let other = spawn_process(&app.db.url, &app.mail_dir, &[]).await;
    let email = "leaving@example.com";
    let user = app.signed_in_user(email).await;
    let (_, body) = app
        .gql_as(
            Some(&user.bearer()),
            "mutation { updateProfile(input: { username: \"leaver\" }) { username } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["updateProfile"]["username"], "leaver",
        "{body}"
    );
    let api_token = app.api_token(&user.bearer()).await;
    let product = products::create(
        &app,
        &user.bearer(),
        json!({ "name": "Mine", "priceCents": 100 }),
    )
    .await;
    let product_id = product["id"].as_str().unwrap().to_owned();
    assert_eq!(status_on(&app, &other.base, &api_token).await, 200);

    let (_, body) = app
        .gql_as(
            Some(&user.bearer()),
            DELETE,
            json!({ "p": "not my password!" }),
        )
        .await;
    assert_eq!(code(&body), "INVALID_CREDENTIALS", "{body}");
    let (_, body) = app
        .gql_as(Some(&user.bearer()), DELETE, json!({ "p": PASSWORD }))
        .await;
    assert_eq!(body["data"]["deleteAccount"], true, "{body}");

    for auth in [user.bearer(), api_token] {
        assert_eq!(status_on(&app, &other.base, &auth).await, 401, "{auth}");
        assert_eq!(status_on(&app, &app.base, &auth).await, 401, "{auth}");
    }
    let (_, body) = app
        .gql(
            "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
            json!({ "t": user.refresh_token }),
        )
        .await;
    assert_eq!(code(&body), "INVALID_TOKEN", "{body}");
    assert_eq!(
        code(&app.login(email, PASSWORD).await),
        "INVALID_CREDENTIALS"
    );
    let (_, body) = app
        .gql(
            &format!("{{ product(id: \"{product_id}\") {{ id }} }}"),
            json!({}),
        )
        .await;
    assert!(body["data"]["product"].is_null(), "{body}");
    let mails = mail::wait_for(&app.mail_dir, email, 3).await;
    assert_eq!(mails.last().unwrap().subject, "Your account was deleted");

    // Only the deletion itself stays on record, under the former id.
    let rows = entity::security_event::Entity::find()
        .filter(entity::security_event::Column::UserId.eq(user.id.parse::<uuid::Uuid>().unwrap()))
        .all(&app.db_conn().await)
        .await
        .unwrap();
    let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["ACCOUNT_DELETED"]);

    // The address and the username are free again.
    let (_, body) = app
        .gql(
            "mutation($i: RegisterInput!) { register(input: $i) { email } }",
            json!({ "i": { "email": email, "password": PASSWORD, "confirmPassword": PASSWORD, "username": "leaver" } }),
        )
        .await;
    assert_eq!(body["data"]["register"]["email"], email, "{body}");
    let mails = mail::wait_for(&app.mail_dir, email, 4).await;
    assert!(
        mails.last().unwrap().text.contains("/activate/"),
        "{:?}",
        mails.last()
    );
}

/// The last active superuser cannot delete themself (the house would have
/// no one to run it); with another one, they can.
#[tokio::test]
async fn the_last_superuser_cannot_delete_themself() {
    let app = spawn_app().await;
    let root = app.signed_in_user("root@example.com").await;
    make_superuser(&app, &root.id).await;
    let (_, body) = app
        .gql_as(Some(&root.bearer()), DELETE, json!({ "p": PASSWORD }))
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let (_, body): (u16, Value) = app.gql_as(Some(&root.bearer()), ME, json!({})).await;
    assert!(body["data"]["me"]["id"].is_string(), "{body}");

    let second = app.signed_in_user("root2@example.com").await;
    make_superuser(&app, &second.id).await;
    let (_, body) = app
        .gql_as(Some(&root.bearer()), DELETE, json!({ "p": PASSWORD }))
        .await;
    assert_eq!(body["data"]["deleteAccount"], true, "{body}");
}
