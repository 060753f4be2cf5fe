//! Social sign-in settings (API.md §9.1): the OpenID providers of
//! `OIDC_PROVIDERS`, which of them are trusted with emails, sign-up, and
//! the browser flow's lifetimes. (GitHub's plain OAuth 2.0 is not built.)

use std::time::Duration;

use super::AppEnv;
use super::ConfigError;
use super::vars::{Vars, invalid};

#[derive(Clone, Debug)]
pub struct OidcProvider {
    /// As configured: lowercase letters, digits and `-`.
    pub name: String,
    pub display_name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub native_client_ids: Vec<String>,
    pub scopes: Vec<String>,
    /// `OIDC_<NAME>_RESPONSE_MODE=form_post`.
    pub form_post: bool,
}

#[derive(Clone, Debug, Default)]
pub struct SocialSettings {
    pub providers: Vec<OidcProvider>,
    /// Names whose verified emails may create and join accounts.
    pub trusted: Vec<String>,
    pub signup: bool,
    pub state_ttl: Duration,
    pub clock_skew: Duration,
}

impl SocialSettings {
    pub fn provider(&self, name: &str) -> Option<&OidcProvider> {
        self.providers.iter().find(|p| p.name == name)
    }

    pub fn is_trusted(&self, name: &str) -> bool {
        self.trusted.iter().any(|t| t == name)
    }

    pub(super) fn from_vars(v: &Vars, env: AppEnv) -> Result<SocialSettings, ConfigError> {
        let mut providers = Vec::new();
        for name in v.list("OIDC_PROVIDERS") {
            let ok = !name.is_empty()
                && name.len() <= 32
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && name != "github";
            if !ok || providers.iter().any(|p: &OidcProvider| p.name == name) {
                return Err(invalid(
                    "OIDC_PROVIDERS",
                    format!(
                        "{name:?}: names are distinct, lowercase letters, digits and -, not github"
                    ),
                ));
            }
            providers.push(provider(v, env, name)?);
        }
        let trusted = v.list("SOCIAL_TRUSTED_PROVIDERS");
        if let Some(unknown) = trusted
            .iter()
            .find(|t| !providers.iter().any(|p| &p.name == *t))
        {
            return Err(invalid(
                "SOCIAL_TRUSTED_PROVIDERS",
                format!("{unknown:?} is not a configured provider"),
            ));
        }
        Ok(SocialSettings {
            providers,
            trusted,
            signup: v.bool("SOCIAL_SIGNUP", true)?,
            state_ttl: v.duration("SOCIAL_STATE_TTL", "10m")?,
            clock_skew: v.duration("OIDC_CLOCK_SKEW", "60s")?,
        })
    }
}

/// `OIDC_<NAME>_<what>`: a setting's name lives as long as the process.
fn var(name: &str, what: &str) -> &'static str {
    let upper = name.to_ascii_uppercase().replace('-', "_");
    Box::leak(format!("OIDC_{upper}_{what}").into_boxed_str())
}

fn provider(v: &Vars, env: AppEnv, name: String) -> Result<OidcProvider, ConfigError> {
    let required = |what: &str| {
        let key = var(&name, what);
        v.get(key)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid(key, "required"))
    };
    let issuer = required("ISSUER")?;
    let issuer_var = var(&name, "ISSUER");
    let https = issuer.starts_with("https://");
    let http = issuer.starts_with("http://") && env != AppEnv::Production;
    if !(https || http) || url::Url::parse(&issuer).is_err() {
        return Err(invalid(
            issuer_var,
            "expected an https:// issuer (http:// only outside production)",
        ));
    }
    let scopes: Vec<String> = v
        .get(var(&name, "SCOPES"))
        .unwrap_or_else(|| "openid email profile".into())
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if !scopes.iter().any(|s| s == "openid") {
        return Err(invalid(var(&name, "SCOPES"), "must contain openid"));
    }
    let form_post = match v.get(var(&name, "RESPONSE_MODE")).as_deref() {
        None | Some("query") => false,
        Some("form_post") => true,
        Some(other) => {
            return Err(invalid(
                var(&name, "RESPONSE_MODE"),
                format!("expected query or form_post, got {other:?}"),
            ));
        }
    };
    Ok(OidcProvider {
        display_name: v
            .get(var(&name, "DISPLAY_NAME"))
            .unwrap_or_else(|| name.clone()),
        client_id: required("CLIENT_ID")?,
        client_secret: v.get(var(&name, "CLIENT_SECRET")).filter(|s| !s.is_empty()),
        native_client_ids: v.list(var(&name, "NATIVE_CLIENT_IDS")),
        issuer,
        scopes,
        form_post,
        name,
    })
}
