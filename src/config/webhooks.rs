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
}

impl WebhookSettings {
    pub(super) fn from_vars(v: &Vars) -> Result<WebhookSettings, ConfigError> {
        let max_attempts = v.positive("WEBHOOK_MAX_ATTEMPTS", 10u32)?;
        if max_attempts > 100 {
            return Err(invalid("WEBHOOK_MAX_ATTEMPTS", "must be 1..100"));
        }
        let timeout = v.duration("WEBHOOK_TIMEOUT", "10s")?;
        if timeout.is_zero() {
            return Err(invalid("WEBHOOK_TIMEOUT", "must be at least 1ms"));
        }
        Ok(WebhookSettings {
            max_attempts,
            retry_interval: v.duration("WEBHOOK_RETRY_INTERVAL", "30s")?,
            timeout,
            allow_private: v.bool("WEBHOOK_ALLOW_PRIVATE", false)?,
        })
    }
}
