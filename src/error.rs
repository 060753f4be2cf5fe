//! The one error type: its variants are the contract's error codes (API.md §2).
//!
//! `AppError` deliberately does not implement `Display`: async-graphql turns
//! any `Display` value into an error without `extensions.code`, so a bare `?`
//! would silently drop the code. Without `Display`, the only way into an
//! `async_graphql::Error` is the `From` impl below, which always sets it.

use async_graphql::ErrorExtensions;
use serde_json::{Map, Value, json};

use crate::domain::FieldErrors;

pub type AppResult<T> = Result<T, AppError>;

#[derive(Debug)]
pub enum AppError {
    BadUserInput(FieldErrors),
    Unauthenticated,
    Forbidden,
    /// `FORBIDDEN` with the reason a client can act on (passkeys off).
    ForbiddenBecause(String),
    NotFound,
    InvalidCredentials,
    AccountNotActive,
    InvalidToken,
    InvalidOtp {
        attempts_left: u32,
    },
    RateLimited {
        retry_after_secs: u64,
    },
    /// A sensitive change needs a fresh sign-in (API.md §8.1).
    ReauthenticationRequired,
    /// The custom-claims hook failed under `HOOK_FAILURE=deny` (API.md
    /// §11.5): nothing was minted or used up; the message says what failed.
    HookFailed(String),
    ServiceUnavailable {
        retry_after_secs: u64,
    },
    BadRequest(String),
    /// The identity is linked to no account and may not be linked
    /// automatically (API.md §9.1): sign in and link it.
    IdentityLinkRequired,
    /// The identity is linked to no account and its provider does not vouch
    /// for its email (API.md §9.1).
    IdentityEmailUnverified,
    /// Anything unexpected. The cause is logged with its whole chain and
    /// never shown to the client.
    Internal(anyhow::Error),
}

impl AppError {
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadUserInput(_) => "BAD_USER_INPUT",
            AppError::Unauthenticated => "UNAUTHENTICATED",
            AppError::Forbidden | AppError::ForbiddenBecause(_) => "FORBIDDEN",
            AppError::NotFound => "NOT_FOUND",
            AppError::InvalidCredentials => "INVALID_CREDENTIALS",
            AppError::AccountNotActive => "ACCOUNT_NOT_ACTIVE",
            AppError::InvalidToken => "INVALID_TOKEN",
            AppError::InvalidOtp { .. } => "INVALID_OTP",
            AppError::RateLimited { .. } => "RATE_LIMITED",
            AppError::ReauthenticationRequired => "REAUTHENTICATION_REQUIRED",
            AppError::HookFailed(_) => "HOOK_FAILED",
            AppError::ServiceUnavailable { .. } => "SERVICE_UNAVAILABLE",
            AppError::BadRequest(_) => "BAD_REQUEST",
            AppError::IdentityLinkRequired => "IDENTITY_LINK_REQUIRED",
            AppError::IdentityEmailUnverified => "IDENTITY_EMAIL_UNVERIFIED",
            AppError::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    /// The message a client sees: stable, and never an internal detail.
    pub fn message(&self) -> String {
        match self {
            AppError::BadUserInput(fields) => format!("invalid input: {fields}"),
            AppError::Unauthenticated => "authentication required".into(),
            AppError::Forbidden => "you do not have permission to perform this action".into(),
            AppError::ForbiddenBecause(why) => why.clone(),
            AppError::NotFound => "not found".into(),
            AppError::InvalidCredentials => "invalid credentials".into(),
            AppError::AccountNotActive => "this account is not active".into(),
            AppError::InvalidToken => "the token is invalid, expired or already used".into(),
            AppError::InvalidOtp { .. } => "the code is wrong".into(),
            AppError::RateLimited { .. } => "too many attempts; try again later".into(),
            AppError::ReauthenticationRequired => {
                "this change needs a recent sign-in: call reauthenticate".into()
            }
            AppError::ServiceUnavailable { .. } => "the server is busy; try again shortly".into(),
            AppError::BadRequest(why) => why.clone(),
            AppError::IdentityLinkRequired => {
                "this identity is not linked to an account: sign in and link it".into()
            }
            AppError::IdentityEmailUnverified => {
                "the provider does not vouch for this identity's email".into()
            }
            AppError::HookFailed(why) => format!("the custom-claims hook failed: {why}"),
            AppError::Internal(_) => "internal error".into(),
        }
    }

    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(e.into())
    }

    pub fn field(field: &str, message: &str) -> Self {
        AppError::BadUserInput(FieldErrors::single(field, message))
    }

    /// The `extensions` object of this error, for both GraphQL and plain HTTP answers.
    pub fn extensions(&self) -> Map<String, Value> {
        let mut ext = Map::new();
        ext.insert("code".into(), json!(self.code()));
        match self {
            AppError::BadUserInput(fields) => {
                let map: Map<String, Value> = fields
                    .iter()
                    .map(|(field, messages)| (field.clone(), json!(messages)))
                    .collect();
                ext.insert("fields".into(), Value::Object(map));
            }
            AppError::InvalidOtp { attempts_left } => {
                ext.insert("attemptsLeft".into(), json!(attempts_left));
            }
            AppError::RateLimited { retry_after_secs }
            | AppError::ServiceUnavailable { retry_after_secs } => {
                ext.insert("retryAfter".into(), json!(retry_after_secs));
            }
            _ => {}
        }
        ext
    }

    /// A whole-request error body: `{"errors":[{message, extensions}]}`.
    pub fn to_response_json(&self) -> Value {
        self.log();
        json!({ "errors": [ { "message": self.message(), "extensions": self.extensions() } ] })
    }

    /// Logs an internal cause with its whole chain; other errors are expected.
    pub fn log(&self) {
        if let AppError::Internal(cause) = self {
            tracing::error!(error = format!("{cause:#}"), "internal error");
        }
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(e: AppError) -> Self {
        e.log();
        e.extend()
    }
}

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        let mut err = async_graphql::Error::new(self.message());
        for (key, value) in self.extensions() {
            if let Ok(v) = async_graphql::Value::from_json(value) {
                err = err.extend_with(|_, ext| ext.set(key.clone(), v.clone()));
            }
        }
        err
    }
}

/// Seconds a client is told to wait after a read ran out of time.
const BUSY_RETRY_AFTER_SECS: u64 = 1;

impl From<sea_orm::DbErr> for AppError {
    /// A read that ran or waited past `QUERY_TIMEOUT` (API.md §8.1) is the
    /// server saturated, not a fault: `SERVICE_UNAVAILABLE`.
    fn from(e: sea_orm::DbErr) -> Self {
        if out_of_time(&e) {
            return AppError::ServiceUnavailable {
                retry_after_secs: BUSY_RETRY_AFTER_SECS,
            };
        }
        AppError::Internal(e.into())
    }
}

/// A pool checkout or a read turn that timed out, PostgreSQL's
/// `statement_timeout` (SQLSTATE 57014), or SQLite's interrupt (code 9),
/// which only `db`'s read deadline raises.
fn out_of_time(e: &sea_orm::DbErr) -> bool {
    use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr};
    match e {
        DbErr::ConnectionAcquire(ConnAcquireErr::Timeout) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e
            .as_database_error()
            .and_then(|d| d.code())
            .is_some_and(|code| code == "57014" || code == "9"),
        _ => false,
    }
}

impl From<sea_orm::TransactionError<AppError>> for AppError {
    fn from(e: sea_orm::TransactionError<AppError>) -> Self {
        match e {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(app) => app,
        }
    }
}

impl From<FieldErrors> for AppError {
    fn from(fields: FieldErrors) -> Self {
        AppError::BadUserInput(fields)
    }
}
