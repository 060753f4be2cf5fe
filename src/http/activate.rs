//! `GET /activate/{uid}/{token}`: the link in the activation mail.

use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Request, Response, handler};

use super::pages::{page, token_page_headers};
use crate::error::AppError;
use crate::http::client_info;
use crate::http::state::AppState;
use crate::services::activation::{self, LinkActivation};

#[handler]
pub async fn activate(
    req: &Request,
    Path((uid, token)): Path<(String, String)>,
    Data(state): Data<&AppState>,
) -> Response {
    let app = &state.app;
    let client = client_info(req, &app.settings.trusted_proxies);
    let status = match activation::activate_with_link(app, &uid, &token, &client).await {
        // An account that is already active answers "activated": mail
        // scanners open links before people do.
        Ok(LinkActivation::Activated(_) | LinkActivation::AlreadyActive) => "activated",
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
    if let Some(target) = &app.settings.activation_redirect_url {
        let sep = if target.contains('?') { '&' } else { '?' };
        return token_page_headers(Response::builder().status(StatusCode::SEE_OTHER))
            .header("location", format!("{target}{sep}status={status}"))
            .finish();
    }
    if status == "activated" {
        page(
            StatusCode::OK,
            "Account activated",
            "<p>Your account is active. You can sign in now.</p>",
        )
    } else {
        page(
            StatusCode::BAD_REQUEST,
            "This link is not valid",
            "<p>The activation link is wrong or has expired. Ask for a new activation email.</p>",
        )
    }
}
