//! Client authentication at the token, revocation and introspection
//! endpoints (API.md §9.3): `client_secret_basic`, `client_secret_post`,
//! or `none` for public clients. Failures count on the client IP's login
//! limit; past it every request from that IP is refused until the window
//! passes.

use entity::oauth_client;

use crate::domain::oauth::ClientType;
use crate::error::AppError;
use crate::services::AppContext;
use crate::services::credentials::login_limits::{ip_failed, ip_refused};
use crate::services::oauth::clients;

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

/// The client a request authenticates as. `confidential_only`: a public
/// client is refused (introspection).
#[tracing::instrument(skip_all)]
pub async fn authenticate(
    app: &AppContext,
    presented: &Presented,
    ip: &str,
    confidential_only: bool,
) -> Result<oauth_client::Model, Refused> {
    if let Some(wait) = ip_refused(&app.db, &app.settings, ip).await? {
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
            ip_failed(&app.db, &app.settings, ip).await?;
            Err(Refused::InvalidClient)
        }
    }
}
