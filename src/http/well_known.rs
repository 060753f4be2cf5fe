//! `/.well-known/jwks.json` and `/.well-known/openid-configuration`: what
//! JWKS-discovering verifiers (Apollo Router, Hasura, `jose`, Envoy) fetch
//! to check access tokens without any secret (API.md §8.3).

use poem::http::header;
use poem::web::Data;
use poem::{Response, handler};
use serde_json::json;

use crate::http::oauth::endpoints::metadata;
use crate::http::state::AppState;

/// Verifiers cache keys; rotation keeps old keys published long enough.
const CACHE: &str = "public, max-age=300";

fn json_response(body: &serde_json::Value) -> Response {
    Response::builder()
        .content_type("application/json")
        .header(header::CACHE_CONTROL, CACHE)
        .body(serde_json::to_vec(body).unwrap_or_default())
}

/// The public JWK of the current and every previous asymmetric key;
/// `{"keys": []}` under HS256, whose key is never published.
#[handler]
pub async fn jwks(Data(state): Data<&AppState>) -> Response {
    json_response(&serde_json::to_value(state.app.keys.jwks()).unwrap_or_default())
}

/// RFC 8414 metadata: the provider's document, `404` while it is off.
#[handler]
pub async fn oauth_authorization_server(Data(state): Data<&AppState>) -> Response {
    match metadata(&state.app) {
        Some(doc) => json_response(&doc),
        None => Response::builder()
            .status(poem::http::StatusCode::NOT_FOUND)
            .finish(),
    }
}

#[handler]
pub async fn openid_configuration(Data(state): Data<&AppState>) -> Response {
    if let Some(doc) = metadata(&state.app) {
        return json_response(&doc);
    }
    let keys = &state.app.keys;
    json_response(&json!({
        "issuer": keys.issuer(),
        "jwks_uri": format!("{}/.well-known/jwks.json", state.app.settings.public_url),
        "id_token_signing_alg_values_supported": [keys.algorithm().name()],
        "subject_types_supported": ["public"],
        "response_types_supported": ["token"],
        "claims_supported": ["iss", "aud", "sub", "sid", "iat", "exp", "auth_time", "scope"],
    }))
}
