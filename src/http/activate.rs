//! `GET /activate/{uid}/{token}`: the link in the activation mail.

use poem::web::{Data, Path};
use poem::{Request, Response, handler};

use super::pages::{LinkTexts, link_answer};
use crate::http::client::client_info;
use crate::http::state::AppState;
use crate::services::account::activation;

const TEXTS: LinkTexts = LinkTexts {
    done: "activated",
    done_title: "Account activated",
    done_body: "<p>Your account is active. You can sign in now.</p>",
    invalid_body: "<p>The activation link is wrong or has expired. Ask for a new activation email.</p>",
};

#[handler]
pub async fn activate(
    req: &Request,
    Path((uid, token)): Path<(String, String)>,
    Data(state): Data<&AppState>,
) -> Response {
    let app = &state.app;
    let client = client_info(req, &app.settings.trusted_proxies);
    // An account that is already active answers "activated": mail
    // scanners open links before people do.
    let result = activation::activate_with_link(app, &uid, &token, &client).await;
    link_answer(
        result.map(drop),
        app.settings.activation_redirect_url.as_ref(),
        &TEXTS,
    )
}
