//! What staff, the operator and registrants give for a client, and its
//! checks (API.md §9.3): every problem at once, under the input field it
//! came from (`extensions.fields`), or as the RFC 7591 error of a
//! registration.

use crate::domain::oauth::{ClientType, Scopes, parse_redirect_uri};
use crate::domain::{FieldErrors, Invalid};

const MAX_NAME_CHARS: usize = 100;
const MAX_URIS: usize = 10;

/// What `createOAuthClient` (or `authql oauth-client create`) was given.
#[derive(Debug)]
pub struct NewClient {
    pub name: String,
    pub client_type: ClientType,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub allowed_scopes: Vec<String>,
    pub skip_consent: bool,
}

/// What `updateOAuthClient` was given: `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct ClientChanges {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub allowed_scopes: Option<Vec<String>>,
    pub skip_consent: Option<bool>,
}

/// Why `POST /oauth/register` refuses a registration (RFC 7591 §3.2.2):
/// the error code, with a description naming the metadata at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationError {
    /// `invalid_redirect_uri`: a redirect or post-logout redirect URI.
    InvalidRedirectUri(String),
    /// `invalid_client_metadata`: anything else.
    InvalidClientMetadata(String),
}

/// A new client's values, checked, in their stored forms.
pub struct Valid {
    pub name: String,
    pub client_type: ClientType,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub allowed_scopes: String,
    pub skip_consent: bool,
}

/// The fields an update gives, checked, in their stored forms.
pub struct Changed {
    pub name: Option<String>,
    pub redirect_uris: Option<String>,
    pub post_logout_redirect_uris: Option<String>,
    pub allowed_scopes: Option<String>,
}

/// The four scopes by name: a client's allowed scopes when none are named.
pub fn all_scope_names() -> Vec<String> {
    Scopes::ALL.names().into_iter().map(str::to_owned).collect()
}

fn checked_name(raw: &str) -> Result<String, Invalid> {
    let name = raw.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(Invalid(format!("must be 1-{MAX_NAME_CHARS} characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(Invalid("must not hold control characters".into()));
    }
    Ok(name.to_owned())
}

/// `min`–10 registrable URIs, as their stored JSON array.
fn checked_uris(uris: &[String], min: usize) -> Result<String, Invalid> {
    if uris.len() < min || uris.len() > MAX_URIS {
        return Err(Invalid(format!("must hold {min}-{MAX_URIS} URIs")));
    }
    let mut valid = Vec::with_capacity(uris.len());
    for (i, raw) in uris.iter().enumerate() {
        let uri = parse_redirect_uri(raw)
            .map_err(|Invalid(why)| Invalid(format!("URI {}: {why}", i + 1)))?;
        valid.push(uri);
    }
    Ok(serde_json::Value::from(valid).to_string())
}

/// A non-empty subset of the four scopes, space-separated in their order.
fn checked_scopes(names: &[String]) -> Result<String, Invalid> {
    let refuse =
        || Invalid("must be a non-empty subset of openid email profile offline_access".into());
    let scopes = Scopes::parse_list(names.iter().map(String::as_str)).map_err(|_| refuse())?;
    if scopes.is_empty() {
        return Err(refuse());
    }
    Ok(scopes.to_space())
}

/// Every problem of a new client at once, under its input field.
pub fn checked_new(new: &NewClient) -> Result<Valid, FieldErrors> {
    let mut errors = FieldErrors::new();
    let name = errors.check("name", checked_name(&new.name));
    let redirect = errors.check("redirectUris", checked_uris(&new.redirect_uris, 1));
    let post_logout = errors.check(
        "postLogoutRedirectUris",
        checked_uris(&new.post_logout_redirect_uris, 0),
    );
    let scopes = errors.check("allowedScopes", checked_scopes(&new.allowed_scopes));
    match (name, redirect, post_logout, scopes) {
        (
            Some(name),
            Some(redirect_uris),
            Some(post_logout_redirect_uris),
            Some(allowed_scopes),
        ) => Ok(Valid {
            name,
            client_type: new.client_type,
            redirect_uris,
            post_logout_redirect_uris,
            allowed_scopes,
            skip_consent: new.skip_consent,
        }),
        _ => Err(errors),
    }
}

/// Every problem of an update's given fields at once.
pub fn checked_changes(changes: &ClientChanges) -> Result<Changed, FieldErrors> {
    let mut errors = FieldErrors::new();
    let name = changes.name.as_deref().map(checked_name);
    let name = name.and_then(|r| errors.check("name", r));
    let redirect = changes.redirect_uris.as_deref().map(|u| checked_uris(u, 1));
    let redirect = redirect.and_then(|r| errors.check("redirectUris", r));
    let post_logout = changes
        .post_logout_redirect_uris
        .as_deref()
        .map(|u| checked_uris(u, 0));
    let post_logout = post_logout.and_then(|r| errors.check("postLogoutRedirectUris", r));
    let scopes = changes.allowed_scopes.as_deref().map(checked_scopes);
    let scopes = scopes.and_then(|r| errors.check("allowedScopes", r));
    errors.into_result()?;
    Ok(Changed {
        name,
        redirect_uris: redirect,
        post_logout_redirect_uris: post_logout,
        allowed_scopes: scopes,
    })
}

/// A registration as a new client: public, always asking consent, under
/// `name` or else the host of its first redirect URI, for the
/// space-separated `scope` or else all four.
pub fn registered(
    name: Option<&str>,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    scope: Option<&str>,
) -> NewClient {
    let name = match name {
        Some(name) => name.to_owned(),
        None => default_name(&redirect_uris),
    };
    let allowed_scopes = match scope {
        Some(scope) => scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        None => all_scope_names(),
    };
    NewClient {
        name,
        client_type: ClientType::Public,
        redirect_uris,
        post_logout_redirect_uris,
        allowed_scopes,
        skip_consent: false,
    }
}

/// The host of the first redirect URI (a private-use URI's scheme).
fn default_name(redirect_uris: &[String]) -> String {
    let first = redirect_uris
        .first()
        .and_then(|raw| url::Url::parse(raw).ok());
    let host = first
        .as_ref()
        .map(|url| url.host_str().unwrap_or(url.scheme()));
    host.unwrap_or_default()
        .chars()
        .take(MAX_NAME_CHARS)
        .collect()
}

/// The RFC 7591 error of a refused registration, described in the names
/// of its metadata members.
pub fn registration_error(errors: &FieldErrors) -> RegistrationError {
    let mut redirect = false;
    let mut described = Vec::new();
    for (field, messages) in errors {
        let member = match field.as_str() {
            "redirectUris" => {
                redirect = true;
                "redirect_uris"
            }
            "postLogoutRedirectUris" => {
                redirect = true;
                "post_logout_redirect_uris"
            }
            "allowedScopes" => "scope",
            "name" => "client_name",
            other => other,
        };
        for message in messages {
            described.push(format!("{member}: {message}"));
        }
    }
    let description = described.join("; ");
    if redirect {
        RegistrationError::InvalidRedirectUri(description)
    } else {
        RegistrationError::InvalidClientMetadata(description)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn lists_of_uris_are_bounded_and_each_is_checked() {
        assert!(checked_uris(&[], 1).is_err());
        assert_eq!(checked_uris(&[], 0).as_deref(), Ok("[]"));
        assert!(checked_uris(&strings(&["https://a.example/cb"; 11]), 1).is_err());
        assert_eq!(
            checked_uris(
                &strings(&["https://a.example/cb", "http://127.0.0.1/cb"]),
                1
            )
            .as_deref(),
            Ok(r#"["https://a.example/cb","http://127.0.0.1/cb"]"#)
        );
        let bad = checked_uris(
            &strings(&["https://a.example/cb", "http://a.example/cb"]),
            1,
        );
        assert!(bad.is_err_and(|Invalid(why)| why.starts_with("URI 2:")));
    }

    #[test]
    fn names_and_scopes() {
        assert_eq!(checked_name("  Shop  ").as_deref(), Ok("Shop"));
        assert!(checked_name(" ").is_err());
        assert!(checked_name(&"x".repeat(101)).is_err());
        assert!(checked_name(&"é".repeat(100)).is_ok());
        assert!(checked_name("a\u{7}b").is_err());
        assert_eq!(
            checked_scopes(&strings(&["profile", "openid", "openid"])).as_deref(),
            Ok("openid profile")
        );
        assert!(checked_scopes(&[]).is_err());
        assert!(checked_scopes(&strings(&["openid", "admin"])).is_err());
    }

    #[test]
    fn a_registration_is_refused_by_what_is_wrong() {
        let mut errors = FieldErrors::single("name", "bad");
        assert_eq!(
            registration_error(&errors),
            RegistrationError::InvalidClientMetadata("client_name: bad".into())
        );
        errors.add("postLogoutRedirectUris", "worse");
        assert!(matches!(
            registration_error(&errors),
            RegistrationError::InvalidRedirectUri(_)
        ));
        let new = registered(
            None,
            strings(&["https://app.example:8443/cb"]),
            vec![],
            None,
        );
        assert_eq!(
            (new.name.as_str(), new.allowed_scopes.len()),
            ("app.example", 4)
        );
        let new = registered(
            None,
            strings(&["com.example.app:/cb"]),
            vec![],
            Some("openid"),
        );
        assert_eq!(new.name, "com.example.app");
        assert!(checked_new(&new).is_ok());
        let new = registered(
            Some(" "),
            strings(&["https://a.example/cb"]),
            vec![],
            Some(""),
        );
        let errors = checked_new(&new).err().map(|e| registration_error(&e));
        assert!(matches!(
            errors,
            Some(RegistrationError::InvalidClientMetadata(_))
        ));
    }
}
