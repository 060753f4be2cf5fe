//! Invitations (API.md §10.3): every path of a mailed token (an existing
//! account accepts, a new one joins at registration, the wrong address,
//! reuse, expiry, revocation, replacement, a deleted organization), the
//! same answer for known and unknown addresses, races, and the limits.

use serde_json::{Value, json};

use crate::helpers::orgs::{self, ACCEPT, INVITE, ORG};
use crate::helpers::{
    PASSWORD, TestApp, TestUser, assert_rate_limited, code, mail, spawn_app, spawn_app_with,
};

const PREVIEW: &str = "query($t: String!) { invitationPreview(token: $t) { organizationName organizationSlug email role expiresAt } }";
const REVOKE: &str = "mutation($id: ID!) { revokeInvitation(id: $id) }";

async fn accept(app: &TestApp, user: &TestUser, token: &str) -> Value {
    app.gql_as(Some(&user.bearer()), ACCEPT, json!({ "t": token }))
        .await
        .1
}

async fn register(app: &TestApp, email: &str, token: &str) -> Value {
    let input = json!({ "email": email, "password": PASSWORD, "confirmPassword": PASSWORD, "invitationToken": token });
    app.gql(crate::helpers::users::REGISTER, json!({ "input": input }))
        .await
        .1
}

#[tokio::test]
async fn an_existing_account_accepts_once_and_only_its_own() {
    let app = spawn_app().await;
    let owner = app.signed_in_user("inviter@example.com").await;
    let (_, body) = app
        .gql_as(
            Some(&owner.bearer()),
            orgs::CREATE,
            json!({ "i": { "name": "<b>Bold</b> & Co" } }),
        )
        .await;
    let org = body["data"]["createOrganization"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let invitee = app.signed_in_user("Invitee@Example.com").await;
    let thief = app.signed_in_user("thief@example.com").await;
    let invited = orgs::invite(&app, &owner, &org, "invitee@example.com", "ADMIN").await;
    assert_eq!(
        invited["data"]["inviteMember"]["role"], "ADMIN",
        "{invited}"
    );
    let mails = mail::wait_for(&app.mail_dir, "invitee@example.com", 2).await;
    let letter = &mails[1];
    assert!(
        letter.text.contains("<b>Bold</b> & Co") && letter.text.contains("admin"),
        "{}",
        letter.text
    );
    assert!(
        letter.html.contains("&lt;b&gt;Bold&lt;/b&gt; &amp; Co"),
        "{}",
        letter.html
    );
    assert!(!letter.html.contains("<b>Bold"), "{}", letter.html);
    let token = orgs::token(&app, "invitee@example.com", 2).await;
    assert!(token.len() >= 22);

    // The link's page and the preview change nothing.
    for _ in 0..2 {
        let resp = app
            .client
            .get(app.url(&format!("/invitations/{token}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["referrer-policy"], "no-referrer");
        assert_eq!(resp.headers()["cache-control"], "no-store");
        let page = resp.text().await.unwrap();
        assert!(
            page.contains("&lt;b&gt;Bold") && !page.contains("<b>Bold"),
            "{page}"
        );
    }
    let (_, body) = app.gql(PREVIEW, json!({ "t": token })).await;
    let preview = &body["data"]["invitationPreview"];
    assert_eq!(preview["email"], "invitee@example.com", "{body}");
    assert_eq!(preview["role"], "ADMIN");

    // Another account: FORBIDDEN, and the token stays live for the right one.
    let body = accept(&app, &thief, &token).await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let body = accept(&app, &invitee, &token).await;
    assert_eq!(body["data"]["acceptInvitation"]["role"], "ADMIN", "{body}");
    assert_eq!(
        body["data"]["acceptInvitation"]["email"], "Invitee@Example.com",
        "{body}"
    );
    // Used up: INVALID_TOKEN everywhere, the page says so, the preview is null.
    let body = accept(&app, &invitee, &token).await;
    assert_eq!(code(&body), "INVALID_TOKEN", "{body}");
    let (_, body) = app.gql(PREVIEW, json!({ "t": token })).await;
    assert!(body["data"]["invitationPreview"].is_null(), "{body}");
    let resp = app
        .client
        .get(app.url(&format!("/invitations/{token}")))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_client_error());
    let (_, body) = app
        .gql_as(
            Some(&invitee.bearer()),
            "{ me { emailVerified } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["me"]["emailVerified"], true, "{body}");
    // A member's own history, and the org's for its admins; MEMBERs may not.
    let (_, body) = app
        .gql_as(Some(&invitee.bearer()), "{ securityEvents(filter: { types: [ORG_MEMBER_JOINED] }) { nodes { type organizationId } } }", json!({}))
        .await;
    assert_eq!(
        body["data"]["securityEvents"]["nodes"][0]["organizationId"],
        org.as_str(),
        "{body}"
    );
    let events = "query($id: ID!) { organization(id: $id) { securityEvents { nodes { type organizationId } } } }";
    let (_, body) = app
        .gql_as(Some(&invitee.bearer()), events, json!({ "id": org }))
        .await;
    let kinds: Vec<&str> = body["data"]["organization"]["securityEvents"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"ORG_CREATED")
            && kinds.contains(&"ORG_MEMBER_JOINED")
            && kinds.contains(&"ORG_INVITATION_SENT"),
        "{kinds:?}"
    );
    assert!(kinds.iter().all(|k| k.starts_with("ORG_")), "{kinds:?}");
    // Inviting a member's address again is refused.
    let again = orgs::invite(&app, &owner, &org, "INVITEE@example.com", "MEMBER").await;
    assert_eq!(code(&again), "BAD_USER_INPUT", "{again}");
}

#[tokio::test]
async fn a_new_account_joins_at_registration() {
    let app = spawn_app().await;
    let owner = app.signed_in_user("reg-owner@example.com").await;
    let org = orgs::create(&app, &owner, "Sign-up").await;
    orgs::invite(&app, &owner, &org, "newbie@example.com", "MEMBER").await;
    let token = orgs::token(&app, "newbie@example.com", 1).await;
    // Another address, or a made-up token: BAD_USER_INPUT, nothing created.
    for (email, t) in [
        ("other@example.com", token.as_str()),
        ("newbie@example.com", "made-up"),
    ] {
        let body = register(&app, email, t).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        assert!(
            body["errors"][0]["extensions"]["fields"]["invitationToken"].is_array(),
            "{body}"
        );
        assert_eq!(
            app.login(email, PASSWORD).await["errors"][0]["extensions"]["code"],
            "INVALID_CREDENTIALS"
        );
    }
    let body = register(&app, "Newbie@example.com", &token).await;
    assert_eq!(
        body["data"]["register"]["activationRequired"], false,
        "{body}"
    );
    let signed = app.login("newbie@example.com", PASSWORD).await;
    let access = signed["data"]["login"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{signed}"));
    let (_, body) = app
        .gql_as(
            Some(&format!("Bearer {access}")),
            "{ organizations { nodes { id viewerRole } } me { emailVerified } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["organizations"]["nodes"][0]["id"],
        org.as_str(),
        "{body}"
    );
    assert_eq!(body["data"]["me"]["emailVerified"], true);
    // No activation mail: only the invitation went to that address.
    assert_eq!(
        mail::settled(&app.mail_dir, "newbie@example.com")
            .await
            .len(),
        1
    );
    // The token is used up.
    let body = register(&app, "newbie2@example.com", &token).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
}

#[tokio::test]
async fn registering_an_existing_address_with_a_token_tells_nothing_and_keeps_it_live() {
    let app = spawn_app().await;
    let owner = app.signed_in_user("exist-owner@example.com").await;
    let org = orgs::create(&app, &owner, "Existing").await;
    let known = app.signed_in_user("known@example.com").await;
    orgs::invite(&app, &owner, &org, "known@example.com", "MEMBER").await;
    let token = orgs::token(&app, "known@example.com", 2).await;
    let body = register(&app, "known@example.com", &token).await;
    assert_eq!(
        body["data"]["register"]["activationRequired"], false,
        "{body}"
    );
    let notices = mail::wait_for(&app.mail_dir, "known@example.com", 3).await;
    assert!(
        !notices[2].text.contains("/invitations/"),
        "a notice, not the token"
    );
    assert!(accept(&app, &known, &token).await["errors"].is_null());
}

#[tokio::test]
async fn invite_member_answers_alike_for_every_address() {
    let app = spawn_app().await;
    let owner = app.signed_in_user("alike@example.com").await;
    let org = orgs::create(&app, &owner, "Alike").await;
    app.signed_in_user("active@example.com").await;
    app.register("pending@example.com", PASSWORD).await;
    let mut shapes = Vec::new();
    for email in [
        "active@example.com",
        "pending@example.com",
        "nobody@example.com",
    ] {
        let body = orgs::invite(&app, &owner, &org, email, "MEMBER").await;
        let mut inv = body["data"]["inviteMember"].clone();
        assert_eq!(inv["email"], email, "{body}");
        inv["id"] = Value::Null;
        inv["email"] = Value::Null;
        shapes.push((body["errors"].clone(), inv));
    }
    assert!(shapes.windows(2).all(|w| w[0] == w[1]), "{shapes:?}");
    let (_, body) = app
        .gql_as(
            Some(&owner.bearer()),
            INVITE,
            json!({ "o": org, "e": "not an address", "r": "MEMBER" }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
}

#[tokio::test]
async fn expired_revoked_replaced_and_deleted_tokens_are_dead() {
    let app = spawn_app_with(&[("INVITATION_TTL", "2s")]).await;
    let owner = app.signed_in_user("dead-owner@example.com").await;
    let org = orgs::create(&app, &owner, "Dead").await;
    let user = app.signed_in_user("dead@example.com").await;
    let id_of = |body: &Value| {
        body["data"]["inviteMember"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // Replaced: a second invitation kills the first.
    orgs::invite(&app, &owner, &org, "dead@example.com", "MEMBER").await;
    let first = orgs::token(&app, "dead@example.com", 2).await;
    let second_body = orgs::invite(&app, &owner, &org, "dead@example.com", "ADMIN").await;
    let second = orgs::token(&app, "dead@example.com", 3).await;
    assert_eq!(code(&accept(&app, &user, &first).await), "INVALID_TOKEN");
    // Revoked.
    let (_, body) = app
        .gql_as(
            Some(&owner.bearer()),
            REVOKE,
            json!({ "id": id_of(&second_body) }),
        )
        .await;
    assert_eq!(body["data"]["revokeInvitation"], true, "{body}");
    assert_eq!(code(&accept(&app, &user, &second).await), "INVALID_TOKEN");
    let (_, body) = app
        .gql_as(
            Some(&owner.bearer()),
            REVOKE,
            json!({ "id": id_of(&second_body) }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    // Expired.
    orgs::invite(&app, &owner, &org, "dead@example.com", "MEMBER").await;
    let third = orgs::token(&app, "dead@example.com", 4).await;
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    assert_eq!(code(&accept(&app, &user, &third).await), "INVALID_TOKEN");
    // The organization deleted.
    orgs::invite(&app, &owner, &org, "dead@example.com", "MEMBER").await;
    let fourth = orgs::token(&app, "dead@example.com", 5).await;
    let (_, body) = app
        .gql_as(
            Some(&owner.bearer()),
            "mutation($id: ID!) { deleteOrganization(id: $id) }",
            json!({ "id": org }),
        )
        .await;
    assert_eq!(body["data"]["deleteOrganization"], true, "{body}");
    assert_eq!(code(&accept(&app, &user, &fourth).await), "INVALID_TOKEN");
    // Its events stay, with its id.
    let (_, body) = app
        .gql_as(Some(&owner.bearer()), "{ securityEvents(filter: { types: [ORG_DELETED, ORG_INVITATION_REVOKED] }) { nodes { type organizationId } } }", json!({}))
        .await;
    let nodes = body["data"]["securityEvents"]["nodes"].as_array().unwrap();
    assert!(
        nodes
            .iter()
            .any(|n| n["type"] == "ORG_DELETED" && n["organizationId"] == org.as_str()),
        "{body}"
    );
    assert!(
        nodes
            .iter()
            .filter(|n| n["type"] == "ORG_INVITATION_REVOKED")
            .count()
            >= 2,
        "{body}"
    );
}

#[tokio::test]
async fn one_token_makes_one_membership_however_many_race() {
    let app = spawn_app().await;
    let owner = app.signed_in_user("race-owner@example.com").await;
    let org = orgs::create(&app, &owner, "Race").await;
    let user = app.signed_in_user("racer@example.com").await;
    orgs::invite(&app, &owner, &org, "racer@example.com", "MEMBER").await;
    let token = orgs::token(&app, "racer@example.com", 2).await;
    let requests = (0..8)
        .map(|_| {
            (
                app.base.clone(),
                json!({ "query": ACCEPT, "variables": { "t": token } }),
            )
        })
        .collect();
    let bodies = app.concurrently_as(&user.bearer(), requests).await;
    let ok = bodies.iter().filter(|b| b["errors"].is_null()).count();
    assert_eq!(ok, 1, "{bodies:?}");
    assert!(
        bodies
            .iter()
            .all(|b| b["errors"].is_null() || code(b) == "INVALID_TOKEN"),
        "{bodies:?}"
    );
    let (_, body) = app
        .gql_as(Some(&owner.bearer()), ORG, json!({ "id": org }))
        .await;
    assert_eq!(body["data"]["organization"]["memberCount"], 2, "{body}");
}

#[tokio::test]
async fn limits_refuse_and_create_nothing() {
    let app = spawn_app_with(&[
        ("ORG_MAX_PENDING_INVITATIONS", "2"),
        ("INVITE_RATE_LIMIT", "4/1h"),
        ("ORG_MAX_MEMBERSHIPS", "1"),
    ])
    .await;
    let owner = app.signed_in_user("limit-owner@example.com").await;
    let org = orgs::create(&app, &owner, "Limits").await;
    for email in ["l1@example.com", "l2@example.com"] {
        assert!(orgs::invite(&app, &owner, &org, email, "MEMBER").await["errors"].is_null());
    }
    let body = orgs::invite(&app, &owner, &org, "l3@example.com", "MEMBER").await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(
        mail::settled(&app.mail_dir, "l3@example.com").await.len(),
        0
    );
    // The user is in one organization already (ORG_MAX_MEMBERSHIPS=1).
    let busy = app.signed_in_user("busy@example.com").await;
    orgs::create(&app, &busy, "Busy's own").await;
    let (_, body) = app
        .gql_as(
            Some(&busy.bearer()),
            orgs::CREATE,
            json!({ "i": { "name": "Second" } }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    let (_, body) = app
        .gql_as(
            Some(&owner.bearer()),
            "mutation($id: ID!) { revokeInvitation(id: $id) }",
            json!({ "id": "not-an-id" }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    // Free a slot: revoke l1's invitation through the list.
    let (_, body) = app
        .gql_as(
            Some(&owner.bearer()),
            "query($id: ID!) { organization(id: $id) { invitations { nodes { id email } } } }",
            json!({ "id": org }),
        )
        .await;
    let l1 = body["data"]["organization"]["invitations"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["email"] == "l1@example.com")
        .unwrap()["id"]
        .clone();
    app.gql_as(Some(&owner.bearer()), REVOKE, json!({ "id": l1 }))
        .await;
    assert!(
        orgs::invite(&app, &owner, &org, "busy@example.com", "MEMBER").await["errors"].is_null()
    );
    let token = orgs::token(&app, "busy@example.com", 2).await;
    let body = accept(&app, &busy, &token).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    let (_, body) = app.gql(PREVIEW, json!({ "t": token })).await;
    assert!(
        !body["data"]["invitationPreview"].is_null(),
        "still live: {body}"
    );
    // INVITE_RATE_LIMIT: the fifth call in the window.
    let body = orgs::invite(&app, &owner, &org, "l5@example.com", "MEMBER").await;
    assert_rate_limited(&body);
    assert_eq!(
        mail::settled(&app.mail_dir, "l5@example.com").await.len(),
        0
    );
}
