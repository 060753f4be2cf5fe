//! Client authentication at the token, revocation and introspection
//! endpoints (API.md §9.3): `client_secret_basic`, `client_secret_post`,
//! or `none` for public clients. Failures count on the client IP's login
//! limit; past it every request from that IP is refused until the window
//! passes.

use entity::{oauth_client, rate_limit};
use sea_orm::EntityTrait;

use crate::config::RateLimit;
use crate::db::now;
use crate::domain::oauth::ClientType;
use crate::error::AppError;
use crate::services::AppContext;
use crate::services::oauth::clients;
use crate::services::shared::rate_limit::{hit, ip_key, seconds_until};

/// What a request presented to authenticate its client.
#[derive(Debug, Default)]
pub struct Presented {
    pub client_id: Option<String>,
    pub secret: Option<String>,
    /// More than one method at once (`invalid_request`).
    pub several: bool,
}

/// Why a client is not authenticated.
#[derive(Debug)]
pub enum Refused {
    InvalidClient,
    InvalidRequest,
    RateLimited(u64),
    Server(AppError),
}

impl From<AppError> for Refused {
    fn from(e: AppError) -> Refused {
        Refused::Server(e)
    }
}

impl From<sea_orm::DbErr> for Refused {
    fn from(e: sea_orm::DbErr) -> Refused {
        Refused::Server(e.into())
    }
}

fn per_ip(app: &AppContext) -> RateLimit {
    let login = app.settings.login_rate_limit;
    RateLimit {
        max: login.max.saturating_mul(5),
        window: login.window,
    }
}

/// Whether the client IP is past its login limit now.
async fn limited(app: &AppContext, ip: &str) -> Result<Option<u64>, Refused> {
    let limit = per_ip(app);
    let row = app
        .db
        .read()
        .one(rate_limit::Entity::find_by_id(ip_key("login-ip", ip)))
        .await?;
    let now = now();
    let window = chrono::Duration::from_std(limit.window).unwrap_or(chrono::Duration::MAX);
    Ok(row
        .filter(|r| {
            r.window_start + window > now && i64::from(r.count - r.pending) >= i64::from(limit.max)
        })
        .map(|r| seconds_until(r.window_start + window, now)))
}

/// The client a request authenticates as. `confidential_only`: a public
/// client is refused (introspection).
#[tracing::instrument(skip_all)]
pub async fn authenticate(
    app: &AppContext,
    presented: &Presented,
    ip: &str,
    confidential_only: bool,
) -> Result<oauth_client::Model, Refused> {
    if let Some(wait) = limited(app, ip).await? {
        return Err(Refused::RateLimited(wait));
    }
    if presented.several {
        return Err(Refused::InvalidRequest);
    }
    let found = match presented.client_id.as_deref().map(uuid::Uuid::parse_str) {
        Some(Ok(id)) => clients::find(app, id).await?,
        _ => None,
    };
    let ok = found.filter(|client| {
        let secret = presented.secret.as_deref().filter(|s| !s.is_empty());
        match (ClientType::stored(&client.client_type), secret) {
            (ClientType::Confidential, Some(s)) => clients::secret_matches(client, s),
            (ClientType::Public, None) => !confidential_only,
            _ => false,
        }
    });
    match ok {
        Some(client) => Ok(client),
        None => {
            hit(app.db.alone(), &ip_key("login-ip", ip), per_ip(app), now()).await?;
            Err(Refused::InvalidClient)
        }
    }
}
