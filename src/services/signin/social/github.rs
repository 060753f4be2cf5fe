//! GitHub's side of the browser flow (API.md §9.1): plain OAuth 2.0
//! through `oauth2` (client id and secret in the token request's form
//! body, as GitHub documents; PKCE, which GitHub accepts), then its REST
//! API: the subject is `GET {api}/user`'s numeric `id`, the email the
//! `primary` entry of `GET {api}/user/emails`, verified only when that
//! entry says so. GitHub has no ID tokens, so no nonce.

use entity::social_flow;
use oauth2::basic::BasicClient;
use oauth2::{
    AccessToken, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, TokenUrl,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::auth::social_providers::http_client;
use crate::config::GithubProvider;
use crate::domain::Email;
use crate::services::signin::social::id_token::Asserted;

/// The longest API answer read (a user with many addresses is a few kB).
const MAX_ANSWER: usize = 256 * 1024;

type Client = BasicClient<
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

fn client_of(github: &GithubProvider, callback: &str) -> Result<Client, String> {
    let url_error = |e: url::ParseError| e.to_string();
    Ok(BasicClient::new(ClientId::new(github.client_id.clone()))
        .set_client_secret(ClientSecret::new(github.client_secret.clone()))
        .set_auth_uri(AuthUrl::new(github.authorize_url.clone()).map_err(url_error)?)
        .set_token_uri(TokenUrl::new(github.token_url.clone()).map_err(url_error)?)
        .set_redirect_uri(RedirectUrl::new(callback.to_owned()).map_err(url_error)?)
        .set_auth_type(AuthType::RequestBody))
}

/// GitHub's authorization URL for a flow with `state` and the challenge of
/// our own PKCE verifier.
pub fn authorize_url(
    github: &GithubProvider,
    callback: &str,
    state: String,
    pkce: PkceCodeChallenge,
) -> Result<Url, String> {
    let scopes = github.scopes.iter().map(|s| Scope::new(s.clone()));
    let (url, _) = client_of(github, callback)?
        .authorize_url(move || CsrfToken::new(state))
        .add_scopes(scopes)
        .set_pkce_challenge(pkce)
        .url();
    Ok(url)
}

#[derive(Deserialize)]
struct User {
    id: u64,
}

#[derive(Deserialize)]
struct UserEmail {
    email: String,
    #[serde(default)]
    primary: bool,
    #[serde(default)]
    verified: bool,
}

/// Exchanges GitHub's code with the flow's PKCE verifier, then asks its
/// API who the user is.
pub async fn verified(
    github: &GithubProvider,
    callback: &str,
    flow: &social_flow::Model,
    code: String,
) -> Result<Asserted, String> {
    let http = http_client().map_err(|e| e.0)?;
    let client = client_of(github, callback)?;
    let exchange = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new(flow.verifier.clone()));
    // Kept on the heap, as the OpenID exchange is (see main.rs).
    let tokens = Box::pin(exchange.request_async(&http))
        .await
        .map_err(|e| format!("the code exchange failed: {e}"))?;
    let token = tokens.access_token();
    let user: User = api(&http, &format!("{}/user", github.api_url), token).await?;
    // GitHub pages this list (30 by default): the primary entry may be
    // further down for a user with many addresses.
    let emails_url = format!("{}/user/emails?per_page=100", github.api_url);
    let emails: Vec<UserEmail> = api(&http, &emails_url, token).await?;
    // The primary address only: another verified entry does not count.
    let primary = emails.into_iter().find(|e| e.primary);
    let email = primary
        .as_ref()
        .and_then(|e| Email::parse(&e.email).ok())
        .map(|e| e.as_str().to_owned());
    Ok(Asserted {
        issuer: github.issuer.clone(),
        subject: user.id.to_string(),
        email_verified: email.is_some() && primary.is_some_and(|e| e.verified),
        email,
        given_name: None,
        family_name: None,
    })
}

/// One call of GitHub's REST API with the user's token.
async fn api<T: DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    token: &AccessToken,
) -> Result<T, String> {
    let resp = http
        .get(url)
        .bearer_auth(token.secret())
        .header("accept", "application/vnd.github+json")
        .header("user-agent", concat!("authql/", env!("CARGO_PKG_VERSION")))
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("{url} answered {}", resp.status()));
    }
    // Read up to MAX_ANSWER, however the answer is sent.
    let mut resp = resp;
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| format!("{url}: {e}"))? {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(format!("{url} answered too much"));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| format!("{url}: {e}"))
}
