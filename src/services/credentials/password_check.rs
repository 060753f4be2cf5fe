//! Checking a password for an account: one rule for `login` and for every
//! mutation that asks for the password again (`reauthenticate`,
//! `changePassword`, `deleteAccount` …). The same answer and about the same
//! work whether or not the account exists, failures counted per identifier
//! and per client IP, an imported hash upgraded once its password is known.

use entity::user;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::auth::PasswordHasher;
use crate::auth::assurance::Method;
use crate::auth::viewer::Authenticated;
use crate::domain::SecurityEventType as Kind;
use crate::domain::{Email, Password};
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::credentials::login_limits::{LoginLimits, first_refusal};
use crate::services::shared::client::ClientInfo;
use crate::services::shared::fresh::require_fresh;
use crate::services::shared::security_events::{self as events, How};

/// Checks a password for an identifier (email or username), with the same
/// answer and about the same work whether or not the account exists, and
/// counting failures against the identifier's and the IP's limits.
#[tracing::instrument(skip_all)]
pub async fn check_password(
    app: &AppContext,
    identifier: &Identifier,
    password: &Password,
    client: &ClientInfo,
) -> AppResult<user::Model> {
    let limits = LoginLimits::new(&app.settings, identifier.limit_key(), &client.ip);
    let attempt = match limits.begin(&app.db, app.settings.hash_queue_timeout).await {
        Ok(attempt) => attempt,
        Err(refused) => {
            if first_refusal(&app.db, &app.settings, identifier.limit_key()).await?
                && let Some(user) = identifier.find(app.db.alone()).await?
            {
                password_event(app, user.id, Kind::LoginRateLimited, client).await;
            }
            return Err(refused);
        }
    };
    let found = identifier.find(app.db.alone()).await?;
    let verified = match &found {
        Some(user) => app.hasher.verify(password, &user.password_hash).await,
        None => app.hasher.verify_dummy(password).await.map(|()| false),
    };
    match (found, verified) {
        (Some(user), Ok(true)) => {
            attempt.succeeded().await?;
            Ok(upgrade_hash(app, user, password).await)
        }
        // Never judged (the hashing queue was full): not a failure.
        (_, Err(e)) => {
            attempt.withdraw().await?;
            Err(e)
        }
        (found, _) => {
            attempt.failed().await?;
            // Only for an account that exists: a stranger's typo is nobody's event.
            if let Some(user) = found {
                password_event(app, user.id, Kind::LoginFailed, client).await;
            }
            Err(AppError::InvalidCredentials)
        }
    }
}

/// Replaces an imported (Django) hash with authql's argon2id once the
/// password behind it is known, in one conditional update on the old hash
/// (two sign-ins at once store one). Failing to is not the sign-in's
/// failure: the old hash still works, and the next sign-in tries again.
async fn upgrade_hash(app: &AppContext, user: user::Model, password: &Password) -> user::Model {
    if PasswordHasher::is_current(&user.password_hash) {
        return user;
    }
    let new_hash = match app.hasher.hash(password).await {
        Ok(hash) => hash,
        Err(e) => {
            tracing::warn!(error = ?e, "could not rehash an imported password; kept it");
            return user;
        }
    };
    let updated = user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(new_hash.clone()))
        .filter(user::Column::Id.eq(user.id))
        .filter(user::Column::PasswordHash.eq(user.password_hash.clone()))
        .exec(app.db.alone())
        .await;
    match updated {
        Ok(done) if done.rows_affected == 1 => user::Model {
            password_hash: new_hash,
            ..user
        },
        Ok(_) => user,
        Err(e) => {
            tracing::warn!(error = %e, "could not store a rehashed imported password");
            user
        }
    }
}

/// The account a login names.
pub enum Identifier {
    Email(Email),
    Username(String),
    /// Not a possible address or username: no account can match, but the
    /// attempt is answered and counted like any other.
    Unmatched(String),
}

impl Identifier {
    fn limit_key(&self) -> &str {
        match self {
            Identifier::Email(e) => e.key(),
            Identifier::Username(u) | Identifier::Unmatched(u) => u,
        }
    }

    async fn find(
        &self,
        conn: &impl ConnectionTrait,
    ) -> Result<Option<user::Model>, sea_orm::DbErr> {
        let filter = match self {
            Identifier::Email(e) => user::Column::EmailKey.eq(e.key()),
            Identifier::Username(u) => user::Column::UsernameKey.eq(u.as_str()),
            Identifier::Unmatched(_) => return Ok(None),
        };
        user::Entity::find().filter(filter).one(conn).await
    }
}

/// A password given to prove who you are (`login`, `reauthenticate`, the
/// old password of `changePassword` …): over-long is `BAD_USER_INPUT` on
/// `field` before any lookup or hash (API.md §8.9); empty is just wrong.
pub fn given_password(raw: &str, field: &str) -> AppResult<Password> {
    if raw.is_empty() {
        return Err(AppError::InvalidCredentials);
    }
    Password::parse_for_login(raw).map_err(|e| AppError::field(field, &e.0))
}

/// Records a refused password sign-in on the account (`amr: ["pwd"]`).
async fn password_event(app: &AppContext, user_id: uuid::Uuid, kind: Kind, client: &ClientInfo) {
    let how = How::method(Method::Pwd);
    events::record_alone(&app.db, user_id, kind, client, how).await;
}

/// What a mutation that asks for the password checks (`deleteAccount`,
/// `enableTwoFactor`, `disableTwoFactor`): the password, or for an account
/// without one (email or social sign-up, API.md §8.8) the empty string and
/// a fresh session instead; a non-empty password for such an account is
/// `INVALID_CREDENTIALS`, with no hash and no count.
#[tracing::instrument(skip_all)]
pub async fn prove_password(
    app: &AppContext,
    who: &Authenticated,
    raw: &str,
    client: &ClientInfo,
) -> AppResult<()> {
    if who.user.password_hash.starts_with('!') {
        if !raw.is_empty() {
            return Err(AppError::InvalidCredentials);
        }
        return require_fresh(app, who);
    }
    let password = given_password(raw, "password")?;
    let identifier =
        Identifier::Email(Email::parse(&who.user.email).map_err(|_| AppError::InvalidCredentials)?);
    check_password(app, &identifier, &password, client)
        .await
        .map(drop)
}
