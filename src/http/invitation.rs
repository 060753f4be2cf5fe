//! `GET /invitations/{token}`: the page an invitation mail links to (API.md
//! §10.3). It names the organization, the role and the invited address and
//! says how to accept; it never uses the token (mail scanners open links).

use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Response, handler};

use super::pages::{escape, page};
use crate::http::state::AppState;
use crate::services::organizations::invitations;

#[handler]
pub async fn show(Path(token): Path<String>, Data(state): Data<&AppState>) -> Response {
    match invitations::live(&state.app, &token).await {
        Ok(Some((inv, org))) => page(
            StatusCode::OK,
            "You are invited",
            &format!(
                "<p>You are invited to join the organization <strong>{}</strong> as {}.</p>\
                 <p>The invitation is for <strong>{}</strong>. Sign in with that address \
                 (or register with it) and accept the invitation in the application.</p>",
                escape(&org.name),
                escape(&inv.role.to_lowercase()),
                escape(&inv.email),
            ),
        ),
        Ok(None) => page(
            StatusCode::NOT_FOUND,
            "This link is not valid",
            "<p>The invitation is wrong, expired, revoked, replaced by a newer one or already used. \
             Ask the organization for a new one.</p>",
        ),
        Err(e) => {
            e.log();
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "<p>Please try the link again in a moment.</p>",
            )
        }
    }
}
