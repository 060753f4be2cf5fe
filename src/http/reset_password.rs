//! `GET` and `POST /reset-password/{uid}/{token}`: the mailed reset link's
//! own page, for deployments without a front end (`PASSWORD_RESET_URL`
//! unset). A plain HTML form: it works without JavaScript.

use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Body, Request, Response, handler};
use serde::Deserialize;

use super::pages::{escape, page};
use crate::error::AppError;
use crate::http::client::client_info;
use crate::http::state::AppState;
use crate::services::account::passwords;

/// Two passwords of at most 128 characters fit easily; anything larger is
/// not this form.
const MAX_FORM_BYTES: usize = 16 * 1024;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResetForm {
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

fn invalid_link() -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "This link is not valid",
        "<p>The reset link is wrong, expired or already used. Ask for a new one.</p>",
    )
}

fn form(errors: &[String]) -> Response {
    let list: String = errors
        .iter()
        .map(|e| format!("<li>{}</li>", escape(e)))
        .collect();
    let errors_html = if list.is_empty() {
        String::new()
    } else {
        format!("<ul style=\"color: #b00\">{list}</ul>")
    };
    let body = format!(
        "{errors_html}<form method=\"post\">\
         <p><label>New password<br><input type=\"password\" name=\"newPassword\" autocomplete=\"new-password\" minlength=\"8\" maxlength=\"128\" required></label></p>\
         <p><label>Repeat it<br><input type=\"password\" name=\"confirmPassword\" autocomplete=\"new-password\" minlength=\"8\" maxlength=\"128\" required></label></p>\
         <p><button type=\"submit\">Set the new password</button></p></form>"
    );
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    page(status, "Choose a new password", &body)
}

#[handler]
pub async fn show(
    Path((uid, token)): Path<(String, String)>,
    Data(state): Data<&AppState>,
) -> Response {
    match passwords::check_reset_link(&state.app, &uid, &token).await {
        Ok(_) => form(&[]),
        Err(AppError::InvalidToken) => invalid_link(),
        Err(e) => failure(e),
    }
}

#[handler]
pub async fn submit(
    req: &Request,
    Path((uid, token)): Path<(String, String)>,
    body: Body,
    Data(state): Data<&AppState>,
) -> Response {
    let Ok(bytes) = body.into_bytes_limit(MAX_FORM_BYTES).await else {
        return page(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Too large",
            "<p>The form was too large.</p>",
        );
    };
    let Ok(fields) = serde_urlencoded::from_bytes::<ResetForm>(&bytes) else {
        return form(&["The form could not be read.".to_owned()]);
    };
    match passwords::reset(
        &state.app,
        &uid,
        &token,
        &fields.new_password,
        &fields.confirm_password,
        &client_info(req, &state.app.settings.trusted_proxies),
    )
    .await
    {
        Ok(()) => page(
            StatusCode::OK,
            "Password changed",
            "<p>Your password is changed and every session was signed out. You can sign in with the new password.</p>",
        ),
        Err(AppError::InvalidToken) => invalid_link(),
        Err(AppError::BadUserInput(fields)) => {
            let messages: Vec<String> = fields
                .iter()
                .flat_map(|(field, messages)| {
                    let label = if field == "confirmPassword" {
                        "Repeated password"
                    } else {
                        "New password"
                    };
                    messages.iter().map(move |m| format!("{label}: {m}"))
                })
                .collect();
            form(&messages)
        }
        Err(e) => failure(e),
    }
}

fn failure(e: AppError) -> Response {
    e.log();
    let status = match e {
        AppError::ServiceUnavailable { .. } | AppError::RateLimited { .. } => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    page(
        status,
        "Something went wrong",
        "<p>Please try again in a moment.</p>",
    )
}
