//! What resource servers and clients ask of the provider's tokens (API.md
//! §9.3): userinfo, RFC 7662 introspection and RFC 7009 revocation. Every
//! answer reads the session: a token is dead the moment its session ends,
//! on every instance.

use chrono::{DateTime, Utc};
use entity::{oauth_client, refresh_token, session, user};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::auth::jwt::provider::AT_JWT;
use crate::auth::tokens::sha256_hex;
use crate::db::now;
use crate::domain::oauth::Scopes;
use crate::error::AppResult;
use crate::services::AppContext;
use crate::services::credentials::minting::is_provider_session;
use crate::services::oauth::minting::scope_claims;
use crate::services::oauth::token::end_session;

/// A live provider access token: its claims, session and user.
pub struct Access {
    pub claims: Map<String, Value>,
    pub session: session::Model,
    pub user: user::Model,
    pub scopes: Scopes,
}

fn live(sess: &session::Model, user: &user::Model, now: DateTime<Utc>) -> bool {
    sess.revoked_at.is_none() && sess.expires_at > now && user.is_active && sess.user_id == user.id
}

async fn session_and_user(
    app: &AppContext,
    sid: Uuid,
) -> AppResult<Option<(session::Model, user::Model)>> {
    let found = app
        .db
        .read()
        .one_also_by_id(sid, |id| {
            session::Entity::find_by_id(id).find_also_related(user::Entity)
        })
        .await?;
    Ok(match found {
        Some((s, Some(u))) => Some((s, u)),
        _ => None,
    })
}

/// The provider access token `token` is, if it is live right now.
#[tracing::instrument(skip_all)]
pub async fn access_token(app: &AppContext, token: &str) -> AppResult<Option<Access>> {
    let Some(decoded) = app.keys.decode_claims(token, false) else {
        return Ok(None);
    };
    if decoded.typ.as_deref() != Some(AT_JWT) {
        return Ok(None);
    }
    let claims = decoded.claims;
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
    let (Some(sid), Some(client), Some(sub)) = (text("sid"), text("client_id"), text("sub")) else {
        return Ok(None);
    };
    let (Ok(sid), Ok(client), Ok(sub)) = (
        sid.parse::<Uuid>(),
        client.parse::<Uuid>(),
        sub.parse::<Uuid>(),
    ) else {
        return Ok(None);
    };
    let Some((sess, user)) = session_and_user(app, sid).await? else {
        return Ok(None);
    };
    if !live(&sess, &user, now()) || sess.oauth_client_id != Some(client) || user.id != sub {
        return Ok(None);
    }
    let scopes = Scopes::stored(&text("scope").unwrap_or_default());
    Ok(Some(Access {
        claims,
        session: sess,
        user,
        scopes,
    }))
}

/// Userinfo's JSON: `sub` and the granted scopes' claims, current values.
pub fn userinfo(access: &Access) -> Value {
    let mut out = Map::new();
    out.insert("sub".into(), access.user.id.to_string().into());
    scope_claims(&access.user, access.scopes, &mut out);
    Value::Object(out)
}

const INACTIVE: fn() -> Value = || json!({"active": false});

/// An active access token's introspection (`client_id` for a provider's).
fn active_access(c: &Map<String, Value>, provider: bool) -> Value {
    let mut out = json!({"active": true, "token_type": "access_token"});
    let names: &[&str] = if provider {
        &[
            "iss",
            "sub",
            "aud",
            "client_id",
            "scope",
            "sid",
            "iat",
            "exp",
        ]
    } else {
        &["iss", "sub", "aud", "scope", "sid", "iat", "exp"]
    };
    for name in names {
        if let Some(v) = c.get(*name) {
            out[*name] = v.clone();
        }
    }
    out
}

/// RFC 7662: what `client` (confidential) may learn of `token`.
#[tracing::instrument(skip_all)]
pub async fn introspect(
    app: &AppContext,
    client: &oauth_client::Model,
    token: &str,
) -> AppResult<Value> {
    if token.is_empty() || token.len() > crate::auth::jwt::MAX_TOKEN_BYTES {
        return Ok(INACTIVE());
    }
    if let Some(access) = access_token(app, token).await? {
        return Ok(active_access(&access.claims, true));
    }
    if let Some(verified) = app.keys.verify(token) {
        // A first-party access token: live while its session is.
        if let Some((sess, user)) = session_and_user(app, verified.session).await?
            && live(&sess, &user, now())
            && !is_provider_session(&sess)
            && user.id == verified.user
            && let Some(decoded) = app.keys.decode_claims(token, false)
        {
            return Ok(active_access(&decoded.claims, false));
        }
        return Ok(INACTIVE());
    }
    if token.len() <= 256 {
        let select = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(sha256_hex(token)))
            .find_also_related(session::Entity);
        if let Some((row, Some(sess))) = app.db.read().one_also(select).await? {
            let now = now();
            let user = app
                .db
                .read()
                .one(user::Entity::find_by_id(sess.user_id))
                .await?;
            let ok = sess.oauth_client_id == Some(client.id)
                && row.used_at.is_none()
                && row.expires_at > now
                && user.as_ref().is_some_and(|u| live(&sess, u, now));
            if ok {
                return Ok(json!({
                    "active": true,
                    "token_type": "refresh_token",
                    "sub": sess.user_id.to_string(),
                    "client_id": client.id.to_string(),
                    "scope": sess.oauth_scopes,
                    "sid": sess.id.to_string(),
                    "exp": row.expires_at.timestamp(),
                }));
            }
        }
    }
    Ok(INACTIVE())
}

/// RFC 7009: ends the OAuth session of an access or refresh token issued
/// to `client`; anything else is left alone.
#[tracing::instrument(skip_all)]
pub async fn revoke(app: &AppContext, client: &oauth_client::Model, token: &str) -> AppResult<()> {
    if token.is_empty() || token.len() > crate::auth::jwt::MAX_TOKEN_BYTES {
        return Ok(());
    }
    let mut target = None;
    if token.len() <= 256 {
        let select = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(sha256_hex(token)))
            .find_also_related(session::Entity);
        if let Some((_, Some(sess))) = app.db.read().one_also(select).await? {
            target = Some(sess);
        }
    }
    if target.is_none()
        && let Some(decoded) = app.keys.decode_claims(token, true)
        && decoded.typ.as_deref() == Some(AT_JWT)
        && let Some(sid) = decoded.claims.get("sid").and_then(Value::as_str)
        && let Ok(sid) = sid.parse::<Uuid>()
    {
        target = app.db.read().one(session::Entity::find_by_id(sid)).await?;
    }
    if let Some(sess) = target.filter(|s| s.oauth_client_id == Some(client.id)) {
        end_session(app.db.alone(), sess.id, now()).await?;
    }
    Ok(())
}
