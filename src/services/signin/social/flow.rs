//! The browser flow of social sign-in (API.md §9.1): `start` checks what
//! the app asked for, stores the flow in the database (so its callback may
//! land on any instance) and sends the browser to the provider; the
//! callback uses the flow up once, exchanges the provider's code with our
//! PKCE verifier, verifies the ID token, and hands the app a one-time
//! exchange code. No token ever appears in a URL.

use entity::{social_code, social_flow};
use openidconnect::PkceCodeChallenge;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use url::Url;
use uuid::Uuid;

use crate::auth::pkce::is_challenge;
use crate::auth::tokens::{random_token, sha256_hex};
use crate::config::{Provider, with_answer};
use crate::db::now;
use crate::error::AppResult;
use crate::services::AppContext;
use crate::services::signin::social::id_token::Asserted;
use crate::services::signin::social::{github, oidc};

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

/// `{PUBLIC_URL}/auth/{provider}/callback`: never from the request.
fn callback_url(app: &AppContext, name: &str) -> String {
    format!("{}/auth/{name}/callback", app.settings.public_url)
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
        .configured(name)
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
    let (pkce, verifier) = PkceCodeChallenge::new_random_sha256();
    let (state, nonce) = (random_token(), random_token());
    let callback = callback_url(app, provider.name());
    let url = match provider {
        Provider::Oidc(oidc) => {
            let asked = (state.clone(), nonce.clone(), pkce);
            oidc::authorize_url(app, oidc, &callback, asked).await
        }
        Provider::Github(github) => github::authorize_url(github, &callback, state.clone(), pkce)
            .map_err(crate::auth::social_providers::Unavailable),
    };
    let url = url.map_err(|e| {
        tracing::warn!(reason = %e.0, "a sign-in provider is unavailable");
        StartRefused::Unavailable
    })?;
    let ttl = chrono::Duration::from_std(app.settings.social.state_ttl)
        .unwrap_or(chrono::Duration::minutes(10));
    social_flow::ActiveModel {
        id: Set(Uuid::now_v7()),
        provider: Set(provider.name().to_owned()),
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
        app.settings.social.configured(name),
    ) else {
        return Ok(Callback::Invalid);
    };
    let fail = |error: &str| Callback::Redirect(with_answer(target.clone(), &[("error", error)]));
    // RFC 9207: an answer naming another issuer is not this provider's.
    if answer
        .iss
        .as_deref()
        .is_some_and(|iss| iss != provider.issuer())
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
        provider: Set(provider.name().to_owned()),
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

/// The identity the provider's answer proves: its code exchanged with the
/// flow's PKCE verifier, then an ID token (OpenID) or GitHub's API.
async fn verified(
    app: &AppContext,
    provider: Provider<'_>,
    flow: &social_flow::Model,
    answer: &ProviderAnswer,
) -> Result<Asserted, String> {
    let code = answer.code.clone().ok_or("no code")?;
    let callback = callback_url(app, provider.name());
    match provider {
        Provider::Oidc(oidc) => oidc::verified(app, oidc, &callback, flow, code).await,
        Provider::Github(github) => github::verified(github, &callback, flow, code).await,
    }
}
