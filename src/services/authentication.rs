//! Authenticating a request's credential: the `Authorization` header to
//! its `Viewer`, checked against the database on every request so that
//! revocation takes effect at once on every instance.

use crate::auth::Viewer;
use crate::error::AppError;
use crate::services::AppContext;
use crate::services::{api_tokens, sessions};

/// Resolves an `Authorization` header to its viewer, or fails the request:
/// `Bearer <access JWT>` or `Token <API token>`; any other scheme, and any
/// credential that does not check out, is `UNAUTHENTICATED` (API.md §1).
pub async fn authenticate(app: &AppContext, header: &str) -> Result<Viewer, AppError> {
    let (scheme, credential) = header
        .trim()
        .split_once(' ')
        .ok_or(AppError::Unauthenticated)?;
    let credential = credential.trim();
    let who = if scheme.eq_ignore_ascii_case("bearer") {
        sessions::authenticate(app, credential).await?
    } else if scheme.eq_ignore_ascii_case("token") {
        api_tokens::authenticate(app, credential).await?
    } else {
        return Err(AppError::Unauthenticated);
    };
    Ok(Viewer::User(Box::new(who)))
}
