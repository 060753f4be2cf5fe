//! Permission guards in the manner of Django REST Framework's permission
//! classes, declared on each field so its rule is visible where it is
//! defined. No user → `UNAUTHENTICATED`; a user who may not → `FORBIDDEN`.

use async_graphql::parser::types::OperationType;
use async_graphql::{Context, Guard, Result};
use entity::user;

use crate::auth::RequestContext;
use crate::auth::viewer::Authenticated;
use crate::error::AppError;

/// DRF's `IsAuthenticated`: any signed-in, active user.
pub struct IsAuthenticated;

impl Guard for IsAuthenticated {
    async fn check(&self, ctx: &Context<'_>) -> Result<()> {
        viewer(ctx)?;
        Ok(())
    }
}

/// DRF's `IsAdminUser`: staff only.
pub struct IsStaff;

impl Guard for IsStaff {
    async fn check(&self, ctx: &Context<'_>) -> Result<()> {
        if viewer(ctx)?.is_staff {
            Ok(())
        } else {
            Err(AppError::Forbidden.into())
        }
    }
}

/// DRF's `IsAuthenticatedOrReadOnly`: anyone may read (queries), only a
/// signed-in user may write (mutations).
pub struct IsAuthenticatedOrReadOnly;

impl Guard for IsAuthenticatedOrReadOnly {
    async fn check(&self, ctx: &Context<'_>) -> Result<()> {
        if RequestContext::of(ctx)?.operation == OperationType::Query {
            return Ok(());
        }
        viewer(ctx)?;
        Ok(())
    }
}

/// The signed-in user, or `UNAUTHENTICATED`.
/// The signed-in user with how they signed in (session or API token, and
/// when the session last proved who they are), for fresh mutations.
pub fn authenticated<'a>(ctx: &Context<'a>) -> Result<&'a Authenticated, AppError> {
    RequestContext::of(ctx)?
        .viewer
        .authenticated()
        .ok_or(AppError::Unauthenticated)
}

pub fn viewer<'a>(ctx: &Context<'a>) -> Result<&'a user::Model, AppError> {
    RequestContext::of(ctx)?
        .viewer
        .user()
        .ok_or(AppError::Unauthenticated)
}
