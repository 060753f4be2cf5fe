//! The OAuth 2.1 / OpenID Connect provider's settings (API.md §9.3). Off
//! unless `OAUTH_PROVIDER=true`; it signs with the asymmetric key of §8.3,
//! so HS256 refuses to start.

use std::time::Duration;

use url::Url;

use super::vars::{Vars, invalid};
use super::{ConfigError, JwtAlgorithm, RateLimit};

#[derive(Clone, Debug)]
pub struct OauthSettings {
    pub enabled: bool,
    /// Headless mode: the application's own sign-in and consent page.
    pub login_url: Option<Url>,
    pub code_ttl: Duration,
    /// What clients may name as `resource` (RFC 8707).
    pub resources: Vec<String>,
    pub dynamic_registration: bool,
    pub registration_rate_limit: RateLimit,
}

fn absolute(name: &'static str, raw: &str, http_only: bool) -> Result<Url, ConfigError> {
    Url::parse(raw)
        .ok()
        .filter(|u| {
            u.fragment().is_none()
                && !u.cannot_be_a_base()
                && (!http_only || matches!(u.scheme(), "http" | "https"))
        })
        .ok_or_else(|| {
            invalid(
                name,
                format!("expected an absolute URI without fragment, got {raw:?}"),
            )
        })
}

impl OauthSettings {
    pub(super) fn from_vars(
        v: &Vars,
        algorithm: JwtAlgorithm,
    ) -> Result<OauthSettings, ConfigError> {
        let enabled = v.bool("OAUTH_PROVIDER", false)?;
        if enabled && algorithm == JwtAlgorithm::Hs256 {
            return Err(invalid(
                "OAUTH_PROVIDER",
                "needs an asymmetric signing key: JWT_ALGORITHM=HS256 cannot sign tokens other services verify",
            ));
        }
        let login_url = match v.get("OAUTH_LOGIN_URL") {
            None => None,
            Some(raw) => Some(absolute("OAUTH_LOGIN_URL", &raw, true)?),
        };
        let mut resources = Vec::new();
        for raw in v.list("OAUTH_RESOURCES") {
            absolute("OAUTH_RESOURCES", &raw, false)?;
            resources.push(raw);
        }
        Ok(OauthSettings {
            enabled,
            login_url,
            code_ttl: v.duration("OAUTH_CODE_TTL", "10m")?,
            resources,
            dynamic_registration: v.bool("OAUTH_DYNAMIC_REGISTRATION", false)?,
            registration_rate_limit: v.rate("OAUTH_REGISTRATION_RATE_LIMIT", "10/1h")?,
        })
    }
}
