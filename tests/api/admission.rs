//! One admission for every way in, and work bounded per row (API.md §8.9),
//! each written as the attack the review and the independent suite sent:
//! aliased credential checks, lists priced by what is selected, parallel
//! wrong codes, over-long strings, a `retryAfter` that lied.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::two_factor::{challenge, with_two_factor, wrong};
use crate::helpers::{PASSWORD, code, spawn_app, spawn_app_with};

/// Four of any capped mutation in one request run nothing (API.md §8.9).
#[tokio::test]
async fn four_capped_mutations_in_a_request_are_bad_request() {
    let app = spawn_app().await;
    let capped = [
        "register(input: {email: \"a@example.com\", password: \"x\", confirmPassword: \"x\"}) { email }",
        "login(input: {email: \"a@example.com\", password: \"x\"}) { __typename }",
        "verifyOtp(challengeId: \"x\", code: \"000000\") { accessToken }",
        "resendOtp(challengeId: \"x\") { challengeId }",
        "refreshToken(refreshToken: \"x\") { accessToken }",
        "activateAccount(uid: \"x\", token: \"y\") { id }",
        "activateAccountWithCode(email: \"a@example.com\", code: \"000000\") { id }",
        "resendActivationEmail(email: \"a@example.com\")",
        "requestPasswordReset(email: \"a@example.com\")",
        "resetPassword(uid: \"x\", token: \"y\", newPassword: \"x\", confirmPassword: \"x\")",
        "confirmEmailChange(uid: \"x\", token: \"y\") { id }",
        "beginPasskeyLogin { challengeId }",
        "finishPasskeyLogin(challengeId: \"x\", credential: {}) { accessToken }",
    ];
    for field in capped {
        let aliases: Vec<String> = (0..4).map(|i| format!("a{i}: {field}")).collect();
        let (status, body) = app
            .post_json(&json!({ "query": format!("mutation {{ {} }}", aliases.join(" ")) }))
            .await;
        assert_eq!(
            (status, code(&body)),
            (400, "BAD_REQUEST"),
            "{field}: {body}"
        );
    }
}

/// 4,500 aliased `refreshToken`s were 4,500 write transactions: a token
/// that names nothing now costs a read. Shown on SQLite, where a write
/// transaction waits for the file's one writer: with another connection
/// holding it, an unknown token still answers at once.
#[tokio::test]
async fn a_refresh_token_that_names_nothing_writes_nothing() {
    let app = spawn_app_with(&[("QUERY_TIMEOUT", "5s")]).await;
    let refresh = "mutation { refreshToken(refreshToken: \"nothing-of-ours\") { accessToken } }";
    let Some(file) = app.db.sqlite_file() else {
        let (_, body) = app.gql(refresh, json!({})).await;
        assert_eq!(code(&body), "INVALID_TOKEN", "{body}");
        return;
    };
    let (hold, release) = std::sync::mpsc::channel::<()>();
    let (held, is_held) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(file).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        held.send(()).unwrap();
        let _ = release.recv_timeout(Duration::from_secs(20));
        conn.execute_batch("ROLLBACK").unwrap();
    });
    is_held.recv().unwrap();
    let began = std::time::Instant::now();
    let (_, body) = app.gql(refresh, json!({})).await;
    let took = began.elapsed();
    hold.send(()).unwrap();
    holder.join().unwrap();
    assert_eq!(code(&body), "INVALID_TOKEN", "{body}");
    assert!(
        took < Duration::from_secs(2),
        "waited {took:?} for the writer"
    );
}

/// Ten parallel wrong codes on one challenge were judged seven times: each
/// was compared before the others' wrong tries were counted. A wrong try is
/// now counted in the transaction that judges it, so at most
/// `OTP_MAX_ATTEMPTS` are compared (each records `SECOND_FACTOR_FAILED`).
#[tokio::test]
async fn ten_parallel_wrong_codes_are_judged_exactly_otp_max_attempts_times() {
    let app = spawn_app_with(&[("LOGIN_RATE_LIMIT", "100/15m")]).await;
    let staff = app.staff_user("watcher@example.com").await;
    with_two_factor(&app, "guessed@example.com").await;
    let (id, right) = challenge(&app, "guessed@example.com").await;
    let verify =
        "mutation($id: ID!, $c: String!) { verifyOtp(challengeId: $id, code: $c) { accessToken } }";
    let requests = (0..10)
        .map(|_| {
            let body = json!({ "query": verify, "variables": { "id": id, "c": wrong(&right) } });
            (app.base.clone(), body)
        })
        .collect();
    let answers = app.concurrently(requests).await;
    let told = answers.iter().filter(|b| code(b) == "INVALID_OTP").count();
    assert_eq!(told, 5, "{answers:?}");
    let (_, body) = app.gql(verify, json!({ "id": id, "c": right })).await;
    assert_eq!(
        code(&body),
        "INVALID_TOKEN",
        "the challenge is spent: {body}"
    );
    let (_, me) = app
        .gql_as(
            Some(&staff.bearer()),
            "{ users(first: 5, filter: {search: \"guessed\"}) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    let user = me["data"]["users"]["edges"][0]["node"]["id"].clone();
    let (_, events) = app
        .gql_as(
            Some(&staff.bearer()),
            "query($u: ID!) { securityEvents(userId: $u, first: 50, filter: {types: [SECOND_FACTOR_FAILED]}) { edges { node { type } } } }",
            json!({ "u": user }),
        )
        .await;
    let judged = events["data"]["securityEvents"]["edges"]
        .as_array()
        .map(Vec::len);
    assert_eq!(judged, Some(5), "{events}");
}

/// Waiting `retryAfter` seconds is enough: at the window's edge it used to
/// be rounded down, and the client was refused again.
#[tokio::test]
async fn waiting_retry_after_is_enough() {
    let app = spawn_app_with(&[("LOGIN_RATE_LIMIT", "2/3s")]).await;
    app.activated_user("patient@example.com").await;
    for _ in 0..2 {
        let body = app.login("patient@example.com", "not the password!!").await;
        assert_eq!(code(&body), "INVALID_CREDENTIALS", "{body}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let body = app.login("patient@example.com", "not the password!!").await;
    assert_eq!(code(&body), "RATE_LIMITED", "{body}");
    let wait = body["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let body = app.login("patient@example.com", PASSWORD).await;
    assert!(body["data"]["login"]["accessToken"].is_string(), "{body}");
}

/// A 10,000-character password or email was hashed (or looked up) before
/// it was judged; now it is `BAD_USER_INPUT` on its field, before any work.
#[tokio::test]
async fn over_long_credentials_are_bad_user_input_before_any_hash() {
    let app = spawn_app().await;
    let user = app.signed_in_user("long@example.com").await;
    let long = "p".repeat(10_000);
    let body = app.login("long@example.com", &long).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert!(
        body["errors"][0]["extensions"]["fields"]["password"].is_array(),
        "{body}"
    );
    let email = format!("{}@example.com", "e".repeat(300));
    let body = app.login(&email, PASSWORD).await;
    assert!(
        body["errors"][0]["extensions"]["fields"]["email"].is_array(),
        "{body}"
    );
    for (query, field) in [
        (
            "mutation($p: String!) { reauthenticate(password: $p) { __typename } }",
            "password",
        ),
        (
            "mutation($p: String!) { enableTwoFactor(password: $p) { id } }",
            "password",
        ),
        (
            "mutation($p: String!) { disableTwoFactor(password: $p) { id } }",
            "password",
        ),
        (
            "mutation($p: String!) { deleteAccount(password: $p) }",
            "password",
        ),
        (
            "mutation($p: String!) { changePassword(oldPassword: $p, newPassword: \"a new sturdy one 77\", confirmPassword: \"a new sturdy one 77\") { accessToken } }",
            "oldPassword",
        ),
    ] {
        let (_, body) = app
            .gql_as(Some(&user.bearer()), query, json!({ "p": long }))
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{query}: {body}");
        assert!(
            body["errors"][0]["extensions"]["fields"][field].is_array(),
            "{query}: {body}"
        );
    }
}

/// 120 aliases of `products(first: 100) { __typename }` cost 240 and read
/// 12,000 rows: a list now costs its page.
#[tokio::test]
async fn a_list_costs_its_page_whatever_is_selected() {
    let app = spawn_app().await;
    let aliases = |n: usize, list: &str| {
        let fields: Vec<String> = (0..n).map(|i| format!("a{i}: {list}")).collect();
        json!({ "query": format!("{{ {} }}", fields.join(" ")) })
    };
    for list in [
        "products(first: 100) { __typename }",
        "productsPage(pageSize: 100) { __typename }",
        "products { __typename }",
    ] {
        let (_, body) = app.post_json(&aliases(500, list)).await;
        assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED", "{list}: {body}");
    }
    let (_, body) = app
        .post_json(&aliases(11, "products(first: 100) { __typename }"))
        .await;
    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
    // One page of a hundred, fully selected, still fits.
    let (_, body) = app
        .post_json(&json!({ "query": "{ products(first: 100) { edges { node { id name } } } }" }))
        .await;
    assert!(body["errors"].is_null(), "{body}");
}

/// Refused logins wrote a `LOGIN_RATE_LIMITED` row each time and cost the
/// attacker's IP nothing: now each counts on the IP, and the event is
/// recorded once per window.
#[tokio::test]
async fn refused_logins_count_on_the_ip_and_are_recorded_once() {
    let app = spawn_app_with(&[("LOGIN_RATE_LIMIT", "2/1m")]).await;
    let user = app.signed_in_user("targeted@example.com").await;
    for _ in 0..12 {
        app.login("targeted@example.com", "not the password!!")
            .await;
    }
    // The IP's limit is five times the identifier's: ten. Two were judged,
    // ten refused: another identifier from this IP is refused too.
    let body = app
        .login("other-victim@example.com", "whatever password!")
        .await;
    assert_eq!(code(&body), "RATE_LIMITED", "{body}");
    let (_, events) = app
        .gql_as(
            Some(&user.bearer()),
            "{ securityEvents(first: 50, filter: {types: [LOGIN_RATE_LIMITED]}) { edges { node { type } } } }",
            json!({}),
        )
        .await;
    let recorded = events["data"]["securityEvents"]["edges"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(recorded, 1, "{events}");
}

/// A dual-stack listener sees an IPv4 proxy as `::ffff:127.0.0.1`: it
/// matches the IPv4 entry of `TRUSTED_PROXIES`, so the client behind it is
/// the one `X-Forwarded-For` names.
#[tokio::test]
async fn an_ipv4_mapped_peer_matches_ipv4_trusted_proxies() {
    let app = spawn_app_with(&[("BIND_ADDR", "[::]:0"), ("TRUSTED_PROXIES", "127.0.0.1")]).await;
    app.activated_user("proxied@example.com").await;
    let mapped = format!("http://[::ffff:127.0.0.1]:{}/graphql", app.addr.port());
    let login = json!({
        "query": "mutation($i: LoginInput!) { login(input: $i) { ... on AuthPayload { accessToken } } }",
        "variables": { "i": { "email": "proxied@example.com", "password": PASSWORD } },
    });
    let body: Value = app
        .client
        .post(&mapped)
        .header("x-forwarded-for", "203.0.113.9")
        .json(&login)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = format!(
        "Bearer {}",
        body["data"]["login"]["accessToken"].as_str().unwrap()
    );
    let (_, sessions) = app
        .gql_as(Some(&bearer), "{ sessions { ip current } }", json!({}))
        .await;
    assert_eq!(
        sessions["data"]["sessions"][0]["ip"], "203.0.113.9",
        "{sessions}"
    );
}

/// Request logs show route templates: a mailed link's token never reaches
/// them (checked where the template is chosen, for every link route).
#[test]
fn request_logs_show_route_templates() {
    for (path, template) in [
        (
            "/confirm-email/MDFh/secret-token",
            "/confirm-email/{uid}/{token}",
        ),
        ("/activate/MDFh/secret-token", "/activate/{uid}/{token}"),
        (
            "/reset-password/MDFh/secret-token",
            "/reset-password/{uid}/{token}",
        ),
    ] {
        assert_eq!(authql::metrics::route_template(path), template);
    }
}

/// One POST of 4,500 `beginPasskeyLogin` aliases stored 4,500 ceremony
/// rows. Besides the cap of three per request, a client IP begins at most
/// 30 a minute.
#[tokio::test]
async fn passkey_sign_ins_are_limited_per_client() {
    let app = spawn_app_with(&crate::helpers::passkey::SETTINGS).await;
    let begin = "mutation { a: beginPasskeyLogin { challengeId } b: beginPasskeyLogin { challengeId } c: beginPasskeyLogin { challengeId } }";
    for _ in 0..10 {
        let (_, body) = app.gql(begin, json!({})).await;
        assert!(body["errors"].is_null(), "{body}");
    }
    let (_, body) = app.gql(begin, json!({})).await;
    assert_eq!(code(&body), "RATE_LIMITED", "{body}");
}
