//! Editing one's own profile.

use entity::user;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, SqlErr};
use uuid::Uuid;

use crate::db::{now, sql_err};
use crate::domain::SecurityEventType as Kind;
use crate::domain::{FieldErrors, Gender, Invalid, Phone, Username};
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::shared::accounts::{self, ensure_username_free, parse_name, search_fold};
use crate::services::shared::client::ClientInfo;
use crate::services::shared::security_events as events;

/// A field of a profile update: left alone, cleared, or set.
#[derive(Debug, Default)]
pub enum Change<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

#[derive(Debug, Default)]
pub struct ProfileUpdate {
    pub username: Change<String>,
    pub first_name: Change<String>,
    pub last_name: Change<String>,
    pub phone: Change<String>,
    pub gender: Option<Gender>,
}

#[tracing::instrument(skip_all)]
pub async fn update_profile(
    app: &AppContext,
    user_id: Uuid,
    update: ProfileUpdate,
    client: &ClientInfo,
) -> AppResult<user::Model> {
    let mut errors = FieldErrors::new();
    let parse_opt =
        |errors: &mut FieldErrors,
         field: &str,
         change: Change<String>,
         parse: &dyn Fn(&str) -> Result<String, Invalid>| match change {
            Change::Keep => Change::Keep,
            Change::Clear => Change::Clear,
            Change::Set(v) if v.trim().is_empty() => Change::Clear,
            Change::Set(v) => errors
                .check(field, parse(&v))
                .map_or(Change::Keep, Change::Set),
        };
    let username = match update.username {
        Change::Set(v) if !v.trim().is_empty() => {
            match errors.check("username", Username::parse(&v)) {
                Some(u) => Change::Set(u),
                None => Change::Keep,
            }
        }
        Change::Set(_) | Change::Clear => Change::Clear,
        Change::Keep => Change::Keep,
    };
    let first_name = parse_opt(&mut errors, "firstName", update.first_name, &parse_name);
    let last_name = parse_opt(&mut errors, "lastName", update.last_name, &parse_name);
    let phone = parse_opt(&mut errors, "phone", update.phone, &|p| {
        Phone::parse(p).map(|p| p.as_str().to_owned())
    });
    errors.into_result()?;

    let now = now();
    let txn = app.db.write().await?;
    let user = accounts::current(&txn, user_id).await?;
    let mut active: user::ActiveModel = user.into();
    match username {
        Change::Set(u) => {
            ensure_username_free(&txn, &u, Some(user_id)).await?;
            active.username = Set(Some(u.as_str().to_owned()));
            active.username_key = Set(Some(u.key().to_owned()));
        }
        Change::Clear => {
            active.username = Set(None);
            active.username_key = Set(None);
        }
        Change::Keep => {}
    }
    for (field, change) in [
        (&mut active.first_name, first_name),
        (&mut active.last_name, last_name),
        (&mut active.phone, phone),
    ] {
        match change {
            Change::Set(v) => *field = Set(Some(v)),
            Change::Clear => *field = Set(None),
            Change::Keep => {}
        }
    }
    if let Some(g) = update.gender {
        active.gender = Set(g.as_stored().to_owned());
    }
    active.search_fold = Set(search_fold(
        active.email.as_ref(),
        active.username.as_ref().as_deref(),
        active.first_name.as_ref().as_deref(),
        active.last_name.as_ref().as_deref(),
    ));
    active.updated_at = Set(now);
    match active.update(&txn).await {
        Ok(updated) => {
            events::record(&txn, updated.id, Kind::ProfileUpdated, client, None).await?;
            txn.commit().await?;
            Ok(updated)
        }
        Err(e) if matches!(sql_err(&e), Some(SqlErr::UniqueConstraintViolation(_))) => {
            txn.rollback().await.ok();
            Err(AppError::field("username", "is already taken"))
        }
        Err(e) => Err(e.into()),
    }
}
