//! Organizations (API.md §10.1, §10.2): slugs, what non-members see (an
//! organization that does not exist), the whole role table, the rule that
//! an organization keeps an OWNER (also when two requests race), and what
//! API tokens may do.

use serde_json::{Value, json};

use crate::helpers::orgs::{self, CHANGE, CREATE, LEAVE, ORG, REMOVE};
use crate::helpers::{PASSWORD, TestApp, TestUser, code, spawn_app};

fn created(body: &Value) -> &Value {
    &body["data"]["createOrganization"]
}

#[tokio::test]
async fn slugs_names_and_what_a_stranger_sees() {
    let app = spawn_app().await;
    let owner = app.signed_in_user("owner@example.com").await;
    let auth = Some(owner.bearer());
    let (_, body) = app
        .gql_as(
            auth.as_deref(),
            CREATE,
            json!({ "i": { "name": "  Acme, Inc.  " } }),
        )
        .await;
    let acme = created(&body);
    assert_eq!(acme["slug"], "acme-inc", "{body}");
    assert_eq!(acme["name"], "Acme, Inc.");
    assert_eq!(acme["viewerRole"], "OWNER");
    assert_eq!(acme["memberCount"], 1);
    let id = acme["id"].as_str().unwrap().to_owned();
    // A derived slug that is taken (or too short) gets a random suffix.
    for name in ["Acme Inc", "日本"] {
        let (_, body) = app
            .gql_as(auth.as_deref(), CREATE, json!({ "i": { "name": name } }))
            .await;
        let slug = created(&body)["slug"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"));
        assert!(
            slug.len() <= 40 && slug.rsplit_once('-').unwrap().1.len() == 6,
            "{slug}"
        );
    }
    for (input, field) in [
        (json!({ "name": "X", "slug": "ACME-INC" }), "slug"),
        (json!({ "name": "X", "slug": "a_b" }), "slug"),
        (json!({ "name": "X", "slug": "-ab" }), "slug"),
        (json!({ "name": "   " }), "name"),
        (json!({ "name": "x".repeat(101) }), "name"),
    ] {
        let (_, body) = app
            .gql_as(auth.as_deref(), CREATE, json!({ "i": input }))
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{input}: {body}");
        assert!(
            body["errors"][0]["extensions"]["fields"][field].is_array(),
            "{body}"
        );
    }
    let by_slug = "query($s: String!) { organizationBySlug(slug: $s) { id } }";
    let (_, body) = app
        .gql_as(auth.as_deref(), by_slug, json!({ "s": " ACME-Inc " }))
        .await;
    assert_eq!(
        body["data"]["organizationBySlug"]["id"],
        id.as_str(),
        "{body}"
    );

    // To anyone else it does not exist.
    let stranger = app.signed_in_user("stranger@example.com").await;
    let other = Some(stranger.bearer());
    let (_, body) = app.gql_as(other.as_deref(), ORG, json!({ "id": id })).await;
    assert!(body["data"]["organization"].is_null(), "{body}");
    let (_, body) = app
        .gql_as(other.as_deref(), by_slug, json!({ "s": "acme-inc" }))
        .await;
    assert!(body["data"]["organizationBySlug"].is_null(), "{body}");
    let (_, body) = app
        .gql_as(
            other.as_deref(),
            "{ organizations { totalCount nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["organizations"]["totalCount"], 0, "{body}");
    let update =
        "mutation($id: ID!) { updateOrganization(id: $id, input: { name: \"Mine\" }) { id } }";
    let never = uuid::Uuid::now_v7().to_string();
    for org in [id.as_str(), never.as_str()] {
        let (_, body) = app
            .gql_as(other.as_deref(), update, json!({ "id": org }))
            .await;
        assert_eq!(code(&body), "NOT_FOUND", "{body}");
    }
    let (_, body) = app
        .gql_as(other.as_deref(), update, json!({ "id": "nope" }))
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    let (_, body) = app.gql(ORG, json!({ "id": id })).await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");

    // The owner's list, in the order joined; an empty update changes nothing.
    let (_, body) = app
        .gql_as(
            auth.as_deref(),
            "{ organizations(first: 10) { totalCount nodes { id slug viewerRole } } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["organizations"]["totalCount"], 3, "{body}");
    assert_eq!(body["data"]["organizations"]["nodes"][0]["id"], id.as_str());
    let empty = "mutation($id: ID!) { updateOrganization(id: $id, input: {}) { slug name } }";
    let (_, body) = app
        .gql_as(auth.as_deref(), empty, json!({ "id": id }))
        .await;
    assert_eq!(
        body["data"]["updateOrganization"]["slug"], "acme-inc",
        "{body}"
    );
}

/// One organization with an OWNER, an ADMIN and a MEMBER (and a second
/// OWNER, and a spare MEMBER and ADMIN to act on).
struct Org {
    id: String,
    owner: TestUser,
    admin: TestUser,
    member: TestUser,
    owner2: TestUser,
    spare_member: TestUser,
    spare_admin: TestUser,
}

async fn org(app: &TestApp, tag: &str) -> Org {
    let owner = app
        .signed_in_user(&format!("owner-{tag}@example.com"))
        .await;
    let id = orgs::create(app, &owner, &format!("Org {tag}")).await;
    let join = |email: String, role: &'static str| {
        let (owner, id) = (&owner, &id);
        async move { orgs::member(app, owner, id, &email, role).await }
    };
    Org {
        admin: join(format!("admin-{tag}@example.com"), "ADMIN").await,
        member: join(format!("member-{tag}@example.com"), "MEMBER").await,
        owner2: join(format!("owner2-{tag}@example.com"), "OWNER").await,
        spare_member: join(format!("spare-{tag}@example.com"), "MEMBER").await,
        spare_admin: join(format!("spadmin-{tag}@example.com"), "ADMIN").await,
        owner,
        id,
    }
}

/// Whether `body` is a success (`Some(true)`), a `FORBIDDEN` (`Some(false)`),
/// else a panic.
fn allowed(body: &Value) -> bool {
    match body["errors"].as_array() {
        None => true,
        Some(_) if code(body) == "FORBIDDEN" => false,
        Some(_) => panic!("neither done nor FORBIDDEN: {body}"),
    }
}

#[tokio::test]
async fn the_role_table() {
    let app = spawn_app().await;
    for (role, expect) in [
        // update, invite MEMBER, invite OWNER, invitations, events,
        // MEMBER→ADMIN, ADMIN→OWNER, remove MEMBER, remove OWNER, delete
        (
            "OWNER",
            [true, true, true, true, true, true, true, true, true, true],
        ),
        (
            "ADMIN",
            [
                true, true, false, true, true, true, false, true, false, false,
            ],
        ),
        (
            "MEMBER",
            [
                false, false, false, false, false, false, false, false, false, false,
            ],
        ),
    ] {
        let o = org(&app, &role.to_lowercase()).await;
        let who = match role {
            "OWNER" => &o.owner,
            "ADMIN" => &o.admin,
            _ => &o.member,
        };
        let auth = Some(who.bearer());
        let call = |q: &'static str, v: Value| {
            let auth = auth.clone();
            let app = &app;
            async move { app.gql_as(auth.as_deref(), q, v).await.1 }
        };
        let id = o.id.as_str();
        let mut got = Vec::new();
        let update = "mutation($id: ID!) { updateOrganization(id: $id, input: { name: \"Renamed\" }) { name } }";
        got.push(allowed(&call(update, json!({ "id": id })).await));
        let invite =
            |r: &'static str| json!({ "o": id, "e": format!("new-{r}@example.com"), "r": r });
        got.push(allowed(&call(orgs::INVITE, invite("MEMBER")).await));
        got.push(allowed(&call(orgs::INVITE, invite("OWNER")).await));
        let lists = "query($id: ID!) { organization(id: $id) { invitations { totalCount } } }";
        got.push(allowed(&call(lists, json!({ "id": id })).await));
        let events = "query($id: ID!) { organization(id: $id) { securityEvents { nodes { type organizationId } } } }";
        got.push(allowed(&call(events, json!({ "id": id })).await));
        let change = |u: &str, r: &str| json!({ "o": id, "u": u, "r": r });
        got.push(allowed(
            &call(CHANGE, change(&o.spare_member.id, "ADMIN")).await,
        ));
        got.push(allowed(
            &call(CHANGE, change(&o.spare_admin.id, "OWNER")).await,
        ));
        let remove = |u: &str| json!({ "o": id, "u": u });
        got.push(allowed(&call(REMOVE, remove(&o.spare_member.id)).await));
        got.push(allowed(&call(REMOVE, remove(&o.owner2.id)).await));
        let delete = "mutation($id: ID!) { deleteOrganization(id: $id) }";
        got.push(allowed(&call(delete, json!({ "id": id })).await));
        assert_eq!(got, expect, "{role}");

        // Every member sees the organization and its members; only
        // OWNERs and ADMINs see other members' addresses.
        if role != "OWNER" {
            let members = "query($id: ID!) { organization(id: $id) { viewerRole members { nodes { role email user { id } } } } }";
            let body = call(members, json!({ "id": id })).await;
            let org = &body["data"]["organization"];
            assert_eq!(org["viewerRole"], role, "{body}");
            for m in org["members"]["nodes"].as_array().unwrap() {
                let mine = m["user"]["id"] == who.id.as_str();
                assert_eq!(m["email"].is_string(), mine || role == "ADMIN", "{m}");
            }
        }
    }
}

#[tokio::test]
async fn an_organization_always_keeps_an_owner() {
    let app = spawn_app().await;
    let owner = app.signed_in_user("solo@example.com").await;
    let id = orgs::create(&app, &owner, "Solo").await;
    let auth = Some(owner.bearer());
    for (q, v) in [
        (CHANGE, json!({ "o": id, "u": owner.id, "r": "ADMIN" })),
        (LEAVE, json!({ "o": id })),
        (REMOVE, json!({ "o": id, "u": owner.id })),
    ] {
        let (_, body) = app.gql_as(auth.as_deref(), q, v).await;
        assert_eq!(code(&body), "FORBIDDEN", "{body}");
    }
    let delete = "mutation($p: String!) { deleteAccount(password: $p) }";
    let (_, body) = app
        .gql_as(auth.as_deref(), delete, json!({ "p": PASSWORD }))
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Solo"),
        "{body}"
    );

    // Two OWNERs demoting each other, or leaving, at once: exactly one wins.
    let owners_of = "query($id: ID!) { organization(id: $id) { members(filter: { role: OWNER }) { totalCount } } }";
    for round in 0..4 {
        let id = orgs::create(&app, &owner, &format!("Race {round}")).await;
        let other = orgs::member(
            &app,
            &owner,
            &id,
            &format!("co{round}@example.com"),
            "OWNER",
        )
        .await;
        let (a, b) = match round % 2 {
            0 => (
                json!({ "query": CHANGE, "variables": { "o": id, "u": other.id, "r": "MEMBER" } }),
                json!({ "query": CHANGE, "variables": { "o": id, "u": owner.id, "r": "MEMBER" } }),
            ),
            _ => (
                json!({ "query": LEAVE, "variables": { "o": id } }),
                json!({ "query": LEAVE, "variables": { "o": id } }),
            ),
        };
        let (auth_a, auth_b) = (owner.bearer(), other.bearer());
        let (ra, rb) = tokio::join!(
            app.gql_at(&app.base, Some(&auth_a), a),
            app.gql_at(&app.base, Some(&auth_b), b),
        );
        let wins = [&ra, &rb].iter().filter(|r| r["errors"].is_null()).count();
        assert_eq!(wins, 1, "round {round}: {ra} {rb}");
        let mut seen = 0;
        for auth in [&auth_a, &auth_b] {
            let (_, body) = app.gql_as(Some(auth), owners_of, json!({ "id": id })).await;
            if let Some(n) = body["data"]["organization"]["members"]["totalCount"].as_i64() {
                assert_eq!(n, 1, "round {round}: {body}");
                seen += 1;
            }
        }
        assert!(seen >= 1, "round {round}");
    }
}

#[tokio::test]
async fn api_tokens_never_grant_membership_or_sessions() {
    let app = spawn_app().await;
    let owner = app.signed_in_user("tok@example.com").await;
    let id = orgs::create(&app, &owner, "Tokens").await;
    let member = orgs::member(&app, &owner, &id, "tokmember@example.com", "MEMBER").await;
    let token = app.api_token(&owner.bearer()).await;
    let auth = Some(token.as_str());
    let (_, body) = app.gql_as(auth, ORG, json!({ "id": id })).await;
    assert_eq!(
        body["data"]["organization"]["viewerRole"], "OWNER",
        "{body}"
    );
    let (_, body) = app
        .gql_as(auth, CREATE, json!({ "i": { "name": "By token" } }))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    for (q, v) in [
        (
            orgs::INVITE,
            json!({ "o": id, "e": "x@example.com", "r": "MEMBER" }),
        ),
        (orgs::ACCEPT, json!({ "t": "whatever" })),
        (CHANGE, json!({ "o": id, "u": member.id, "r": "ADMIN" })),
        (orgs::ACTIVATE, json!({ "o": id })),
        (
            "mutation($id: ID!) { deleteOrganization(id: $id) }",
            json!({ "id": id }),
        ),
    ] {
        let (_, body) = app.gql_as(auth, q, v).await;
        assert_eq!(code(&body), "FORBIDDEN", "{q}: {body}");
    }
    // What it may do, it does as its user's role allows.
    let (_, body) = app
        .gql_as(auth, REMOVE, json!({ "o": id, "u": member.id }))
        .await;
    assert_eq!(body["data"]["removeMember"], true, "{body}");
    let (_, body) = app
        .gql_as(Some(&owner.bearer()), ORG, json!({ "id": id }))
        .await;
    assert_eq!(body["data"]["organization"]["memberCount"], 1, "{body}");
}
