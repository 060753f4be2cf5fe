//! Changing, re-keying and deleting an OAuth client (API.md §9.3): an
//! update applies at once, a rotation replaces the secret, and a deletion
//! takes the client's grants and ends its sessions, each an event of the
//! staff user alone.

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{code, spawn_app};
use crate::oauth_clients::{
    DELETE, GET, ROTATE, UPDATE, is_base64url, made, sha256_hex, stored, valid,
};

const EVENTS: &str = "query($t: [SecurityEventType!]) { securityEvents(first: 20, filter: { types: $t }) { nodes { type } } }";

fn event_types(body: &Value) -> Vec<String> {
    body["data"]["securityEvents"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|n| n["type"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn staff_update_rotate_and_delete_a_client_as_events_of_their_own() {
    let app = spawn_app().await;
    let staff = app.staff_user("staff@example.com").await;
    let auth = staff.bearer();
    let (id, old) = made(&app, &auth, valid("Shop")).await;
    let before = stored(&app, &id).await;

    let uris = json!([
        "https://app.example/cb",
        "com.example.app:/cb",
        "http://127.0.0.1/cb"
    ]);
    let change = json!({
        "name": "  Shop 2  ",
        "redirectUris": uris,
        "postLogoutRedirectUris": ["https://app.example/bye"],
        "allowedScopes": ["profile", "openid"],
        "skipConsent": true,
    });
    let (_, body) = app
        .gql_as(Some(&auth), UPDATE, json!({ "id": id, "i": change }))
        .await;
    let updated = &body["data"]["updateOAuthClient"];
    assert_eq!(updated["name"], "Shop 2", "{body}");
    assert_eq!(updated["redirectUris"], uris);
    assert_eq!(
        updated["postLogoutRedirectUris"],
        json!(["https://app.example/bye"])
    );
    assert_eq!(updated["allowedScopes"], json!(["openid", "profile"]));
    assert_eq!(updated["skipConsent"], true);
    assert!(stored(&app, &id).await.updated_at > before.updated_at);
    // Only what is given changes.
    for change in [json!({}), json!({ "skipConsent": false })] {
        let (_, body) = app
            .gql_as(Some(&auth), UPDATE, json!({ "id": id, "i": change }))
            .await;
        let updated = &body["data"]["updateOAuthClient"];
        assert_eq!(
            (&updated["name"], &updated["redirectUris"]),
            (&json!("Shop 2"), &uris),
            "{body}"
        );
    }

    let (_, body) = app.gql_as(Some(&auth), ROTATE, json!({ "id": id })).await;
    let new = body["data"]["rotateOAuthClientSecret"]["clientSecret"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    assert!(new.len() >= 43 && is_base64url(&new), "{new}");
    assert_ne!(Some(new.as_str()), old.as_str());
    let row = stored(&app, &id).await;
    assert_eq!(
        row.secret_hash,
        Some(sha256_hex(&new)),
        "the old one is gone"
    );
    assert!(row.secret_created_at > before.secret_created_at);

    // A session of the client's (as the token endpoint opens them) and the
    // staff user's grant to it.
    let db = app.db_conn().await;
    let client_id: Uuid = id.parse().unwrap();
    let staff_id: Uuid = staff.id.parse().unwrap();
    let own = entity::session::Entity::find()
        .filter(entity::session::Column::UserId.eq(staff_id))
        .one(&db)
        .await
        .unwrap()
        .expect("the staff user's session");
    let mut oauth_session = own.clone();
    oauth_session.id = Uuid::new_v4();
    oauth_session.oauth_client_id = Some(client_id);
    entity::session::ActiveModel::from(oauth_session.clone())
        .insert(&db)
        .await
        .unwrap();
    entity::oauth_grant::ActiveModel {
        id: Set(Uuid::new_v4()),
        user_id: Set(staff_id),
        client_id: Set(client_id),
        scopes: Set("openid profile".into()),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(&db)
    .await
    .unwrap();

    let (_, body) = app.gql_as(Some(&auth), DELETE, json!({ "id": id })).await;
    assert_eq!(body["data"]["deleteOAuthClient"], true, "{body}");
    let (_, body) = app.gql_as(Some(&auth), GET, json!({ "id": id })).await;
    assert!(
        body["data"]["oauthClient"].is_null() && body["errors"].is_null(),
        "{body}"
    );
    for query in [DELETE, ROTATE] {
        let (_, body) = app.gql_as(Some(&auth), query, json!({ "id": id })).await;
        assert_eq!(code(&body), "NOT_FOUND", "{query}: {body}");
    }
    let session = |id: Uuid| {
        let db = db.clone();
        async move {
            entity::session::Entity::find_by_id(id)
                .one(&db)
                .await
                .unwrap()
                .unwrap()
        }
    };
    assert!(session(oauth_session.id).await.revoked_at.is_some());
    assert!(session(own.id).await.revoked_at.is_none());
    let grants = entity::oauth_grant::Entity::find()
        .filter(entity::oauth_grant::Column::ClientId.eq(client_id))
        .all(&db)
        .await
        .unwrap();
    assert!(grants.is_empty(), "{grants:?}");

    // The staff user's events, newest first; none for the grant's user.
    let (_, body) = app
        .gql_as(
            Some(&auth),
            EVENTS,
            json!({ "t": [
                "OAUTH_CLIENT_CREATED",
                "OAUTH_CLIENT_UPDATED",
                "OAUTH_CLIENT_SECRET_ROTATED",
                "OAUTH_CLIENT_DELETED",
                "OAUTH_GRANT_REVOKED"
            ] }),
        )
        .await;
    assert_eq!(
        event_types(&body),
        [
            "OAUTH_CLIENT_DELETED",
            "OAUTH_CLIENT_SECRET_ROTATED",
            "OAUTH_CLIENT_UPDATED",
            "OAUTH_CLIENT_UPDATED",
            "OAUTH_CLIENT_UPDATED",
            "OAUTH_CLIENT_CREATED",
        ]
    );
}

#[tokio::test]
async fn a_dynamically_registered_client_always_asks_consent() {
    let app = spawn_app().await;
    let staff = app.staff_user("staff@example.com").await;
    let auth = staff.bearer();
    let (id, _) = made(&app, &auth, valid("Registered")).await;
    entity::oauth_client::Entity::update_many()
        .col_expr(entity::oauth_client::Column::Dynamic, Expr::value(true))
        .filter(entity::oauth_client::Column::Id.eq(id.parse::<Uuid>().unwrap()))
        .exec(&app.db_conn().await)
        .await
        .unwrap();
    let (_, body) = app
        .gql_as(
            Some(&auth),
            UPDATE,
            json!({ "id": id, "i": { "skipConsent": true } }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert!(body["errors"][0]["extensions"]["fields"]["skipConsent"].is_array());
    let (_, body) = app
        .gql_as(
            Some(&auth),
            UPDATE,
            json!({ "id": id, "i": { "name": "Renamed" } }),
        )
        .await;
    assert_eq!(
        body["data"]["updateOAuthClient"]["name"], "Renamed",
        "{body}"
    );
    assert!(!stored(&app, &id).await.skip_consent);
}
