//! Webhooks (API.md §11.1–§11.4) against a receiver that verifies every
//! delivery with the Standard Webhooks reference library: signatures,
//! retries with a stable `webhook-id`, rotation overlap, the dead state and
//! redelivery, no secret in a payload, staff-only management and the SSRF
//! rule.

use serde_json::{Value, json};

use crate::helpers::receiver::Receiver;
use crate::helpers::{PASSWORD, TestApp, TestUser, code, free_port, spawn_app_with};

const CREATE: &str = "mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { secret endpoint { id url events enabled } } }";
const ROTATE: &str = "mutation($id: ID!, $o: Int) { rotateWebhookSecret(id: $id, overlapSeconds: $o) { secret endpoint { previousSecretExpiresAt } } }";
const DELIVERIES: &str = "query($id: ID!, $f: WebhookDeliveryFilter) { webhookDeliveries(endpointId: $id, first: 50, filter: $f) { totalCount nodes { id webhookId eventType status attempts responseStatus payload } } }";
const REDELIVER: &str = "mutation($id: ID!) { redeliverWebhook(id: $id) { status webhookId } }";

async fn spawn(extra: &[(&str, &str)]) -> TestApp {
    let mut vars = vec![
        ("WEBHOOK_ALLOW_PRIVATE", "true"),
        ("WEBHOOK_RETRY_INTERVAL", "200ms"),
    ];
    vars.extend_from_slice(extra);
    spawn_app_with(&vars).await
}

/// A staff user and a new endpoint for `events` at `receiver`: its id and secret.
async fn endpoint(
    app: &TestApp,
    staff: &TestUser,
    receiver: &Receiver,
    events: Value,
) -> (String, String) {
    let (_, body) = app
        .gql_as(
            Some(&staff.bearer()),
            CREATE,
            json!({ "i": { "url": receiver.url, "events": events } }),
        )
        .await;
    let made = &body["data"]["createWebhookEndpoint"];
    let secret = made["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    assert!(secret.starts_with("whsec_"));
    (made["endpoint"]["id"].as_str().unwrap().to_owned(), secret)
}

async fn deliveries(app: &TestApp, staff: &TestUser, id: &str) -> Vec<Value> {
    let (_, body) = app
        .gql_as(Some(&staff.bearer()), DELIVERIES, json!({ "id": id }))
        .await;
    body["data"]["webhookDeliveries"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .clone()
}

#[tokio::test]
async fn events_are_delivered_signed_and_hold_no_secret() {
    let app = spawn(&[]).await;
    let receiver = Receiver::start().await;
    let staff = app.staff_user("staff@example.com").await;
    let (_, secret) = endpoint(
        &app,
        &staff,
        &receiver,
        json!(["security.*", "user.created"]),
    )
    .await;
    receiver.trust(&secret);
    app.register("new@example.com", PASSWORD).await;
    let created = receiver.wait_for("user.created", 1).await;
    let registered = receiver.wait_for("security.account_registered", 1).await;
    for delivery in created.iter().chain(&registered) {
        assert_eq!(delivery.verified_by, vec![0], "{delivery:?}");
        assert!(delivery.webhook_id.starts_with("msg_") && delivery.webhook_id.len() <= 64);
        assert!(delivery.body["timestamp"].is_string());
    }
    assert_eq!(created[0].body["data"]["user"]["email"], "new@example.com");
    assert_eq!(registered[0].body["data"]["type"], "ACCOUNT_REGISTERED");
    // Sign in and fail once: events, never a password or a token.
    let body = app.login("staff@example.com", "wrong password here").await;
    assert_eq!(code(&body), "INVALID_CREDENTIALS");
    receiver.wait_for("security.login_failed", 1).await;
    for delivery in receiver.received() {
        for secret_text in [
            PASSWORD,
            "wrong password here",
            &staff.refresh_token,
            &staff.access_token,
            &secret,
        ] {
            assert!(
                !delivery.raw.contains(secret_text),
                "a secret in {}",
                delivery.raw
            );
        }
    }
}

#[tokio::test]
async fn a_failing_receiver_gets_retries_with_one_webhook_id_then_the_delivery_is_dead() {
    let app = spawn(&[("WEBHOOK_MAX_ATTEMPTS", "3")]).await;
    let receiver = Receiver::start().await;
    receiver.answer(503);
    let staff = app.staff_user("staff@example.com").await;
    let (id, secret) = endpoint(&app, &staff, &receiver, json!(["user.deleted"])).await;
    receiver.trust(&secret);
    let (_, body) = app
        .gql_as(
            Some(&staff.bearer()),
            "mutation($id: ID!) { pingWebhookEndpoint(id: $id) { webhookId status } }",
            json!({ "id": id }),
        )
        .await;
    let webhook_id = body["data"]["pingWebhookEndpoint"]["webhookId"]
        .as_str()
        .unwrap()
        .to_owned();
    let tries = receiver.wait_for("webhook.ping", 3).await;
    assert!(
        tries
            .iter()
            .all(|t| t.webhook_id == webhook_id && t.verified_by == vec![0])
    );
    let dead = loop {
        let rows = deliveries(&app, &staff, &id).await;
        if rows[0]["status"] == "DEAD" {
            break rows[0].clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(
        (dead["attempts"].clone(), dead["responseStatus"].clone()),
        (json!(3), json!(503))
    );
    // The receiver is back: a redelivery goes out with the same id.
    receiver.answer(204);
    let (_, body) = app
        .gql_as(
            Some(&staff.bearer()),
            REDELIVER,
            json!({ "id": dead["id"] }),
        )
        .await;
    assert_eq!(
        body["data"]["redeliverWebhook"]["webhookId"],
        webhook_id.as_str(),
        "{body}"
    );
    receiver.wait_for("webhook.ping", 4).await;
    let done = loop {
        let rows = deliveries(&app, &staff, &id).await;
        if rows[0]["status"] == "SUCCEEDED" {
            break rows[0].clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(done["attempts"], 4);
    assert_eq!(done["payload"]["type"], "webhook.ping");
}

#[tokio::test]
async fn a_rotation_signs_with_both_secrets_until_its_overlap_ends() {
    let app = spawn(&[]).await;
    let receiver = Receiver::start().await;
    let staff = app.staff_user("staff@example.com").await;
    let (id, old) = endpoint(&app, &staff, &receiver, json!(["user.created"])).await;
    receiver.trust(&old);
    let (_, body) = app
        .gql_as(Some(&staff.bearer()), ROTATE, json!({ "id": id }))
        .await;
    let new = body["data"]["rotateWebhookSecret"]["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    assert!(body["data"]["rotateWebhookSecret"]["endpoint"]["previousSecretExpiresAt"].is_string());
    receiver.trust(&new);
    let ping = "mutation($id: ID!) { pingWebhookEndpoint(id: $id) { id } }";
    app.gql_as(Some(&staff.bearer()), ping, json!({ "id": id }))
        .await;
    let got = receiver.wait_for("webhook.ping", 1).await;
    assert_eq!(
        got[0].verified_by,
        vec![0, 1],
        "both secrets verify during the overlap"
    );
    // Rotating with no overlap drops the others at once.
    let (_, body) = app
        .gql_as(Some(&staff.bearer()), ROTATE, json!({ "id": id, "o": 0 }))
        .await;
    let newest = body["data"]["rotateWebhookSecret"]["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    receiver.trust(&newest);
    app.gql_as(Some(&staff.bearer()), ping, json!({ "id": id }))
        .await;
    let got = receiver.wait_for("webhook.ping", 2).await;
    assert_eq!(got[1].verified_by, vec![2], "only the newest secret signs");
}

#[tokio::test]
async fn only_fresh_staff_manage_endpoints_and_input_is_checked() {
    let app = spawn(&[]).await;
    let receiver = Receiver::start().await;
    let user = app.signed_in_user("user@example.com").await;
    let input = json!({ "i": { "url": receiver.url, "events": ["*"] } });
    let (status, body) = app.gql(CREATE, input.clone()).await;
    assert_eq!((status, code(&body)), (200, "UNAUTHENTICATED"), "{body}");
    let (_, body) = app
        .gql_as(Some(&user.bearer()), CREATE, input.clone())
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    let staff = app.staff_user("staff@example.com").await;
    let api = app.api_token(&staff.bearer()).await;
    let (_, body) = app.gql_as(Some(&api), CREATE, input).await;
    assert_eq!(
        code(&body),
        "FORBIDDEN",
        "an API token manages no endpoint: {body}"
    );
    for (i, field) in [
        (json!({ "url": receiver.url, "events": [] }), "events"),
        (
            json!({ "url": receiver.url, "events": ["security.nope"] }),
            "events",
        ),
        (
            json!({ "url": receiver.url, "events": ["Webhook.ping"] }),
            "events",
        ),
        (
            json!({ "url": "ftp://example.com/x", "events": ["*"] }),
            "url",
        ),
        (
            json!({ "url": "https://user:pw@example.com/x", "events": ["*"] }),
            "url",
        ),
        (
            json!({ "url": "https://example.com/x#f", "events": ["*"] }),
            "url",
        ),
        (
            json!({ "url": receiver.url, "events": ["*"], "description": "d".repeat(201) }),
            "description",
        ),
    ] {
        let (_, body) = app
            .gql_as(Some(&staff.bearer()), CREATE, json!({ "i": i }))
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        assert!(
            body["errors"][0]["extensions"]["fields"][field].is_array(),
            "{body}"
        );
    }
    let (_, body) = app
        .gql_as(Some(&staff.bearer()), "{ webhookEventTypes }", json!({}))
        .await;
    let types = body["data"]["webhookEventTypes"].as_array().unwrap();
    assert!(
        types.contains(&json!("security.login_succeeded"))
            && types.contains(&json!("webhook.ping"))
    );
    // The whole catalogue, as a UI would offer it, is a valid subscription.
    let (_, body) = app
        .gql_as(
            Some(&staff.bearer()),
            CREATE,
            json!({ "i": { "url": receiver.url, "events": types } }),
        )
        .await;
    assert!(
        body["data"]["createWebhookEndpoint"]["secret"].is_string(),
        "{body}"
    );
}

#[tokio::test]
async fn endpoints_may_not_reach_the_servers_own_network() {
    let app = spawn_app_with(&[("APP_ENV", "production")]).await;
    let staff = app.staff_user("staff@example.com").await;
    for url in [
        "http://127.0.0.1:9/hook",
        "https://127.0.0.1/hook",
        "https://2130706433/hook",
        "https://0x7f000001/hook",
        "https://127.1/hook",
        "https://[::1]/hook",
        "https://[::ffff:169.254.169.254]/latest",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.8/hook",
        "https://localhost/hook",
    ] {
        let (_, body) = app
            .gql_as(
                Some(&staff.bearer()),
                CREATE,
                json!({ "i": { "url": url, "events": ["*"] } }),
            )
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{url}: {body}");
        assert!(
            body["errors"][0]["extensions"]["fields"]["url"].is_array(),
            "{body}"
        );
    }
}

/// The receiver is down (connection refused) when the event happens and
/// comes back on the same address: the retries reach it, under the same
/// `webhook-id`, and the delivery succeeds.
#[tokio::test]
async fn a_receiver_that_was_down_gets_the_retry_with_the_same_webhook_id() {
    let app = spawn(&[]).await;
    let staff = app.staff_user("staff@example.com").await;
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let (_, body) = app
        .gql_as(
            Some(&staff.bearer()),
            CREATE,
            json!({ "i": { "url": url, "events": ["user.created"] } }),
        )
        .await;
    let made = &body["data"]["createWebhookEndpoint"];
    let (id, secret) = (
        made["endpoint"]["id"].clone(),
        made["secret"].as_str().unwrap().to_owned(),
    );
    app.register("while-down@example.com", PASSWORD).await;
    let failed = loop {
        let rows = deliveries(&app, &staff, id.as_str().unwrap()).await;
        if rows.first().and_then(|r| r["attempts"].as_i64()) >= Some(2) {
            break rows[0].clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(
        (failed["status"].clone(), failed["responseStatus"].clone()),
        (json!("PENDING"), Value::Null)
    );
    let receiver = Receiver::start_on(port).await;
    receiver.trust(&secret);
    let got = receiver.wait_for("user.created", 1).await;
    assert_eq!(got[0].webhook_id, failed["webhookId"].as_str().unwrap());
    assert_eq!(got[0].verified_by, vec![0]);
}

/// The `organization.*` events (API.md §11.3) carry their facts, and
/// `security.org_*` their organization; no invitation token in any.
#[tokio::test]
async fn organization_events_are_delivered_with_their_facts() {
    use crate::helpers::orgs;
    let app = spawn(&[]).await;
    let receiver = Receiver::start().await;
    let staff = app.staff_user("org-hooks@example.com").await;
    let (_, secret) = endpoint(
        &app,
        &staff,
        &receiver,
        json!(["organization.*", "security.org_member_removed"]),
    )
    .await;
    receiver.trust(&secret);
    let org = orgs::create(&app, &staff, "Hooked").await;
    let member = orgs::member(&app, &staff, &org, "hooked@example.com", "ADMIN").await;
    let token = orgs::token(&app, "hooked@example.com", 2).await;
    app.gql_as(
        Some(&staff.bearer()),
        orgs::REMOVE,
        json!({ "o": org, "u": member.id }),
    )
    .await;
    let created = receiver.wait_for("organization.created", 1).await;
    assert_eq!(created[0].body["data"]["organization"]["slug"], "hooked");
    assert_eq!(created[0].body["data"]["actorId"], staff.id.as_str());
    let invited = receiver
        .wait_for("organization.invitation_created", 1)
        .await;
    assert_eq!(invited[0].body["data"]["invitation"]["role"], "ADMIN");
    let added = receiver.wait_for("organization.member_added", 1).await;
    assert_eq!(added[0].body["data"]["userId"], member.id.as_str());
    let removed = receiver.wait_for("organization.member_removed", 1).await;
    assert_eq!(removed[0].body["data"]["reason"], "removed");
    assert_eq!(removed[0].body["data"]["actorId"], staff.id.as_str());
    let event = receiver.wait_for("security.org_member_removed", 1).await;
    assert_eq!(event[0].body["data"]["organizationId"], org.as_str());
    assert_eq!(event[0].body["data"]["userId"], member.id.as_str());
    for delivery in receiver.received() {
        assert_eq!(delivery.verified_by, vec![0], "{delivery:?}");
        assert!(
            !delivery.raw.contains(&token),
            "a token in {}",
            delivery.raw
        );
    }
}
