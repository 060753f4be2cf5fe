//! The OpenID Connect side of the browser flow (API.md §9.1), through
//! `openidconnect`: the authorization URL with our nonce and PKCE, and the
//! callback's code exchange, ID-token verification and UserInfo fallback.

use entity::social_flow;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreProviderMetadata,
    CoreUserInfoClaims,
};
use openidconnect::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenResponse,
};
use url::Url;

use crate::auth::social_providers::{Unavailable, http_client};
use crate::config::OidcProvider;
use crate::domain::Email;
use crate::services::AppContext;
use crate::services::signin::social::id_token::{self, Asserted};

/// The provider's authorization URL for a flow with `state`, `nonce` and
/// the challenge of our own PKCE verifier; `callback`: our redirect URI.
pub async fn authorize_url(
    app: &AppContext,
    provider: &OidcProvider,
    callback: &str,
    (state, nonce, pkce): (String, String, PkceCodeChallenge),
) -> Result<Url, Unavailable> {
    let metadata = app.social.metadata(provider, false).await?;
    let redirect = RedirectUrl::new(callback.to_owned()).map_err(|e| Unavailable(e.to_string()))?;
    let client = client_of(provider, metadata).set_redirect_uri(redirect);
    let mut authorize = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || CsrfToken::new(state),
            move || Nonce::new(nonce),
        )
        .set_pkce_challenge(pkce);
    for scope in provider.scopes.iter().filter(|s| *s != "openid") {
        authorize = authorize.add_scope(Scope::new(scope.clone()));
    }
    if provider.form_post {
        authorize = authorize.add_extra_param("response_mode", "form_post");
    }
    Ok(authorize.url().0)
}

/// Exchanges the provider's code with the flow's PKCE verifier and
/// verifies its ID token against the flow's nonce.
pub async fn verified(
    app: &AppContext,
    provider: &OidcProvider,
    callback: &str,
    flow: &social_flow::Model,
    code: String,
) -> Result<Asserted, String> {
    let metadata = app
        .social
        .metadata(provider, false)
        .await
        .map_err(|e| e.0)?;
    let redirect = RedirectUrl::new(callback.to_owned()).map_err(|e| e.to_string())?;
    let client = client_of(provider, metadata.clone()).set_redirect_uri(redirect);
    let http = http_client().map_err(|e| e.0)?;
    // The HTTP exchanges' futures are large: kept on the heap, so the
    // callback's own future stays small (see THREAD_STACK_BYTES in main.rs).
    let exchange = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| e.to_string())?
        .set_pkce_verifier(PkceCodeVerifier::new(flow.verifier.clone()));
    let tokens = Box::pin(exchange.request_async(&http))
        .await
        .map_err(|e| format!("the code exchange failed: {e}"))?;
    let id_token = tokens.id_token().ok_or("no ID token")?;
    let client_id = provider.client_id.clone();
    let claims = id_token::verify(
        app,
        provider,
        &metadata,
        id_token,
        id_token::Expect::Flow(&Nonce::new(flow.nonce.clone())),
    )
    .await?;
    let mut asserted = id_token::asserted(&claims, &[client_id.as_str()])?;
    // An ID token without `email`: the UserInfo endpoint's, whose `sub` must
    // be the token's (openidconnect checks it). Without one, or when it
    // fails, the identity simply has no email (the account rules decide).
    if asserted.email.is_none()
        && let Ok(request) = client.user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
    {
        let answer: Result<CoreUserInfoClaims, _> = Box::pin(request.request_async(&http)).await;
        match answer {
            Ok(info) => {
                let email = info.email().and_then(|e| Email::parse(e.as_str()).ok());
                asserted.email_verified = email.is_some() && info.email_verified() == Some(true);
                asserted.email = email.map(|e| e.as_str().to_owned());
            }
            Err(e) => tracing::info!(error = %e, "a provider's UserInfo did not answer"),
        }
    }
    Ok(asserted)
}

/// The provider's client: `client_secret_basic`, or `client_secret_post`
/// when the provider lists only that (Apple).
fn client_of(
    provider: &OidcProvider,
    metadata: CoreProviderMetadata,
) -> CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
> {
    let post_only = metadata
        .token_endpoint_auth_methods_supported()
        .is_some_and(|m| {
            m.iter()
                .all(|m| *m == CoreClientAuthMethod::ClientSecretPost)
        });
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(provider.client_id.clone()),
        provider.client_secret.clone().map(ClientSecret::new),
    );
    match post_only {
        true => client.set_auth_type(AuthType::RequestBody),
        false => client,
    }
}
