//! Strings are text (API.md §8.1): a NUL, a 10,000-character string, and
//! text that grows under NFKC are each `BAD_USER_INPUT` on their field,
//! before any work and on both databases, never an internal error.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, code, spawn_app};

const REGISTER: &str = "mutation($i: RegisterInput!) { register(input: $i) { email } }";

fn fields(body: &Value) -> Vec<String> {
    body["errors"][0]["extensions"]["fields"]
        .as_object()
        .map(|f| f.keys().cloned().collect())
        .unwrap_or_default()
}

async fn register_with(app: &TestApp, field: &str, value: &str) -> Value {
    let mut input = json!({ "email": "hostile@example.com", "password": PASSWORD, "confirmPassword": PASSWORD });
    input[field] = json!(value);
    app.gql(REGISTER, json!({ "i": input })).await.1
}

/// A NUL cut SQLite's LIKE pattern short (a search matched every row) and
/// cannot be stored by PostgreSQL at all.
#[tokio::test]
async fn a_nul_in_any_string_is_bad_user_input_on_its_field() {
    let app = spawn_app().await;
    let user = app.signed_in_user("owner@example.com").await;
    crate::helpers::products::create(
        &app,
        &user.bearer(),
        json!({ "name": "Widget", "priceCents": 1 }),
    )
    .await;
    let (_, body) = app
        .gql(
            r#"{ productsPage(filter: {search: "\u0000"}) { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        (code(&body), fields(&body)),
        ("BAD_USER_INPUT", vec!["search".to_owned()]),
        "{body}"
    );
    assert!(body["data"].is_null(), "{body}");

    for field in ["email", "password", "firstName", "username", "phone"] {
        let body = register_with(&app, field, "nul\u{0}here").await;
        assert_eq!(
            (code(&body), fields(&body)),
            ("BAD_USER_INPUT", vec![field.to_owned()]),
            "{field}: {body}"
        );
    }
    let (_, body) = app
        .gql(
            "mutation($e: String!) { requestPasswordReset(email: $e) }",
            json!({ "e": "owner@example.com\u{0}" }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    let (_, body) = app
        .gql_as(
            Some(&user.bearer()),
            "mutation($n: String!) { updateProfile(input: { lastName: $n }) { lastName } }",
            json!({ "n": "\u{0}" }),
        )
        .await;
    assert_eq!(fields(&body), ["lastName"], "{body}");
    assert_eq!(app.mails_to_count("hostile@example.com"), 0);
}

/// Very long strings are refused on their field; an address that NFKC
/// makes longer than any address may be (U+FDFA is 18 characters after
/// it) is refused before its hash is paid for, on both databases.
#[tokio::test]
async fn long_and_nfkc_growing_strings_are_bad_user_input_not_internal() {
    let app = spawn_app().await;
    let user = app.signed_in_user("grow@example.com").await;
    let long = "x".repeat(10_000);
    for field in [
        "email",
        "firstName",
        "lastName",
        "username",
        "phone",
        "password",
    ] {
        let body = register_with(&app, field, &long).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{field}: {body}");
        assert!(fields(&body).contains(&field.to_owned()), "{field}: {body}");
    }
    for mutation in [
        "mutation($n: String!) { updateProfile(input: { firstName: $n }) { firstName } }",
        "mutation($n: String!) { createProduct(input: { name: $n, priceCents: 1 }) { id } }",
        "mutation($n: String!) { requestEmailChange(newEmail: $n) }",
        "mutation($n: String!) { createApiToken(name: $n) { token } }",
    ] {
        let (_, body) = app
            .gql_as(Some(&user.bearer()), mutation, json!({ "n": long }))
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{mutation}: {body}");
    }
    for anonymous in [
        "query($n: String) { productsPage(filter: {search: $n}) { totalCount } }",
        "mutation($n: String!) { requestPasswordReset(email: $n) }",
        "mutation($n: String!) { resendActivationEmail(email: $n) }",
    ] {
        let (_, body) = app.gql(anonymous, json!({ "n": long })).await;
        assert!(
            !body.to_string().contains("INTERNAL"),
            "{anonymous}: {body}"
        );
    }

    let grows = format!("{}@example.com", "\u{FDFA}".repeat(15));
    let body = register_with(&app, "email", &grows).await;
    assert_eq!(
        (code(&body), fields(&body)),
        ("BAD_USER_INPUT", vec!["email".to_owned()]),
        "{body}"
    );
    let names = "\u{FDFA}".repeat(20);
    let body = register_with(&app, "firstName", &names).await;
    assert!(!body.to_string().contains("INTERNAL"), "{body}");
}
