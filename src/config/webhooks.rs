//! Webhook delivery settings (API.md §11.5's table): attempts, backoff,
//! the per-attempt timeout and whether private targets are allowed.

use std::time::Duration;

use super::ConfigError;
use super::vars::{Vars, invalid};

#[derive(Clone, Debug)]
pub struct WebhookSettings {
    /// Attempts per delivery before it is `DEAD` (1..100).
    pub max_attempts: u32,
    /// The wait before the first retry; it doubles per retry, to an hour.
    pub retry_interval: Duration,
    pub timeout: Duration,
    /// Endpoints may reach loopback and private addresses (API.md §11.4).
    pub allow_private: bool,
    /// The custom-claims hook, when `HOOK_CUSTOM_CLAIMS_URL` is set.
    pub claims_hook: Option<ClaimsHook>,
}

/// The custom-claims hook (API.md §11.5).
#[derive(Clone, Debug)]
pub struct ClaimsHook {
    pub url: String,
    /// The key bytes of `HOOK_SECRET` (`whsec_…`, 24–64 bytes).
    pub key: Vec<u8>,
    pub timeout: Duration,
    /// `HOOK_FAILURE=deny`: a failed hook fails the mutation.
    pub deny: bool,
}

/// Reads `whsec_` and the standard base64 of `min..=max` key bytes.
fn secret_key(raw: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD
        .decode(raw.strip_prefix("whsec_")?)
        .ok()?;
    (24..=64).contains(&key.len()).then_some(key)
}

fn claims_hook(v: &Vars) -> Result<Option<ClaimsHook>, ConfigError> {
    let Some(url) = v.get("HOOK_CUSTOM_CLAIMS_URL") else {
        return Ok(None);
    };
    let url = super::vars::parse_url("HOOK_CUSTOM_CLAIMS_URL", &url)?;
    if url::Url::parse(&url).is_err() {
        return Err(invalid("HOOK_CUSTOM_CLAIMS_URL", "is not a valid URL"));
    }
    let key = match v.get("HOOK_SECRET") {
        None => {
            return Err(invalid(
                "HOOK_SECRET",
                "required with HOOK_CUSTOM_CLAIMS_URL",
            ));
        }
        Some(raw) => secret_key(&raw).ok_or_else(|| {
            invalid(
                "HOOK_SECRET",
                "expected whsec_ and the base64 of 24 to 64 bytes",
            )
        })?,
    };
    let deny = match v.get("HOOK_FAILURE").as_deref() {
        None | Some("deny") => true,
        Some("continue") => false,
        Some(other) => {
            return Err(invalid(
                "HOOK_FAILURE",
                format!("expected deny or continue, got {other:?}"),
            ));
        }
    };
    let timeout = v.duration("HOOK_TIMEOUT", "2s")?;
    // Sign-ins wait for the hook (on SQLite with the write lock held).
    if timeout.is_zero() || timeout > Duration::from_secs(10) {
        return Err(invalid("HOOK_TIMEOUT", "must be 1ms..10s"));
    }
    Ok(Some(ClaimsHook {
        url,
        key,
        timeout,
        deny,
    }))
}

impl WebhookSettings {
    pub(super) fn from_vars(v: &Vars) -> Result<WebhookSettings, ConfigError> {
        let max_attempts = v.positive("WEBHOOK_MAX_ATTEMPTS", 10u32)?;
        if max_attempts > 100 {
            return Err(invalid("WEBHOOK_MAX_ATTEMPTS", "must be 1..100"));
        }
        let timeout = v.duration("WEBHOOK_TIMEOUT", "10s")?;
        if timeout.is_zero() || timeout > Duration::from_secs(3600) {
            return Err(invalid("WEBHOOK_TIMEOUT", "must be 1ms..1h"));
        }
        let retry_interval = v.duration("WEBHOOK_RETRY_INTERVAL", "30s")?;
        if retry_interval.is_zero() {
            return Err(invalid("WEBHOOK_RETRY_INTERVAL", "must be more than 0"));
        }
        Ok(WebhookSettings {
            max_attempts,
            retry_interval,
            timeout,
            allow_private: v.bool("WEBHOOK_ALLOW_PRIVATE", false)?,
            claims_hook: claims_hook(v)?,
        })
    }
}
