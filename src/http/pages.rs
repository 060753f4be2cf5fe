//! Small HTML pages for the mailed links: no JavaScript, no external
//! resources, and headers that keep tokens out of caches and referrers.

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
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title></head>\n<body style=\"font-family: sans-serif; max-width: 32em; margin: 3em auto; line-height: 1.5\">\n\
         <h1>{title}</h1>\n{body_html}\n</body></html>\n",
        title = escape(title)
    );
    token_page_headers(Response::builder().status(status))
        .content_type("text/html; charset=utf-8")
        .header(
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
        )
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
