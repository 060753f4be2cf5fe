//! Poem routes and the middleware every route sits behind.

mod activate;
pub mod client;
mod confirm_email;
mod email_sign_in;
pub mod graphiql;
pub mod graphql;
mod health;
mod invitation;
pub mod metrics;
mod oauth;
pub mod pages;
mod request_id;
mod reset_password;
mod social;
pub mod state;
pub mod unacked;
mod well_known;

use poem::endpoint::BoxEndpoint;
use poem::http::StatusCode;
use poem::middleware::{CatchPanic, Cors};
use poem::{Endpoint, EndpointExt, Response, Route, get};

use crate::config::Settings;
use crate::error::AppError;
use state::AppState;

/// Every route of the server, behind the shared middleware.
pub fn routes(state: AppState) -> BoxEndpoint<'static> {
    let settings = state.app.settings.clone();
    let measurements = state.app.metrics.clone();
    let routes = Route::new()
        .at("/graphql", get(graphql::get).post(graphql::post))
        .at("/graphiql/:file", get(graphiql::asset))
        .at("/activate/:uid/:token", get(activate::activate))
        .at(
            "/confirm-email/:uid/:token",
            get(confirm_email::confirm_email),
        )
        .at(
            "/reset-password/:uid/:token",
            get(reset_password::show).post(reset_password::submit),
        )
        .at(
            "/email-sign-in/:token",
            get(email_sign_in::show).post(email_sign_in::submit),
        )
        .at("/invitations/:token", get(invitation::show))
        .at("/auth/:provider/start", get(social::start))
        .at(
            "/auth/:provider/callback",
            get(social::callback).post(social::callback_posted),
        )
        .at(
            "/oauth/authorize",
            get(oauth::authorize::get).post(oauth::authorize::post),
        )
        .at(
            "/oauth/login",
            get(oauth::pages::login_page).post(oauth::pages::login_submit),
        )
        .at(
            "/oauth/consent",
            get(oauth::pages::consent_page).post(oauth::pages::consent_submit),
        )
        .at(
            "/oauth/token",
            get(oauth::endpoints::method_not_allowed).post(oauth::token::exchange),
        )
        .at(
            "/oauth/revoke",
            get(oauth::endpoints::method_not_allowed).post(oauth::token::revoke),
        )
        .at(
            "/oauth/introspect",
            get(oauth::endpoints::method_not_allowed).post(oauth::token::introspect),
        )
        .at(
            "/oauth/userinfo",
            get(oauth::endpoints::userinfo_get).post(oauth::endpoints::userinfo_post),
        )
        .at(
            "/oauth/logout",
            get(oauth::endpoints::logout_get).post(oauth::endpoints::logout_post),
        )
        .at(
            "/oauth/register",
            get(oauth::endpoints::method_not_allowed).post(oauth::endpoints::register),
        )
        .at(
            "/.well-known/oauth-authorization-server",
            get(well_known::oauth_authorization_server),
        )
        .at("/.well-known/jwks.json", get(well_known::jwks))
        .at(
            "/.well-known/openid-configuration",
            get(well_known::openid_configuration),
        )
        .at("/healthz", get(health::healthz))
        .at("/readyz", get(health::readyz))
        .data(state);
    // Requests are counted and timed only when someone can read the counts.
    if settings.metrics_addr.is_some() {
        with_middleware(metrics::measured(routes, measurements), &settings)
    } else {
        with_middleware(routes, &settings)
    }
}

/// The middleware stack, public so a test can put a deliberately panicking
/// endpoint behind exactly what real routes sit behind.
pub fn with_middleware<E: Endpoint + 'static>(ep: E, settings: &Settings) -> BoxEndpoint<'static> {
    let ep = ep
        .with(CatchPanic::new().with_handler(panic_response))
        .with(request_id::RequestSpan)
        .boxed();
    if settings.cors_origins.is_empty() {
        return ep;
    }
    let cors = Cors::new()
        .allow_origins(settings.cors_origins.iter().map(String::as_str))
        .allow_methods(["GET", "POST", "OPTIONS"])
        .allow_headers(["authorization", "content-type", "accept"])
        .max_age(600);
    // Browser pages post their own forms (with `Origin: null` under
    // `no-referrer`, or `PUBLIC_URL`'s): CORS is for scripts of other
    // origins, so it applies to every route but theirs.
    let plain = std::sync::Arc::new(ep);
    let with_cors = std::sync::Arc::new(plain.clone().with(cors));
    plain
        .around(move |inner, req| {
            let with_cors = with_cors.clone();
            async move {
                if is_browser_page(req.uri().path()) {
                    inner.call(req).await
                } else {
                    with_cors.call(req).await
                }
            }
        })
        .boxed()
}

/// The routes browsers navigate to and post forms on.
fn is_browser_page(path: &str) -> bool {
    matches!(
        path,
        "/oauth/authorize" | "/oauth/login" | "/oauth/consent" | "/oauth/logout"
    ) || path.starts_with("/reset-password/")
        || path.starts_with("/email-sign-in/")
}

/// A panic anywhere becomes INTERNAL_SERVER_ERROR for that request only; the
/// payload is logged, never shown.
fn panic_response(payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %what, "request handler panicked");
    let body = AppError::internal(anyhow::anyhow!("panic")).to_response_json();
    Response::builder()
        .status(StatusCode::INTERNAL_SERVER_ERROR)
        .content_type("application/json; charset=utf-8")
        .body(body.to_string())
}
