//! What the provider's routes share (API.md §9.3): reading forms and
//! queries (repeated parameters kept, so they can be refused), the pages'
//! headers, the browser-session and CSRF cookies, and JSON errors.

use poem::http::{HeaderValue, StatusCode};
use poem::{Body, Request, Response};

use crate::auth::tokens::{constant_time_eq, hmac_hex, random_token};
use crate::http::pages::{escape, page_with_policy, token_page_headers};
use crate::http::state::AppState;

/// Name-value pairs as sent, in order, repeats kept.
pub type Params = Vec<(String, String)>;

/// The query string's parameters.
pub fn query(req: &Request) -> Params {
    url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// Why a form could not be read.
pub enum FormError {
    TooLarge,
    NotForm,
}

/// A `POST` body that must be `application/x-www-form-urlencoded` within
/// `MAX_BODY_BYTES`.
pub async fn form(req: &Request, body: Body, state: &AppState) -> Result<Params, FormError> {
    let form = req
        .content_type()
        .and_then(|c| c.split(';').next())
        .is_some_and(|c| {
            c.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    let bytes = body
        .into_bytes_limit(state.app.settings.max_body_bytes)
        .await
        .map_err(|_| FormError::TooLarge)?;
    if !form {
        return Err(FormError::NotForm);
    }
    Ok(url::form_urlencoded::parse(&bytes).into_owned().collect())
}

/// The first value of `name`.
pub fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A `404` for every provider route while the provider is off.
pub fn not_found() -> Response {
    Response::builder().status(StatusCode::NOT_FOUND).finish()
}

/// An HTML page of the provider: no JavaScript, nothing external, never
/// framed, never cached, and no `form-action` (a form's answer redirects to
/// the client).
pub fn oauth_page(status: StatusCode, title: &str, body_html: &str) -> Response {
    page_with_policy(
        status,
        title,
        body_html,
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    )
}

/// A `303` to `location` with the pages' headers.
pub fn see_other(location: &str) -> Response {
    token_page_headers(Response::builder().status(StatusCode::SEE_OTHER))
        .header("location", location)
        .finish()
}

/// Adds `Retry-After`.
pub fn retry_after(mut resp: Response, secs: u64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
        resp.headers_mut().insert("retry-after", v);
    }
    resp
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
}

/// The browser session's cookie name: `__Host-` with `Secure` on https.
pub fn session_cookie_name(state: &AppState) -> &'static str {
    if secure(state) {
        "__Host-authql_session"
    } else {
        "authql_session"
    }
}

fn secure(state: &AppState) -> bool {
    state.app.settings.public_url.starts_with("https://")
}

/// The browser session's cookie, if the request carries one.
pub fn session_cookie(req: &Request, state: &AppState) -> Option<String> {
    cookie(req, session_cookie_name(state))
}

/// `Set-Cookie` for the browser session (`None`: cleared).
pub fn set_session_cookie(resp: &mut Response, state: &AppState, value: Option<&str>) {
    let max_age = match value {
        Some(_) => state.app.settings.refresh_token_ttl.as_secs(),
        None => 0,
    };
    let secure = if secure(state) { "; Secure" } else { "" };
    let header = format!(
        "{}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        session_cookie_name(state),
        value.unwrap_or("")
    );
    if let Ok(v) = HeaderValue::from_str(&header) {
        resp.headers_mut().append("set-cookie", v);
    }
}

const CSRF_COOKIE: &str = "authql_csrf";

/// The CSRF cookie's value: the request's, or a new one to set.
pub struct Csrf {
    pub value: String,
    pub is_new: bool,
}

pub fn csrf(req: &Request) -> Csrf {
    match cookie(req, CSRF_COOKIE).filter(|v| !v.is_empty() && v.len() <= 64) {
        Some(value) => Csrf {
            value,
            is_new: false,
        },
        None => Csrf {
            value: random_token(),
            is_new: true,
        },
    }
}

/// The form's `csrf_token`: bound to the cookie and the authorization.
pub fn csrf_token(state: &AppState, csrf: &Csrf, authorization_id: &str) -> String {
    hmac_hex(
        state.app.settings.secret_bytes(),
        &[
            b"oauth-csrf",
            csrf.value.as_bytes(),
            authorization_id.as_bytes(),
        ],
    )
}

/// Sets the CSRF cookie when it is new.
pub fn set_csrf_cookie(resp: &mut Response, state: &AppState, csrf: &Csrf) {
    if !csrf.is_new {
        return;
    }
    // `Secure` on https: a network attacker cannot plant a value it knows.
    let secure = if secure(state) { "; Secure" } else { "" };
    let header = format!(
        "{CSRF_COOKIE}={}; Path=/oauth; HttpOnly; SameSite=Strict{secure}",
        csrf.value
    );
    if let Ok(v) = HeaderValue::from_str(&header) {
        resp.headers_mut().append("set-cookie", v);
    }
}

/// Whether a posted form is our own: its `csrf_token` matches the cookie
/// and the authorization, and its `Origin`, when present and not `null`,
/// is `PUBLIC_URL`'s.
pub fn csrf_ok(req: &Request, state: &AppState, params: &Params, authorization_id: &str) -> bool {
    if let Some(origin) = req.headers().get("origin").and_then(|o| o.to_str().ok())
        && origin != "null"
    {
        let ours = url::Url::parse(&state.app.settings.public_url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        if origin != ours {
            return false;
        }
    }
    let Some(cookie) = cookie(req, CSRF_COOKIE).filter(|v| !v.is_empty()) else {
        return false;
    };
    let presented = param(params, "csrf_token").unwrap_or("");
    let expected = csrf_token(
        state,
        &Csrf {
            value: cookie,
            is_new: false,
        },
        authorization_id,
    );
    constant_time_eq(presented, &expected)
}

/// A hidden form field.
pub fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        escape(name),
        escape(value)
    )
}

/// A JSON answer with `Cache-Control: no-store`.
pub fn json(status: StatusCode, body: &serde_json::Value) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .header("cache-control", "no-store")
        .header("pragma", "no-cache")
        .body(body.to_string())
}

/// An RFC 6749 error answer.
pub fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut resp = json(
        status,
        &serde_json::json!({"error": error, "error_description": description}),
    );
    if error == "invalid_client" {
        resp.headers_mut().insert(
            "www-authenticate",
            HeaderValue::from_static("Basic realm=\"authql\""),
        );
    }
    resp
}
