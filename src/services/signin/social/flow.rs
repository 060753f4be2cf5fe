//! The browser flow of social sign-in (API.md §9.1): `start` checks what
//! the app asked for, stores the flow in the database (so its callback may
//! land on any instance) and sends the browser to the provider; the
//! callback uses the flow up once, exchanges the provider's code with our
//! PKCE verifier, verifies the ID token, and hands the app a one-time
//! exchange code. No token ever appears in a URL.

use entity::{social_code, social_flow};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreProviderMetadata,
    CoreUserInfoClaims,
};
use openidconnect::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenResponse,
};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use url::Url;
use uuid::Uuid;

use crate::auth::pkce::is_challenge;
use crate::auth::social_providers::{Unavailable, http_client};
use crate::auth::tokens::{random_token, sha256_hex};
use crate::config::{OidcProvider, with_answer};
use crate::db::now;
use crate::domain::Email;
use crate::error::AppResult;
use crate::services::AppContext;
use crate::services::signin::social::id_token::{self, Asserted};

/// The error codes of RFC 6749 §4.1.2.1 and OpenID Connect Core §3.1.2.6
/// a provider's answer may pass on to the app.
const KNOWN_ERRORS: &[&str] = &[
    "invalid_request",
    "unauthorized_client",
    "access_denied",
    "unsupported_response_type",
    "invalid_scope",
    "server_error",
    "temporarily_unavailable",
    "interaction_required",
    "login_required",
    "account_selection_required",
    "consent_required",
];

/// Unfinished flows one client IP may hold.
const MAX_FLOWS_PER_IP: u64 = 100;

/// Why `start` sends the browser nowhere.
#[derive(Debug)]
pub enum StartRefused {
    /// No such provider: `404`.
    Unknown,
    /// A target or challenge that is not allowed: `400`, with why.
    Bad(&'static str),
    /// `MAX_FLOWS_PER_IP` unfinished flows: `429`.
    TooMany,
    /// The provider cannot be reached: `503`.
    Unavailable,
}

/// What the app asked `start` for.
pub struct StartRequest<'a> {
    pub redirect_to: Option<&'a str>,
    pub code_challenge: Option<&'a str>,
    pub code_challenge_method: Option<&'a str>,
    pub client_ip: &'a str,
}

fn callback_url(app: &AppContext, provider: &OidcProvider) -> String {
    format!(
        "{}/auth/{}/callback",
        app.settings.public_url, provider.name
    )
}

/// `GET /auth/{provider}/start`: the provider's authorization URL.
#[tracing::instrument(skip_all)]
pub async fn start(
    app: &AppContext,
    name: &str,
    request: StartRequest<'_>,
) -> Result<Url, StartRefused> {
    let provider = app
        .settings
        .social
        .provider(name)
        .ok_or(StartRefused::Unknown)?;
    let target = app
        .settings
        .sign_in
        .redirect_target(request.redirect_to)
        .ok_or(StartRefused::Bad("redirect_to is not an allowed target"))?;
    let challenge = match (request.code_challenge, request.code_challenge_method) {
        // Required, S256 only (a missing method means `plain`): the app's
        // PKCE makes a code carried to another browser (login CSRF) or read
        // from a log worthless.
        (Some(c), Some("S256")) if is_challenge(c) => Some(c.to_owned()),
        _ => {
            return Err(StartRefused::Bad(
                "code_challenge must be an S256 challenge (43 base64url characters) with code_challenge_method=S256",
            ));
        }
    };
    let unavailable = |e: Unavailable| {
        tracing::warn!(reason = %e.0, "an OpenID provider is unavailable");
        StartRefused::Unavailable
    };
    let now = now();
    let open = social_flow::Entity::find()
        .filter(social_flow::Column::ClientIp.eq(request.client_ip))
        .filter(social_flow::Column::ConsumedAt.is_null())
        .filter(social_flow::Column::ExpiresAt.gt(now));
    if app
        .db
        .read()
        .count(open)
        .await
        .map_err(|_| StartRefused::Unavailable)?
        >= MAX_FLOWS_PER_IP
    {
        return Err(StartRefused::TooMany);
    }
    let metadata = app
        .social
        .metadata(provider, false)
        .await
        .map_err(unavailable)?;
    let redirect =
        RedirectUrl::new(callback_url(app, provider)).map_err(|_| StartRefused::Unavailable)?;
    let client = client_of(provider, metadata.clone()).set_redirect_uri(redirect);
    let (pkce, verifier) = PkceCodeChallenge::new_random_sha256();
    let (state, nonce) = (random_token(), random_token());
    let (state_for, nonce_for) = (state.clone(), nonce.clone());
    let mut authorize = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || CsrfToken::new(state_for),
            move || Nonce::new(nonce_for),
        )
        .set_pkce_challenge(pkce);
    for scope in provider.scopes.iter().filter(|s| *s != "openid") {
        authorize = authorize.add_scope(Scope::new(scope.clone()));
    }
    if provider.form_post {
        authorize = authorize.add_extra_param("response_mode", "form_post");
    }
    let (url, _, _) = authorize.url();
    let ttl = chrono::Duration::from_std(app.settings.social.state_ttl)
        .unwrap_or(chrono::Duration::minutes(10));
    social_flow::ActiveModel {
        id: Set(Uuid::now_v7()),
        provider: Set(provider.name.clone()),
        state_hash: Set(sha256_hex(&state)),
        nonce: Set(nonce),
        verifier: Set(verifier.secret().clone()),
        redirect_to: Set(target.to_string()),
        code_challenge: Set(challenge),
        client_ip: Set(request.client_ip.chars().take(64).collect()),
        created_at: Set(now),
        expires_at: Set(now + ttl),
        consumed_at: Set(None),
    }
    .insert(app.db.alone())
    .await
    .map_err(|_| StartRefused::Unavailable)?;
    Ok(url)
}

/// What the callback answers: a `400` page (no target to trust), or a
/// `303` to the app's target.
pub enum Callback {
    Invalid,
    Redirect(Url),
}

/// The provider's answer, from the query string or the posted form.
#[derive(Default)]
pub struct ProviderAnswer {
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
    pub iss: Option<String>,
}

/// `GET|POST /auth/{provider}/callback`.
#[tracing::instrument(skip_all)]
pub async fn callback(app: &AppContext, name: &str, answer: ProviderAnswer) -> AppResult<Callback> {
    let Some(state) = answer
        .state
        .as_deref()
        .filter(|s| !s.is_empty() && s.len() <= 128)
    else {
        return Ok(Callback::Invalid);
    };
    let now = now();
    let hash = sha256_hex(state);
    // A made-up state costs one read and no write (API.md §8.9).
    let known = social_flow::Entity::find().filter(social_flow::Column::StateHash.eq(hash.clone()));
    if app.db.read().one(known).await?.is_none() {
        return Ok(Callback::Invalid);
    }
    // Used up once, whatever happens next: of concurrent callbacks with one
    // state at most one goes on.
    let used = social_flow::Entity::update_many()
        .col_expr(social_flow::Column::ConsumedAt, Expr::value(Some(now)))
        .filter(social_flow::Column::StateHash.eq(hash))
        .filter(social_flow::Column::ConsumedAt.is_null())
        .filter(social_flow::Column::ExpiresAt.gt(now))
        .exec_with_returning(app.db.alone())
        .await?;
    let Some(flow) = used.into_iter().next().filter(|f| f.provider == name) else {
        return Ok(Callback::Invalid);
    };
    let (Ok(target), Some(provider)) = (
        Url::parse(&flow.redirect_to),
        app.settings.social.provider(name),
    ) else {
        return Ok(Callback::Invalid);
    };
    let fail = |error: &str| Callback::Redirect(with_answer(target.clone(), &[("error", error)]));
    // RFC 9207: an answer naming another issuer is not this provider's.
    if answer
        .iss
        .as_deref()
        .is_some_and(|iss| iss != provider.issuer)
    {
        return Ok(fail("invalid_response"));
    }
    if let Some(error) = answer.error.as_deref() {
        // Registered codes only, and no description: anyone may begin a
        // flow and send someone its callback with words of their own.
        let known = KNOWN_ERRORS.contains(&error);
        return Ok(fail(if known { error } else { "invalid_response" }));
    }
    let asserted = match verified(app, provider, &flow, &answer).await {
        Ok(asserted) => asserted,
        Err(why) => {
            tracing::warn!(reason = %why, "a social sign-in's answer did not verify");
            return Ok(fail("invalid_response"));
        }
    };
    let code = random_token();
    let ttl = chrono::Duration::from_std(app.settings.sign_in.exchange_code_ttl)
        .unwrap_or(chrono::Duration::minutes(1));
    social_code::ActiveModel {
        id: Set(Uuid::now_v7()),
        code_hash: Set(sha256_hex(&code)),
        provider: Set(provider.name.clone()),
        issuer: Set(asserted.issuer),
        subject: Set(asserted.subject),
        email: Set(asserted.email),
        email_verified: Set(asserted.email_verified),
        given_name: Set(asserted.given_name),
        family_name: Set(asserted.family_name),
        code_challenge: Set(flow.code_challenge),
        created_at: Set(now),
        expires_at: Set(now + ttl),
        consumed_at: Set(None),
    }
    .insert(app.db.alone())
    .await?;
    Ok(Callback::Redirect(with_answer(target, &[("code", &code)])))
}

/// Exchanges the provider's code and verifies its ID token (RFC 9207's
/// `iss` first, when sent).
async fn verified(
    app: &AppContext,
    provider: &OidcProvider,
    flow: &social_flow::Model,
    answer: &ProviderAnswer,
) -> Result<Asserted, String> {
    let code = answer.code.clone().ok_or("no code")?;
    let metadata = app
        .social
        .metadata(provider, false)
        .await
        .map_err(|e| e.0)?;
    let redirect = RedirectUrl::new(callback_url(app, provider)).map_err(|e| e.to_string())?;
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
