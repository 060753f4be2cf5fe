//! The audit log (API.md §8.2): each action records its event once, with
//! where it came from; failed changes record nothing; a user sees their own
//! events only, staff anyone's; every instance sees them.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, code, spawn_app, spawn_process};

const EVENTS: &str = "query($first: Int, $after: String, $last: Int, $before: String, $filter: SecurityEventFilter, $user: ID) { securityEvents(first: $first, after: $after, last: $last, before: $before, filter: $filter, userId: $user) { totalCount edges { cursor node { id type createdAt ip userAgent sessionId actor { id } } } pageInfo { hasNextPage hasPreviousPage endCursor startCursor } } }";

async fn events(app: &TestApp, auth: &str, vars: Value) -> Value {
    let (_, body) = app.gql_as(Some(auth), EVENTS, vars).await;
    body
}

fn types(body: &Value) -> Vec<String> {
    body["data"]["securityEvents"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|e| e["node"]["type"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn each_action_records_its_event_once_with_its_origin() {
    let app = spawn_app().await;
    let user = app.signed_in_user("audited@example.com").await;
    let auth = user.bearer();
    assert_eq!(
        code(&app.login("audited@example.com", "wrong password!!").await),
        "INVALID_CREDENTIALS"
    );
    app.gql_as(
        Some(&auth),
        "mutation { updateProfile(input: {firstName: \"Ada\"}) { id } }",
        json!({}),
    )
    .await;
    let (_, body) = app
        .gql_as(
            Some(&auth),
            "mutation { createApiToken(name: \"ci\") { apiToken { id } } }",
            json!({}),
        )
        .await;
    let token_id = body["data"]["createApiToken"]["apiToken"]["id"].clone();
    app.gql_as(
        Some(&auth),
        "mutation($id: ID!) { revokeApiToken(id: $id) }",
        json!({ "id": token_id }),
    )
    .await;

    let body = events(&app, &auth, json!({})).await;
    assert_eq!(
        types(&body),
        [
            "API_TOKEN_REVOKED",
            "API_TOKEN_CREATED",
            "PROFILE_UPDATED",
            "LOGIN_FAILED",
            "LOGIN_SUCCEEDED",
            "ACCOUNT_ACTIVATED",
            "ACCOUNT_REGISTERED",
        ],
        "newest first, each once"
    );
    let edges = body["data"]["securityEvents"]["edges"].as_array().unwrap();
    let login = &edges[4]["node"];
    assert_eq!(login["ip"], "127.0.0.1");
    assert!(login["sessionId"].is_string());
    assert!(login["actor"].is_null());
    let (_, sessions) = app
        .gql_as(Some(&auth), "{ sessions { id current } }", json!({}))
        .await;
    assert_eq!(login["sessionId"], sessions["data"]["sessions"][0]["id"]);
    assert_eq!(
        edges[2]["node"]["sessionId"], login["sessionId"],
        "the acting session"
    );
    assert_eq!(body["data"]["securityEvents"]["totalCount"], 7);

    // The password change and the logout, seen from another instance.
    let other = spawn_process(&app.db.url, &app.mail_dir, &[]).await;
    let (_, body) = app
        .gql_as(
            Some(&auth),
            "mutation($o: String!, $n: String!) { changePassword(oldPassword: $o, newPassword: $n, confirmPassword: $n) { accessToken } }",
            json!({ "o": PASSWORD, "n": "another sturdy passphrase 7" }),
        )
        .await;
    let fresh = format!(
        "Bearer {}",
        body["data"]["changePassword"]["accessToken"]
            .as_str()
            .unwrap()
    );
    let answer = app
        .gql_at(
            &other.base,
            Some(&fresh),
            json!({ "query": EVENTS, "variables": { "first": 1 } }),
        )
        .await;
    assert_eq!(types(&answer), ["PASSWORD_CHANGED"]);
}

/// A change that fails (here a username that is taken) records nothing, and
/// a failed sign-in for an address with no account records nothing at all.
#[tokio::test]
async fn failed_changes_and_unknown_accounts_record_nothing() {
    let app = spawn_app().await;
    let first = app.signed_in_user("first@example.com").await;
    let second = app.signed_in_user("second@example.com").await;
    app.gql_as(
        Some(&first.bearer()),
        "mutation { updateProfile(input: {username: \"taken\"}) { id } }",
        json!({}),
    )
    .await;
    let (_, body) = app
        .gql_as(
            Some(&second.bearer()),
            "mutation { updateProfile(input: {username: \"TAKEN\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    let body = events(
        &app,
        &second.bearer(),
        json!({ "filter": { "types": ["PROFILE_UPDATED"] } }),
    )
    .await;
    assert!(types(&body).is_empty(), "{body}");

    use sea_orm::{EntityTrait, PaginatorTrait};
    let db = app.db_conn().await;
    let before = entity::security_event::Entity::find()
        .count(&db)
        .await
        .unwrap();
    app.login("nobody@example.com", PASSWORD).await;
    assert_eq!(
        entity::security_event::Entity::find()
            .count(&db)
            .await
            .unwrap(),
        before
    );
}

#[tokio::test]
async fn users_see_their_own_events_and_staff_anyones() {
    let app = spawn_app().await;
    let alice = app.signed_in_user("alice@example.com").await;
    let bob = app.signed_in_user("bob@example.com").await;
    let staff = app.staff_user("staff@example.com").await;

    let body = events(&app, &bob.bearer(), json!({ "user": alice.id })).await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let mine = events(&app, &bob.bearer(), json!({ "user": bob.id })).await;
    assert_eq!(
        types(&mine),
        ["LOGIN_SUCCEEDED", "ACCOUNT_ACTIVATED", "ACCOUNT_REGISTERED"]
    );

    // Staff deactivate Alice: her event names the staff user who acted.
    app.gql_as(
        Some(&staff.bearer()),
        "mutation($id: ID!) { setUserActive(id: $id, active: false) { id } }",
        json!({ "id": alice.id }),
    )
    .await;
    let body = events(
        &app,
        &staff.bearer(),
        json!({ "user": alice.id, "first": 1 }),
    )
    .await;
    let node = &body["data"]["securityEvents"]["edges"][0]["node"];
    assert_eq!(node["type"], "ACCOUNT_DEACTIVATED", "{body}");
    assert_eq!(node["actor"]["id"], staff.id.as_str());

    // Filters, and paging both ways over the four events.
    let body = events(
        &app,
        &staff.bearer(),
        json!({ "user": alice.id, "filter": { "types": ["ACCOUNT_REGISTERED", "ACCOUNT_DEACTIVATED"] } }),
    )
    .await;
    assert_eq!(types(&body), ["ACCOUNT_DEACTIVATED", "ACCOUNT_REGISTERED"]);
    let all = [
        "ACCOUNT_DEACTIVATED",
        "LOGIN_SUCCEEDED",
        "ACCOUNT_ACTIVATED",
        "ACCOUNT_REGISTERED",
    ];
    let page1 = events(
        &app,
        &staff.bearer(),
        json!({ "user": alice.id, "first": 2 }),
    )
    .await;
    assert_eq!(types(&page1), all[..2]);
    let cursor = page1["data"]["securityEvents"]["pageInfo"]["endCursor"].clone();
    let page2 = events(
        &app,
        &staff.bearer(),
        json!({ "user": alice.id, "first": 2, "after": cursor }),
    )
    .await;
    assert_eq!(types(&page2), all[2..]);
    assert_eq!(
        page2["data"]["securityEvents"]["pageInfo"]["hasNextPage"],
        false
    );
    let back = events(
        &app,
        &staff.bearer(),
        json!({ "user": alice.id, "last": 3 }),
    )
    .await;
    assert_eq!(types(&back), all[1..]);
    let cursor = back["data"]["securityEvents"]["pageInfo"]["startCursor"].clone();
    let before = events(
        &app,
        &staff.bearer(),
        json!({ "user": alice.id, "last": 3, "before": cursor }),
    )
    .await;
    assert_eq!(types(&before), all[..1]);
}

/// The rest of today's event types, each once: second-factor failures and
/// sign-in limits, refresh reuse, session revocation, re-authentication,
/// logout, two-factor on and off, and the reset pair.
#[tokio::test]
async fn every_other_event_type_is_recorded_once() {
    use crate::helpers::two_factor::{challenge, with_two_factor, wrong};
    let app = crate::helpers::spawn_app_with(&[("LOGIN_RATE_LIMIT", "3/15m")]).await;
    with_two_factor(&app, "all@example.com").await;
    let (id, right) = challenge(&app, "all@example.com").await;
    let verify = "mutation($id: ID!, $c: String!) { verifyOtp(challengeId: $id, code: $c) { accessToken refreshToken } }";
    app.gql(verify, json!({ "id": id, "c": wrong(&right) }))
        .await;
    let (_, body) = app.gql(verify, json!({ "id": id, "c": right })).await;
    let auth = format!(
        "Bearer {}",
        body["data"]["verifyOtp"]["accessToken"].as_str().unwrap()
    );
    let refresh = body["data"]["verifyOtp"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = crate::helpers::two_factor::app_mails(&app, "all@example.com").len();
    let (_, body) = app
        .gql_as(Some(&auth), "mutation($p: String!) { reauthenticate(password: $p) { __typename ... on OtpChallenge { challengeId } } }", json!({ "p": PASSWORD }))
        .await;
    let reauth = body["data"]["reauthenticate"]["challengeId"].clone();
    let mails = crate::helpers::mail::wait_for(&app.mail_dir, "all@example.com", before + 1).await;
    let (_, body) = app
        .gql(
            verify,
            json!({ "id": reauth, "c": mails.last().unwrap().code() }),
        )
        .await;
    let auth = format!(
        "Bearer {}",
        body["data"]["verifyOtp"]["accessToken"].as_str().unwrap()
    );
    app.gql_as(
        Some(&auth),
        "mutation($p: String!) { disableTwoFactor(password: $p) { id } }",
        json!({ "p": PASSWORD }),
    )
    .await;
    // A rotated refresh token presented again.
    let rotate = "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }";
    app.gql(rotate, json!({ "t": refresh })).await;
    // A session that logs out, another that is revoked; then limited sign-ins.
    let leaving = app.login("all@example.com", PASSWORD).await;
    let leaving = format!(
        "Bearer {}",
        leaving["data"]["login"]["accessToken"].as_str().unwrap()
    );
    app.gql_as(Some(&leaving), "mutation { logout }", json!({}))
        .await;
    let other = app.login("all@example.com", PASSWORD).await;
    let other_token = format!(
        "Bearer {}",
        other["data"]["login"]["accessToken"].as_str().unwrap()
    );
    let current = app.session_id(&other_token, true).await;
    let user_id = other["data"]["login"]["user"]["id"].clone();
    for _ in 0..4 {
        app.login("all@example.com", "wrong password!!").await;
    }
    // The staff view, as the session about to be revoked is the viewer's.
    let staff = app.staff_user("auditor@example.com").await;
    app.gql_as(
        Some(&other_token),
        "mutation($id: ID!) { revokeSession(id: $id) }",
        json!({ "id": current }),
    )
    .await;
    let before = crate::helpers::two_factor::app_mails(&app, "all@example.com").len();
    app.gql(
        "mutation($e: String!) { requestPasswordReset(email: $e) }",
        json!({ "e": "all@example.com" }),
    )
    .await;
    let mails = crate::helpers::mail::wait_for(&app.mail_dir, "all@example.com", before + 1).await;
    let (uid, token) = mails.last().unwrap().link("reset-password");
    let (_, body) = app
        .gql(
            "mutation($u: String!, $t: String!, $n: String!) { resetPassword(uid: $u, token: $t, newPassword: $n, confirmPassword: $n) }",
            json!({ "u": uid, "t": token, "n": "a brand new passphrase 9" }),
        )
        .await;
    assert_eq!(body["data"]["resetPassword"], true, "{body}");
    let body = events(
        &app,
        &staff.bearer(),
        json!({ "user": user_id, "first": 50 }),
    )
    .await;
    let seen = types(&body);
    for kind in [
        "TWO_FACTOR_ENABLED",
        "SECOND_FACTOR_FAILED",
        "REAUTHENTICATED",
        "TWO_FACTOR_DISABLED",
        "REFRESH_TOKEN_REUSED",
        "LOGIN_RATE_LIMITED",
        "SESSION_REVOKED",
        "PASSWORD_RESET_REQUESTED",
        "PASSWORD_RESET",
        "LOGGED_OUT",
    ] {
        assert_eq!(
            seen.iter().filter(|t| *t == kind).count(),
            1,
            "{kind} in {seen:?}"
        );
    }
}

/// `SecurityEvent.user` names the account an event belongs to (staff read
/// another user's); `organizationId` is null outside organizations.
#[tokio::test]
async fn an_event_names_its_account() {
    let app = crate::helpers::spawn_app().await;
    let staff = app.staff_user("staff@example.com").await;
    let user = app.signed_in_user("owner@example.com").await;
    let (_, body) = app
        .gql_as(
            Some(&staff.bearer()),
            "query($u: ID) { securityEvents(first: 1, userId: $u) { nodes { user { id email } organizationId } } }",
            serde_json::json!({ "u": user.id }),
        )
        .await;
    let node = &body["data"]["securityEvents"]["nodes"][0];
    assert_eq!(node["user"]["id"], user.id.as_str(), "{body}");
    assert_eq!(node["user"]["email"], "owner@example.com");
    assert!(node["organizationId"].is_null());
}
