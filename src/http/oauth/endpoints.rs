//! `/oauth/userinfo`, `/oauth/logout`, `/oauth/register`, the metadata
//! documents (API.md §9.3), and `405` for a `GET` of a `POST` route.

use poem::http::{HeaderValue, StatusCode};
use poem::web::Data;
use poem::{Body, Request, Response, handler};
use serde_json::{Value, json};

use super::authorize::{bad_page, fault_page};
use super::common::{
    FormError, Params, form, json, not_found, oauth_page, param, query, retry_after, see_other,
    session_cookie, set_session_cookie,
};
use crate::http::client::client_info;
use crate::http::state::AppState;
use crate::services::AppContext;
use crate::services::oauth::clients::{self, RegistrationError};
use crate::services::oauth::logout::{self, LogoutRequest};
use crate::services::oauth::resource;
use crate::services::shared::rate_limit::{Verdict, hit, ip_key};

#[handler]
pub async fn method_not_allowed(req: &Request, Data(state): Data<&AppState>) -> Response {
    let oauth = &state.app.settings.oauth;
    if !oauth.enabled || (req.uri().path() == "/oauth/register" && !oauth.dynamic_registration) {
        return not_found();
    }
    Response::builder()
        .status(StatusCode::METHOD_NOT_ALLOWED)
        .header("allow", "POST")
        .finish()
}

fn bearer_error(status: StatusCode, challenge: &'static str) -> Response {
    let mut resp = json(status, &json!({"error": challenge_error(challenge)}));
    resp.headers_mut()
        .insert("www-authenticate", HeaderValue::from_static(challenge));
    resp
}

fn challenge_error(challenge: &str) -> &'static str {
    if challenge.contains("insufficient_scope") {
        "insufficient_scope"
    } else {
        "invalid_token"
    }
}

async fn userinfo(req: &Request, state: &AppState) -> Response {
    let app = &state.app;
    if !app.settings.oauth.enabled {
        return not_found();
    }
    let header = req
        .headers()
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let bearer = header
        .trim()
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"));
    let Some((_, token)) = bearer else {
        let mut resp = json(
            StatusCode::UNAUTHORIZED,
            &json!({"error": "invalid_request"}),
        );
        resp.headers_mut()
            .insert("www-authenticate", HeaderValue::from_static("Bearer"));
        return resp;
    };
    match resource::access_token(app, token.trim()).await {
        Ok(Some(access)) if access.scopes.has("openid") => {
            json(StatusCode::OK, &resource::userinfo(&access))
        }
        Ok(Some(_)) => bearer_error(
            StatusCode::FORBIDDEN,
            "Bearer error=\"insufficient_scope\", scope=\"openid\"",
        ),
        Ok(None) => bearer_error(StatusCode::UNAUTHORIZED, "Bearer error=\"invalid_token\""),
        Err(e) => {
            e.log();
            json(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"error": "server_error"}),
            )
        }
    }
}

#[handler]
pub async fn userinfo_get(req: &Request, Data(state): Data<&AppState>) -> Response {
    userinfo(req, state).await
}

#[handler]
pub async fn userinfo_post(req: &Request, body: Body, Data(state): Data<&AppState>) -> Response {
    // The token travels in the header; the body is read only within the limit.
    if body
        .into_bytes_limit(state.app.settings.max_body_bytes)
        .await
        .is_err()
    {
        return json(
            StatusCode::PAYLOAD_TOO_LARGE,
            &json!({"error": "invalid_request"}),
        );
    }
    userinfo(req, state).await
}

async fn end_session(req: &Request, params: Params, state: &AppState) -> Response {
    let app = &state.app;
    if !app.settings.oauth.enabled {
        return not_found();
    }
    let cookie = session_cookie(req, state);
    let request = LogoutRequest {
        id_token_hint: param(&params, "id_token_hint"),
        post_logout_redirect_uri: param(&params, "post_logout_redirect_uri"),
        state: param(&params, "state"),
        client_id: param(&params, "client_id"),
        cookie: cookie.as_deref(),
    };
    let who = client_info(req, &app.settings.trusted_proxies);
    match logout::logout(app, request, &who).await {
        Ok(Ok(done)) => {
            let mut resp = match done.redirect {
                Some(to) => see_other(&to),
                None => oauth_page(
                    StatusCode::OK,
                    "Signed out",
                    "<p>You are signed out of the application.</p>",
                ),
            };
            if done.clear_cookie {
                set_session_cookie(&mut resp, state, None);
            }
            resp
        }
        Ok(Err(why)) => bad_page(StatusCode::BAD_REQUEST, why),
        Err(e) => fault_page(e),
    }
}

#[handler]
pub async fn logout_get(req: &Request, Data(state): Data<&AppState>) -> Response {
    end_session(req, query(req), state).await
}

#[handler]
pub async fn logout_post(req: &Request, body: Body, Data(state): Data<&AppState>) -> Response {
    match form(req, body, state).await {
        Ok(params) => end_session(req, params, state).await,
        Err(FormError::TooLarge) => {
            bad_page(StatusCode::PAYLOAD_TOO_LARGE, "the request is too large")
        }
        Err(FormError::NotForm) => bad_page(StatusCode::BAD_REQUEST, "the request is not a form"),
    }
}

fn registration_error(error: &str, description: &str) -> Response {
    json(
        StatusCode::BAD_REQUEST,
        &json!({"error": error, "error_description": description}),
    )
}

/// `POST /oauth/register` (RFC 7591): public clients only.
#[handler]
pub async fn register(req: &Request, body: Body, Data(state): Data<&AppState>) -> Response {
    let app = &state.app;
    if !app.settings.oauth.enabled || !app.settings.oauth.dynamic_registration {
        return not_found();
    }
    let who = client_info(req, &app.settings.trusted_proxies);
    match hit(
        app.db.alone(),
        &ip_key("oauth-register", &who.ip),
        app.settings.oauth.registration_rate_limit,
        crate::db::now(),
    )
    .await
    {
        Ok(Verdict::Allowed) => {}
        Ok(Verdict::Limited { retry_after_secs }) => {
            return retry_after(
                json(
                    StatusCode::TOO_MANY_REQUESTS,
                    &json!({"error": "rate_limited", "error_description": "too many registrations"}),
                ),
                retry_after_secs,
            );
        }
        Err(e) => {
            crate::error::AppError::from(e).log();
            return json(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"error": "server_error"}),
            );
        }
    }
    let Ok(bytes) = body.into_bytes_limit(app.settings.max_body_bytes).await else {
        return json(
            StatusCode::PAYLOAD_TOO_LARGE,
            &json!({"error": "invalid_client_metadata"}),
        );
    };
    let Ok(Value::Object(meta)) = serde_json::from_slice::<Value>(&bytes) else {
        return registration_error("invalid_client_metadata", "the body must be a JSON object");
    };
    register_client(app, &meta).await
}

fn strings(v: Option<&Value>) -> Result<Option<Vec<String>>, ()> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned).ok_or(()))
            .collect::<Result<Vec<_>, ()>>()
            .map(Some),
        Some(_) => Err(()),
    }
}

async fn register_client(app: &AppContext, meta: &serde_json::Map<String, Value>) -> Response {
    let bad = |d: &str| registration_error("invalid_client_metadata", d);
    let Ok(Some(redirect_uris)) = strings(meta.get("redirect_uris")) else {
        return registration_error("invalid_redirect_uri", "redirect_uris is required");
    };
    let Ok(post_logout) = strings(meta.get("post_logout_redirect_uris")) else {
        return registration_error(
            "invalid_redirect_uri",
            "post_logout_redirect_uris must be strings",
        );
    };
    let name = match meta.get("client_name") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return bad("client_name must be a string"),
    };
    match meta.get("token_endpoint_auth_method") {
        None | Some(Value::Null) => {}
        Some(Value::String(m)) if m == "none" => {}
        Some(_) => return bad("token_endpoint_auth_method must be none"),
    }
    // Without refresh_token among its grant types a client gets no
    // `offline_access`, so it is never issued a refresh token.
    let refreshes = match strings(meta.get("grant_types")) {
        Ok(None) => true,
        Ok(Some(g))
            if g.iter().any(|x| x == "authorization_code")
                && g.iter()
                    .all(|x| x == "authorization_code" || x == "refresh_token") =>
        {
            g.iter().any(|x| x == "refresh_token")
        }
        _ => return bad("grant_types must hold authorization_code and at most refresh_token"),
    };
    match strings(meta.get("response_types")) {
        Ok(None) => {}
        Ok(Some(r)) if r == ["code"] => {}
        _ => return bad("response_types must be [\"code\"]"),
    }
    let scope = match meta.get("scope") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return bad("scope must be a string"),
    };
    let scope = match (scope, refreshes) {
        (scope, true) => scope,
        (Some(s), false) => Some(
            s.split(' ')
                .filter(|x| *x != "offline_access")
                .collect::<Vec<_>>()
                .join(" "),
        ),
        (None, false) => Some("openid email profile".to_owned()),
    };
    let created = clients::create_dynamic(
        app,
        name.as_deref(),
        redirect_uris,
        post_logout.unwrap_or_default(),
        scope.as_deref(),
    )
    .await;
    match created {
        Ok(Ok(client)) => {
            let body = json!({
                "client_id": client.id.to_string(),
                "client_id_issued_at": client.created_at.timestamp(),
                "client_name": client.name,
                "redirect_uris": clients::redirect_uris(&client),
                "post_logout_redirect_uris": clients::post_logout_redirect_uris(&client),
                "grant_types": if client.allowed_scopes.split(' ').any(|s| s == "offline_access") {
                    json!(["authorization_code", "refresh_token"])
                } else {
                    json!(["authorization_code"])
                },
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
                "scope": client.allowed_scopes,
            });
            json(StatusCode::CREATED, &body)
        }
        Ok(Err(RegistrationError::InvalidRedirectUri(why))) => {
            registration_error("invalid_redirect_uri", &why)
        }
        Ok(Err(RegistrationError::InvalidClientMetadata(why))) => bad(&why),
        Err(e) => {
            e.log();
            json(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"error": "server_error"}),
            )
        }
    }
}

/// The provider's metadata (both well-known documents), or `None` while
/// it is off.
pub fn metadata(app: &AppContext) -> Option<Value> {
    if !app.settings.oauth.enabled {
        return None;
    }
    let base = &app.settings.public_url;
    let mut doc = json!({
        "issuer": app.keys.issuer(),
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "userinfo_endpoint": format!("{base}/oauth/userinfo"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "introspection_endpoint": format!("{base}/oauth/introspect"),
        "end_session_endpoint": format!("{base}/oauth/logout"),
        "scopes_supported": ["openid", "email", "profile", "offline_access"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [app.keys.algorithm().name()],
        "prompt_values_supported": ["none", "login", "consent"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "amr", "sid", "email", "email_verified", "name", "given_name", "family_name", "preferred_username"],
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
    });
    if app.settings.oauth.dynamic_registration {
        doc["registration_endpoint"] = format!("{base}/oauth/register").into();
    }
    Some(doc)
}
