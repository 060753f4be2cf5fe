//! A user's remembered consents (API.md §9.3): listed, and revoked with
//! every OAuth session of theirs with that client.

use entity::{oauth_client, oauth_grant, session, user};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::db::now;
use crate::domain::SecurityEventType as Kind;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::shared::client::ClientInfo;
use crate::services::shared::mail::WriteTxn;
use crate::services::shared::security_events as events;

/// The user's grants with their clients, newest first.
#[tracing::instrument(skip_all)]
pub async fn list(
    app: &AppContext,
    user: Uuid,
) -> AppResult<Vec<(oauth_grant::Model, oauth_client::Model)>> {
    let select = oauth_grant::Entity::find()
        .filter(oauth_grant::Column::UserId.eq(user))
        .order_by_desc(oauth_grant::Column::CreatedAt)
        .find_also_related(oauth_client::Entity);
    let rows = select.all(app.db.alone()).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(g, c)| c.map(|c| (g, c)))
        .collect())
}

/// `revokeOAuthGrant`: the grant deleted and every OAuth session of the
/// user with that client ended at once; an event and a notice.
#[tracing::instrument(skip_all)]
pub async fn revoke(
    app: &AppContext,
    user: &user::Model,
    id: Uuid,
    who: &ClientInfo,
) -> AppResult<()> {
    let txn = WriteTxn::begin(app).await?;
    let found = oauth_grant::Entity::find_by_id(id)
        .filter(oauth_grant::Column::UserId.eq(user.id))
        .find_also_related(oauth_client::Entity)
        .one(&*txn)
        .await?;
    let Some((grant, client)) = found else {
        txn.rollback().await;
        return Err(AppError::NotFound);
    };
    oauth_grant::Entity::delete_by_id(grant.id)
        .exec(&*txn)
        .await?;
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Some(now())))
        .filter(session::Column::UserId.eq(user.id))
        .filter(session::Column::OauthClientId.eq(grant.client_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(&*txn)
        .await?;
    events::record(&*txn, user.id, Kind::OauthGrantRevoked, who, None).await?;
    let name = client.map(|c| c.name).unwrap_or_default();
    txn.notify(
        user,
        &format!("the application \"{name}\" can no longer access your account"),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
