//! The relying party of passkeys (API.md §8.4): `WEBAUTHN_RP_ID`,
//! `WEBAUTHN_RP_NAME`, `WEBAUTHN_ORIGINS`.

use url::{Host, Url};

use super::ConfigError;
use super::vars::{Vars, invalid};

/// Who passkeys are made for, or why passkeys are off.
#[derive(Clone, Debug)]
pub struct WebauthnSettings {
    pub relying_party: Result<RelyingParty, String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelyingParty {
    /// A registrable domain (never an IP address: browsers refuse those).
    pub id: String,
    pub name: String,
    /// The origins whose pages may use the passkeys.
    pub origins: Vec<Url>,
}

impl WebauthnSettings {
    pub(super) fn from_vars(v: &Vars, public_url: &str) -> Result<WebauthnSettings, ConfigError> {
        let public =
            Url::parse(public_url).map_err(|e| invalid("PUBLIC_URL", format!("not a URL: {e}")))?;
        let origins = match v.list("WEBAUTHN_ORIGINS") {
            list if list.is_empty() => vec![public.clone()],
            list => list
                .iter()
                .map(|o| {
                    Url::parse(o)
                        .ok()
                        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                        .ok_or_else(|| {
                            invalid(
                                "WEBAUTHN_ORIGINS",
                                format!("{o:?} is not an http(s) origin"),
                            )
                        })
                })
                .collect::<Result<_, _>>()?,
        };
        let id = match v.get("WEBAUTHN_RP_ID") {
            Some(id) => id.trim().to_ascii_lowercase(),
            None => public.host_str().unwrap_or_default().to_owned(),
        };
        let relying_party = match Host::parse(&id) {
            Ok(Host::Domain(_)) => Ok(RelyingParty {
                id,
                name: v.get("WEBAUTHN_RP_NAME").unwrap_or_else(|| "authql".into()),
                origins,
            }),
            Ok(_) => Err(format!(
                "passkeys are off: the relying party id {id:?} is an IP address; \
                 set WEBAUTHN_RP_ID (and PUBLIC_URL or WEBAUTHN_ORIGINS) to a domain"
            )),
            Err(e) => return Err(invalid("WEBAUTHN_RP_ID", format!("{id:?}: {e}"))),
        };
        Ok(WebauthnSettings { relying_party })
    }
}
