//! `logout`: ends the credential a request was made with (its session, or
//! the API token itself), or every session of the user. Above sessions and
//! API tokens, so neither needs the other.

use entity::session;
use sea_orm::ColumnTrait;

use crate::auth::viewer::{Authenticated, Credential};
use crate::db::now;
use crate::domain::SecurityEventType as Kind;
use crate::error::AppResult;
use crate::services::AppContext;
use crate::services::credentials::api_tokens;
use crate::services::credentials::sessions::revoke_sessions;
use crate::services::shared::client::ClientInfo;
use crate::services::shared::security_events as events;

/// Ends the credential of this request, or every session of the user.
#[tracing::instrument(skip_all)]
pub async fn logout(
    app: &AppContext,
    who: &Authenticated,
    all_sessions: bool,
    client: &ClientInfo,
) -> AppResult<()> {
    let now = now();
    let txn = app.db.write().await?;
    if all_sessions {
        revoke_sessions(&txn, session::Column::UserId.eq(who.user.id), now).await?;
    }
    match who.credential {
        Credential::Session(id) => {
            revoke_sessions(&txn, session::Column::Id.eq(id), now).await?;
        }
        Credential::ApiToken(id) => {
            api_tokens::revoke_token(&txn, who.user.id, id, now).await?;
        }
    }
    events::record(&txn, who.user.id, Kind::LoggedOut, client, None).await?;
    txn.commit().await?;
    Ok(())
}
