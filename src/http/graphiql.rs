//! The GraphiQL playground, served from files compiled into the binary so it
//! works on a network with no internet access (assets/graphiql/LICENSES.md).

use poem::http::StatusCode;
use poem::web::Path;
use poem::{Response, handler};

const INDEX: &str = include_str!("../../assets/graphiql/index.html");

/// A strict policy: the page loads only its own scripts and styles.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

pub fn page() -> Response {
    Response::builder()
        .content_type("text/html; charset=utf-8")
        .header("content-security-policy", CSP)
        .header("x-content-type-options", "nosniff")
        .header("referrer-policy", "no-referrer")
        .body(INDEX)
}

#[handler]
pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, content_type): (&'static [u8], &str) = match file.as_str() {
        "graphiql.min.js" => (
            include_bytes!("../../assets/graphiql/graphiql.min.js"),
            "text/javascript",
        ),
        "graphiql.min.css" => (
            include_bytes!("../../assets/graphiql/graphiql.min.css"),
            "text/css",
        ),
        "react.production.min.js" => (
            include_bytes!("../../assets/graphiql/react.production.min.js"),
            "text/javascript",
        ),
        "react-dom.production.min.js" => (
            include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
            "text/javascript",
        ),
        "init.js" => (
            include_bytes!("../../assets/graphiql/init.js"),
            "text/javascript",
        ),
        _ => return Response::builder().status(StatusCode::NOT_FOUND).finish(),
    };
    Response::builder()
        .content_type(content_type)
        .header("cache-control", "public, max-age=86400")
        .header("x-content-type-options", "nosniff")
        .body(body)
}
