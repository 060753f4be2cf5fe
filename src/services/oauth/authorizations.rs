//! Authorization requests (API.md §9.3): stored once checked, then decided
//! once — by the built-in pages, or by the application in headless mode —
//! and a code issued for an approval. The request's id is unguessable and
//! stored only as its SHA-256; so is the code.

use chrono::{DateTime, Utc};
use entity::{oauth_authorization as authz, oauth_client, oauth_grant, session, user};
use sea_orm::sea_query::Expr;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QuerySelect,
};
use uuid::Uuid;

use crate::auth::tokens::{random_token, sha256_hex};
use crate::db::now;
use crate::domain::SecurityEventType as Kind;
use crate::domain::oauth::Scopes;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::oauth::request::{Checked, with_query};
use crate::services::shared::client::ClientInfo;
use crate::services::shared::mail::WriteTxn;
use crate::services::shared::rate_limit::{ip_key, seconds_until};
use crate::services::shared::security_events as events;

/// Pending authorization requests one client IP may hold.
pub const MAX_PENDING_PER_IP: u64 = 100;

/// A pending (undecided, unexpired) request and its client.
pub struct Pending {
    pub row: authz::Model,
    pub client: oauth_client::Model,
}

impl Pending {
    pub fn scopes(&self) -> Scopes {
        Scopes::stored(&self.row.scopes)
    }

    pub fn prompts(&self, name: &str) -> bool {
        self.row.prompt.split(' ').any(|p| p == name)
    }
}

/// Where a browser goes next.
pub enum Next {
    SignIn,
    Consent,
    /// Back to the client: a code, or an error.
    Client(String),
}

/// Stores a checked request; `RATE_LIMITED` past `MAX_PENDING_PER_IP`.
/// Answers the request's id (to put in the browser's address bar).
#[tracing::instrument(skip_all)]
pub async fn store(app: &AppContext, checked: Checked, ip: &str) -> AppResult<(String, Pending)> {
    let now = now();
    // Every request stored in the window counts, decided or not, per IPv4
    // address or IPv6 /64.
    let key = ip_key("oauth-authorize", ip);
    let window = || {
        authz::Entity::find()
            .filter(authz::Column::ClientIp.eq(key.clone()))
            .filter(authz::Column::ExpiresAt.gt(now))
    };
    if app.db.read().count(window()).await? >= MAX_PENDING_PER_IP {
        let live = app.db.read().all(window()).await?;
        let ends = live.iter().map(|r| r.expires_at).min().unwrap_or(now);
        return Err(AppError::RateLimited {
            retry_after_secs: seconds_until(ends, now),
        });
    }
    let ttl =
        chrono::Duration::from_std(app.settings.oauth.code_ttl).map_err(AppError::internal)?;
    let id = random_token();
    let row = authz::Model {
        id_hash: sha256_hex(&id),
        client_id: checked.client.id,
        redirect_uri: checked.redirect_uri,
        scopes: checked.scopes.to_space(),
        state: checked.state,
        code_challenge: checked.code_challenge,
        nonce: checked.nonce,
        prompt: checked.prompt,
        max_age: checked.max_age,
        login_hint: checked.login_hint,
        resource: checked.resource,
        client_ip: key,
        created_at: now,
        expires_at: now + ttl,
        decided_at: None,
        user_id: None,
        decider_session_id: None,
        granted_scopes: None,
        auth_time: None,
        amr: None,
        code_hash: None,
        code_used_at: None,
        oauth_session_id: None,
    };
    let row = app.db.insert(authz::ActiveModel::from(row)).await?;
    Ok((
        id,
        Pending {
            row,
            client: checked.client,
        },
    ))
}

/// The pending request `id` names: `None` when unknown, expired or decided.
#[tracing::instrument(skip_all)]
pub async fn find_pending(app: &AppContext, id: &str) -> AppResult<Option<Pending>> {
    if id.is_empty() || id.len() > 128 {
        return Ok(None);
    }
    let select = authz::Entity::find_by_id(sha256_hex(id)).find_also_related(oauth_client::Entity);
    let Some((row, Some(client))) = app.db.read().one_also(select).await? else {
        return Ok(None);
    };
    if row.decided_at.is_some() || row.expires_at <= now() {
        return Ok(None);
    }
    Ok(Some(Pending { row, client }))
}

/// The user's remembered grant for `client`, if any.
pub async fn grant_of(
    app: &AppContext,
    user: Uuid,
    client: Uuid,
) -> AppResult<Option<oauth_grant::Model>> {
    let select = oauth_grant::Entity::find()
        .filter(oauth_grant::Column::UserId.eq(user))
        .filter(oauth_grant::Column::ClientId.eq(client));
    Ok(app.db.read().one(select).await?)
}

/// Whether a session that signed in at `auth_time` must sign in again for
/// `pending`: `prompt=login`, or `max_age` passed — unless it signed in
/// after the request was made (for this request).
pub fn needs_sign_in(pending: &Pending, auth_time: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    if auth_time > pending.row.created_at {
        return false;
    }
    pending.prompts("login")
        || pending
            .row
            .max_age
            .is_some_and(|max| (now - auth_time).num_seconds() > max)
}

/// Whether `user` must consent to `pending` (`consented`: they just did).
pub async fn needs_consent(app: &AppContext, pending: &Pending, user: Uuid) -> AppResult<bool> {
    if pending.client.skip_consent {
        return Ok(false);
    }
    if pending.prompts("consent") {
        return Ok(true);
    }
    let grant = grant_of(app, user, pending.client.id).await?;
    Ok(!grant.is_some_and(|g| Scopes::stored(&g.scopes).covers(pending.scopes())))
}

/// The redirect that answers `pending` with `error` (and its `state`, `iss`).
pub fn error_redirect(app: &AppContext, row: &authz::Model, error: &str) -> String {
    let mut pairs = vec![("error", error)];
    if let Some(state) = row.state.as_deref() {
        pairs.push(("state", state));
    }
    pairs.push(("iss", app.keys.issuer()));
    with_query(&row.redirect_uri, &pairs)
}

/// Marks `pending` decided (denied or refused) and answers `error` at the
/// client. `NOT_FOUND` when it was decided meanwhile.
#[tracing::instrument(skip_all)]
pub async fn refuse(app: &AppContext, pending: &Pending, error: &str) -> AppResult<String> {
    let now = now();
    let done = authz::Entity::update_many()
        .col_expr(authz::Column::DecidedAt, Expr::value(now))
        .filter(authz::Column::IdHash.eq(pending.row.id_hash.clone()))
        .filter(authz::Column::DecidedAt.is_null())
        .exec(app.db.alone())
        .await?;
    if done.rows_affected != 1 {
        return Err(AppError::NotFound);
    }
    Ok(error_redirect(app, &pending.row, error))
}

/// Who decides, and how their session signed in.
pub struct Decider<'a> {
    pub user: &'a user::Model,
    pub session_id: Uuid,
    /// When and how that session signed in: the tokens' `auth_time`, `amr`.
    pub auth_time: DateTime<Utc>,
    pub amr: String,
    pub client: &'a ClientInfo,
}

impl<'a> Decider<'a> {
    /// A browser session deciding.
    pub fn of(user: &'a user::Model, session: &session::Model, client: &'a ClientInfo) -> Self {
        Decider {
            user,
            session_id: session.id,
            auth_time: session.authenticated_at,
            amr: session.amr.clone(),
            client,
        }
    }
}

/// Approves `pending` for `scopes` (a subset of the requested; `openid`
/// kept when requested): the grant remembered (widened), a code issued.
/// `explicit`: the user approved just now (event, and a notice when the
/// grant is new or wider) rather than a remembered grant or a first-party
/// client. Exactly one decision of a request wins.
#[tracing::instrument(skip_all)]
pub async fn approve(
    app: &AppContext,
    pending: &Pending,
    scopes: Scopes,
    decider: Decider<'_>,
    explicit: bool,
) -> AppResult<String> {
    let requested = pending.scopes();
    let mut scopes = scopes.intersect(requested);
    if requested.has("openid") {
        scopes = scopes.union(Scopes::parse_list(["openid"]).unwrap_or_default());
    }
    if scopes.is_empty() {
        return refuse(app, pending, "access_denied").await;
    }
    let now = now();
    // Whatever the way here (page, mutation, a remembered grant), a
    // request that asks for a fresh sign-in gets one.
    if needs_sign_in(pending, decider.auth_time, now) {
        return Err(AppError::ReauthenticationRequired);
    }
    let ttl =
        chrono::Duration::from_std(app.settings.oauth.code_ttl).map_err(AppError::internal)?;
    let code = random_token();
    let txn = WriteTxn::begin(app).await?;
    let done = authz::Entity::update_many()
        .col_expr(authz::Column::DecidedAt, Expr::value(now))
        .col_expr(authz::Column::UserId, Expr::value(Some(decider.user.id)))
        .col_expr(
            authz::Column::DeciderSessionId,
            Expr::value(Some(decider.session_id)),
        )
        .col_expr(
            authz::Column::GrantedScopes,
            Expr::value(Some(scopes.to_space())),
        )
        .col_expr(
            authz::Column::AuthTime,
            Expr::value(Some(decider.auth_time)),
        )
        .col_expr(authz::Column::Amr, Expr::value(Some(decider.amr.clone())))
        .col_expr(
            authz::Column::CodeHash,
            Expr::value(Some(sha256_hex(&code))),
        )
        // The code lives OAUTH_CODE_TTL from now.
        .col_expr(authz::Column::ExpiresAt, Expr::value(now + ttl))
        .filter(authz::Column::IdHash.eq(pending.row.id_hash.clone()))
        .filter(authz::Column::DecidedAt.is_null())
        .filter(authz::Column::ExpiresAt.gt(now))
        .exec(&*txn)
        .await?;
    if done.rows_affected != 1 {
        txn.rollback().await;
        return Err(AppError::NotFound);
    }
    let widened = remember(&txn, decider.user.id, pending.client.id, scopes, now).await?;
    if explicit && !pending.client.skip_consent {
        let origin = ClientInfo {
            session_id: Some(decider.session_id),
            ..decider.client.clone()
        };
        events::record(
            &*txn,
            decider.user.id,
            Kind::OauthConsentGranted,
            &origin,
            None,
        )
        .await?;
        if widened {
            let what = format!(
                "the application \"{}\" was allowed to access your account ({})",
                pending.client.name,
                scopes.names().join(", ")
            );
            txn.notify(decider.user, &what).await?;
        }
    }
    txn.commit().await?;
    let mut pairs = vec![("code", code.as_str())];
    if let Some(state) = pending.row.state.as_deref() {
        pairs.push(("state", state));
    }
    pairs.push(("iss", app.keys.issuer()));
    Ok(with_query(&pending.row.redirect_uri, &pairs))
}

/// Creates or widens the user's grant for a client; true when it is new
/// or wider than before. Parallel approvals neither collide on the unique
/// (user, client) index nor lose a scope: the row is inserted if missing,
/// then read under a lock and widened.
async fn remember(
    txn: &WriteTxn,
    user: Uuid,
    client: Uuid,
    scopes: Scopes,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let inserted = oauth_grant::Entity::insert(oauth_grant::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user),
        client_id: Set(client),
        scopes: Set(scopes.to_space()),
        created_at: Set(now),
        last_used_at: Set(None),
    })
    .on_conflict(
        OnConflict::columns([oauth_grant::Column::UserId, oauth_grant::Column::ClientId])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&**txn)
    .await?;
    if inserted == 1 {
        return Ok(true);
    }
    let grant = oauth_grant::Entity::find()
        .filter(oauth_grant::Column::UserId.eq(user))
        .filter(oauth_grant::Column::ClientId.eq(client))
        .lock_exclusive()
        .one(&**txn)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("grant vanished under its lock")))?;
    let had = Scopes::stored(&grant.scopes);
    if had.covers(scopes) {
        return Ok(false);
    }
    let mut active: oauth_grant::ActiveModel = grant.into();
    active.scopes = Set(had.union(scopes).to_space());
    active.update(&**txn).await?;
    Ok(true)
}
