//! `GET /confirm-email/{uid}/{token}`: the link mailed to a new address
//! (API.md §8.5), answered as the activation link is.

use poem::web::{Data, Path};
use poem::{Request, Response, handler};

use super::pages::{LinkTexts, link_answer};
use crate::http::client::client_info;
use crate::http::state::AppState;
use crate::services::account::email_change;

const TEXTS: LinkTexts = LinkTexts {
    done: "changed",
    done_title: "Email address changed",
    done_body: "<p>Your account now uses this address. Sign in with it from now on.</p>",
    invalid_body: "<p>The link is wrong, has expired, or a newer request replaced it. Ask for the change again.</p>",
};

#[handler]
pub async fn confirm_email(
    req: &Request,
    Path((uid, token)): Path<(String, String)>,
    Data(state): Data<&AppState>,
) -> Response {
    let app = &state.app;
    let client = client_info(req, &app.settings.trusted_proxies);
    // A link that already made its change answers "changed": mail
    // scanners open links before people do.
    let result = email_change::confirm(app, &uid, &token, &client).await;
    link_answer(
        result.map(drop),
        app.settings.email_change_redirect_url.as_ref(),
        &TEXTS,
    )
}
