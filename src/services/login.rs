//! Signing in with a password: the identifier and its limits, the second
//! factor's challenge, and the session a sign-in opens.

use entity::user;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::auth::PasswordHasher;
use crate::auth::assurance::{Assurance, Method};

use crate::db::begin_write;
use crate::domain::SecurityEventType as Kind;
use crate::domain::{Email, FieldErrors, Password, Username};
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::client::ClientInfo;
use crate::services::login_limits::{LoginLimits, first_refusal};
use crate::services::otp::{self, ChallengeIssued};
use crate::services::security_events as events;
use crate::services::sessions::{Tokens, open_session, proved_now, record_sign_in};
use crate::services::two_factor;

pub enum LoginOutcome {
    Signed(Box<Tokens>),
    /// Two-factor: a code was mailed; `verifyOtp` finishes the sign-in.
    Challenge(ChallengeIssued),
}

pub struct LoginRequest {
    pub email: Option<String>,
    pub username: Option<String>,
    pub password: String,
}

/// Checks a password for an identifier (email or username), with the same
/// answer and about the same work whether or not the account exists, and
/// counting failures against the identifier's and the IP's limits.
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
                && let Some(user) = identifier.find(&app.db).await?
            {
                events::record_alone(&app.db, user.id, Kind::LoginRateLimited, client).await;
            }
            return Err(refused);
        }
    };
    let found = identifier.find(&app.db).await?;
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
                events::record_alone(&app.db, user.id, Kind::LoginFailed, client).await;
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
        .exec(&app.db)
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

/// Refuses an identifier longer than any account can have, before any
/// lookup (API.md §8.9).
fn bounded(value: Option<&str>, field: &str, max: usize) -> AppResult<()> {
    match value {
        Some(v) if v.trim().chars().count() > max => Err(AppError::field(
            field,
            &format!("must be at most {max} characters"),
        )),
        _ => Ok(()),
    }
}

fn parse_login(req: &LoginRequest) -> AppResult<(Identifier, Password)> {
    let email = req.email.as_deref().filter(|s| !s.trim().is_empty());
    let username = req.username.as_deref().filter(|s| !s.trim().is_empty());
    bounded(email, "email", crate::domain::email::MAX_CHARS)?;
    bounded(username, "username", crate::domain::username::MAX_CHARS)?;
    let identifier = match (email, username) {
        (Some(e), None) => match Email::parse(e) {
            Ok(email) => Identifier::Email(email),
            Err(_) => Identifier::Unmatched(e.trim().to_lowercase().chars().take(320).collect()),
        },
        (None, Some(u)) => match Username::parse(u) {
            Ok(username) => Identifier::Username(username.key().to_owned()),
            Err(_) => Identifier::Unmatched(u.trim().to_lowercase().chars().take(64).collect()),
        },
        _ => {
            let mut errors = FieldErrors::new();
            errors.add("email", "provide exactly one of email or username");
            errors.add("username", "provide exactly one of email or username");
            return Err(errors.into());
        }
    };
    let password =
        Password::parse_for_login(&req.password).map_err(|e| AppError::field("password", &e.0))?;
    Ok((identifier, password))
}

/// Signs in by password: tokens, or a second-factor challenge. Counted in
/// `authql_logins_total` by outcome.
pub async fn login(
    app: &AppContext,
    req: LoginRequest,
    client: &ClientInfo,
) -> AppResult<LoginOutcome> {
    let outcome = sign_in(app, req, client).await;
    let label = match &outcome {
        Ok(LoginOutcome::Signed(_)) => Some("success"),
        Ok(LoginOutcome::Challenge(_)) => Some("second_factor"),
        Err(AppError::InvalidCredentials) => Some("invalid_credentials"),
        Err(AppError::RateLimited { .. }) => Some("rate_limited"),
        Err(AppError::AccountNotActive) => Some("not_active"),
        Err(AppError::ServiceUnavailable { .. }) => Some("unavailable"),
        // Malformed input or a server fault: not a sign-in attempt.
        Err(_) => None,
    };
    if let Some(label) = label {
        app.metrics.logins.with_label_values(&[label]).inc();
    }
    outcome
}

async fn sign_in(
    app: &AppContext,
    req: LoginRequest,
    client: &ClientInfo,
) -> AppResult<LoginOutcome> {
    let (identifier, password) = parse_login(&req)?;
    let user = check_password(app, &identifier, &password, client).await?;
    if !user.is_active {
        return Err(AppError::AccountNotActive);
    }
    if two_factor::any_on(app, &user) {
        return Ok(LoginOutcome::Challenge(
            otp::start_challenge(app, &user, None).await?,
        ));
    }
    let txn = begin_write(&app.db).await?;
    let proof = proved_now(Assurance::first(Method::Pwd));
    let tokens = open_session(&txn, app, user, client, proof).await?;
    record_sign_in(&txn, &tokens, client).await?;
    txn.commit().await?;
    Ok(LoginOutcome::Signed(Box::new(tokens)))
}
