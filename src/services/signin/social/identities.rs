//! A user's identities (API.md §9.1): listed oldest first, and unlinked
//! unless that would leave the account no way to sign in.

use entity::{identity, passkey, user};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::auth::viewer::Authenticated;
use crate::db;
use crate::domain::SecurityEventType as Kind;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::shared::accounts::has_usable_password;
use crate::services::shared::client::ClientInfo;
use crate::services::shared::fresh::require_fresh;
use crate::services::shared::mail::WriteTxn;
use crate::services::shared::security_events::{self as events, How};

/// The viewer's identities, oldest first.
#[tracing::instrument(skip_all)]
pub async fn list(app: &AppContext, user: Uuid) -> AppResult<Vec<identity::Model>> {
    let select = identity::Entity::find()
        .filter(identity::Column::UserId.eq(user))
        .order_by_asc(identity::Column::CreatedAt)
        .order_by_asc(identity::Column::Id);
    Ok(app.db.read().all(select).await?)
}

/// `unlinkIdentity` (fresh; never an API token).
#[tracing::instrument(skip_all)]
pub async fn unlink(
    app: &AppContext,
    who: &Authenticated,
    id: Uuid,
    client: &ClientInfo,
) -> AppResult<()> {
    require_fresh(app, who)?;
    let txn = WriteTxn::begin(app).await?;
    // The account's row locked and read again: two unlinks at once count
    // one after the other, with the password as it is now.
    let user = &db::locked(&*txn, user::Entity::find_by_id(who.user.id))
        .one(&*txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let Some(found) = identity::Entity::find_by_id(id)
        .filter(identity::Column::UserId.eq(user.id))
        .one(&*txn)
        .await?
    else {
        return Err(AppError::NotFound);
    };
    let others = identity::Entity::find()
        .filter(identity::Column::UserId.eq(user.id))
        .filter(identity::Column::Id.ne(id))
        .count(&*txn)
        .await?;
    let passkeys = passkey::Entity::find()
        .filter(passkey::Column::UserId.eq(user.id))
        .count(&*txn)
        .await?;
    if others == 0 && passkeys == 0 && !has_usable_password(user) {
        return Err(AppError::ForbiddenBecause(
            "this is the account's only way to sign in: set a password or add a passkey first"
                .into(),
        ));
    }
    identity::Entity::delete_by_id(id).exec(&*txn).await?;
    let how = How {
        provider: Some(found.provider.clone()),
        ..How::default()
    };
    events::record_how(&*txn, user.id, Kind::IdentityUnlinked, client, None, how).await?;
    let provider = app.settings.social.display_name(&found.provider);
    txn.notify(user, &format!("a sign-in with {provider} was unlinked"))
        .await?;
    txn.commit().await?;
    Ok(())
}
