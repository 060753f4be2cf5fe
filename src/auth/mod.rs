//! Who is asking: credentials from the `Authorization` header become a `Viewer`.

pub mod viewer;

pub use viewer::{RequestContext, Viewer};

use crate::error::AppError;
use crate::state::Core;

/// Resolves an `Authorization` header to its viewer, or fails the request.
///
/// No credential can authenticate until sign-in issues tokens, so every
/// header is refused here, as API.md §1 requires for unknown credentials.
pub async fn authenticate(_core: &Core, _header: &str) -> Result<Viewer, AppError> {
    Err(AppError::Unauthenticated)
}
