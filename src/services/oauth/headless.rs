//! Headless mode's decision (API.md §9.3): the application signs the user
//! in its own way and decides the pending request over GraphQL as them.

use crate::auth::viewer::Authenticated;
use crate::db::now;
use crate::domain::oauth::Scopes;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::oauth::authorizations::{Decider, approve, find_pending, refuse};
use crate::services::shared::client::ClientInfo;
use crate::services::shared::fresh::require_session;

/// `decideOAuthAuthorization` (headless mode): the viewer approves (for
/// `scopes`, each requested; absent: every requested) or denies. With
/// `prompt=login` the viewer's session must have signed in after the
/// request was made, with `max_age` within it.
#[tracing::instrument(skip_all)]
pub async fn decide(
    app: &AppContext,
    who: &Authenticated,
    id: &str,
    approve_it: bool,
    scopes: Option<Vec<String>>,
    client: &ClientInfo,
) -> AppResult<String> {
    let (session_id, proof) = require_session(who)?;
    if !app.settings.oauth.enabled {
        return Err(AppError::NotFound);
    }
    let Some(pending) = find_pending(app, id).await? else {
        return Err(AppError::NotFound);
    };
    if !approve_it {
        return refuse(app, &pending, "access_denied").await;
    }
    let requested = pending.scopes();
    let chosen = match scopes {
        None => requested,
        Some(list) => match Scopes::parse_list(list.iter().map(String::as_str)) {
            Ok(s) if requested.covers(s) => s,
            _ => {
                return Err(AppError::field(
                    "scopes",
                    "each scope must have been requested",
                ));
            }
        },
    };
    let mut granted = chosen;
    if requested.has("openid") {
        granted = granted.union(Scopes::parse_list(["openid"]).unwrap_or_default());
    }
    if granted.is_empty() {
        return Err(AppError::field("scopes", "approve at least one scope"));
    }
    let now = now();
    let stale_login = pending.prompts("login") && proof.at <= pending.row.created_at;
    let too_old = pending
        .row
        .max_age
        .is_some_and(|max| (now - proof.at).num_seconds() > max);
    if stale_login || too_old {
        return Err(AppError::ReauthenticationRequired);
    }
    let decider = Decider {
        user: &who.user,
        session_id,
        auth_time: proof.at,
        amr: proof.assurance.stored(),
        client,
    };
    approve(app, &pending, granted, decider, true).await
}
