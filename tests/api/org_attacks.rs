//! Attacks on organizations found by review (API.md §10): replacing an
//! OWNER's invitation as an ADMIN, racing past the last-OWNER rule through
//! `deleteAccount`, racing past `ORG_MAX_MEMBERSHIPS`, and reading another
//! member's address and agent in the organization's events.

use serde_json::json;

use crate::helpers::orgs::{self, CREATE};
use crate::helpers::{PASSWORD, code, spawn_app, spawn_app_with};

const PREVIEW: &str = "query($t: String!) { invitationPreview(token: $t) { role } }";

#[tokio::test]
async fn an_admin_cannot_replace_an_owner_invitation() {
    let app = spawn_app().await;
    let owner = app.signed_in_user("repl-owner@example.com").await;
    let org = orgs::create(&app, &owner, "Replace").await;
    let admin = orgs::member(&app, &owner, &org, "repl-admin@example.com", "ADMIN").await;
    orgs::invite(&app, &owner, &org, "heir@example.com", "OWNER").await;
    let token = orgs::token(&app, "heir@example.com", 1).await;
    let body = orgs::invite(&app, &admin, &org, "heir@example.com", "MEMBER").await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let (_, body) = app.gql(PREVIEW, json!({ "t": token })).await;
    assert_eq!(body["data"]["invitationPreview"]["role"], "OWNER", "{body}");
    assert_eq!(mail_count(&app, "heir@example.com"), 1);
}

fn mail_count(app: &crate::helpers::TestApp, to: &str) -> usize {
    app.mails_to_count(to)
}

#[tokio::test]
async fn deleting_an_account_races_no_organization_out_of_its_owners() {
    let app = spawn_app().await;
    let delete = "mutation($p: String!) { deleteAccount(password: $p) }";
    for round in 0..3 {
        let a = app
            .signed_in_user(&format!("race-a{round}@example.com"))
            .await;
        let org = orgs::create(&app, &a, &format!("Owners {round}")).await;
        let b = orgs::member(
            &app,
            &a,
            &org,
            &format!("race-b{round}@example.com"),
            "OWNER",
        )
        .await;
        let (auth_a, auth_b) = (a.bearer(), b.bearer());
        let (ra, rb) = tokio::join!(
            app.gql_at(
                &app.base,
                Some(&auth_a),
                json!({ "query": delete, "variables": { "p": PASSWORD } })
            ),
            app.gql_at(
                &app.base,
                Some(&auth_b),
                json!({ "query": delete, "variables": { "p": PASSWORD } })
            ),
        );
        let wins = [&ra, &rb].iter().filter(|r| r["errors"].is_null()).count();
        assert_eq!(wins, 1, "round {round}: {ra} {rb}");
        // Whoever is left is an OWNER of it.
        let survivor = if ra["errors"].is_null() { &b } else { &a };
        let (_, body) = app
            .gql_as(
                Some(&survivor.bearer()),
                "query($id: ID!) { organization(id: $id) { viewerRole } }",
                json!({ "id": org }),
            )
            .await;
        assert_eq!(
            body["data"]["organization"]["viewerRole"], "OWNER",
            "round {round}: {body}"
        );
    }
}

#[tokio::test]
async fn parallel_creations_stay_within_the_membership_limit() {
    let app = spawn_app_with(&[("ORG_MAX_MEMBERSHIPS", "2")]).await;
    let user = app.signed_in_user("greedy@example.com").await;
    let requests = (0..8)
        .map(|i| {
            (
                app.base.clone(),
                json!({ "query": CREATE, "variables": { "i": { "name": format!("Greedy {i}") } } }),
            )
        })
        .collect();
    let bodies = app.concurrently_as(&user.bearer(), requests).await;
    let made = bodies.iter().filter(|b| b["errors"].is_null()).count();
    assert_eq!(made, 2, "{bodies:?}");
    let (_, body) = app
        .gql_as(
            Some(&user.bearer()),
            "{ organizations { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["organizations"]["totalCount"], 2, "{body}");
}

#[tokio::test]
async fn organization_events_show_no_other_members_client() {
    let app = spawn_app().await;
    let owner = app.signed_in_user("ev-owner@example.com").await;
    let org = orgs::create(&app, &owner, "Private").await;
    let member = orgs::member(&app, &owner, &org, "ev-member@example.com", "MEMBER").await;
    app.gql_as(
        Some(&owner.bearer()),
        orgs::CHANGE,
        json!({ "o": org, "u": member.id, "r": "ADMIN" }),
    )
    .await;
    let events = "query($id: ID!) { organization(id: $id) { securityEvents { nodes { type ip userAgent sessionId user { id } } } } }";
    let (_, body) = app
        .gql_as(Some(&owner.bearer()), events, json!({ "id": org }))
        .await;
    let nodes = body["data"]["organization"]["securityEvents"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    for n in nodes {
        let mine = n["user"]["id"] == owner.id.as_str();
        assert_eq!(n["ip"].is_string(), mine, "{n}");
        assert!(
            mine || n["userAgent"].is_null() && n["sessionId"].is_null(),
            "{n}"
        );
    }
    // The member's own history holds no trace of the admin's client.
    let (_, body) = app
        .gql_as(Some(&member.bearer()), "{ securityEvents(filter: { types: [ORG_MEMBER_ROLE_CHANGED] }) { nodes { ip sessionId actor { id } } } }", json!({}))
        .await;
    let changed = &body["data"]["securityEvents"]["nodes"][0];
    assert_eq!(changed["actor"]["id"], owner.id.as_str(), "{body}");
    assert!(
        changed["ip"].is_null() && changed["sessionId"].is_null(),
        "{body}"
    );
}
