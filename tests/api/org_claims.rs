//! The active organization and what tokens say (API.md §10.4, §10.5):
//! `org_id`/`org_role` (and Hasura's) verified against the JWKS as another
//! service would; a role change, removal or deletion makes such a token
//! stop authenticating on its very next request (on another instance too)
//! while the session lives on; organization products are seen only where
//! their organization is active.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{Value, json};

use crate::helpers::orgs::{self, CHANGE, REFRESH, REMOVE, activate, claims};
use crate::helpers::products;
use crate::helpers::{TestApp, TestUser, code, spawn_app, spawn_app_with, spawn_process};

const ME: &str = "{ me { id } }";

async fn status_of(app: &TestApp, base: &str, user: &TestUser) -> u16 {
    app.client
        .post(format!("{base}/graphql"))
        .header("authorization", user.bearer())
        .json(&json!({ "query": ME }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn verified(set: &JwkSet, token: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwk = set
        .find(&header.kid.unwrap())
        .expect("the kid is published");
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&["http://localhost:8000"]);
    validation.set_audience(&["authql"]);
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .expect("verifies against the JWKS")
        .claims
}

async fn refresh(app: &TestApp, user: &TestUser) -> (TestUser, Value) {
    let (_, body) = app.gql(REFRESH, json!({ "t": user.refresh_token })).await;
    let p = &body["data"]["refreshToken"];
    let next = TestUser {
        id: user.id.clone(),
        access_token: p["accessToken"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_owned(),
        refresh_token: p["refreshToken"].as_str().unwrap().to_owned(),
    };
    (next, p["activeOrganization"].clone())
}

#[tokio::test]
async fn active_organization_claims_verify_and_keep_the_session() {
    let holder = spawn_app().await;
    let key = crate::helpers::oauth::key_file(&holder.db.scratch_dir("keys"));
    let app = spawn_app_with(&[
        ("JWT_ALGORITHM", "EdDSA"),
        ("JWT_PRIVATE_KEY_FILE", &key),
        ("JWT_CLAIMS", "hasura"),
    ])
    .await;
    let owner = app.signed_in_user("claims@example.com").await;
    let org = orgs::create(&app, &owner, "Claims").await;
    let set: JwkSet = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let before = verified(&set, &owner.access_token);
    assert!(before.get("org_id").is_none() && before.get("org_role").is_none());
    let active = activate(&app, &owner, Some(&org)).await;
    let c = verified(&set, &active.access_token);
    assert_eq!(c["org_id"], org.as_str());
    assert_eq!(c["org_role"], "owner");
    assert_eq!(
        (&c["sid"], &c["auth_time"]),
        (&before["sid"], &before["auth_time"])
    );
    let hasura = &c["https://hasura.io/jwt/claims"];
    assert_eq!(hasura["x-hasura-org-id"], org.as_str());
    assert_eq!(hasura["x-hasura-org-role"], "owner");
    assert_eq!(hasura["x-hasura-default-role"], "user");
    assert!(
        hasura["x-hasura-allowed-roles"]
            .as_array()
            .unwrap()
            .contains(&json!("org_owner"))
    );
    // A token of one organization stays true after the session switches
    // to another (the membership did not change), as does one without.
    let second = orgs::create(&app, &owner, "Claims two").await;
    let switched = activate(&app, &active, Some(&second)).await;
    assert_eq!(claims(&switched.access_token)["org_id"], second.as_str());
    assert_eq!(status_of(&app, &app.base, &active).await, 200);
    assert_eq!(status_of(&app, &app.base, &owner).await, 200);
    let active = activate(&app, &switched, Some(&org)).await;
    // Refreshes keep claiming it; clearing it drops the claims.
    let (next, shown) = refresh(&app, &active).await;
    assert_eq!(shown["id"], org.as_str());
    assert_eq!(claims(&next.access_token)["org_role"], "owner");
    let cleared = activate(&app, &next, None).await;
    assert!(claims(&cleared.access_token).get("org_id").is_none());
    // The session's earlier refresh tokens were used up: one presented
    // again is reuse (§4), and ends the session.
    let (_, body) = app.gql(REFRESH, json!({ "t": next.refresh_token })).await;
    assert_eq!(code(&body), "INVALID_TOKEN", "{body}");
    assert_eq!(status_of(&app, &app.base, &cleared).await, 401);

    // Someone else's organization, or a made-up one: NOT_FOUND.
    let other = app.signed_in_user("claims-other@example.com").await;
    for id in [org.clone(), uuid::Uuid::now_v7().to_string()] {
        let (_, body) = app
            .gql_as(Some(&other.bearer()), orgs::ACTIVATE, json!({ "o": id }))
            .await;
        assert_eq!(code(&body), "NOT_FOUND", "{body}");
    }
}

#[tokio::test]
async fn a_changed_membership_stops_its_tokens_at_once() {
    let app = spawn_app().await;
    let owner = app.signed_in_user("boss@example.com").await;
    let org = orgs::create(&app, &owner, "Effect").await;
    let member = orgs::member(&app, &owner, &org, "worker@example.com", "MEMBER").await;
    let plain = member; // a token without organization claims
    let active = activate(&app, &plain, Some(&org)).await;
    assert_eq!(status_of(&app, &app.base, &active).await, 200);
    // Promoted: the token claiming `member` no longer authenticates.
    let (_, body) = app
        .gql_as(
            Some(&owner.bearer()),
            CHANGE,
            json!({ "o": org, "u": active.id, "r": "ADMIN" }),
        )
        .await;
    assert_eq!(body["data"]["changeMemberRole"]["role"], "ADMIN", "{body}");
    assert_eq!(status_of(&app, &app.base, &active).await, 401);
    let (admin, shown) = refresh(&app, &active).await;
    assert_eq!(shown["viewerRole"], "ADMIN");
    assert_eq!(claims(&admin.access_token)["org_role"], "admin");
    assert_eq!(status_of(&app, &app.base, &admin).await, 200);
    // Removed: 401 again; the session refreshes without organization claims.
    let (_, body) = app
        .gql_as(
            Some(&owner.bearer()),
            REMOVE,
            json!({ "o": org, "u": admin.id }),
        )
        .await;
    assert_eq!(body["data"]["removeMember"], true, "{body}");
    assert_eq!(status_of(&app, &app.base, &admin).await, 401);
    let (after, shown) = refresh(&app, &admin).await;
    assert!(shown.is_null());
    assert!(claims(&after.access_token).get("org_id").is_none());
    assert_eq!(status_of(&app, &app.base, &after).await, 200);
    // The owner's own token without organization claims was never affected.
    assert_eq!(status_of(&app, &app.base, &owner).await, 200);
    // Deleting the organization ends the owner's org-claiming tokens too.
    let owner_active = activate(&app, &owner, Some(&org)).await;
    let (_, body) = app
        .gql_as(
            Some(&owner_active.bearer()),
            "mutation($id: ID!) { deleteOrganization(id: $id) }",
            json!({ "id": org }),
        )
        .await;
    assert_eq!(body["data"]["deleteOrganization"], true, "{body}");
    assert_eq!(status_of(&app, &app.base, &owner_active).await, 401);
    let (_, shown) = refresh(&app, &owner_active).await;
    assert!(shown.is_null());
}

#[tokio::test]
async fn removal_is_seen_by_another_instance_on_the_next_request() {
    let app = spawn_app().await;
    if !app.db.is_postgres() {
        return; // one SQLite file serves one instance
    }
    let second = spawn_process(&app.db.url, &app.mail_dir, &[]).await;
    let owner = app.signed_in_user("multi@example.com").await;
    let org = orgs::create(&app, &owner, "Multi").await;
    let member = orgs::member(&app, &owner, &org, "multi-m@example.com", "ADMIN").await;
    let active = activate(&app, &member, Some(&org)).await;
    assert_eq!(status_of(&app, &second.base, &active).await, 200);
    let (_, body) = app
        .gql_as(
            Some(&owner.bearer()),
            REMOVE,
            json!({ "o": org, "u": active.id }),
        )
        .await;
    assert_eq!(body["data"]["removeMember"], true, "{body}");
    assert_eq!(status_of(&app, &second.base, &active).await, 401);
}

const PRODUCT: &str = "query($id: ID!) { product(id: $id) { id organizationId } }";
const LIST: &str = "query($f: ProductFilter) { products(first: 50, filter: $f) { totalCount nodes { id organizationId } } }";
const UPDATE: &str =
    "mutation($id: ID!) { updateProduct(id: $id, input: { priceCents: 7 }) { priceCents } }";

async fn sees(app: &TestApp, auth: Option<&str>, id: &str) -> bool {
    let (_, body) = app.gql_as(auth, PRODUCT, json!({ "id": id })).await;
    !body["data"]["product"].is_null()
}

async fn listed(app: &TestApp, auth: Option<&str>, filter: Value) -> Vec<String> {
    let (_, body) = app.gql_as(auth, LIST, json!({ "f": filter })).await;
    body["data"]["products"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn organization_products_never_leak() {
    let app = spawn_app().await;
    let owner = app.signed_in_user("shop@example.com").await;
    let org = orgs::create(&app, &owner, "Shop").await;
    let member = orgs::member(&app, &owner, &org, "clerk@example.com", "MEMBER").await;
    let rival = app.signed_in_user("rival@example.com").await;
    let rival_org = orgs::create(&app, &rival, "Rival").await;
    let rival_active = activate(&app, &rival, Some(&rival_org)).await;
    let staff = app.staff_user("staff@example.com").await;

    let owner_active = activate(&app, &owner, Some(&org)).await;
    let made = products::create(
        &app,
        &owner_active.bearer(),
        json!({ "name": "Org lamp", "priceCents": 5 }),
    )
    .await;
    assert_eq!(made["organizationId"], org.as_str(), "{made}");
    let id = made["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{made}"))
        .to_owned();
    let personal = products::create(
        &app,
        &owner.bearer(),
        json!({ "name": "Own lamp", "priceCents": 5 }),
    )
    .await;
    let personal = personal["id"].as_str().unwrap().to_owned();
    let (_, body) = app.gql_as(None, PRODUCT, json!({ "id": personal })).await;
    assert!(
        body["data"]["product"]["organizationId"].is_null(),
        "{body}"
    );

    let member_active = activate(&app, &member, Some(&org)).await;
    let in_org = [owner_active.bearer(), member_active.bearer()];
    for auth in &in_org {
        assert!(sees(&app, Some(auth), &id).await);
        assert!(listed(&app, Some(auth), json!({})).await.contains(&id));
        assert_eq!(
            listed(&app, Some(auth), json!({ "organizationId": org })).await,
            vec![id.clone()]
        );
    }
    assert!(sees(&app, Some(&staff.bearer()), &id).await, "staff, by id");
    let outside = [
        None,
        Some(owner.bearer()),
        Some(member.bearer()),
        Some(rival_active.bearer()),
        Some(staff.bearer()),
    ];
    for auth in &outside {
        let auth = auth.as_deref();
        if auth != Some(staff.bearer().as_str()) {
            assert!(!sees(&app, auth, &id).await, "{auth:?}");
        }
        assert!(
            !listed(&app, auth, json!({})).await.contains(&id),
            "{auth:?}"
        );
        assert!(
            listed(&app, auth, json!({ "organizationId": org }))
                .await
                .is_empty()
        );
        assert!(
            listed(&app, auth, json!({ "organizationId": "not-an-id" }))
                .await
                .is_empty()
        );
    }
    for auth in [owner.bearer(), rival_active.bearer()] {
        let (_, body) = app.gql_as(Some(&auth), UPDATE, json!({ "id": id })).await;
        assert_eq!(code(&body), "NOT_FOUND", "{body}");
    }
    // A MEMBER reads it but may not change another's product; staff may.
    let (_, body) = app
        .gql_as(Some(&member_active.bearer()), UPDATE, json!({ "id": id }))
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let (_, body) = app
        .gql_as(Some(&staff.bearer()), UPDATE, json!({ "id": id }))
        .await;
    assert_eq!(body["data"]["updateProduct"]["priceCents"], 7, "{body}");
    // The member's own organization product: theirs to change, and an
    // ADMIN's; it stays in the organization when they are removed.
    let mine = products::create(
        &app,
        &member_active.bearer(),
        json!({ "name": "Clerk's", "priceCents": 1 }),
    )
    .await;
    let mine = mine["id"].as_str().unwrap().to_owned();
    let (_, body) = app
        .gql_as(Some(&member_active.bearer()), UPDATE, json!({ "id": mine }))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    app.gql_as(
        Some(&owner.bearer()),
        REMOVE,
        json!({ "o": org, "u": member.id }),
    )
    .await;
    let (after, _) = refresh(&app, &member_active).await;
    assert!(!sees(&app, Some(&after.bearer()), &mine).await);
    let (_, body) = app
        .gql_as(Some(&after.bearer()), UPDATE, json!({ "id": mine }))
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    assert!(sees(&app, Some(&owner_active.bearer()), &mine).await);
    let (_, body) = app
        .gql_as(Some(&owner_active.bearer()), UPDATE, json!({ "id": mine }))
        .await;
    assert!(body["errors"].is_null(), "{body}");
}
