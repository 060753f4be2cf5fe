//! The configured OpenID providers' metadata and keys (API.md §9.1):
//! discovered when first needed, kept at most an hour, refused unless the
//! document's `issuer` is the configured one exactly, and discovered again
//! (at most every 10 seconds) when asked for fresh keys. Each provider has
//! a lock of its own, held only while its own document is fetched, and a
//! failure is remembered for a few seconds: a provider that cannot be
//! reached stops nothing but its own sign-ins.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openidconnect::IssuerUrl;
use openidconnect::core::CoreProviderMetadata;

use crate::config::OidcProvider;

const KEEP: Duration = Duration::from_secs(3600);
const REFRESH_AT_MOST_EVERY: Duration = Duration::from_secs(10);
const REMEMBER_FAILURE: Duration = Duration::from_secs(5);
const TIMEOUT: Duration = Duration::from_secs(10);

/// Why a provider's metadata is not at hand.
#[derive(Debug)]
pub struct Unavailable(pub String);

#[derive(Default)]
struct Entry {
    known: Option<(CoreProviderMetadata, Instant)>,
    failed_at: Option<Instant>,
}

/// The metadata of every provider, by name.
#[derive(Default)]
pub struct SocialProviders {
    entries: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Entry>>>>,
}

/// The HTTP client of the relying party: no redirects followed (a provider
/// redirecting its discovery or token answer elsewhere is refused).
pub fn http_client() -> Result<openidconnect::reqwest::Client, Unavailable> {
    openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .build()
        .map_err(|e| Unavailable(format!("HTTP client: {e}")))
}

impl SocialProviders {
    fn entry(&self, name: &str) -> Arc<tokio::sync::Mutex<Entry>> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.entry(name.to_owned()).or_default().clone()
    }

    /// The provider's metadata (with its keys); `fresh`: fetched again
    /// unless fetched in the last 10 seconds (an unknown `kid`).
    pub async fn metadata(
        &self,
        provider: &OidcProvider,
        fresh: bool,
    ) -> Result<CoreProviderMetadata, Unavailable> {
        let entry = self.entry(&provider.name);
        let mut entry = entry.lock().await;
        if let Some((metadata, at)) = &entry.known {
            let age = at.elapsed();
            if age < KEEP && !(fresh && age >= REFRESH_AT_MOST_EVERY) {
                return Ok(metadata.clone());
            }
        }
        if entry
            .failed_at
            .is_some_and(|t| t.elapsed() < REMEMBER_FAILURE)
        {
            return Err(Unavailable(format!("{} failed moments ago", provider.name)));
        }
        let issuer = IssuerUrl::new(provider.issuer.clone())
            .map_err(|e| Unavailable(format!("issuer: {e}")))?;
        // `discover_async` checks the document's issuer against ours and
        // fetches its keys.
        match CoreProviderMetadata::discover_async(issuer, &http_client()?).await {
            Ok(metadata) => {
                entry.known = Some((metadata.clone(), Instant::now()));
                entry.failed_at = None;
                Ok(metadata)
            }
            Err(e) => {
                entry.failed_at = Some(Instant::now());
                Err(Unavailable(format!("discovery of {}: {e}", provider.name)))
            }
        }
    }
}
