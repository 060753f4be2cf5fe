//! Settings of the browser flows and of email sign-in (API.md §9.1, §9.2):
//! where a flow may send the user back (`AUTH_REDIRECT_URLS`), how long an
//! exchange code lives, and whether and for whom email sign-in is on.

use std::time::Duration;

use url::Url;

use super::ConfigError;
use super::vars::{Vars, invalid};

#[derive(Clone, Debug)]
pub struct SignInSettings {
    /// `EMAIL_SIGN_IN`: off, both mutations answer `FORBIDDEN`.
    pub email_sign_in: bool,
    /// `EMAIL_SIGN_IN_SIGNUP`: an unknown address is mailed, and its use
    /// makes an account.
    pub email_sign_in_signup: bool,
    pub email_sign_in_ttl: Duration,
    /// `AUTH_REDIRECT_URLS`, in order: the first is the default target.
    pub redirect_urls: Vec<Url>,
    pub exchange_code_ttl: Duration,
}

/// An absolute URL with neither a fragment nor user info: the only kind a
/// flow may send a browser back to.
fn plain_url(raw: &str) -> Option<Url> {
    let url = Url::parse(raw).ok()?;
    let plain = url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none()
        && !url.cannot_be_a_base()
        && !raw.contains('#');
    plain.then_some(url)
}

impl SignInSettings {
    pub(super) fn from_vars(v: &Vars) -> Result<SignInSettings, ConfigError> {
        let redirect_urls = v
            .list("AUTH_REDIRECT_URLS")
            .iter()
            .map(|raw| {
                plain_url(raw).ok_or_else(|| {
                    invalid(
                        "AUTH_REDIRECT_URLS",
                        format!("{raw:?} is not an absolute URL without fragment or user info"),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(SignInSettings {
            email_sign_in: v.bool("EMAIL_SIGN_IN", true)?,
            email_sign_in_signup: v.bool("EMAIL_SIGN_IN_SIGNUP", true)?,
            email_sign_in_ttl: v.duration("EMAIL_SIGN_IN_TTL", "15m")?,
            redirect_urls,
            exchange_code_ttl: v.duration("EXCHANGE_CODE_TTL", "1m")?,
        })
    }

    /// The target a flow may send the browser back to: `requested` when its
    /// scheme, host, port and path equal an allowed entry's (its own query
    /// is the app's and is kept), else `None`; no request: the first entry.
    pub fn redirect_target(&self, requested: Option<&str>) -> Option<Url> {
        let Some(raw) = requested else {
            return self.redirect_urls.first().cloned();
        };
        let url = plain_url(raw)?;
        let same = |allowed: &Url| {
            allowed.scheme() == url.scheme()
                && allowed.host_str().map(str::to_ascii_lowercase)
                    == url.host_str().map(str::to_ascii_lowercase)
                && allowed.port_or_known_default() == url.port_or_known_default()
                && allowed.path() == url.path()
        };
        self.redirect_urls.iter().any(same).then_some(url)
    }
}

/// The redirect target with a flow's answer (`code`, or `error` and
/// `error_description`) in place of any its own query held.
pub fn with_answer(mut target: Url, answer: &[(&str, &str)]) -> Url {
    let kept: Vec<(String, String)> = target
        .query_pairs()
        .filter(|(k, _)| !matches!(k.as_ref(), "code" | "error" | "error_description"))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    target.set_query(None);
    {
        let mut query = target.query_pairs_mut();
        query.extend_pairs(kept);
        query.extend_pairs(answer.iter().copied());
    }
    target
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(urls: &[&str]) -> SignInSettings {
        SignInSettings {
            email_sign_in: true,
            email_sign_in_signup: true,
            email_sign_in_ttl: Duration::from_secs(900),
            redirect_urls: urls.iter().map(|u| Url::parse(u).unwrap()).collect(),
            exchange_code_ttl: Duration::from_secs(60),
        }
    }

    #[test]
    fn a_target_matches_an_entry_by_scheme_host_port_and_path() {
        let s = settings(&["https://app.example.com/callback", "myapp://auth"]);
        let ok = |raw: &str| s.redirect_target(Some(raw)).is_some();
        assert!(ok("https://app.example.com/callback"));
        assert!(ok("https://APP.example.com:443/callback?next=/x"));
        assert!(ok("myapp://auth"));
        assert!(!ok("https://app.example.com/callback/"));
        assert!(!ok("https://app.example.com/other"));
        assert!(!ok("http://app.example.com/callback"));
        assert!(!ok("https://app.example.com:8443/callback"));
        assert!(!ok("https://evil.example.com/callback"));
        assert!(!ok("https://app.example.com.evil.com/callback"));
        assert!(!ok("https://user@app.example.com/callback"));
        assert!(!ok("https://app.example.com/callback#frag"));
        assert!(!ok("https://app.example.com/callback#"));
        assert!(!ok("/callback"));
        assert!(!ok("javascript:alert(1)"));
        assert_eq!(
            s.redirect_target(None).unwrap().as_str(),
            "https://app.example.com/callback"
        );
        assert!(settings(&[]).redirect_target(None).is_none());
    }
}
