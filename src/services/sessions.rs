//! Sign-in: login, sessions with rotating refresh tokens, and logout. The
//! per-request check of a session is `authentication`'s.

use chrono::{DateTime, Utc};
use entity::{refresh_token, session, user};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    EntityTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use crate::auth::jwt::AccessToken;
use crate::auth::tokens::{random_token, sha256_hex};
use crate::auth::viewer::{Authenticated, Credential};
use crate::config::TwoFactorPolicy;
use crate::db::{begin_write, now};
use crate::domain::SecurityEventType as Kind;
use crate::domain::{Email, FieldErrors, Password, Username};
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::login_limits::LoginLimits;
use crate::services::otp::{self, ChallengeIssued};
use crate::services::security_events as events;

/// Where a sign-in comes from, recorded on its session.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    pub ip: String,
    pub user_agent: Option<String>,
    /// The session the request was made with, if any (security events).
    pub session_id: Option<Uuid>,
}

/// A signed-in session's tokens.
pub struct Tokens {
    /// The session the tokens belong to.
    pub session_id: Uuid,
    pub access: AccessToken,
    pub refresh_token: String,
    pub user: user::Model,
}

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
            if let Some(user) = identifier.find(&app.db).await? {
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
            Ok(user)
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

fn parse_login(req: &LoginRequest) -> AppResult<(Identifier, Password)> {
    let email = req.email.as_deref().filter(|s| !s.trim().is_empty());
    let username = req.username.as_deref().filter(|s| !s.trim().is_empty());
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
    if needs_second_factor(app, &user) {
        return Ok(LoginOutcome::Challenge(
            otp::start_challenge(app, &user, None).await?,
        ));
    }
    let txn = begin_write(&app.db).await?;
    let tokens = open_session(&txn, app, user, client).await?;
    record_sign_in(&txn, &tokens, client).await?;
    txn.commit().await?;
    Ok(LoginOutcome::Signed(Box::new(tokens)))
}

/// `LOGIN_SUCCEEDED`, naming the session the sign-in opened.
pub async fn record_sign_in(
    txn: &DatabaseTransaction,
    tokens: &Tokens,
    client: &ClientInfo,
) -> Result<(), sea_orm::DbErr> {
    let origin = ClientInfo {
        session_id: Some(tokens.session_id),
        ..client.clone()
    };
    events::record(txn, tokens.user.id, Kind::LoginSucceeded, &origin, None).await
}

/// Whether signing in (or re-authenticating) takes a second factor.
pub fn needs_second_factor(app: &AppContext, user: &user::Model) -> bool {
    match app.settings.two_factor {
        TwoFactorPolicy::Off => false,
        TwoFactorPolicy::Required => true,
        TwoFactorPolicy::Optional => user.two_factor_enabled,
    }
}

/// When a session's refresh tokens stop: `REFRESH_TOKEN_TTL` from now, but
/// never past `SESSION_MAX_AGE` from the login that began it.
fn session_expiry(
    app: &AppContext,
    created_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> AppResult<DateTime<Utc>> {
    let ttl =
        chrono::Duration::from_std(app.settings.refresh_token_ttl).map_err(AppError::internal)?;
    let max_age =
        chrono::Duration::from_std(app.settings.session_max_age).map_err(AppError::internal)?;
    Ok(Ord::min(now + ttl, created_at + max_age))
}

/// Starts a session for a user whose credentials were checked: a session
/// row, its first refresh token, an access token, and `lastLogin`. The
/// session counts as freshly authenticated.
pub async fn open_session(
    txn: &DatabaseTransaction,
    app: &AppContext,
    user: user::Model,
    client: &ClientInfo,
) -> AppResult<Tokens> {
    let settings = &app.settings;
    let now = now();
    let expires_at = session_expiry(app, now, now)?;
    let session = session::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user.id),
        created_at: Set(now),
        last_used_at: Set(Some(now)),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        user_agent: Set(client.user_agent.clone()),
        ip: Set(Some(client.ip.clone())),
        authenticated_at: Set(now),
    }
    .insert(txn)
    .await?;
    let refresh = new_refresh_token(txn, session.id, expires_at, now).await?;
    let mut active: user::ActiveModel = user.into();
    active.last_login = Set(Some(now));
    let user = active.update(txn).await?;
    let access = app
        .keys
        .issue(&user, session.id, now, settings.access_token_ttl, now)
        .map_err(AppError::internal)?;
    Ok(Tokens {
        session_id: session.id,
        access,
        refresh_token: refresh,
        user,
    })
}

async fn new_refresh_token(
    conn: &impl ConnectionTrait,
    session_id: Uuid,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<String, sea_orm::DbErr> {
    let token = random_token();
    refresh_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        session_id: Set(session_id),
        token_hash: Set(sha256_hex(&token)),
        created_at: Set(now),
        expires_at: Set(expires_at),
        used_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(token)
}

/// Exchanges a refresh token for new tokens. The old one is used up; one
/// that was already used revokes its whole session (reuse detection).
pub async fn refresh(app: &AppContext, presented: &str, client: &ClientInfo) -> AppResult<Tokens> {
    if presented.is_empty() || presented.len() > 256 {
        return Err(AppError::InvalidToken);
    }
    let settings = &app.settings;
    let now = now();
    let txn = begin_write(&app.db).await?;
    let Some((row, Some(sess))) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(sha256_hex(presented)))
        .find_also_related(session::Entity)
        .one(&txn)
        .await?
    else {
        return Err(AppError::InvalidToken);
    };
    // Single use, decided by one conditional update: of parallel refreshes
    // with one token exactly one wins.
    let won = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(row.id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    if !won {
        revoke_sessions(&txn, session::Column::Id.eq(sess.id), now).await?;
        let origin = ClientInfo {
            session_id: Some(sess.id),
            ..client.clone()
        };
        events::record(&txn, sess.user_id, Kind::RefreshTokenReused, &origin, None).await?;
        txn.commit().await?;
        tracing::warn!(session_id = %sess.id, "refresh token reused: session revoked");
        return Err(AppError::InvalidToken);
    }
    let user = user::Entity::find_by_id(sess.user_id).one(&txn).await?;
    let live = row.expires_at > now && sess.revoked_at.is_none() && sess.expires_at > now;
    let Some(user) = user.filter(|u| u.is_active && live) else {
        txn.commit().await?;
        return Err(AppError::InvalidToken);
    };
    let expires_at = session_expiry(app, sess.created_at, now)?;
    if expires_at <= now {
        // SESSION_MAX_AGE has passed since the login: sign in again.
        txn.commit().await?;
        return Err(AppError::InvalidToken);
    }
    let refresh = new_refresh_token(&txn, sess.id, expires_at, now).await?;
    session::Entity::update_many()
        .col_expr(session::Column::ExpiresAt, Expr::value(expires_at))
        .col_expr(session::Column::LastUsedAt, Expr::value(now))
        .filter(session::Column::Id.eq(sess.id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    let access = app
        .keys
        .issue(
            &user,
            sess.id,
            sess.authenticated_at,
            settings.access_token_ttl,
            now,
        )
        .map_err(AppError::internal)?;
    Ok(Tokens {
        session_id: sess.id,
        access,
        refresh_token: refresh,
        user,
    })
}

/// Marks a live session of `user` freshly authenticated (its user proved who
/// they are again: `reauthenticate` with a sign-in code) and hands it new
/// tokens, as a refresh would: its refresh tokens so far are used up.
pub async fn renew_session(
    txn: &DatabaseTransaction,
    app: &AppContext,
    session_id: Uuid,
    user: user::Model,
) -> AppResult<Tokens> {
    let now = now();
    let Some(sess) = session::Entity::find_by_id(session_id)
        .filter(session::Column::UserId.eq(user.id))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(now))
        .one(txn)
        .await?
    else {
        return Err(AppError::InvalidToken);
    };
    session::Entity::update_many()
        .col_expr(session::Column::AuthenticatedAt, Expr::value(now))
        .filter(session::Column::Id.eq(sess.id))
        .exec(txn)
        .await?;
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::SessionId.eq(sess.id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(txn)
        .await?;
    let refresh = new_refresh_token(txn, sess.id, sess.expires_at, now).await?;
    let access = app
        .keys
        .issue(&user, sess.id, now, app.settings.access_token_ttl, now)
        .map_err(AppError::internal)?;
    Ok(Tokens {
        session_id,
        access,
        refresh_token: refresh,
        user,
    })
}

/// Marks the matching live sessions revoked; their access tokens and
/// refresh tokens stop working on the next request.
pub async fn revoke_sessions(
    conn: &impl ConnectionTrait,
    which: sea_orm::sea_query::SimpleExpr,
    now: DateTime<Utc>,
) -> Result<u64, sea_orm::DbErr> {
    Ok(session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now))
        .filter(which)
        .filter(session::Column::RevokedAt.is_null())
        .exec(conn)
        .await?
        .rows_affected)
}

/// Every live session of a user, newest first.
pub async fn list(app: &AppContext, user_id: Uuid) -> AppResult<Vec<session::Model>> {
    let live = session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(now()))
        .order_by_desc(session::Column::CreatedAt)
        .order_by_desc(session::Column::Id);
    Ok(app.hot.all(live).await?)
}

/// Revokes one of the user's own sessions; another user's is `NOT_FOUND`.
pub async fn revoke_one(
    app: &AppContext,
    user_id: Uuid,
    session_id: Uuid,
    client: &ClientInfo,
) -> AppResult<()> {
    let txn = begin_write(&app.db).await?;
    let revoked = revoke_sessions(
        &txn,
        session::Column::Id
            .eq(session_id)
            .and(session::Column::UserId.eq(user_id)),
        now(),
    )
    .await?;
    if revoked == 0 {
        txn.rollback().await.ok();
        return Err(AppError::NotFound);
    }
    events::record(&txn, user_id, Kind::SessionRevoked, client, None).await?;
    txn.commit().await?;
    Ok(())
}

/// Ends the credential of this request, or every session of the user.
pub async fn logout(
    app: &AppContext,
    who: &Authenticated,
    all_sessions: bool,
    client: &ClientInfo,
) -> AppResult<()> {
    let now = now();
    let txn = begin_write(&app.db).await?;
    if all_sessions {
        revoke_sessions(&txn, session::Column::UserId.eq(who.user.id), now).await?;
    }
    match who.credential {
        Credential::Session(id) => {
            revoke_sessions(&txn, session::Column::Id.eq(id), now).await?;
        }
        Credential::ApiToken(id) => {
            crate::services::api_tokens::revoke_token(&txn, who.user.id, id, now).await?;
        }
    }
    events::record(&txn, who.user.id, Kind::LoggedOut, client, None).await?;
    txn.commit().await?;
    Ok(())
}
