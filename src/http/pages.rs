//! Small HTML pages for the mailed links: no JavaScript, no external
//! resources, and headers that keep tokens out of caches and referrers.

use crate::error::AppError;
use poem::Response;
use poem::http::StatusCode;

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A page around `body_html` (already escaped by the caller).
pub fn page(status: StatusCode, title: &str, body_html: &str) -> Response {
    page_posting_to(status, title, body_html, "'self'")
}

/// `page`, whose forms may end at `form_action` (CSP sources): browsers
/// hold a form's redirects to `form-action` too, so a form whose answer
/// redirects to the app names the app's origin here.
pub fn page_posting_to(
    status: StatusCode,
    title: &str,
    body_html: &str,
    form_action: &str,
) -> Response {
    page_with_policy(
        status,
        title,
        body_html,
        &format!("default-src 'none'; style-src 'unsafe-inline'; form-action {form_action}"),
    )
}

/// A page around `body_html` with `policy` as its Content-Security-Policy.
pub fn page_with_policy(
    status: StatusCode,
    title: &str,
    body_html: &str,
    policy: &str,
) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title></head>\n<body style=\"font-family: sans-serif; max-width: 32em; margin: 3em auto; line-height: 1.5\">\n\
         <h1>{title}</h1>\n{body_html}\n</body></html>\n",
        title = escape(title)
    );
    token_page_headers(Response::builder().status(status))
        .content_type("text/html; charset=utf-8")
        .header("content-security-policy", policy)
        .body(html)
}

/// Token pages must not leak the token to other sites or caches.
pub fn token_page_headers(builder: poem::ResponseBuilder) -> poem::ResponseBuilder {
    builder
        .header("referrer-policy", "no-referrer")
        .header("cache-control", "no-store")
        .header("x-content-type-options", "nosniff")
        .header("x-frame-options", "DENY")
}

/// What a mailed link's page says: its status word on success (the
/// redirect's `status`), and the page's words either way.
pub struct LinkTexts {
    pub done: &'static str,
    pub done_title: &'static str,
    pub done_body: &'static str,
    pub invalid_body: &'static str,
}

/// What a mailed link answers once its service has run: `303` to
/// `redirect?status=…` when the operator set one, else a small page.
/// `INVALID_TOKEN` is the link's fault (`invalid`); anything else the
/// server's (logged, a 500 page).
pub fn link_answer(
    result: Result<(), AppError>,
    redirect: Option<&String>,
    texts: &LinkTexts,
) -> Response {
    let status = match result {
        Ok(()) => texts.done,
        Err(AppError::InvalidToken) => "invalid",
        Err(e) => {
            e.log();
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "<p>Please try the link again in a moment.</p>",
            );
        }
    };
    if let Some(target) = redirect {
        let sep = if target.contains('?') { '&' } else { '?' };
        return token_page_headers(Response::builder().status(StatusCode::SEE_OTHER))
            .header("location", format!("{target}{sep}status={status}"))
            .finish();
    }
    if status == texts.done {
        page(StatusCode::OK, texts.done_title, texts.done_body)
    } else {
        page(
            StatusCode::BAD_REQUEST,
            "This link is not valid",
            texts.invalid_body,
        )
    }
}
