//! The WebSocket goes through the same admission as HTTP (API.md §8.9),
//! written as the review's attack: queries and mutations sent as
//! `subscribe`, thousands of subscriptions on one socket, documents HTTP
//! refuses as too complex.

use std::time::Duration;

use serde_json::json;

use crate::helpers::ws::{Next, Socket};
use crate::helpers::{PASSWORD, spawn_app_with};

/// The `error` message of operation `id`, with its first code.
async fn error_code(socket: &mut Socket, id: &str) -> String {
    match socket.next(Duration::from_secs(5)).await {
        Next::Message(m) if m["type"] == "error" && m["id"] == id => m["payload"][0]["extensions"]
            ["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no code: {m}"))
            .to_owned(),
        other => panic!("expected an error for {id}, got {other:?}"),
    }
}

#[tokio::test]
async fn the_websocket_runs_no_query_or_mutation_sent_as_subscribe() {
    let app = spawn_app_with(&[("MAIL_RATE_LIMIT", "100/1h")]).await;
    let user = app.signed_in_user("socket@example.com").await;
    let victim = "victim@example.com";
    app.activated_user(victim).await;
    let mails = app.mails_to_count(victim);
    let mut socket = Socket::acked(&app.base, &user.bearer()).await;
    let logins: String = (0..6)
        .map(|i| format!("l{i}: login(input: {{email: \"{victim}\", password: \"{PASSWORD}\"}}) {{ __typename }} "))
        .collect();
    let resets: String = (0..5)
        .map(|i| format!("r{i}: requestPasswordReset(email: \"{victim}\") "))
        .collect();
    for (id, query) in [
        ("logins", format!("mutation {{ {logins} }}")),
        ("resets", format!("mutation {{ {resets} }}")),
        ("one", "mutation { logout }".to_owned()),
        ("query", "{ me { id } }".to_owned()),
    ] {
        socket
            .send(json!({ "id": id, "type": "subscribe", "payload": { "query": query } }))
            .await;
        assert_eq!(error_code(&mut socket, id).await, "BAD_REQUEST", "{id}");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.mails_to_count(victim), mails, "nothing was mailed");
    // The socket's session still works: `logout` did not run.
    let (status, _) = app
        .gql_as(Some(&user.bearer()), "{ me { id } }", json!({}))
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_socket_carries_at_most_five_subscriptions() {
    let app = spawn_app_with(&[]).await;
    let user = app.signed_in_user("many@example.com").await;
    let mut socket = Socket::acked(&app.base, &user.bearer()).await;
    for i in 0..5 {
        socket.subscribe_events(&format!("s{i}")).await;
    }
    assert_eq!(socket.next(Duration::from_millis(300)).await, Next::Nothing);
    socket.subscribe_events("s5").await;
    assert_eq!(error_code(&mut socket, "s5").await, "RATE_LIMITED");
    // Ending one makes room for another.
    socket.send(json!({ "id": "s0", "type": "complete" })).await;
    socket.subscribe_events("s6").await;
    // The engine may confirm the end of s0; s6 is not refused.
    loop {
        match socket.next(Duration::from_millis(300)).await {
            Next::Nothing => break,
            Next::Message(m) if m["type"] == "complete" && m["id"] == "s0" => continue,
            other => panic!("s6 was refused: {other:?}"),
        }
    }
    // And the five still get the events: one event, five messages.
    app.gql_as(
        Some(&user.bearer()),
        "mutation { createApiToken(name: \"x\") { token } }",
        json!({}),
    )
    .await;
    let mut delivered = 0;
    while let Next::Message(m) = socket.next(Duration::from_secs(2)).await {
        assert_eq!(m["type"], "next", "{m}");
        delivered += 1;
    }
    assert_eq!(delivered, 5);
}

#[tokio::test]
async fn a_subscription_passes_the_same_checks_as_an_http_request() {
    let app = spawn_app_with(&[]).await;
    let user = app.signed_in_user("checks@example.com").await;
    let mut socket = Socket::acked(&app.base, &user.bearer()).await;
    let aliases: String = (0..1001).map(|i| format!("a{i}: __typename ")).collect();
    socket
        .send(json!({ "id": "big", "type": "subscribe", "payload": {
            "query": format!("subscription {{ securityEvents {{ type {aliases} }} }}") } }))
        .await;
    assert_eq!(
        error_code(&mut socket, "big").await,
        "GRAPHQL_VALIDATION_FAILED"
    );
    // A refused document uses no slot: five more still fit.
    for i in 0..5 {
        socket.subscribe_events(&format!("s{i}")).await;
    }
    assert_eq!(socket.next(Duration::from_millis(300)).await, Next::Nothing);
}

/// What the gate cannot read it refuses, rather than hand to the engine
/// unadmitted: a payload of another shape, several operations unnamed.
#[tokio::test]
async fn a_payload_the_gate_cannot_read_runs_nothing() {
    let app = spawn_app_with(&[]).await;
    let user = app.signed_in_user("odd@example.com").await;
    let mut socket = Socket::acked(&app.base, &user.bearer()).await;
    for (id, payload) in [
        (
            "odd-extensions",
            json!({ "query": "mutation { logout }", "extensions": "x" }),
        ),
        (
            "odd-variables",
            json!({ "query": "mutation { logout }", "variables": [1] }),
        ),
        (
            "two-unnamed",
            json!({ "query": "mutation A { logout } subscription B { securityEvents { type } }" }),
        ),
    ] {
        socket
            .send(json!({ "id": id, "type": "subscribe", "payload": payload }))
            .await;
        match socket.next(Duration::from_secs(5)).await {
            Next::Message(m) if m["type"] == "error" && m["id"] == id => {}
            Next::Closed(_) => break,
            other => panic!("{id}: {other:?}"),
        }
    }
    let (status, _) = app
        .gql_as(Some(&user.bearer()), "{ me { id } }", json!({}))
        .await;
    assert_eq!(status, 200, "logout never ran");
}

/// The review of this round: async-graphql's engine also takes the older
/// protocol's `start`, and a `subscribe` with an id already running
/// replaced that operation with a new, unadmitted one. Both are refused.
#[tokio::test]
async fn start_messages_and_reused_ids_are_admitted_like_any_subscribe() {
    let app = spawn_app_with(&[]).await;
    let user = app.signed_in_user("reuse@example.com").await;
    let mut socket = Socket::acked(&app.base, &user.bearer()).await;
    socket
        .send(
            json!({ "id": "old", "type": "start", "payload": { "query": "mutation { logout }" } }),
        )
        .await;
    assert_eq!(error_code(&mut socket, "old").await, "BAD_REQUEST");
    socket.subscribe_events("a").await;
    assert_eq!(socket.next(Duration::from_millis(300)).await, Next::Nothing);
    socket
        .send(json!({ "id": "a", "type": "subscribe", "payload": { "query": "mutation { logout }" } }))
        .await;
    assert_eq!(error_code(&mut socket, "a").await, "BAD_REQUEST");
    let (status, _) = app
        .gql_as(Some(&user.bearer()), "{ me { id } }", json!({}))
        .await;
    assert_eq!(status, 200, "logout never ran");
}
