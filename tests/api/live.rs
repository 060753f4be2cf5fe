//! Live security events over WebSocket (API.md §8.6), with a real
//! WebSocket client: the handshake, events to their user only, and every
//! revocation closing the socket with 4401 within two seconds.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::ws::{Next, Socket};
use crate::helpers::{PASSWORD, TestApp, TestUser, spawn_app, spawn_app_with, spawn_process};

const SOON: Duration = Duration::from_secs(2);
const QUIET: Duration = Duration::from_millis(1500);

async fn mutate(app: &TestApp, auth: &str, query: &str, variables: Value) -> Value {
    let (_, body) = app.gql_as(Some(auth), query, variables).await;
    assert!(body["errors"].is_null(), "{query}: {body}");
    body
}

/// Waits for the socket's close, with the events sent before it.
async fn closed_within(socket: &mut Socket, limit: Duration) -> (Vec<String>, u16, Duration) {
    let began = Instant::now();
    let mut events = Vec::new();
    loop {
        match socket.next(limit + Duration::from_secs(1)).await {
            Next::Message(m) if m["type"] == "next" => events.push(
                m["payload"]["data"]["securityEvents"]["type"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            ),
            Next::Message(m) => panic!("unexpected {m}"),
            Next::Closed(code) => return (events, code, began.elapsed()),
            Next::Nothing => panic!("still open after {:?}", began.elapsed()),
        }
    }
}

async fn listening(app_base: &str, user: &TestUser) -> Socket {
    let mut socket = Socket::acked(app_base, &user.bearer()).await;
    socket.subscribe_events("1").await;
    // The subscription is registered once the server has read it; a ping
    // round trip proves that.
    socket.send(json!({ "type": "ping" })).await;
    assert_eq!(
        socket.next(SOON).await,
        Next::Message(json!({ "type": "pong" }))
    );
    socket
}

#[tokio::test]
async fn a_missing_or_bad_credential_is_closed_with_4403() {
    let app = spawn_app().await;
    for authorization in [None, Some("Bearer not-a-jwt"), Some("Token nope"), Some("")] {
        let mut socket = Socket::open(&app.base, authorization).await;
        assert_eq!(
            socket.next(SOON).await,
            Next::Closed(4403),
            "{authorization:?}"
        );
    }
    // Over plain HTTP a subscription is refused, never run.
    let (status, body) = app
        .gql("subscription { securityEvents { type } }", json!({}))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST");
}

#[tokio::test]
async fn events_reach_their_own_user_only() {
    let app = spawn_app().await;
    let alice = app.signed_in_user("alice@example.com").await;
    let bob = app.signed_in_user("bob@example.com").await;
    let mut a = listening(&app.base, &alice).await;
    let mut b = listening(&app.base, &bob).await;

    mutate(
        &app,
        &alice.bearer(),
        "mutation { updateProfile(input: {firstName: \"Alice\"}) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(a.event("1", SOON).await.as_deref(), Some("PROFILE_UPDATED"));
    assert_eq!(
        b.event("1", QUIET).await,
        None,
        "bob sees nothing of alice's"
    );
    // The socket stays open: nothing was revoked.
    assert_eq!(a.next(QUIET).await, Next::Nothing);
}

/// The socket closes with 4401 within 2 s, after `event` when given.
async fn revoked(socket: &mut Socket, event: Option<&str>) {
    let (events, code, took) = closed_within(socket, SOON).await;
    assert_eq!(code, 4401, "{events:?}");
    assert!(took < SOON, "{took:?}");
    if let Some(event) = event {
        assert!(
            events.iter().any(|e| e == event),
            "{event} not in {events:?}"
        );
    }
}

/// Each way a session ends closes its socket with 4401 within 2 s, after
/// the event that ended it.
#[tokio::test]
async fn every_revocation_closes_the_socket_with_4401_within_two_seconds() {
    let app = spawn_app().await;
    let staff = app.staff_user("staff@example.com").await;

    // logout from the socket's own session
    let user = app.signed_in_user("logout@example.com").await;
    let mut socket = listening(&app.base, &user).await;
    mutate(&app, &user.bearer(), "mutation { logout }", json!({})).await;
    revoked(&mut socket, Some("LOGGED_OUT")).await;

    // revokeSession from another session
    let user = app.signed_in_user("revoke@example.com").await;
    let other = app.login("revoke@example.com", PASSWORD).await;
    let other = format!(
        "Bearer {}",
        other["data"]["login"]["accessToken"].as_str().unwrap()
    );
    let mut socket = listening(&app.base, &user).await;
    let target = app.session_id(&other, false).await;
    let revoke = "mutation($id: ID!) { revokeSession(id: $id) }";
    mutate(&app, &other, revoke, json!({ "id": target })).await;
    revoked(&mut socket, Some("SESSION_REVOKED")).await;

    // a refresh token used twice ends the session
    let user = app.signed_in_user("reuse@example.com").await;
    let mut socket = listening(&app.base, &user).await;
    let refresh = "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }";
    let vars = json!({ "t": user.refresh_token });
    app.gql(refresh, vars.clone()).await;
    app.gql(refresh, vars).await;
    revoked(&mut socket, Some("REFRESH_TOKEN_REUSED")).await;

    // staff deactivate the account: its sessions and API tokens end
    let user = app.signed_in_user("deactivated@example.com").await;
    let token = app.api_token(&user.bearer()).await;
    let mut by_session = listening(&app.base, &user).await;
    let mut by_token = Socket::acked(&app.base, &token).await;
    let deactivate = "mutation($id: ID!) { setUserActive(id: $id, active: false) { id } }";
    mutate(&app, &staff.bearer(), deactivate, json!({ "id": user.id })).await;
    revoked(&mut by_session, Some("ACCOUNT_DEACTIVATED")).await;
    revoked(&mut by_token, None).await;

    // the API token a socket was opened with is revoked
    let user = app.signed_in_user("token@example.com").await;
    let token = app.api_token(&user.bearer()).await;
    let mut socket = Socket::acked(&app.base, &token).await;
    let (_, tokens) = app
        .gql_as(Some(&user.bearer()), "{ apiTokens { id } }", json!({}))
        .await;
    let id = tokens["data"]["apiTokens"][0]["id"].clone();
    let revoke = "mutation($id: ID!) { revokeApiToken(id: $id) }";
    mutate(&app, &user.bearer(), revoke, json!({ "id": id })).await;
    revoked(&mut socket, None).await;

    // the account is deleted
    let user = app.signed_in_user("deleted@example.com").await;
    let mut socket = listening(&app.base, &user).await;
    let delete = "mutation($p: String!) { deleteAccount(password: $p) }";
    mutate(&app, &user.bearer(), delete, json!({ "p": PASSWORD })).await;
    revoked(&mut socket, None).await;
}

#[tokio::test]
async fn an_expired_access_token_closes_the_socket_within_two_seconds_of_exp() {
    let app = spawn_app_with(&[("ACCESS_TOKEN_TTL", "2s")]).await;
    let user = app.signed_in_user("short@example.com").await;
    let mut socket = listening(&app.base, &user).await;
    let (_, code, took) = closed_within(&mut socket, Duration::from_secs(5)).await;
    assert_eq!(code, 4401);
    // exp is whole seconds after a 2 s lifetime; closing is within 2 s of it.
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn sockets_per_user_are_capped() {
    let app = spawn_app_with(&[("MAX_SUBSCRIPTIONS_PER_USER", "2")]).await;
    let user = app.signed_in_user("many@example.com").await;
    let first = Socket::acked(&app.base, &user.bearer()).await;
    let _second = Socket::acked(&app.base, &user.bearer()).await;
    let mut third = Socket::open(&app.base, Some(&user.bearer())).await;
    assert_eq!(third.next(SOON).await, Next::Closed(4429));
    // Another user has sockets of their own; a closed socket frees its place.
    let other = app.signed_in_user("other@example.com").await;
    Socket::acked(&app.base, &other.bearer()).await;
    drop(first);
    tokio::time::sleep(Duration::from_millis(200)).await;
    Socket::acked(&app.base, &user.bearer()).await;
}

/// Two instances on one database: a socket on one is closed by a logout
/// on the other, and sees the events the other records.
#[tokio::test]
async fn a_revocation_on_another_instance_closes_the_socket() {
    let app = spawn_app().await;
    let other = spawn_process(&app.db.url, &app.mail_dir, &[]).await;
    let user = app.signed_in_user("two@example.com").await;
    let mut socket = listening(&app.base, &user).await;
    let update =
        json!({ "query": "mutation { updateProfile(input: {lastName: \"Two\"}) { id } }" });
    let answer = app.gql_at(&other.base, Some(&user.bearer()), update).await;
    assert!(answer["errors"].is_null(), "{answer}");
    assert_eq!(
        socket.event("1", SOON).await.as_deref(),
        Some("PROFILE_UPDATED")
    );
    let logout = json!({ "query": "mutation { logout }" });
    app.gql_at(&other.base, Some(&user.bearer()), logout).await;
    revoked(&mut socket, Some("LOGGED_OUT")).await;
    other.terminate();
}

/// SIGTERM closes open sockets with 1001 (going away) at once, and the
/// process exits cleanly.
#[tokio::test]
async fn shutting_down_closes_sockets_with_1001() {
    let app = spawn_app().await;
    let server = spawn_process(&app.db.url, &app.mail_dir, &[]).await;
    let user = app.signed_in_user("leaving@example.com").await;
    let mut socket = listening(&server.base, &user).await;
    let stopping = tokio::task::spawn_blocking(move || server.terminate());
    assert_eq!(socket.next(SOON).await, Next::Closed(1001));
    assert!(stopping.await.unwrap().success());
}

/// The protocol's own close codes for a client that breaks it: a message
/// that is not the protocol's is 4400, a subscribe before the
/// acknowledgement 4401, a second connection_init 4429.
#[tokio::test]
async fn a_client_that_breaks_the_protocol_is_closed_with_its_code() {
    let app = spawn_app().await;
    let user = app.signed_in_user("rude@example.com").await;

    let mut socket = Socket::acked(&app.base, &user.bearer()).await;
    socket.send(json!({ "type": "no such thing" })).await;
    assert_eq!(socket.next(SOON).await, Next::Closed(4400));

    let mut socket = Socket::raw(&app.base).await;
    socket.subscribe_events("1").await;
    assert_eq!(socket.next(SOON).await, Next::Closed(4401));

    let mut socket = Socket::acked(&app.base, &user.bearer()).await;
    let init = json!({ "type": "connection_init", "payload": { "Authorization": user.bearer() } });
    socket.send(init).await;
    assert_eq!(socket.next(SOON).await, Next::Closed(4429));
}

/// A role change makes an org-claiming token untrue: its socket gets the
/// member's event and 4401 within 2 s; a socket of a token without
/// organization claims stays open (API.md §9's change to §8.6).
#[tokio::test]
async fn a_membership_change_closes_sockets_of_tokens_that_claim_it() {
    use crate::helpers::orgs;
    let app = spawn_app().await;
    let owner = app.signed_in_user("ws-owner@example.com").await;
    let org = orgs::create(&app, &owner, "Sockets").await;
    let member = orgs::member(&app, &owner, &org, "ws-member@example.com", "MEMBER").await;
    let mut plain = listening(&app.base, &member).await;
    let active = orgs::activate(&app, &member, Some(&org)).await;
    let mut claiming = listening(&app.base, &active).await;
    mutate(
        &app,
        &owner.bearer(),
        orgs::CHANGE,
        json!({ "o": org, "u": member.id, "r": "ADMIN" }),
    )
    .await;
    revoked(&mut claiming, Some("ORG_MEMBER_ROLE_CHANGED")).await;
    assert_eq!(
        plain.event("1", SOON).await.as_deref(),
        Some("ORG_MEMBER_ROLE_CHANGED")
    );
    assert_eq!(plain.next(QUIET).await, Next::Nothing);
}
