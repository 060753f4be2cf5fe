//! `GET /auth/{provider}/start` and `GET|POST /auth/{provider}/callback`:
//! social sign-in's browser flow (API.md §9.1). Every answer carries
//! `Cache-Control: no-store` and `Referrer-Policy: no-referrer`; a refusal
//! before a flow is trusted is a small HTML page, never a redirect.

use std::collections::HashMap;

use poem::Body;
use poem::http::StatusCode;
use poem::web::{Data, Path, Query};
use poem::{Request, Response, handler};

use super::pages::{page, token_page_headers};
use crate::http::client::client_info;
use crate::http::state::AppState;
use crate::services::signin::social::flow::{
    self, Callback, ProviderAnswer, StartRefused, StartRequest,
};

fn see_other(location: &str) -> Response {
    token_page_headers(Response::builder().status(StatusCode::SEE_OTHER))
        .header("location", location)
        .finish()
}

#[handler]
pub async fn start(
    req: &Request,
    Path(provider): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    Data(state): Data<&AppState>,
) -> Response {
    let app = &state.app;
    let client = client_info(req, &app.settings.trusted_proxies);
    let request = StartRequest {
        redirect_to: params.get("redirect_to").map(String::as_str),
        code_challenge: params.get("code_challenge").map(String::as_str),
        code_challenge_method: params.get("code_challenge_method").map(String::as_str),
        client_ip: &client.ip,
    };
    match flow::start(app, &provider, request).await {
        Ok(url) => see_other(url.as_str()),
        Err(StartRefused::Unknown) => page(
            StatusCode::NOT_FOUND,
            "Unknown provider",
            "<p>There is no such sign-in provider.</p>",
        ),
        Err(StartRefused::Bad(why)) => page(
            StatusCode::BAD_REQUEST,
            "This sign-in cannot start",
            &format!("<p>The application asked for something not allowed: {why}.</p>"),
        ),
        Err(StartRefused::TooMany) => {
            let mut resp = page(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many sign-ins",
                "<p>Too many sign-ins were begun from here. Try again in a few minutes.</p>",
            );
            resp.headers_mut()
                .insert("retry-after", poem::http::HeaderValue::from_static("60"));
            resp
        }
        Err(StartRefused::Unavailable) => page(
            StatusCode::SERVICE_UNAVAILABLE,
            "The provider cannot be reached",
            "<p>Signing in with this provider is not possible right now. Try again shortly.</p>",
        ),
    }
}

fn answer_of(mut params: HashMap<String, String>) -> ProviderAnswer {
    ProviderAnswer {
        state: params.remove("state"),
        code: params.remove("code"),
        error: params.remove("error"),
        iss: params.remove("iss"),
    }
}

async fn finish(state: &AppState, provider: &str, params: HashMap<String, String>) -> Response {
    match flow::callback(&state.app, provider, answer_of(params)).await {
        Ok(Callback::Redirect(url)) => see_other(url.as_str()),
        Ok(Callback::Invalid) => page(
            StatusCode::BAD_REQUEST,
            "This sign-in is not valid",
            "<p>The sign-in expired, was already finished, or was not begun here. Start again from the application.</p>",
        ),
        Err(e) => {
            e.log();
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "<p>Start the sign-in again from the application.</p>",
            )
        }
    }
}

#[handler]
pub async fn callback(
    Path(provider): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    Data(state): Data<&AppState>,
) -> Response {
    finish(state, &provider, params).await
}

/// The longest posted answer read: a provider's is a few hundred bytes.
const MAX_POSTED: usize = 16 * 1024;

/// `response_mode=form_post` (Apple): the provider POSTs the answer.
#[handler]
pub async fn callback_posted(
    Path(provider): Path<String>,
    body: Body,
    Data(state): Data<&AppState>,
) -> Response {
    let Ok(bytes) = body.into_bytes_limit(MAX_POSTED).await else {
        return page(
            StatusCode::BAD_REQUEST,
            "This sign-in is not valid",
            "<p>The answer was too large. Start again from the application.</p>",
        );
    };
    let params: HashMap<String, String> =
        url::form_urlencoded::parse(&bytes).into_owned().collect();
    finish(state, &provider, params).await
}
