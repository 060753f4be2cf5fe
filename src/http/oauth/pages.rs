//! The built-in sign-in and consent pages (API.md §9.3): plain forms, no
//! JavaScript. The sign-in goes through `login` and `verifyOtp`, so every
//! rule of theirs (limits, events, the second factor) holds here; a
//! completed one becomes the browser's session.

use poem::http::StatusCode;
use poem::web::Data;
use poem::{Body, Request, Response, handler};

use super::authorize::{bad_page, fault_page, proceed};
use super::common::{
    Csrf, FormError, Params, csrf, csrf_ok, csrf_token, form, hidden, not_found, oauth_page, param,
    query, retry_after, see_other, session_cookie, set_csrf_cookie, set_session_cookie,
};
use crate::db::now;
use crate::domain::oauth::Scopes;
use crate::error::AppError;
use crate::http::client::client_info;
use crate::http::pages::escape;
use crate::http::state::AppState;
use crate::services::factors::otp;
use crate::services::oauth::authorizations::{self, Decider, Pending, needs_sign_in};
use crate::services::oauth::browser;
use crate::services::signin::login::{self, LoginOutcome, LoginRequest};

/// The pending request a page is about, or the page that says it is gone.
async fn pending_of(state: &AppState, id: &str) -> Result<Pending, Response> {
    match authorizations::find_pending(&state.app, id).await {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(bad_page(
            StatusCode::BAD_REQUEST,
            "this sign-in request is unknown, expired or already answered",
        )),
        Err(e) => Err(fault_page(e)),
    }
}

fn headless(state: &AppState) -> bool {
    !state.app.settings.oauth.enabled || state.app.settings.oauth.login_url.is_some()
}

fn sign_in_form(
    state: &AppState,
    c: &Csrf,
    id: &str,
    username: &str,
    message: Option<&str>,
) -> String {
    format!(
        "{}<form method=\"post\" action=\"{}/oauth/login\">\
         <p><label>Email or username<br><input name=\"username\" value=\"{}\" autocomplete=\"username\" required></label></p>\
         <p><label>Password<br><input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label></p>\
         {}{}<p><button type=\"submit\">Sign in</button></p></form>",
        message
            .map(|m| format!("<p role=\"alert\"><strong>{}</strong></p>", escape(m)))
            .unwrap_or_default(),
        escape(&state.app.settings.public_url),
        escape(username),
        hidden("authorization_id", id),
        hidden("csrf_token", &csrf_token(state, c, id)),
    )
}

fn code_form(
    state: &AppState,
    c: &Csrf,
    id: &str,
    challenge: &str,
    message: Option<&str>,
) -> String {
    format!(
        "{}<p>Enter the code from your email or authenticator app, or a recovery code.</p>\
         <form method=\"post\" action=\"{}/oauth/login\">\
         <p><label>Code<br><input name=\"code\" autocomplete=\"one-time-code\" required></label></p>\
         {}{}{}<p><button type=\"submit\">Continue</button></p></form>",
        message
            .map(|m| format!("<p role=\"alert\"><strong>{}</strong></p>", escape(m)))
            .unwrap_or_default(),
        escape(&state.app.settings.public_url),
        hidden("authorization_id", id),
        hidden("challenge_id", challenge),
        hidden("csrf_token", &csrf_token(state, c, id)),
    )
}

fn with_csrf(mut resp: Response, state: &AppState, c: &Csrf) -> Response {
    set_csrf_cookie(&mut resp, state, c);
    resp
}

#[handler]
pub async fn login_page(req: &Request, Data(state): Data<&AppState>) -> Response {
    if headless(state) {
        return not_found();
    }
    let params = query(req);
    let id = param(&params, "authorization_id").unwrap_or("");
    let pending = match pending_of(state, id).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    let c = csrf(req);
    let hint = pending.row.login_hint.clone().unwrap_or_default();
    let body = format!(
        "<p>Sign in to continue to <strong>{}</strong>.</p>{}",
        escape(&pending.client.name),
        sign_in_form(state, &c, id, &hint, None)
    );
    with_csrf(oauth_page(StatusCode::OK, "Sign in", &body), state, &c)
}

/// A refused step's page: the form again, with the status the refusal has.
fn refused(state: &AppState, c: &Csrf, id: &str, username: &str, e: AppError) -> Response {
    let (status, message, wait) = match e {
        AppError::InvalidCredentials => (
            StatusCode::OK,
            "The email, username or password is not right.",
            None,
        ),
        AppError::BadUserInput(_) => (
            StatusCode::OK,
            "Enter an email or username and a password.",
            None,
        ),
        AppError::RateLimited { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many sign-in attempts. Wait a while and try again.",
            Some(retry_after_secs),
        ),
        AppError::AccountNotActive => (StatusCode::FORBIDDEN, "This account is not active.", None),
        AppError::ServiceUnavailable { retry_after_secs } => (
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is busy. Try again in a moment.",
            Some(retry_after_secs),
        ),
        AppError::HookFailed(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Signing in is not possible right now. Try again in a moment.",
            Some(5),
        ),
        e => return fault_page(e),
    };
    let page = oauth_page(
        status,
        "Sign in",
        &sign_in_form(state, c, id, username, Some(message)),
    );
    let page = with_csrf(page, state, c);
    match wait {
        Some(secs) => retry_after(page, secs),
        None => page,
    }
}

#[handler]
pub async fn login_submit(req: &Request, body: Body, Data(state): Data<&AppState>) -> Response {
    let (params, id, pending) = match posted(req, body, state).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let app = &state.app;
    let c = csrf(req);
    let client = client_info(req, &app.settings.trusted_proxies);
    let username = param(&params, "username").unwrap_or("").trim().to_owned();
    let outcome = match param(&params, "challenge_id") {
        Some(challenge) => {
            let code = param(&params, "code").unwrap_or("");
            match otp::verify(app, challenge, code, &client).await {
                Ok(tokens) => Ok(tokens.session_id),
                Err(AppError::InvalidOtp { .. }) | Err(AppError::BadUserInput(_)) => {
                    let page = oauth_page(
                        StatusCode::OK,
                        "Enter your code",
                        &code_form(state, &c, &id, challenge, Some("That code is not right.")),
                    );
                    return with_csrf(page, state, &c);
                }
                Err(AppError::InvalidToken) => Err(AppError::InvalidCredentials),
                Err(e) => Err(e),
            }
        }
        None => {
            let request = if username.contains('@') {
                LoginRequest {
                    email: Some(username.clone()),
                    username: None,
                    password: password(&params),
                }
            } else {
                LoginRequest {
                    email: None,
                    username: Some(username.clone()),
                    password: password(&params),
                }
            };
            match login::login(app, request, &client).await {
                Ok(LoginOutcome::Signed(tokens)) => Ok(tokens.session_id),
                Ok(LoginOutcome::Challenge(issued)) => {
                    let page = oauth_page(
                        StatusCode::OK,
                        "Enter your code",
                        &code_form(state, &c, &id, &issued.challenge_id, None),
                    );
                    return with_csrf(page, state, &c);
                }
                Err(e) => Err(e),
            }
        }
    };
    let session_id = match outcome {
        Ok(id) => id,
        Err(e) => return refused(state, &c, &id, &username, e),
    };
    let previous = session_cookie(req, state);
    let cookie = match browser::adopt(app, session_id, previous.as_deref()).await {
        Ok(cookie) => cookie,
        Err(e) => return fault_page(e),
    };
    let found = match browser::find(app, &cookie).await {
        Ok(found) => found,
        Err(e) => return fault_page(e),
    };
    let mut resp = proceed(req, state, &id, &pending, found.as_ref()).await;
    set_session_cookie(&mut resp, state, Some(&cookie));
    resp
}

/// A posted form of these pages: read, its authorization pending, and its
/// CSRF token and origin ours; else the page that refuses it.
async fn posted(
    req: &Request,
    body: Body,
    state: &AppState,
) -> Result<(Params, String, Pending), Response> {
    if headless(state) {
        return Err(not_found());
    }
    let params = match form(req, body, state).await {
        Ok(p) => p,
        Err(FormError::TooLarge) => {
            return Err(bad_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the form is too large",
            ));
        }
        Err(FormError::NotForm) => {
            return Err(bad_page(
                StatusCode::BAD_REQUEST,
                "the request is not a form",
            ));
        }
    };
    let id = param(&params, "authorization_id").unwrap_or("").to_owned();
    let pending = pending_of(state, &id).await?;
    if !csrf_ok(req, state, &params, &id) {
        return Err(forbidden());
    }
    Ok((params, id, pending))
}

fn password(params: &Params) -> String {
    param(params, "password").unwrap_or("").to_owned()
}

fn forbidden() -> Response {
    oauth_page(
        StatusCode::FORBIDDEN,
        "This form cannot be used",
        "<p>The form was not sent from this server's page. Go back to the application and start again.</p>",
    )
}

#[handler]
pub async fn consent_page(req: &Request, Data(state): Data<&AppState>) -> Response {
    if headless(state) {
        return not_found();
    }
    let params = query(req);
    let id = param(&params, "authorization_id").unwrap_or("").to_owned();
    let pending = match pending_of(state, &id).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    let app = &state.app;
    let signed_in = match session_cookie(req, state) {
        Some(cookie) => browser::find(app, &cookie).await.ok().flatten(),
        None => None,
    };
    let must_sign_in = signed_in
        .as_ref()
        .is_none_or(|b| needs_sign_in(&pending, b.session.authenticated_at, now()));
    if must_sign_in {
        return see_other(&format!(
            "{}/oauth/login?authorization_id={}",
            app.settings.public_url,
            url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
        ));
    }
    let c = csrf(req);
    let host = url::Url::parse(&pending.row.redirect_uri)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| pending.row.redirect_uri.clone());
    let boxes: String = pending
        .scopes()
        .names()
        .into_iter()
        .filter(|s| *s != "openid")
        .map(|s| {
            format!(
                "<p><label><input type=\"checkbox\" name=\"scope\" value=\"{s}\" checked> {}</label></p>",
                describe(s)
            )
        })
        .collect();
    let body = format!(
        "<p><strong>{}</strong>{} wants to access your account.</p>\
         <p>It will return you to <strong>{}</strong>.</p>{}\
         <form method=\"post\" action=\"{}/oauth/consent\">{boxes}{}{}\
         <p><button type=\"submit\" name=\"decision\" value=\"approve\">Allow</button> \
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></p></form>",
        escape(&pending.client.name),
        if pending.client.dynamic {
            " (an application that registered itself)"
        } else {
            ""
        },
        escape(&host),
        pending
            .row
            .resource
            .as_deref()
            .map(|r| format!("<p>For: <strong>{}</strong></p>", escape(r)))
            .unwrap_or_default(),
        escape(&app.settings.public_url),
        hidden("authorization_id", &id),
        hidden("csrf_token", &csrf_token(state, &c, &id)),
    );
    with_csrf(
        oauth_page(StatusCode::OK, "Allow access?", &body),
        state,
        &c,
    )
}

fn describe(scope: &str) -> &'static str {
    match scope {
        "email" => "Your email address",
        "profile" => "Your name and username",
        "offline_access" => "Stay signed in (access while you are away)",
        _ => "Your identity",
    }
}

#[handler]
pub async fn consent_submit(req: &Request, body: Body, Data(state): Data<&AppState>) -> Response {
    let (params, id, pending) = match posted(req, body, state).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let app = &state.app;
    let signed_in = match session_cookie(req, state) {
        Some(cookie) => match browser::find(app, &cookie).await {
            Ok(found) => found,
            Err(e) => return fault_page(e),
        },
        None => None,
    };
    let Some(browser) = signed_in else {
        return proceed(req, state, &id, &pending, None).await;
    };
    let answer = if param(&params, "decision") == Some("approve") {
        let chosen: Vec<&str> = params
            .iter()
            .filter(|(k, _)| k == "scope")
            .map(|(_, v)| v.as_str())
            .collect();
        let scopes = Scopes::parse_list(chosen).unwrap_or_default();
        let client = client_info(req, &app.settings.trusted_proxies);
        let decider = Decider::of(&browser.user, &browser.session, &client);
        authorizations::approve(app, &pending, scopes, decider, true).await
    } else {
        authorizations::refuse(app, &pending, "access_denied").await
    };
    match answer {
        Ok(to) => see_other(&to),
        Err(AppError::ReauthenticationRequired) => proceed(req, state, &id, &pending, None).await,
        Err(AppError::NotFound) => {
            bad_page(StatusCode::BAD_REQUEST, "this request was already answered")
        }
        Err(e) => fault_page(e),
    }
}
