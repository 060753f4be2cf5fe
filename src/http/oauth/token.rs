//! `POST /oauth/token`, `/oauth/revoke` and `/oauth/introspect` (API.md
//! §9.3, RFC 6749, 7009, 7662): client authentication, then the grant.
//! Every answer is JSON with `Cache-Control: no-store`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use entity::oauth_client;
use poem::http::StatusCode;
use poem::web::Data;
use poem::{Body, Request, Response, handler};
use serde_json::json;

use super::common::{FormError, Params, form, json, not_found, oauth_error, param, retry_after};
use crate::http::client::client_info;
use crate::http::state::AppState;
use crate::services::oauth::client_auth::{self, Presented, Refused};
use crate::services::oauth::resource;
use crate::services::oauth::token::{self as grants, CodeExchange, Failure};

/// What the request presents to authenticate its client.
fn presented(req: &Request, params: &Params) -> Presented {
    let basic = req
        .headers()
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| {
            let (scheme, rest) = h.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("basic").then_some(rest)
        })
        .map(|b| {
            STANDARD
                .decode(b.trim())
                .ok()
                .and_then(|raw| String::from_utf8(raw).ok())
                .and_then(|pair| {
                    let (id, secret) = pair.split_once(':')?;
                    let decode = |s: &str| {
                        url::form_urlencoded::parse(format!("x={s}").as_bytes())
                            .next()
                            .map(|(_, v)| v.into_owned())
                    };
                    Some((decode(id)?, decode(secret)?))
                })
        });
    let posted_secret = param(params, "client_secret").map(str::to_owned);
    match basic {
        Some(Some((id, secret))) => Presented {
            several: posted_secret.is_some() || param(params, "client_id").is_some_and(|c| c != id),
            client_id: Some(id),
            secret: Some(secret),
        },
        // A Basic header that does not decode authenticates nobody.
        Some(None) => Presented {
            client_id: None,
            secret: None,
            several: false,
        },
        None => Presented {
            client_id: param(params, "client_id").map(str::to_owned),
            secret: posted_secret,
            several: false,
        },
    }
}

fn refused(r: Refused) -> Response {
    match r {
        Refused::InvalidClient => oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        ),
        Refused::InvalidRequest => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "use one client authentication method",
        ),
        Refused::RateLimited(secs) => retry_after(
            oauth_error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many failed client authentications",
            ),
            secs,
        ),
        Refused::Server(e) => {
            e.log();
            oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "try again later",
            )
        }
    }
}

fn outcome_of(r: &Refused) -> &'static str {
    match r {
        Refused::InvalidClient => "invalid_client",
        Refused::InvalidRequest => "invalid_request",
        Refused::RateLimited(_) => "rate_limited",
        Refused::Server(_) => "server_error",
    }
}

async fn read_form(req: &Request, body: Body, state: &AppState) -> Result<Params, Response> {
    match form(req, body, state).await {
        Ok(p) => Ok(p),
        Err(FormError::TooLarge) => Err(oauth_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "the body is too large",
        )),
        Err(FormError::NotForm) => Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be form-encoded",
        )),
    }
}

#[handler]
pub async fn exchange(req: &Request, body: Body, Data(state): Data<&AppState>) -> Response {
    let app = &state.app;
    if !app.settings.oauth.enabled {
        return not_found();
    }
    let params = match read_form(req, body, state).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let grant_type = param(&params, "grant_type").unwrap_or("");
    let label = match grant_type {
        "authorization_code" | "refresh_token" => grant_type,
        _ => "other",
    };
    let count = |outcome: &str| {
        app.metrics
            .oauth_token_requests
            .with_label_values(&[label, outcome])
            .inc();
    };
    let who = client_info(req, &app.settings.trusted_proxies);
    let client =
        match client_auth::authenticate(app, &presented(req, &params), &who.ip, false).await {
            Ok(c) => c,
            Err(r) => {
                count(outcome_of(&r));
                return refused(r);
            }
        };
    let result = match grant_type {
        "authorization_code" => {
            let exchange = CodeExchange {
                code: param(&params, "code").unwrap_or(""),
                redirect_uri: param(&params, "redirect_uri").unwrap_or(""),
                verifier: param(&params, "code_verifier").unwrap_or(""),
                resource: param(&params, "resource"),
            };
            grants::exchange_code(app, &client, exchange, &who).await
        }
        "refresh_token" => {
            grants::refresh(
                app,
                &client,
                param(&params, "refresh_token").unwrap_or(""),
                param(&params, "scope"),
                &who,
            )
            .await
        }
        "" => Err(Failure::InvalidRequest("grant_type is required")),
        _ => {
            count("unsupported_grant_type");
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only authorization_code and refresh_token",
            );
        }
    };
    match result {
        Ok(issued) => {
            count("success");
            let mut body = json!({
                "access_token": issued.access_token,
                "token_type": "Bearer",
                "expires_in": issued.expires_in,
                "scope": issued.scope.to_space(),
            });
            if let Some(id) = issued.id_token {
                body["id_token"] = id.into();
            }
            if let Some(r) = issued.refresh_token {
                body["refresh_token"] = r.into();
            }
            json(StatusCode::OK, &body)
        }
        Err(failure) => {
            let (error, description) = match failure {
                Failure::InvalidRequest(d) => ("invalid_request", d),
                Failure::InvalidGrant(d) => ("invalid_grant", d),
                Failure::InvalidScope => ("invalid_scope", "the scope is wider than the grant"),
                Failure::InvalidTarget => {
                    ("invalid_target", "the resource is not the authorized one")
                }
                Failure::Server(e) => {
                    e.log();
                    count("server_error");
                    return oauth_error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "server_error",
                        "try again later",
                    );
                }
            };
            count(error);
            oauth_error(StatusCode::BAD_REQUEST, error, description)
        }
    }
}

/// A form of an authenticated client (`confidential_only`: introspection),
/// or the answer that refuses it.
async fn client_form(
    req: &Request,
    body: Body,
    state: &AppState,
    confidential_only: bool,
) -> Result<(Params, oauth_client::Model), Response> {
    let app = &state.app;
    if !app.settings.oauth.enabled {
        return Err(not_found());
    }
    let params = read_form(req, body, state).await?;
    let who = client_info(req, &app.settings.trusted_proxies);
    let presented = presented(req, &params);
    match client_auth::authenticate(app, &presented, &who.ip, confidential_only).await {
        Ok(client) => Ok((params, client)),
        Err(r) => Err(refused(r)),
    }
}

#[handler]
pub async fn revoke(req: &Request, body: Body, Data(state): Data<&AppState>) -> Response {
    let (params, client) = match client_form(req, body, state, false).await {
        Ok(found) => found,
        Err(resp) => return resp,
    };
    let token = param(&params, "token").unwrap_or("");
    if let Err(e) = resource::revoke(&state.app, &client, token).await {
        e.log();
        return oauth_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "try again later",
        );
    }
    json(StatusCode::OK, &json!({}))
}

#[handler]
pub async fn introspect(req: &Request, body: Body, Data(state): Data<&AppState>) -> Response {
    let (params, client) = match client_form(req, body, state, true).await {
        Ok(found) => found,
        Err(resp) => return resp,
    };
    let token = param(&params, "token").unwrap_or("");
    match resource::introspect(&state.app, &client, token).await {
        Ok(body) => json(StatusCode::OK, &body),
        Err(e) => {
            e.log();
            oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "try again later",
            )
        }
    }
}
