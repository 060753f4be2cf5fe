//! The admin's view of users: lookup, lists, and (de)activation.

use entity::session;
use entity::user::{self, Column};
use sea_orm::sea_query::LikeExpr;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, Select};
use uuid::Uuid;

use crate::auth::tokens::random_token;
use crate::db::now;
use crate::domain::fold;
use crate::error::{AppError, AppResult};
use crate::mail::templates;
use crate::services::AppContext;
use crate::services::mail::WriteTxn;
use crate::services::pagination::{Ordering, SortKey, like_pattern};
use crate::services::sessions::revoke_sessions;

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
    if let Some(search) = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if search.chars().count() > 200 {
            return Err(AppError::field("search", "must be at most 200 characters"));
        }
        select = select.filter(
            Column::SearchFold.like(LikeExpr::new(like_pattern(&fold(search))).escape('\\')),
        );
    }
    if let Some(active) = filter.is_active {
        select = select.filter(Column::IsActive.eq(active));
    }
    if let Some(staff) = filter.is_staff {
        select = select.filter(Column::IsStaff.eq(staff));
    }
    Ok(select)
}

pub async fn find(app: &AppContext, id: Uuid) -> AppResult<Option<user::Model>> {
    Ok(app.hot.one(user::Entity::find_by_id(id)).await?)
}

/// The users of these ids (any that exist), in one query: a page's owners.
pub async fn find_many(app: &AppContext, ids: &[Uuid]) -> Result<Vec<user::Model>, sea_orm::DbErr> {
    app.hot
        .all(user::Entity::find().filter(user::Column::Id.is_in(ids.iter().copied())))
        .await
}

/// Activates or deactivates an account and mails its owner. Deactivation
/// ends every session at once (each request also checks `is_active`) and
/// rotates the security stamp, so outstanding links die with it.
pub async fn set_active(app: &AppContext, id: Uuid, active: bool) -> AppResult<user::Model> {
    let now = now();
    let txn = WriteTxn::begin(app).await?;
    let existing = user::Entity::find_by_id(id)
        .one(&*txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut model: user::ActiveModel = existing.into();
    model.is_active = Set(active);
    model.updated_at = Set(now);
    if active {
        if model.activated_at.as_ref().is_none() {
            model.activated_at = Set(Some(now));
        }
    } else {
        model.security_stamp = Set(random_token());
        revoke_sessions(&*txn, session::Column::UserId.eq(id), now).await?;
    }
    let updated = model.update(&*txn).await?;
    let what = if active {
        "your account was activated by an administrator"
    } else {
        "your account was deactivated by an administrator"
    };
    txn.mail(
        &updated,
        templates::security_notice(what, &app.settings.public_url),
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}
