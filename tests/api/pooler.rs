//! Two instances behind a transaction-pooling PgBouncer (API.md §8.10,
//! `DATABASE_POOLER=transaction`): Debian's PgBouncer with two server
//! connections for both instances' clients, so every transaction may land
//! on a server connection another client used last. Sign-ups, sign-ins,
//! refreshes, revocation seen across instances, products and searches, and
//! concurrent work on both, without one error. PostgreSQL only.

use serde_json::{Value, json};

use crate::helpers::pgbouncer::PgBouncer;
use crate::helpers::{PASSWORD, ProcessApp, spawn_app, spawn_process};

const LOGIN: &str = "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { ... on AuthPayload { accessToken refreshToken } } }";
const REFRESH: &str =
    "mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken refreshToken } }";
const CREATE: &str =
    "mutation($n: String!) { createProduct(input: {name: $n, priceCents: 100}) { id } }";
const SEARCH: &str =
    "query($s: String!) { products(first: 5, filter: {search: $s}) { totalCount nodes { name } } }";

fn ok(body: &Value) -> &Value {
    assert!(body["errors"].is_null(), "{body}");
    &body["data"]
}

#[tokio::test]
async fn two_instances_work_through_a_transaction_pooler() {
    let app = spawn_app().await;
    if !app.db.is_postgres() {
        return;
    }
    let bouncer = PgBouncer::start().await;
    let pooled = bouncer.url_for(&app.db.url);
    let settings = [
        ("DATABASE_POOLER", "transaction"),
        ("DATABASE_LISTEN_URL", app.db.url.as_str()),
    ];
    let a: ProcessApp = spawn_process(&pooled, &app.mail_dir, &settings).await;
    let b: ProcessApp = spawn_process(&pooled, &app.mail_dir, &settings).await;
    let gql = |base: &str, auth: Option<String>, query: &str, vars: Value| {
        let (base, query) = (base.to_owned(), query.to_owned());
        let app = &app;
        async move {
            app.gql_at(
                &base,
                auth.as_deref(),
                json!({ "query": query, "variables": vars }),
            )
            .await
        }
    };

    // Sign up on A, activate on B by the mailed code, sign in on A.
    let email = "pooled@example.com";
    let body = gql(
        &a.base,
        None,
        "mutation($i: RegisterInput!) { register(input: $i) { email } }",
        json!({ "i": { "email": email, "password": PASSWORD, "confirmPassword": PASSWORD } }),
    )
    .await;
    ok(&body);
    let mails = crate::helpers::mail::wait_for(&app.mail_dir, email, 1).await;
    let body = gql(&b.base, None, "mutation($e: String!, $c: String!) { activateAccountWithCode(email: $e, code: $c) { isActive } }",
        json!({ "e": email, "c": mails[0].code() })).await;
    assert_eq!(ok(&body)["activateAccountWithCode"]["isActive"], true);
    let body = gql(&a.base, None, LOGIN, json!({ "e": email, "p": PASSWORD })).await;
    let mut access = ok(&body)["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut refresh = ok(&body)["login"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();

    // Refreshes alternate between the instances; each token works on both.
    for round in 0..6 {
        let base = if round % 2 == 0 { &b.base } else { &a.base };
        let body = gql(base, None, REFRESH, json!({ "r": refresh })).await;
        access = ok(&body)["refreshToken"]["accessToken"]
            .as_str()
            .unwrap()
            .to_owned();
        refresh = ok(&body)["refreshToken"]["refreshToken"]
            .as_str()
            .unwrap()
            .to_owned();
        let other = if round % 2 == 0 { &a.base } else { &b.base };
        let body = gql(
            other,
            Some(format!("Bearer {access}")),
            "{ me { email } }",
            json!({}),
        )
        .await;
        assert_eq!(ok(&body)["me"]["email"], email);
    }

    // Concurrent work on both: products made and searched, sessions read.
    let auth = format!("Bearer {access}");
    let mut work = Vec::new();
    for i in 0..24 {
        let base = if i % 2 == 0 {
            a.base.clone()
        } else {
            b.base.clone()
        };
        let auth = auth.clone();
        work.push(async move {
            let made = gql(
                &base,
                Some(auth.clone()),
                CREATE,
                json!({ "n": format!("pooled lamp {i}") }),
            )
            .await;
            ok(&made);
            let found = gql(&base, Some(auth.clone()), SEARCH, json!({ "s": "lamp" })).await;
            ok(&found);
            let seen = gql(
                &base,
                Some(auth),
                "{ sessions { id } me { email } }",
                json!({}),
            )
            .await;
            ok(&seen);
        });
    }
    futures_util::future::join_all(work).await;
    let body = gql(
        &b.base,
        Some(auth.clone()),
        SEARCH,
        json!({ "s": "pooled lamp" }),
    )
    .await;
    assert_eq!(ok(&body)["products"]["totalCount"], 24, "{body}");

    // Sign out everywhere on A: B refuses the token on its next request.
    let body = gql(
        &a.base,
        Some(auth.clone()),
        "mutation { logout(allSessions: true) }",
        json!({}),
    )
    .await;
    ok(&body);
    let body = gql(&b.base, Some(auth), "{ me { email } }", json!({})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{body}"
    );
    drop((a, b, bouncer));
}
