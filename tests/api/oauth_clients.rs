//! The OAuth provider's clients as staff manage them (API.md §9.3): the
//! secret shown once and stored only hashed, the input rules naming their
//! field, staff in a (fresh) session only, newest first, and a deletion
//! that ends every session of the client and records the staff user's
//! events.

use std::time::Duration;

use sea_orm::EntityTrait;
use serde_json::{Value, json};
use sha2::Digest;
use uuid::Uuid;

use crate::helpers::{PASSWORD, TestApp, code, spawn_app, spawn_app_with};

pub const CREATE: &str = "mutation($i: CreateOAuthClientInput!) { createOAuthClient(input: $i) { clientSecret client { id name type redirectUris postLogoutRedirectUris allowedScopes skipConsent dynamic createdAt updatedAt secretCreatedAt } } }";
pub const UPDATE: &str = "mutation($id: ID!, $i: UpdateOAuthClientInput!) { updateOAuthClient(id: $id, input: $i) { id name redirectUris postLogoutRedirectUris allowedScopes skipConsent updatedAt } }";
pub const ROTATE: &str = "mutation($id: ID!) { rotateOAuthClientSecret(id: $id) { clientSecret client { id secretCreatedAt } } }";
pub const DELETE: &str = "mutation($id: ID!) { deleteOAuthClient(id: $id) }";
pub const GET: &str = "query($id: ID!) { oauthClient(id: $id) { id name type secretCreatedAt } }";
pub const LIST: &str = "query($first: Int, $after: String) { oauthClients(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id } } nodes { id name type } } }";
pub const ALL_SCOPES: [&str; 4] = ["openid", "email", "profile", "offline_access"];

/// A valid confidential client's input.
pub fn valid(name: &str) -> Value {
    json!({ "name": name, "type": "CONFIDENTIAL", "redirectUris": ["https://app.example/callback"] })
}

pub fn with(mut input: Value, key: &str, value: Value) -> Value {
    input[key] = value;
    input
}

pub async fn create(app: &TestApp, auth: &str, input: Value) -> Value {
    app.gql_as(Some(auth), CREATE, json!({ "i": input }))
        .await
        .1
}

/// A new client's id and secret (null for a public one).
pub async fn made(app: &TestApp, auth: &str, input: Value) -> (String, Value) {
    let body = create(app, auth, input).await;
    let made = &body["data"]["createOAuthClient"];
    let id = made["client"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    (id, made["clientSecret"].clone())
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

pub async fn stored(app: &TestApp, id: &str) -> entity::oauth_client::Model {
    entity::oauth_client::Entity::find_by_id(id.parse::<Uuid>().unwrap())
        .one(&app.db_conn().await)
        .await
        .unwrap()
        .expect("the client is stored")
}

pub fn is_base64url(secret: &str) -> bool {
    secret
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[tokio::test]
async fn staff_create_a_confidential_client_whose_secret_is_shown_once() {
    let app = spawn_app().await;
    let staff = app.staff_user("staff@example.com").await;
    let body = create(&app, &staff.bearer(), valid("Shop")).await;
    let made = &body["data"]["createOAuthClient"];
    let secret = made["clientSecret"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    assert!(secret.len() >= 43 && is_base64url(&secret), "{secret}");
    let client = &made["client"];
    assert_eq!(
        (&client["name"], &client["type"], &client["dynamic"]),
        (&json!("Shop"), &json!("CONFIDENTIAL"), &json!(false))
    );
    assert_eq!(
        client["redirectUris"],
        json!(["https://app.example/callback"])
    );
    assert_eq!(client["postLogoutRedirectUris"], json!([]));
    assert_eq!(client["allowedScopes"], json!(ALL_SCOPES));
    assert_eq!(client["skipConsent"], false);
    assert!(client["secretCreatedAt"].is_string(), "{body}");
    let id = client["id"].as_str().unwrap().to_owned();
    id.parse::<Uuid>().expect("the client_id is a UUID");

    // Never shown again: no field holds it, and the reads do not.
    let (_, got) = app
        .gql_as(Some(&staff.bearer()), GET, json!({ "id": id }))
        .await;
    assert_eq!(got["data"]["oauthClient"]["name"], "Shop", "{got}");
    let (_, listed) = app.gql_as(Some(&staff.bearer()), LIST, json!({})).await;
    assert_eq!(listed["data"]["oauthClients"]["totalCount"], 1, "{listed}");
    for answer in [&got, &listed] {
        assert!(!answer.to_string().contains(&secret), "{answer}");
    }
    let (_, asked) = app
        .gql_as(
            Some(&staff.bearer()),
            "query($id: ID!) { oauthClient(id: $id) { clientSecret } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(code(&asked), "GRAPHQL_VALIDATION_FAILED", "{asked}");
    // Stored only as its SHA-256.
    assert_eq!(
        stored(&app, &id).await.secret_hash,
        Some(sha256_hex(&secret))
    );
    let bytes = app.stored_bytes().await;
    assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
}

#[tokio::test]
async fn a_public_client_has_no_secret_to_show_or_rotate() {
    let app = spawn_app().await;
    let staff = app.staff_user("staff@example.com").await;
    let input = with(valid("SPA"), "type", json!("PUBLIC"));
    let body = create(&app, &staff.bearer(), input).await;
    let made = &body["data"]["createOAuthClient"];
    assert_eq!(made["client"]["type"], "PUBLIC", "{body}");
    assert!(made["clientSecret"].is_null(), "{body}");
    assert!(made["client"]["secretCreatedAt"].is_null(), "{body}");
    let id = made["client"]["id"].clone();
    let (_, body) = app
        .gql_as(Some(&staff.bearer()), ROTATE, json!({ "id": id }))
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(stored(&app, id.as_str().unwrap()).await.secret_hash, None);
}

#[tokio::test]
async fn bad_input_is_refused_naming_its_field_and_stores_nothing() {
    let app = spawn_app().await;
    let staff = app.staff_user("staff@example.com").await;
    let auth = staff.bearer();
    let long = format!("https://app.example/{}", "a".repeat(2000));
    let eleven: Vec<String> = (0..11)
        .map(|i| format!("https://app.example/cb{i}"))
        .collect();
    for (key, value) in [
        ("redirectUris", json!(["http://app.example/cb"])),
        ("redirectUris", json!(["https://app.example/cb#done"])),
        ("redirectUris", json!(["https://*.example.com/cb"])),
        ("redirectUris", json!(["/callback"])),
        ("redirectUris", json!(["myapp:/callback"])),
        ("redirectUris", json!([long])),
        ("redirectUris", json!(eleven)),
        ("redirectUris", json!([])),
        ("postLogoutRedirectUris", json!(["http://app.example/bye"])),
        (
            "postLogoutRedirectUris",
            json!(["https://app.example/bye#x"]),
        ),
        ("allowedScopes", json!(["openid", "admin"])),
        ("allowedScopes", json!([])),
        ("name", json!("")),
        ("name", json!("   ")),
        ("name", json!("n".repeat(101))),
    ] {
        let body = create(&app, &auth, with(valid("Shop"), key, value.clone())).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{key} {value}: {body}");
        assert!(
            body["errors"][0]["extensions"]["fields"][key].is_array(),
            "{key} {value}: {body}"
        );
    }
    // Every problem at once.
    let input = json!({ "name": "", "type": "PUBLIC", "redirectUris": ["http://x.example/"], "allowedScopes": ["all"] });
    let body = create(&app, &auth, input).await;
    let fields = &body["errors"][0]["extensions"]["fields"];
    for field in ["name", "redirectUris", "allowedScopes"] {
        assert!(fields[field].is_array(), "{field}: {body}");
    }
    let (_, listed) = app.gql_as(Some(&auth), LIST, json!({})).await;
    assert_eq!(listed["data"]["oauthClients"]["totalCount"], 0, "{listed}");

    // An update is held to the same rules, and changes nothing when refused.
    let (id, _) = made(&app, &auth, valid("Shop")).await;
    for (key, value) in [
        ("redirectUris", json!(["http://evil.example/cb"])),
        ("redirectUris", json!([])),
        ("postLogoutRedirectUris", json!(["javascript:alert(1)"])),
        ("allowedScopes", json!([])),
        ("name", json!(" ")),
    ] {
        let (_, body) = app
            .gql_as(
                Some(&auth),
                UPDATE,
                json!({ "id": id, "i": { key: value } }),
            )
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{key}: {body}");
        assert!(
            body["errors"][0]["extensions"]["fields"][key].is_array(),
            "{body}"
        );
    }
    let row = stored(&app, &id).await;
    assert_eq!(
        (row.name.as_str(), row.redirect_uris.as_str()),
        ("Shop", r#"["https://app.example/callback"]"#)
    );
}

#[tokio::test]
async fn only_staff_in_a_session_manage_clients() {
    let app = spawn_app().await;
    let some_id = Uuid::new_v4().to_string();
    let operations = |id: &str| {
        vec![
            (CREATE, json!({ "i": valid("Shop") })),
            (LIST, json!({})),
            (GET, json!({ "id": id })),
            (UPDATE, json!({ "id": id, "i": { "name": "Other" } })),
            (ROTATE, json!({ "id": id })),
            (DELETE, json!({ "id": id })),
        ]
    };
    for (query, variables) in operations(&some_id) {
        let (_, body) = app.gql(query, variables).await;
        assert_eq!(code(&body), "UNAUTHENTICATED", "{query}: {body}");
    }
    let user = app.signed_in_user("user@example.com").await;
    for (query, variables) in operations(&some_id) {
        let (_, body) = app.gql_as(Some(&user.bearer()), query, variables).await;
        assert_eq!(code(&body), "FORBIDDEN", "{query}: {body}");
    }
    let staff = app.staff_user("staff@example.com").await;
    let (id, _) = made(&app, &staff.bearer(), valid("Shop")).await;
    let api = app.api_token(&staff.bearer()).await;
    for (query, variables) in operations(&id) {
        let (_, body) = app.gql_as(Some(&api), query, variables).await;
        assert_eq!(
            code(&body),
            "FORBIDDEN",
            "an API token manages no client: {query}: {body}"
        );
    }
    // Untouched by all of that.
    let (_, listed) = app.gql_as(Some(&staff.bearer()), LIST, json!({})).await;
    assert_eq!(listed["data"]["oauthClients"]["nodes"][0]["name"], "Shop");
    assert_eq!(listed["data"]["oauthClients"]["totalCount"], 1);
}

#[tokio::test]
async fn creating_updating_and_rotating_need_a_fresh_session_deleting_does_not() {
    let app = spawn_app_with(&[("PRIVILEGED_SESSION_TTL", "2s")]).await;
    let staff = app.staff_user("staff@example.com").await;
    let auth = staff.bearer();
    let (kept, _) = made(&app, &auth, valid("Kept")).await;
    let (doomed, _) = made(&app, &auth, valid("Doomed")).await;
    tokio::time::sleep(Duration::from_millis(2300)).await;
    for (query, variables) in [
        (CREATE, json!({ "i": valid("Late") })),
        (
            UPDATE,
            json!({ "id": kept, "i": { "redirectUris": ["https://new.example/cb"] } }),
        ),
        (ROTATE, json!({ "id": kept })),
    ] {
        let (_, body) = app.gql_as(Some(&auth), query, variables).await;
        assert_eq!(code(&body), "REAUTHENTICATION_REQUIRED", "{query}: {body}");
    }
    let (_, body) = app
        .gql_as(Some(&auth), DELETE, json!({ "id": doomed }))
        .await;
    assert_eq!(body["data"]["deleteOAuthClient"], true, "{body}");
    let (_, listed) = app.gql_as(Some(&auth), LIST, json!({})).await;
    assert_eq!(listed["data"]["oauthClients"]["totalCount"], 1, "{listed}");

    let (_, body) = app
        .gql_as(
            Some(&auth),
            "mutation($p: String!) { reauthenticate(password: $p) { __typename } }",
            json!({ "p": PASSWORD }),
        )
        .await;
    assert_eq!(
        body["data"]["reauthenticate"]["__typename"], "ReauthenticateOk",
        "{body}"
    );
    let body = create(&app, &auth, valid("Late")).await;
    assert!(
        body["data"]["createOAuthClient"]["clientSecret"].is_string(),
        "{body}"
    );
}

#[tokio::test]
async fn malformed_ids_are_bad_input_and_unknown_ones_not_found() {
    let app = spawn_app().await;
    let staff = app.staff_user("staff@example.com").await;
    let auth = staff.bearer();
    for query in [GET, DELETE, ROTATE] {
        let (_, body) = app
            .gql_as(Some(&auth), query, json!({ "id": "not-a-client" }))
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{query}: {body}");
        assert!(body["errors"][0]["extensions"]["fields"]["id"].is_array());
    }
    let (_, body) = app
        .gql_as(
            Some(&auth),
            UPDATE,
            json!({ "id": "not-a-client", "i": {} }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");

    let unknown = Uuid::new_v4().to_string();
    let (_, body) = app.gql_as(Some(&auth), GET, json!({ "id": unknown })).await;
    assert!(
        body["data"]["oauthClient"].is_null() && body["errors"].is_null(),
        "{body}"
    );
    for (query, variables) in [
        (DELETE, json!({ "id": unknown })),
        (ROTATE, json!({ "id": unknown })),
        (UPDATE, json!({ "id": unknown, "i": { "name": "x" } })),
    ] {
        let (_, body) = app.gql_as(Some(&auth), query, variables).await;
        assert_eq!(code(&body), "NOT_FOUND", "{query}: {body}");
    }
}

#[tokio::test]
async fn staff_list_clients_newest_first_with_a_total() {
    let app = spawn_app().await;
    let staff = app.staff_user("staff@example.com").await;
    let auth = staff.bearer();
    for name in ["First", "Second", "Third"] {
        made(&app, &auth, valid(name)).await;
    }
    let (_, body) = app.gql_as(Some(&auth), LIST, json!({ "first": 2 })).await;
    let page = &body["data"]["oauthClients"];
    let names: Vec<&str> = page["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Third", "Second"]);
    assert_eq!(
        (&page["totalCount"], &page["pageInfo"]["hasNextPage"]),
        (&json!(3), &json!(true))
    );
    assert!(page["edges"][0]["cursor"].is_string());
    let after = page["pageInfo"]["endCursor"].clone();
    let (_, body) = app
        .gql_as(Some(&auth), LIST, json!({ "first": 2, "after": after }))
        .await;
    let page = &body["data"]["oauthClients"];
    assert_eq!(page["nodes"][0]["name"], "First", "{body}");
    assert_eq!(page["pageInfo"]["hasNextPage"], false);
    let (_, body) = app.gql_as(Some(&auth), LIST, json!({ "first": 101 })).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
}
