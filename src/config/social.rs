//! Social sign-in settings (API.md §9.1): the OpenID providers of
//! `OIDC_PROVIDERS`, GitHub's plain OAuth 2.0 (`GITHUB_*`), which of them
//! are trusted with emails, sign-up, and the browser flow's lifetimes.

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

/// GitHub (or GitHub Enterprise Server): plain OAuth 2.0 and its REST API.
#[derive(Clone, Debug)]
pub struct GithubProvider {
    pub client_id: String,
    pub client_secret: String,
    pub authorize_url: String,
    pub token_url: String,
    /// Without a trailing `/`: `{api}/user`, `{api}/user/emails`.
    pub api_url: String,
    pub scopes: Vec<String>,
    pub display_name: String,
    /// The origin of `authorize_url`: the issuer of GitHub identities.
    pub issuer: String,
}

/// A configured provider of either kind.
#[derive(Clone, Copy)]
pub enum Provider<'a> {
    Oidc(&'a OidcProvider),
    Github(&'a GithubProvider),
}

impl<'a> Provider<'a> {
    pub fn name(&self) -> &'a str {
        match self {
            Provider::Oidc(p) => &p.name,
            Provider::Github(_) => "github",
        }
    }

    pub fn display_name(&self) -> &'a str {
        match self {
            Provider::Oidc(p) => &p.display_name,
            Provider::Github(g) => &g.display_name,
        }
    }

    pub fn issuer(&self) -> &'a str {
        match self {
            Provider::Oidc(p) => &p.issuer,
            Provider::Github(g) => &g.issuer,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct SocialSettings {
    pub providers: Vec<OidcProvider>,
    pub github: Option<GithubProvider>,
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

    /// Any configured provider by name, GitHub included.
    pub fn configured(&self, name: &str) -> Option<Provider<'_>> {
        match (name, &self.github) {
            ("github", Some(github)) => Some(Provider::Github(github)),
            _ => self.provider(name).map(Provider::Oidc),
        }
    }

    /// Every configured provider: `OIDC_PROVIDERS` order, then GitHub.
    pub fn all(&self) -> impl Iterator<Item = Provider<'_>> {
        let oidc = self.providers.iter().map(Provider::Oidc);
        oidc.chain(self.github.iter().map(Provider::Github))
    }

    /// The name notices use for a provider (its name when no longer configured).
    pub fn display_name<'a>(&'a self, name: &'a str) -> &'a str {
        self.configured(name).map_or(name, |p| p.display_name())
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
        let github = github(v, env)?;
        // Identities are keyed by issuer and subject: two providers with one
        // issuer would sign in each other's identities.
        let same = |a: &str, b: &str| a.trim_end_matches('/') == b.trim_end_matches('/');
        if let Some(g) = &github
            && providers.iter().any(|p| same(&p.issuer, &g.issuer))
        {
            return Err(invalid(
                "GITHUB_AUTHORIZE_URL",
                "its origin is the issuer of a provider in OIDC_PROVIDERS: their identities would be one",
            ));
        }
        let trusted = v.list("SOCIAL_TRUSTED_PROVIDERS");
        if let Some(unknown) = trusted.iter().find(|t| {
            !(providers.iter().any(|p| &p.name == *t) || (*t == "github" && github.is_some()))
        }) {
            return Err(invalid(
                "SOCIAL_TRUSTED_PROVIDERS",
                format!("{unknown:?} is not a configured provider"),
            ));
        }
        Ok(SocialSettings {
            providers,
            github,
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
    web_url(var(&name, "ISSUER"), &issuer, env)?;
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

/// An `https://` URL (`http://` only outside production).
fn web_url(name: &'static str, value: &str, env: AppEnv) -> Result<url::Url, ConfigError> {
    let https = value.starts_with("https://");
    let http = value.starts_with("http://") && env != AppEnv::Production;
    match url::Url::parse(value) {
        Ok(url) if (https || http) && url.host().is_some() => Ok(url),
        _ => Err(invalid(
            name,
            "expected an https:// URL (http:// only outside production)",
        )),
    }
}

/// `GITHUB_*`: on when both the client id and secret are set; one without
/// the other names the missing one.
fn github(v: &Vars, env: AppEnv) -> Result<Option<GithubProvider>, ConfigError> {
    let (client_id, client_secret) =
        match (v.get("GITHUB_CLIENT_ID"), v.get("GITHUB_CLIENT_SECRET")) {
            (None, None) => return Ok(None),
            (Some(id), Some(secret)) => (id, secret),
            (None, Some(_)) => {
                return Err(invalid(
                    "GITHUB_CLIENT_ID",
                    "required with GITHUB_CLIENT_SECRET",
                ));
            }
            (Some(_), None) => {
                return Err(invalid(
                    "GITHUB_CLIENT_SECRET",
                    "required with GITHUB_CLIENT_ID",
                ));
            }
        };
    let url = |name: &'static str, default: &str| {
        let value = v.get(name).unwrap_or_else(|| default.to_owned());
        web_url(name, &value, env).map(|_| value)
    };
    let authorize_url = url(
        "GITHUB_AUTHORIZE_URL",
        "https://github.com/login/oauth/authorize",
    )?;
    let issuer = url::Url::parse(&authorize_url)
        .map(|u| u.origin().ascii_serialization())
        .map_err(|_| invalid("GITHUB_AUTHORIZE_URL", "not a URL"))?;
    Ok(Some(GithubProvider {
        client_id,
        client_secret,
        token_url: url(
            "GITHUB_TOKEN_URL",
            "https://github.com/login/oauth/access_token",
        )?,
        api_url: url("GITHUB_API_URL", "https://api.github.com")?
            .trim_end_matches('/')
            .to_owned(),
        scopes: v
            .get("GITHUB_SCOPES")
            .unwrap_or_else(|| "read:user user:email".into())
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        display_name: v
            .get("GITHUB_DISPLAY_NAME")
            .unwrap_or_else(|| "GitHub".into()),
        authorize_url,
        issuer,
    }))
}
