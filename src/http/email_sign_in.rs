//! `GET` and `POST /email-sign-in/{token}`: the link of an email sign-in
//! (API.md §9.2). Mail scanners and link previews fetch links, so `GET`
//! (and `HEAD`) only show the address and a button; the button's `POST`
//! uses the link up and sends the browser to the app with an exchange
//! code. No JavaScript: a plain form.

use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Request, Response, handler};

use super::pages::{escape, page, page_posting_to, token_page_headers};
use crate::error::AppError;
use crate::http::client::client_info;
use crate::http::state::AppState;
use crate::services::signin::email_sign_in;

fn answer_error(e: AppError) -> Response {
    match e {
        AppError::InvalidToken | AppError::Forbidden => page(
            StatusCode::NOT_FOUND,
            "This link is not valid",
            "<p>The sign-in link is wrong, expired, replaced by a newer one or already used. \
             Ask for a new one, or type the code from the newest mail.</p>",
        ),
        e => {
            e.log();
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "<p>Please try the link again in a moment.</p>",
            )
        }
    }
}

/// The CSP source of the page the button's `POST` redirects to: its origin
/// (`https://app.example.com`), or its scheme for an app's own (`myapp:`).
fn form_source(target: &str) -> String {
    match url::Url::parse(target) {
        Ok(url) if url.origin().is_tuple() => url.origin().ascii_serialization(),
        Ok(url) => format!("{}:", url.scheme()),
        Err(_) => String::new(),
    }
}

#[handler]
pub async fn show(Path(token): Path<String>, Data(state): Data<&AppState>) -> Response {
    let app = &state.app;
    if !app.settings.sign_in.email_sign_in {
        return answer_error(AppError::Forbidden);
    }
    match email_sign_in::find_link(app, &token).await {
        Ok(row) => {
            let body = format!(
                "<p>Sign in as <strong>{}</strong>?</p>\
                 <form method=\"post\"><p><button type=\"submit\">Sign in</button></p></form>\
                 <p>If you did not ask to sign in, close this page: nothing happens.</p>",
                escape(&email_sign_in::masked_address(&row))
            );
            let target = row.redirect_to.as_deref().map(form_source);
            let sources = format!("'self' {}", target.unwrap_or_default());
            page_posting_to(StatusCode::OK, "Sign in", &body, sources.trim_end())
        }
        Err(e) => answer_error(e),
    }
}

#[handler]
pub async fn submit(
    req: &Request,
    Path(token): Path<String>,
    Data(state): Data<&AppState>,
) -> Response {
    let app = &state.app;
    let client = client_info(req, &app.settings.trusted_proxies);
    match email_sign_in::use_link(app, &token, &client).await {
        Ok(target) => token_page_headers(Response::builder().status(StatusCode::SEE_OTHER))
            .header("location", target.as_str())
            .finish(),
        Err(e) => answer_error(e),
    }
}
