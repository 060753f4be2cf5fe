//! Who is asking, and the secrets that prove it: password hashing, link
//! tokens, random tokens and codes, and the request's `Viewer`.

mod hash_memory;
pub mod jwt;
pub mod link_token;
pub mod password;
pub mod tokens;
pub mod viewer;

pub use password::PasswordHasher;
pub use viewer::{RequestContext, Viewer};

use crate::error::AppError;
use crate::state::Core;

/// Resolves an `Authorization` header to its viewer, or fails the request:
/// `Bearer <access JWT>` or `Token <API token>`; any other scheme, and any
/// credential that does not check out, is `UNAUTHENTICATED` (API.md §1).
pub async fn authenticate(core: &Core, header: &str) -> Result<Viewer, AppError> {
    let (scheme, credential) = header
        .trim()
        .split_once(' ')
        .ok_or(AppError::Unauthenticated)?;
    let credential = credential.trim();
    let who = if scheme.eq_ignore_ascii_case("bearer") {
        crate::services::sessions::authenticate(core, credential).await?
    } else if scheme.eq_ignore_ascii_case("token") {
        crate::services::api_tokens::authenticate(core, credential).await?
    } else {
        return Err(AppError::Unauthenticated);
    };
    Ok(Viewer::User(Box::new(who)))
}
