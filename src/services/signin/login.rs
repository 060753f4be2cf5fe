//! Signing in with a password: the identifier and its limits, the second
//! factor's challenge, and the session a sign-in opens.

use crate::auth::assurance::{Assurance, Method};
use entity::user;
use uuid::Uuid;

use crate::domain::{Email, FieldErrors, Password, Username};
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::credentials::password_check::{Identifier, check_password};
use crate::services::credentials::sessions::{
    Tokens, open_session, prepare, proved_now, record_sign_in,
};
use crate::services::factors::otp::{self, ChallengeIssued, FirstStep};
use crate::services::shared::client::ClientInfo;
use crate::services::shared::two_factor;

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
#[tracing::instrument(skip_all)]
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
    after_first_step(app, user, Method::Pwd, client).await
}

/// What every way in answers once its first step is proved (API.md §8.8,
/// §9.1, §9.2): the second factor's challenge when the account has one on
/// (or `TWO_FACTOR=required`), else a new session — one rule for every
/// way in, so no first step skips the second.
#[tracing::instrument(skip_all)]
pub async fn after_first_step(
    app: &AppContext,
    user: user::Model,
    first: Method,
    client: &ClientInfo,
) -> AppResult<LoginOutcome> {
    let step = FirstStep {
        method: first,
        provider: None,
        session: None,
        link_code: None,
    };
    after_step(app, user, step, client).await
}

/// `after_first_step` for a sign-in with an identity provider: the session
/// (and the challenge between) remember the provider (`Session.provider`,
/// `provider` on `LOGIN_SUCCEEDED`).
#[tracing::instrument(skip_all)]
/// `link_code`: the used social code whose identity `verifyOtp` links when
/// the account's second factor applies (API.md §9.1 rule 3); the caller
/// links it itself when it does not.
pub async fn after_federated(
    app: &AppContext,
    user: user::Model,
    provider: &str,
    link_code: Option<Uuid>,
    client: &ClientInfo,
) -> AppResult<LoginOutcome> {
    let step = FirstStep {
        method: Method::Fed,
        provider: Some(provider),
        session: None,
        link_code,
    };
    after_step(app, user, step, client).await
}

async fn after_step(
    app: &AppContext,
    user: user::Model,
    step: FirstStep<'_>,
    client: &ClientInfo,
) -> AppResult<LoginOutcome> {
    if two_factor::any_on(app, &user) {
        return Ok(LoginOutcome::Challenge(
            otp::start_challenge(app, &user, step).await?,
        ));
    }
    let (first, provider) = (step.method, step.provider);
    // The claims hook is asked before the write transaction begins.
    let mut opening = prepare(app, &user, client, proved_now(Assurance::first(first))).await?;
    opening.session.provider = provider.map(str::to_owned);
    let txn = app.db.write().await?;
    let tokens = open_session(&txn, app, user, opening).await?;
    record_sign_in(&txn, &tokens, client, provider).await?;
    txn.commit().await?;
    Ok(LoginOutcome::Signed(Box::new(tokens)))
}
