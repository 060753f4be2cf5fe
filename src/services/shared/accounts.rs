//! What the account capabilities share: looking accounts up, building a
//! new one, and the rules for names and the admin's search text.

use chrono::{DateTime, Utc};
use entity::one_time_code::{self, PURPOSE_ACTIVATION};
use entity::user;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter,
};
use uuid::Uuid;

use crate::auth::tokens::random_token;
use crate::domain::SecurityEventType as Kind;
use crate::domain::{Email, Invalid, Username, fold};
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::shared::client::ClientInfo;
use crate::services::shared::security_events as events;

const NAME_MAX_CHARS: usize = 150;

pub fn parse_name(raw: &str) -> Result<String, Invalid> {
    let name = raw.trim();
    if name.chars().count() > NAME_MAX_CHARS {
        return Err(Invalid(format!(
            "must be at most {NAME_MAX_CHARS} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(Invalid("must not contain control characters".into()));
    }
    Ok(name.to_owned())
}

#[tracing::instrument(skip_all)]
pub async fn find_by_email(
    conn: &impl ConnectionTrait,
    email: &Email,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find()
        .filter(user::Column::EmailKey.eq(email.key()))
        .one(conn)
        .await
}

/// A new account that has not been activated yet, and that staff have not
/// deactivated: only such an account can be activated by a link, a code or
/// a resend (a staff-deactivated one cannot reactivate itself).
pub fn awaits_activation(user: &user::Model) -> bool {
    user.activated_at.is_none() && user.deactivated_at.is_none()
}

/// A user by id, outside a transaction: the hot read every instance
/// shares (`me`, a passkey's owner, `user(id:)`).
#[tracing::instrument(skip_all)]
pub async fn find(app: &AppContext, id: Uuid) -> AppResult<Option<user::Model>> {
    Ok(app.db.read().one(user::Entity::find_by_id(id)).await?)
}

/// The users of these ids (any that exist), in one query: a page's owners.
#[tracing::instrument(skip_all)]
pub async fn find_many(app: &AppContext, ids: &[Uuid]) -> Result<Vec<user::Model>, sea_orm::DbErr> {
    app.db
        .read()
        .all(user::Entity::find().filter(user::Column::Id.is_in(ids.iter().copied())))
        .await
}

/// A user by id inside a transaction (or any connection): see `find` for
/// reads outside one.
#[tracing::instrument(skip_all)]
pub async fn find_by_id(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find_by_id(id).one(conn).await
}

/// The signed-in user as the transaction sees it now (a change re-reads
/// them, so it acts on what it locks); gone meanwhile is `UNAUTHENTICATED`.
#[tracing::instrument(skip_all)]
pub async fn current(conn: &impl ConnectionTrait, id: Uuid) -> AppResult<user::Model> {
    find_by_id(conn, id).await?.ok_or(AppError::Unauthenticated)
}

#[tracing::instrument(skip_all)]
pub async fn ensure_username_free(
    conn: &impl ConnectionTrait,
    username: &Username,
    except: Option<Uuid>,
) -> AppResult<()> {
    let mut query = user::Entity::find().filter(user::Column::UsernameKey.eq(username.key()));
    if let Some(id) = except {
        query = query.filter(user::Column::Id.ne(id));
    }
    if query.one(conn).await?.is_some() {
        return Err(AppError::field("username", "is already taken"));
    }
    Ok(())
}

/// What the admin's user search matches: email, username and full name.
pub fn search_fold(
    email: &str,
    username: Option<&str>,
    first: Option<&str>,
    last: Option<&str>,
) -> String {
    let name = [first, last]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    fold(&format!(
        "{email}\n{}\n{name}",
        username.unwrap_or_default()
    ))
}

/// A new, inactive, non-staff account with the given identity.
pub fn new_account(
    email: &Email,
    username: Option<&Username>,
    password_hash: String,
    now: DateTime<Utc>,
) -> user::ActiveModel {
    user::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email.as_str().to_owned()),
        email_key: Set(email.key().to_owned()),
        username: Set(username.map(|u| u.as_str().to_owned())),
        username_key: Set(username.map(|u| u.key().to_owned())),
        password_hash: Set(password_hash),
        first_name: Set(None),
        last_name: Set(None),
        phone: Set(None),
        gender: Set("UNSPECIFIED".to_owned()),
        is_active: Set(false),
        is_staff: Set(false),
        is_superuser: Set(false),
        two_factor_enabled: Set(false),
        security_stamp: Set(random_token()),
        search_fold: Set(search_fold(
            email.as_str(),
            username.map(Username::as_str),
            None,
            None,
        )),
        date_joined: Set(now),
        activated_at: Set(None),
        last_login: Set(None),
        updated_at: Set(now),
        deactivated_at: Set(None),
        totp_enabled: Set(false),
        email_verified: Set(false),
    }
}

/// Records that someone proved the account's address (API.md §9.1's
/// `emailVerified`): a completed password reset proves the mailbox too.
#[tracing::instrument(skip_all)]
pub async fn mark_verified(conn: &impl ConnectionTrait, user_id: Uuid) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::EmailVerified, Expr::value(true))
        .filter(user::Column::Id.eq(user_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Marks the account active, its address proved, and uses up its
/// activation codes, so the link and the code die together.
#[tracing::instrument(skip_all)]
pub async fn activate(
    conn: &impl ConnectionTrait,
    user: user::Model,
    now: DateTime<Utc>,
    client: &ClientInfo,
) -> Result<user::Model, DbErr> {
    one_time_code::Entity::update_many()
        .col_expr(one_time_code::Column::ConsumedAt, Expr::value(now))
        .filter(one_time_code::Column::UserId.eq(user.id))
        .filter(one_time_code::Column::Purpose.eq(PURPOSE_ACTIVATION))
        .filter(one_time_code::Column::ConsumedAt.is_null())
        .exec(conn)
        .await?;
    let mut active: user::ActiveModel = user.into();
    active.is_active = Set(true);
    active.activated_at = Set(Some(now));
    active.email_verified = Set(true);
    active.updated_at = Set(now);
    let activated = active.update(conn).await?;
    events::record(conn, activated.id, Kind::AccountActivated, client, None).await?;
    Ok(activated)
}

/// A password hash no password matches (Django's `!` mark): an account
/// made or proved by email sign-in has no password until a reset sets one.
pub fn unusable_password() -> String {
    format!("!{}", random_token())
}

/// Whether the account has a password that can sign in (not `!…`).
pub fn has_usable_password(user: &user::Model) -> bool {
    !user.password_hash.is_empty() && !user.password_hash.starts_with('!')
}
