//! `GET|POST /oauth/authorize` (API.md §9.3): the client and redirect URI
//! checked before anything redirects, the rest answered at the client, the
//! request stored, and the browser sent on: to sign in, to consent, or
//! back with a code.

use poem::http::StatusCode;
use poem::web::Data;
use poem::{Body, Request, Response, handler};

use super::common::{
    FormError, Params, form, not_found, oauth_page, query, retry_after, see_other, session_cookie,
};
use crate::db::now;
use crate::error::AppError;
use crate::http::client::client_info;
use crate::http::pages::escape;
use crate::http::state::AppState;
use crate::services::oauth::authorizations::{
    self, Decider, Pending, error_redirect, needs_consent, needs_sign_in,
};
use crate::services::oauth::browser::{self, Browser};
use crate::services::oauth::request::{self, Refusal, with_query};

#[handler]
pub async fn get(req: &Request, Data(state): Data<&AppState>) -> Response {
    authorize(req, query(req), state).await
}

#[handler]
pub async fn post(req: &Request, body: Body, Data(state): Data<&AppState>) -> Response {
    match form(req, body, state).await {
        Ok(params) => authorize(req, params, state).await,
        Err(FormError::TooLarge) => {
            bad_page(StatusCode::PAYLOAD_TOO_LARGE, "the request is too large")
        }
        Err(FormError::NotForm) => bad_page(StatusCode::BAD_REQUEST, "the request is not a form"),
    }
}

/// A `400` (or other) page that redirects nowhere.
pub fn bad_page(status: StatusCode, why: &str) -> Response {
    oauth_page(
        status,
        "This sign-in request is not valid",
        &format!(
            "<p>The application sent a request this server cannot accept: {}.</p>\
             <p>Nothing was shared with it. Return to the application and try again.</p>",
            escape(why)
        ),
    )
}

/// A server fault, logged; the page redirects nowhere.
pub fn fault_page(e: AppError) -> Response {
    e.log();
    oauth_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "<p>Please try again in a moment.</p>",
    )
}

async fn authorize(req: &Request, params: Params, state: &AppState) -> Response {
    let app = &state.app;
    if !app.settings.oauth.enabled {
        return not_found();
    }
    let (client, redirect_uri) = match request::client_and_redirect(app, &params).await {
        Ok(found) => found,
        Err(Refusal::Page(why)) => return bad_page(StatusCode::BAD_REQUEST, why),
        Err(Refusal::Redirect { .. }) => {
            return bad_page(StatusCode::BAD_REQUEST, "invalid request");
        }
    };
    let checked =
        match request::check_rest(client, redirect_uri, &params, &app.settings.oauth.resources) {
            Ok(checked) => checked,
            Err(Refusal::Redirect {
                redirect_uri,
                error,
                description,
                state: client_state,
            }) => {
                let mut pairs = vec![("error", error), ("error_description", description)];
                if let Some(s) = client_state.as_deref() {
                    pairs.push(("state", s));
                }
                pairs.push(("iss", app.keys.issuer()));
                return see_other(&with_query(&redirect_uri, &pairs));
            }
            Err(Refusal::Page(why)) => return bad_page(StatusCode::BAD_REQUEST, why),
        };
    let prompt_none = checked.prompt == "none";
    let browser = match session_cookie(req, state) {
        Some(cookie) if app.settings.oauth.login_url.is_none() => {
            match browser::find(app, &cookie).await {
                Ok(found) => found,
                Err(e) => return fault_page(e),
            }
        }
        _ => None,
    };
    if prompt_none && browser.is_none() {
        // Nothing to store: the answer is known without a sign-in (in
        // headless mode authql sees no browser session at all).
        let mut pairs = vec![("error", "login_required")];
        if let Some(s) = checked.state.as_deref() {
            pairs.push(("state", s));
        }
        pairs.push(("iss", app.keys.issuer()));
        return see_other(&with_query(&checked.redirect_uri, &pairs));
    }
    let ip = client_info(req, &app.settings.trusted_proxies).ip;
    let (id, pending) = match authorizations::store(app, checked, &ip).await {
        Ok(stored) => stored,
        Err(AppError::RateLimited { retry_after_secs }) => {
            return retry_after(
                oauth_page(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many sign-in requests",
                    "<p>Too many sign-in requests were begun from here. Try again later.</p>",
                ),
                retry_after_secs,
            );
        }
        Err(e) => return fault_page(e),
    };
    if let Some(login_url) = &app.settings.oauth.login_url {
        return see_other(&with_query(
            login_url.as_str(),
            &[("authorization_id", &id)],
        ));
    }
    proceed(req, state, &id, &pending, browser.as_ref()).await
}

/// Where a browser with (or without) a session goes next for `pending`.
pub async fn proceed(
    req: &Request,
    state: &AppState,
    id: &str,
    pending: &Pending,
    browser: Option<&Browser>,
) -> Response {
    let app = &state.app;
    let prompt_none = pending.row.prompt == "none";
    let page_of = |path: &str| {
        with_query(
            &format!("{}/oauth/{path}", app.settings.public_url),
            &[("authorization_id", id)],
        )
    };
    let refuse = |error: &'static str| async move {
        match authorizations::refuse(app, pending, error).await {
            Ok(to) => see_other(&to),
            Err(AppError::NotFound) => see_other(&error_redirect(app, &pending.row, error)),
            Err(e) => fault_page(e),
        }
    };
    let Some(browser) =
        browser.filter(|b| !needs_sign_in(pending, b.session.authenticated_at, now()))
    else {
        if prompt_none {
            return refuse("login_required").await;
        }
        return see_other(&page_of("login"));
    };
    match needs_consent(app, pending, browser.user.id).await {
        Err(e) => fault_page(e),
        Ok(true) if prompt_none => refuse("consent_required").await,
        Ok(true) => see_other(&page_of("consent")),
        Ok(false) => {
            let client = client_info(req, &app.settings.trusted_proxies);
            let decider = Decider::of(&browser.user, &browser.session, &client);
            match authorizations::approve(app, pending, pending.scopes(), decider, false).await {
                Ok(to) => see_other(&to),
                Err(AppError::ReauthenticationRequired) => see_other(&page_of("login")),
                Err(AppError::NotFound) => {
                    bad_page(StatusCode::BAD_REQUEST, "this request was already answered")
                }
                Err(e) => fault_page(e),
            }
        }
    }
}
