//! Fresh sessions (API.md §8.1): sensitive changes need the user to have
//! proved who they are recently, so a stolen access token alone cannot make
//! itself permanent (mint an API token, add a second factor, change the
//! address). One guard, `require_fresh`, for every such change; the guards
//! depend on nothing but the request and the settings, so every service may
//! use them (`reauthentication` makes a session fresh again).

use uuid::Uuid;

use crate::auth::assurance::Proof;
use crate::auth::viewer::{Authenticated, Credential};
use crate::db::now;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::shared::two_factor;

/// Passes for a request made with a session; an API token is for calling
/// APIs, not for managing the account (API.md §8.8): `FORBIDDEN` for
/// anything that adds, removes or changes a credential, whatever else the
/// caller proves (a password included). Answers the session and its proof.
pub fn require_session(who: &Authenticated) -> AppResult<(Uuid, &Proof)> {
    match (who.credential, &who.proof) {
        (Credential::Session(id), Some(proof)) => Ok((id, proof)),
        _ => Err(AppError::Forbidden),
    }
}

/// The one guard of *fresh* mutations (API.md §8.1, §8.8): a session (never
/// an API token) whose user proved who they are within
/// `PRIVILEGED_SESSION_TTL`, at `aal2` when the account has a second factor
/// on, so a password alone never weakens or extends what the factor guards.
pub fn require_fresh(app: &AppContext, who: &Authenticated) -> AppResult<()> {
    let (_, proof) = require_session(who)?;
    let strong = proof.assurance.is_aal2() || !two_factor::any_on(app, &who.user);
    if is_recent(app, who) && strong {
        Ok(())
    } else {
        Err(AppError::ReauthenticationRequired)
    }
}

/// Whether the session proved its user within `PRIVILEGED_SESSION_TTL`,
/// whatever its level: what decides if turning on a first second factor
/// raises it (API.md §8.8).
pub fn is_recent(app: &AppContext, who: &Authenticated) -> bool {
    let ttl = chrono::Duration::from_std(app.settings.privileged_session_ttl)
        .unwrap_or(chrono::Duration::MAX);
    who.proof.as_ref().is_some_and(|p| now() - p.at <= ttl)
}
