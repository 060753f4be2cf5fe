//! The admin's view of users: lookup, lists, and (de)activation.

use entity::user::{self, Column};
use sea_orm::sea_query::LikeExpr;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, Select};
use uuid::Uuid;

use crate::auth::tokens::random_token;
use crate::db::{self, now};
use crate::domain::SecurityEventType as Kind;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::credentials::lifecycle;
use crate::services::shared::client::ClientInfo;
use crate::services::shared::mail::WriteTxn;
use crate::services::shared::pagination::{Ordering, SortKey};
use crate::services::shared::search::search_pattern;
use crate::services::shared::security_events as events;

#[derive(Debug, Default)]
pub struct UserFilter {
    pub search: Option<String>,
    pub is_active: Option<bool>,
    pub is_staff: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserSort {
    DateJoined,
    Email,
}

pub fn ordering(sort: UserSort, descending: bool) -> Ordering<user::Entity> {
    let (name, column, key): (_, _, fn(&user::Model) -> SortKey) = match sort {
        UserSort::DateJoined => ("DATE_JOINED", Column::DateJoined, |u| {
            SortKey::time(u.date_joined)
        }),
        UserSort::Email => ("EMAIL", Column::EmailKey, |u| {
            SortKey::Text(u.email_key.clone())
        }),
    };
    Ordering {
        name,
        column,
        id_column: Column::Id,
        descending,
        key,
        id: |u| u.id,
    }
}

pub fn filtered(filter: UserFilter) -> AppResult<Select<user::Entity>> {
    let mut select = user::Entity::find();
    if let Some(pattern) = search_pattern(filter.search.as_deref())? {
        select = select.filter(Column::SearchFold.like(LikeExpr::new(pattern).escape('\\')));
    }
    if let Some(active) = filter.is_active {
        select = select.filter(Column::IsActive.eq(active));
    }
    if let Some(staff) = filter.is_staff {
        select = select.filter(Column::IsStaff.eq(staff));
    }
    Ok(select)
}

/// Activates or deactivates an account and mails its owner. Deactivation
/// ends every session and API token at once (each request also checks
/// `is_active`) and rotates the security stamp, so outstanding links die
/// with it; the account cannot reactivate itself (`deactivated_at`). Staff
/// cannot lock the house: deactivating yourself, or the last active
/// superuser, is `FORBIDDEN`.
#[tracing::instrument(skip_all)]
pub async fn set_active(
    app: &AppContext,
    staff: &user::Model,
    id: Uuid,
    active: bool,
    client: &ClientInfo,
) -> AppResult<user::Model> {
    let now = now();
    let txn = WriteTxn::begin(app).await?;
    let existing = user::Entity::find_by_id(id)
        .one(&*txn)
        .await?
        .ok_or(AppError::NotFound)?;
    // Staff keep the house, superusers keep the staff: only a superuser
    // may deactivate or reactivate a staff user or a superuser (API.md §8.8).
    if (existing.is_staff || existing.is_superuser) && !staff.is_superuser {
        txn.rollback().await;
        return Err(AppError::Forbidden);
    }
    if !active {
        ensure_not_locking_out(&txn, staff, &existing).await?;
    }
    let kind = match (
        active,
        existing.deactivated_at.is_some(),
        existing.is_active,
    ) {
        (false, _, _) => Kind::AccountDeactivated,
        (true, true, _) => Kind::AccountReactivated,
        (true, false, _) => Kind::AccountActivated,
    };
    let mut model: user::ActiveModel = existing.into();
    model.is_active = Set(active);
    model.updated_at = Set(now);
    if active {
        if model.activated_at.as_ref().is_none() {
            model.activated_at = Set(Some(now));
        }
        model.deactivated_at = Set(None);
    } else {
        model.security_stamp = Set(random_token());
        model.deactivated_at = Set(Some(now));
        lifecycle::end_at_deactivation(&txn, id, client, now).await?;
    }
    let updated = model.update(&*txn).await?;
    events::record(&*txn, updated.id, kind, client, Some(staff.id)).await?;
    let what = if active {
        "your account was activated by an administrator"
    } else {
        "your account was deactivated by an administrator"
    };
    txn.notify(&updated, what).await?;
    txn.commit().await?;
    Ok(updated)
}

/// Refuses a deactivation that would lock staff out: of yourself, or of
/// the last active superuser.
async fn ensure_not_locking_out(
    txn: &WriteTxn,
    staff: &user::Model,
    target: &user::Model,
) -> AppResult<()> {
    if target.id == staff.id {
        return Err(AppError::Forbidden);
    }
    if is_last_active_superuser(txn, target).await? {
        return Err(AppError::Forbidden);
    }
    Ok(())
}

/// Whether `target` is the only active superuser, so deactivating or
/// deleting it would leave no one to run the house. On PostgreSQL the
/// active superusers are locked for the transaction, so two removing the
/// last two at once cannot both pass (SQLite's write transaction already
/// serialises).
#[tracing::instrument(skip_all)]
pub async fn is_last_active_superuser(
    txn: &WriteTxn,
    target: &user::Model,
) -> Result<bool, sea_orm::DbErr> {
    if !(target.is_superuser && target.is_active) {
        return Ok(false);
    }
    let superusers = user::Entity::find()
        .filter(user::Column::IsSuperuser.eq(true))
        .filter(user::Column::IsActive.eq(true));
    Ok(db::locked(&**txn, superusers).all(&**txn).await?.len() <= 1)
}
