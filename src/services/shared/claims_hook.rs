//! The custom-claims hook (API.md §11.5): before a first-party access token
//! is signed, the operator's hook is shown the claims and answers the ones
//! to add. The request is Standard-Webhooks-signed with `HOOK_SECRET`; the
//! answer may never name a claim authql sets itself. A failure is logged
//! (never the answer's body), recorded as `CLAIMS_HOOK_FAILED`, and then
//! fails the mutation (`HOOK_FAILED`, the caller's transaction rolls back
//! so nothing is used up) or, with `HOOK_FAILURE=continue`, is ignored.

use chrono::{SecondsFormat, Utc};
use entity::{session, user};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::auth::assurance::Proof;
use crate::auth::jwt::{Draft, MAX_TOKEN_BYTES};
use crate::auth::tokens::random_token;
use crate::config::ClaimsHook;
use crate::domain::SecurityEventType as Kind;
use crate::domain::organization::Role;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::shared::client::ClientInfo;
use crate::services::shared::security_events as events;
use crate::webhook::sender::Failure;
use crate::webhook::signature;

/// The longest answer read.
const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// Claims the hook may never set: the registered ones and every claim
/// authql sets itself.
const RESERVED: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "sid",
    "scope",
    "auth_time",
    "aal",
    "amr",
    "client_id",
    "org_id",
    "org_role",
    "typ",
    "https://hasura.io/jwt/claims",
];

/// What is being signed, for the hook's request.
pub struct Minting<'a> {
    pub user: &'a user::Model,
    pub session: &'a session::Model,
    pub proof: &'a Proof,
    /// The session existed before this request (a refresh, a renewal):
    /// then a failure's event names it.
    pub existing: bool,
    /// The session's active organization: its id, slug and the role.
    pub organization: Option<(Uuid, String, Role)>,
}

fn time(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn request_body(minting: &Minting, claims: Value, trigger: &str) -> String {
    let (user, session) = (minting.user, minting.session);
    json!({
        "type": "token.claims",
        "timestamp": time(Utc::now()),
        "data": {
            "trigger": trigger,
            "user": {
                "id": user.id.to_string(),
                "email": user.email,
                "username": user.username,
                "isStaff": user.is_staff,
                "twoFactorEnabled": user.two_factor_enabled || user.totp_enabled,
                "dateJoined": time(user.date_joined),
            },
            "session": {
                "id": session.id.to_string(),
                "createdAt": time(session.created_at),
                "authenticatedAt": time(minting.proof.at),
                "ip": session.ip,
                "userAgent": session.user_agent,
            },
            "organization": minting.organization.as_ref().map(|(id, slug, role)| json!({
                "id": id.to_string(), "slug": slug, "role": role.as_str(),
            })),
            "claims": claims,
        }
    })
    .to_string()
}

/// The claims an answer adds, or why it is invalid.
fn read_answer(status: u16, body: &[u8]) -> Result<Map<String, Value>, String> {
    if status != 200 {
        return Err(format!("the hook answered HTTP {status}"));
    }
    let Ok(Value::Object(mut answer)) = serde_json::from_slice::<Value>(body) else {
        return Err("the answer is not a JSON object".into());
    };
    let claims = match answer.remove("claims") {
        None => Map::new(),
        Some(Value::Object(claims)) => claims,
        Some(_) => return Err("`claims` is not an object".into()),
    };
    // Case-insensitively, and no control characters: some verifiers look
    // claims up ignoring case or stop at a NUL.
    let reserved = |k: &str| {
        RESERVED.iter().any(|r| r.eq_ignore_ascii_case(k)) || k.chars().any(char::is_control)
    };
    if let Some(name) = claims.keys().find(|k| reserved(k)) {
        return Err(format!("the answer sets the reserved claim {name:?}"));
    }
    Ok(claims)
}

async fn call(
    app: &AppContext,
    hook: &ClaimsHook,
    body: String,
) -> Result<Map<String, Value>, String> {
    let id = format!(
        "msg_{}",
        random_token().chars().take(32).collect::<String>()
    );
    let timestamp = Utc::now().timestamp();
    let headers = [
        ("webhook-id", id.clone()),
        ("webhook-timestamp", timestamp.to_string()),
        (
            "webhook-signature",
            signature::header(std::slice::from_ref(&hook.key), &id, timestamp, &body),
        ),
    ];
    let Some(sender) = &app.hook_sender else {
        return Err("the hook's client is not set up".into());
    };
    match sender
        .post_for_body(&hook.url, &headers, body, MAX_ANSWER_BYTES)
        .await
    {
        Ok((status, answer)) => read_answer(status, &answer),
        Err(Failure::Transport(why)) => Err(why),
        Err(Failure::Internal) => Err("the hook's address was refused".into()),
    }
}

/// Adds what the hook answers to `draft`; on failure, `HOOK_FAILED` (deny)
/// or nothing added (continue). No hook configured: nothing happens.
#[tracing::instrument(skip_all)]
pub async fn add_claims(
    app: &AppContext,
    draft: &mut Draft,
    minting: Minting<'_>,
    client: &ClientInfo,
) -> AppResult<()> {
    let Some(hook) = &app.settings.webhooks.claims_hook else {
        return Ok(());
    };
    let trigger = client.trigger.as_deref().unwrap_or("unknown");
    let body = request_body(&minting, draft.to_json(), trigger);
    let why = match call(app, hook, body).await {
        Ok(claims) => {
            let mut added = draft.clone();
            added.extend(claims);
            // A token `verify` would refuse is a failed answer, not a 401 later.
            match app.keys.sign(added.clone()) {
                Ok(token) if token.token.len() <= MAX_TOKEN_BYTES => {
                    *draft = added;
                    return Ok(());
                }
                _ => format!(
                    "the answer's claims make the token longer than {MAX_TOKEN_BYTES} bytes"
                ),
            }
        }
        Err(why) => why,
    };
    tracing::warn!(reason = %why, trigger, "custom-claims hook failed");
    // Recorded on its own once the caller's transaction lets go (SQLite
    // serialises writers): a failure under `deny` rolls that back.
    let origin = ClientInfo {
        // The session the token is for, when it exists or will (continue).
        session_id: if minting.existing || !hook.deny {
            Some(minting.session.id)
        } else {
            client.session_id
        },
        ..client.clone()
    };
    let (db, user_id): (_, Uuid) = (app.db.clone(), minting.user.id);
    tokio::spawn(async move {
        events::record_alone(
            &db,
            user_id,
            Kind::ClaimsHookFailed,
            &origin,
            Default::default(),
        )
        .await;
    });
    match hook.deny {
        true => Err(AppError::HookFailed(why)),
        false => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_that_name_a_reserved_claim_or_are_not_objects_are_invalid() {
        assert_eq!(read_answer(200, b"{}").unwrap().len(), 0);
        assert_eq!(
            read_answer(200, br#"{"claims":{"app_plan":"pro"}}"#).unwrap()["app_plan"],
            "pro"
        );
        for bad in [
            &br#"{"claims":{"sub":"x"}}"#[..],
            br#"{"claims":{"amr":[]}}"#,
            br#"{"claims":{"SID":"x"}}"#,
            br#"{"claims":{"sub\u0000":"x"}}"#,
            br#"{"claims":[]}"#,
            b"[]",
            b"nope",
        ] {
            assert!(
                read_answer(200, bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(read_answer(201, b"{}").is_err());
    }
}
