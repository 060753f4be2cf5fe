//! Deleting one's own account (API.md §8.5): what app stores and privacy
//! law require. One transaction removes the account and everything that is
//! its (the foreign keys cascade: sessions and their refresh tokens, API
//! tokens, codes, authenticator app, recovery codes, products), so its
//! tokens fail on the very next request on every instance, and its address
//! and username are free again. Its audit trail goes too, but for one
//! `ACCOUNT_DELETED` row under its former id.

use entity::{security_event, user};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::auth::viewer::Authenticated;
use crate::domain::SecurityEventType as Kind;
use crate::error::{AppError, AppResult};
use crate::mail::templates;
use crate::services::AppContext;
use crate::services::account::users::is_last_active_superuser;
use crate::services::credentials::password_check;
use crate::services::organizations::members;
use crate::services::shared::accounts;
use crate::services::shared::client::ClientInfo;
use crate::services::shared::fresh::require_fresh;
use crate::services::shared::mail::{Budget, WriteTxn};
use crate::services::shared::security_events as events;
use crate::services::shared::webhook_outbox;

/// Deletes the signed-in user's account, in a fresh session (at `aal2` with
/// a second factor on; never an API token), after checking the password (a
/// wrong one counts against the sign-in limits). The last active
/// superuser cannot delete themself, nor the only OWNER of an
/// organization: `FORBIDDEN`.
#[tracing::instrument(skip_all)]
pub async fn delete_account(
    app: &AppContext,
    who: &Authenticated,
    password: &str,
    client: &ClientInfo,
) -> AppResult<()> {
    require_fresh(app, who)?;
    password_check::prove_password(app, who, password, client).await?;
    let txn = WriteTxn::begin(app).await?;
    let user = accounts::current(&*txn, who.user.id).await?;
    if is_last_active_superuser(&txn, &user).await? {
        txn.rollback().await;
        return Err(AppError::Forbidden);
    }
    // An organization always keeps an OWNER (API.md §10.2).
    let owned = members::solely_owned(&*txn, user.id).await?;
    if let Some(name) = owned.first() {
        txn.rollback().await;
        return Err(AppError::ForbiddenBecause(format!(
            "you are the only OWNER of the organization {name:?}: make another member OWNER or delete it first"
        )));
    }
    user::Entity::delete_by_id(user.id).exec(&*txn).await?;
    security_event::Entity::delete_many()
        .filter(security_event::Column::UserId.eq(user.id))
        .exec(&*txn)
        .await?;
    events::record(&*txn, user.id, Kind::AccountDeleted, client, None).await?;
    let data = serde_json::json!({ "user": { "id": user.id.to_string() } });
    webhook_outbox::enqueue(&*txn, "user.deleted", crate::db::now(), data).await?;
    txn.mail(&user, templates::account_deleted(), Budget::Account)
        .await?;
    txn.commit().await?;
    Ok(())
}
