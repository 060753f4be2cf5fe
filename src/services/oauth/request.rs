//! The authorization endpoint's checks (API.md §9.3), in the contract's
//! order: the client and its redirect URI first (a failure there is a page
//! and never a redirect), then everything else answered at the matched
//! redirect URI. Pure: the caller stores what passes.

use entity::oauth_client;

use crate::domain::oauth::{Scopes, redirect_matches};
use crate::services::oauth::clients;

/// The longest value of any parameter.
pub const MAX_VALUE: usize = 2048;

/// An authorization request that passed every check.
#[derive(Clone, Debug)]
pub struct Checked {
    pub client: oauth_client::Model,
    pub redirect_uri: String,
    pub scopes: Scopes,
    pub state: Option<String>,
    pub code_challenge: String,
    pub nonce: Option<String>,
    /// `""`, `none`, `login` or `consent`.
    pub prompt: String,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub resource: Option<String>,
}

/// Why a request is refused, and how.
#[derive(Debug)]
pub enum Refusal {
    /// Before a redirect URI is matched: a `400` page saying this.
    Page(&'static str),
    /// At the matched redirect URI: `error`, a description, and `state`.
    Redirect {
        redirect_uri: String,
        error: &'static str,
        description: &'static str,
        state: Option<String>,
    },
}

/// The one value of `name`; `Err` when it is sent more than once.
fn single<'a>(params: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, ()> {
    let mut found = params
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str());
    let first = found.next();
    if found.next().is_some() {
        return Err(());
    }
    Ok(first)
}

/// Whether `s` is a PKCE S256 challenge: 43 base64url characters.
pub fn is_challenge(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The client named by `client_id` and the redirect URI it registered
/// that `redirect_uri` matches: the first step, whose failures are pages.
pub async fn client_and_redirect(
    app: &crate::services::AppContext,
    params: &[(String, String)],
) -> Result<(oauth_client::Model, String), Refusal> {
    let client_id = match single(params, "client_id") {
        Err(()) => return Err(Refusal::Page("client_id is repeated")),
        Ok(None) => return Err(Refusal::Page("client_id is missing")),
        Ok(Some(v)) => v,
    };
    let redirect_uri = match single(params, "redirect_uri") {
        Err(()) => return Err(Refusal::Page("redirect_uri is repeated")),
        Ok(None) => return Err(Refusal::Page("redirect_uri is missing")),
        Ok(Some(v)) => v,
    };
    let Ok(id) = uuid::Uuid::parse_str(client_id) else {
        return Err(Refusal::Page("client_id is not a known client"));
    };
    let client = match clients::find(app, id).await {
        Ok(Some(c)) => c,
        Ok(None) => return Err(Refusal::Page("client_id is not a known client")),
        Err(e) => {
            e.log();
            return Err(Refusal::Page("the server could not look the client up"));
        }
    };
    if redirect_uri.len() > MAX_VALUE
        || !clients::redirect_uris(&client)
            .iter()
            .any(|r| redirect_matches(r, redirect_uri))
    {
        return Err(Refusal::Page(
            "redirect_uri is not one this client registered",
        ));
    }
    Ok((client, redirect_uri.to_owned()))
}

/// Every check after the first, in the contract's order.
pub fn check_rest(
    client: oauth_client::Model,
    redirect_uri: String,
    params: &[(String, String)],
    resources: &[String],
) -> Result<Checked, Refusal> {
    let state_value = single(params, "state").ok().flatten().map(str::to_owned);
    let refuse = |error: &'static str, description: &'static str| Refusal::Redirect {
        redirect_uri: redirect_uri.clone(),
        error,
        description,
        state: state_value.clone().filter(|s| s.len() <= MAX_VALUE),
    };
    // A repeated parameter or an over-long value is malformed whatever it is.
    let mut names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    let known = [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
        "nonce",
        "prompt",
        "max_age",
        "login_hint",
        "response_mode",
        "request",
        "request_uri",
    ];
    let repeated = names
        .windows(2)
        .any(|w| w[0] == w[1] && known.contains(&w[0]));
    let get = |name: &str| single(params, name).ok().flatten();
    match get("response_type") {
        None if !repeated => return Err(refuse("invalid_request", "response_type is missing")),
        Some(t) if t != "code" && !repeated => {
            return Err(refuse(
                "unsupported_response_type",
                "only response_type=code is supported",
            ));
        }
        _ => {}
    }
    if repeated {
        return Err(refuse("invalid_request", "a parameter is repeated"));
    }
    if params
        .iter()
        .any(|(k, v)| known.contains(&k.as_str()) && v.len() > MAX_VALUE)
    {
        return Err(refuse("invalid_request", "a parameter is too long"));
    }
    let code_challenge = match get("code_challenge") {
        Some(c) if is_challenge(c) => c.to_owned(),
        _ => {
            return Err(refuse(
                "invalid_request",
                "code_challenge must be 43 base64url characters (PKCE S256)",
            ));
        }
    };
    if get("code_challenge_method") != Some("S256") {
        return Err(refuse(
            "invalid_request",
            "code_challenge_method must be S256",
        ));
    }
    let mut prompts: Vec<&str> = get("prompt")
        .unwrap_or("")
        .split(' ')
        .filter(|p| !p.is_empty())
        .collect();
    prompts.sort_unstable();
    prompts.dedup();
    let known_prompts = prompts
        .iter()
        .all(|p| matches!(*p, "none" | "login" | "consent"));
    if !known_prompts || (prompts.contains(&"none") && prompts.len() > 1) {
        return Err(refuse(
            "invalid_request",
            "prompt is none alone, or login and consent",
        ));
    }
    let prompt = prompts.join(" ");
    let max_age = match get("max_age") {
        None => None,
        Some(v) => match v.parse::<u32>() {
            Ok(n) if v.bytes().all(|b| b.is_ascii_digit()) => Some(i64::from(n)),
            _ => {
                return Err(refuse(
                    "invalid_request",
                    "max_age must be a non-negative integer",
                ));
            }
        },
    };
    if !matches!(get("response_mode"), None | Some("query")) {
        return Err(refuse("invalid_request", "response_mode must be query"));
    }
    let allowed = Scopes::stored(&client.allowed_scopes);
    let scopes = match get("scope") {
        None => allowed,
        Some(raw) => match Scopes::parse_space(raw) {
            Ok(s) if !s.is_empty() && allowed.covers(s) => s,
            _ => {
                return Err(refuse(
                    "invalid_scope",
                    "a requested scope is unknown or not allowed for this client",
                ));
            }
        },
    };
    let resource = match single(params, "resource") {
        Ok(None) => None,
        Ok(Some(r)) if resources.iter().any(|known| known == r) => Some(r.to_owned()),
        _ => {
            return Err(refuse(
                "invalid_target",
                "resource is not one this server knows, or is repeated",
            ));
        }
    };
    if get("request").is_some() {
        return Err(refuse(
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    if get("request_uri").is_some() {
        return Err(refuse(
            "request_uri_not_supported",
            "request_uri is not supported",
        ));
    }
    Ok(Checked {
        client,
        redirect_uri,
        scopes,
        state: state_value,
        code_challenge,
        nonce: get("nonce").map(str::to_owned),
        prompt,
        max_age,
        login_hint: get("login_hint").map(str::to_owned),
        resource,
    })
}

/// `redirect_uri` with `pairs` appended to its query (`&` when it has one).
pub fn with_query(redirect_uri: &str, pairs: &[(&str, &str)]) -> String {
    let encoded = serde_urlencoded::to_string(pairs).unwrap_or_default();
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    format!("{redirect_uri}{sep}{encoded}")
}
