//! Recovery codes (API.md §8.4): ten single-use codes that stand in for
//! any sign-in code when the app or the mailbox is lost. They live while
//! a second factor is on; a new set voids the old one.

use entity::recovery_code::{self, Column, Entity};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
};
use uuid::Uuid;

use crate::auth::recovery_codes::{self as codes, COUNT};
use crate::auth::viewer::Authenticated;
use crate::db::now;
use crate::domain::SecurityEventType as Kind;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::shared::accounts;
use crate::services::shared::client::ClientInfo;
use crate::services::shared::fresh::require_fresh;
use crate::services::shared::mail::WriteTxn;
use crate::services::shared::security_events as events;
use crate::services::shared::two_factor;

/// Voids the user's codes and stores a new set; returns it, formatted for
/// people (the only time the codes are ever shown).
#[tracing::instrument(skip_all)]
pub async fn replace(
    conn: &impl ConnectionTrait,
    app: &AppContext,
    user_id: Uuid,
    client: &ClientInfo,
) -> Result<Vec<String>, DbErr> {
    void(conn, user_id).await?;
    let now = now();
    let plain: Vec<String> = (0..COUNT).map(|_| codes::generate()).collect();
    let rows = plain.iter().map(|code| recovery_code::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        code_hash: Set(codes::digest(
            app.settings.secret_bytes(),
            &user_id,
            &code.replace('-', ""),
        )),
        used_at: Set(None),
        created_at: Set(now),
    });
    Entity::insert_many(rows).exec(conn).await?;
    events::record(conn, user_id, Kind::RecoveryCodesGenerated, client, None).await?;
    Ok(plain)
}

/// Deletes every code of the user (their second factors went off).
#[tracing::instrument(skip_all)]
pub async fn void(conn: &impl ConnectionTrait, user_id: Uuid) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(Column::UserId.eq(user_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Uses up the code if it is the user's and unused: true for exactly one
/// caller however many try it at once (one conditional update).
#[tracing::instrument(skip_all)]
pub async fn claim(
    conn: &impl ConnectionTrait,
    app: &AppContext,
    user_id: Uuid,
    normalized: &str,
) -> Result<bool, DbErr> {
    let digest = codes::digest(app.settings.secret_bytes(), &user_id, normalized);
    let used = Entity::update_many()
        .col_expr(Column::UsedAt, Expr::value(now()))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::CodeHash.eq(digest))
        .filter(Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    Ok(used.rows_affected == 1)
}

/// How many unused codes each of `user_ids` has (users with none are
/// absent): one grouped query for a whole page of users.
#[tracing::instrument(skip_all)]
pub async fn left_for(
    app: &AppContext,
    user_ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, u64>, DbErr> {
    let counts: Vec<(Uuid, i64)> = Entity::find()
        .select_only()
        .column(Column::UserId)
        .column_as(Column::Id.count(), "left")
        .filter(Column::UserId.is_in(user_ids.iter().copied()))
        .filter(Column::UsedAt.is_null())
        .group_by(Column::UserId)
        .into_tuple()
        .all(app.db.alone())
        .await?;
    Ok(counts
        .into_iter()
        .map(|(id, n)| (id, u64::try_from(n).unwrap_or(0)))
        .collect())
}

/// A new set for the signed-in user (fresh session); `FORBIDDEN` with no
/// second factor on, as the codes would stand in for nothing.
#[tracing::instrument(skip_all)]
pub async fn regenerate(
    app: &AppContext,
    who: &Authenticated,
    client: &ClientInfo,
) -> AppResult<Vec<String>> {
    require_fresh(app, who)?;
    let txn = WriteTxn::begin(app).await?;
    let user = accounts::current(&*txn, who.user.id).await?;
    if !two_factor::any_on(app, &user) {
        txn.rollback().await;
        return Err(AppError::Forbidden);
    }
    let plain = replace(&*txn, app, user.id, client).await?;
    txn.notify(
        &user,
        "new recovery codes were generated (the old ones no longer work)",
    )
    .await?;
    txn.commit().await?;
    Ok(plain)
}
