//! RP-initiated logout (API.md §9.3): an ID token of ours as the hint
//! (expired ones too) names the OAuth session to end; the browser session
//! ends too when the request carries the hint's user's cookie. Nothing
//! ends and nothing redirects unless every check passes.

use entity::{oauth_client, session};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;
use uuid::Uuid;

use crate::db::now;
use crate::domain::SecurityEventType as Kind;
use crate::error::AppResult;
use crate::services::AppContext;
use crate::services::oauth::browser;
use crate::services::oauth::clients;
use crate::services::oauth::request::with_query;
use crate::services::shared::client::ClientInfo;
use crate::services::shared::security_events as events;

pub struct LogoutRequest<'a> {
    pub id_token_hint: Option<&'a str>,
    pub post_logout_redirect_uri: Option<&'a str>,
    pub state: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub cookie: Option<&'a str>,
}

/// What logout answers: where to send the browser (or a page), and
/// whether the browser session's cookie must be cleared.
pub struct LoggedOut {
    pub redirect: Option<String>,
    pub clear_cookie: bool,
}

/// `Err` holds the `400` page's words.
#[tracing::instrument(skip_all)]
pub async fn logout(
    app: &AppContext,
    req: LogoutRequest<'_>,
    who: &ClientInfo,
) -> AppResult<Result<LoggedOut, &'static str>> {
    let Some(hint) = req.id_token_hint.filter(|h| !h.is_empty()) else {
        return Ok(Err("id_token_hint is missing"));
    };
    let Some(decoded) = app.keys.decode_claims(hint, true) else {
        return Ok(Err("id_token_hint is not an ID token of this server"));
    };
    let claims = decoded.claims;
    let text = |n: &str| claims.get(n).and_then(Value::as_str);
    let (Some(aud), Some(sub), Some(sid)) = (text("aud"), text("sub"), text("sid")) else {
        return Ok(Err("id_token_hint is not an ID token of this server"));
    };
    if decoded.typ.as_deref() == Some(crate::auth::jwt::provider::AT_JWT) {
        return Ok(Err("id_token_hint is not an ID token of this server"));
    }
    let (Ok(client_id), Ok(user), Ok(sid)) = (
        aud.parse::<Uuid>(),
        sub.parse::<Uuid>(),
        sid.parse::<Uuid>(),
    ) else {
        return Ok(Err("id_token_hint is not an ID token of this server"));
    };
    if req.client_id.is_some_and(|c| c != aud) {
        return Ok(Err("client_id is not the ID token's audience"));
    }
    let Some(client): Option<oauth_client::Model> = clients::find(app, client_id).await? else {
        return Ok(Err("the ID token's client no longer exists"));
    };
    if let Some(uri) = req.post_logout_redirect_uri
        && !clients::post_logout_redirect_uris(&client)
            .iter()
            .any(|r| r == uri)
    {
        return Ok(Err(
            "post_logout_redirect_uri is not one this client registered",
        ));
    }
    let now = now();
    let txn = app.db.write().await?;
    let ended = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Some(now)))
        .filter(session::Column::Id.eq(sid))
        .filter(session::Column::UserId.eq(user))
        .filter(session::Column::OauthClientId.eq(client.id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    let clear_cookie = match req.cookie {
        Some(cookie) => browser::end(&txn, cookie, user).await?,
        None => false,
    };
    let origin = ClientInfo {
        session_id: Some(sid),
        ..who.clone()
    };
    // Recorded only when something ended: an old hint replayed writes nothing.
    if ended.rows_affected == 1 || clear_cookie {
        events::record(&txn, user, Kind::LoggedOut, &origin, None).await?;
    }
    txn.commit().await?;
    let redirect = req.post_logout_redirect_uri.map(|uri| match req.state {
        Some(state) => with_query(uri, &[("state", state)]),
        None => uri.to_owned(),
    });
    Ok(Ok(LoggedOut {
        redirect,
        clear_cookie,
    }))
}
