//! The relying party passkeys are made for, built once from the settings
//! and held by the application context: below every passkey rule.

use std::sync::Arc;

use webauthn_rs::prelude::{Webauthn, WebauthnBuilder};

use crate::config::Settings;
use crate::error::{AppError, AppResult};

/// The relying party, or why passkeys are off.
pub struct Passkeys(Result<Arc<Webauthn>, String>);

impl Passkeys {
    /// From `WEBAUTHN_*`; off (with the reason, logged once) when the
    /// relying party id would be an IP address or webauthn-rs refuses it.
    pub fn new(settings: &Settings) -> Passkeys {
        let built = settings.webauthn.relying_party.clone().and_then(|rp| {
            let first = rp.origins.first().ok_or("passkeys are off: no origin")?;
            let mut builder = WebauthnBuilder::new(&rp.id, first)
                .map_err(|e| format!("passkeys are off: {e}"))?
                .rp_name(&rp.name);
            for origin in &rp.origins[1..] {
                builder = builder.append_allowed_origin(origin);
            }
            builder
                .build()
                .map(Arc::new)
                .map_err(|e| format!("passkeys are off: {e}"))
        });
        if let Err(why) = &built {
            tracing::warn!("{why}");
        }
        Passkeys(built)
    }

    pub(crate) fn webauthn(&self) -> AppResult<&Webauthn> {
        self.0
            .as_deref()
            .map_err(|why| AppError::ForbiddenBecause(why.clone()))
    }
}
