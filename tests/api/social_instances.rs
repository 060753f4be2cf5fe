//! Social sign-in across instances (API.md §9.1): the flow lives in the
//! database, so the provider's callback may land on another instance behind
//! the same `PUBLIC_URL`, and its state is still used only once.

use crate::helpers::spawn_process;
use crate::social::{TARGET, exchange, sign_in, spawn, spawn_with_op, start_url, verified};

#[tokio::test]
async fn the_callback_lands_on_a_second_instance() {
    let (app, op) = spawn(true, &[]).await;
    let vars = [
        ("PUBLIC_URL", app.base.as_str()),
        ("OIDC_PROVIDERS", "test"),
        ("OIDC_TEST_ISSUER", op.issuer.as_str()),
        ("OIDC_TEST_CLIENT_ID", "authql"),
        ("OIDC_TEST_CLIENT_SECRET", "s3cret"),
        ("AUTH_REDIRECT_URLS", TARGET),
        ("SOCIAL_TRUSTED_PROVIDERS", "test"),
    ];
    let second = spawn_process(&app.db.url, &app.mail_dir, &vars).await;
    op.next("sub-across", verified("across@example.com")).await;
    let landed = op
        .browse_via(&start_url(&app), Some(&second.base))
        .await
        .expect("the flow ends at the app");
    assert!(landed.as_str().starts_with(TARGET), "{landed}");
    let code = landed
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap_or_else(|| panic!("no code in {landed}"))
        .1
        .into_owned();
    let body = exchange(&app, &code).await;
    assert_eq!(
        body["data"]["exchangeSocialCode"]["user"]["email"], "across@example.com",
        "{body}"
    );
    assert!(second.terminate().success());
}

/// A provider whose ID tokens carry no `email` (the spec's default): the
/// address and its verification come from its UserInfo endpoint.
#[tokio::test]
async fn an_email_only_at_userinfo_still_signs_up() {
    let (app, op) = spawn_with_op(true, &[], &[("OP_CONFORM", "1")]).await;
    let code = sign_in(&app, &op, "sub-userinfo", verified("userinfo@example.com")).await;
    let body = exchange(&app, &code).await;
    assert_eq!(
        body["data"]["exchangeSocialCode"]["user"]["email"], "userinfo@example.com",
        "{body}"
    );
}
