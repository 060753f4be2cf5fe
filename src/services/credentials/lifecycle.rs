//! One lifecycle for every credential (API.md §8.8, SECURITY.md rule 4).
//!
//! The normative table lives here as code: what each kind of credential
//! mails and records when it is added or removed, and what account
//! recovery (a completed password reset) and deactivation end. A new kind of
//! credential gets a `Kind` and its row in `rule`, `ENDED_BY_RECOVERY` and
//! `ENDED_BY_DEACTIVATION`; the services that add and remove it call
//! `added`/`removed` in the transaction of the change, and never write
//! their own notice. Deletion ends everything through the tables' cascades.

use chrono::{DateTime, Utc};
use entity::{api_token, email_change, passkey, session};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::domain::SecurityEventType as Event;
use crate::services::credentials::sessions::revoke_sessions;
use crate::services::shared::client::ClientInfo;
use crate::services::shared::mail::WriteTxn;
use crate::services::shared::security_events as events;

/// A kind of credential with a notice and an event on add and remove.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    ApiToken,
    Passkey,
    EmailTwoFactor,
    Totp,
}

struct Rule {
    added: (&'static str, Event),
    removed: (&'static str, Event),
}

/// The notices' words and the events, one row per kind.
fn rule(kind: Kind) -> Rule {
    match kind {
        Kind::ApiToken => Rule {
            added: (
                "a new API token was created for your account",
                Event::ApiTokenCreated,
            ),
            removed: ("an API token was revoked", Event::ApiTokenRevoked),
        },
        Kind::Passkey => Rule {
            added: ("a passkey was added", Event::PasskeyAdded),
            removed: ("a passkey was removed", Event::PasskeyRemoved),
        },
        Kind::EmailTwoFactor => Rule {
            added: ("two-factor sign-in was turned on", Event::TwoFactorEnabled),
            removed: (
                "two-factor sign-in was turned off",
                Event::TwoFactorDisabled,
            ),
        },
        Kind::Totp => Rule {
            added: (
                "an authenticator app was set up for two-factor sign-in",
                Event::TotpEnabled,
            ),
            removed: (
                "the authenticator app was removed from two-factor sign-in",
                Event::TotpDisabled,
            ),
        },
    }
}

/// What a credential's change is: who did it and to what.
pub struct Change<'a> {
    pub kind: Kind,
    /// The credential's own name (a passkey's, a token's), in the notice.
    pub name: Option<&'a str>,
    pub client: &'a ClientInfo,
    /// Staff acting on another's account.
    pub actor: Option<Uuid>,
}

impl<'a> Change<'a> {
    /// The owner changed their own credential.
    pub fn by_owner(kind: Kind, name: Option<&'a str>, client: &'a ClientInfo) -> Change<'a> {
        Change {
            kind,
            name,
            client,
            actor: None,
        }
    }
}

fn notice(what: &str, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("{what} (“{name}”)"),
        None => what.to_owned(),
    }
}

/// A credential was added: the owner's notice and the event, in `txn`.
#[tracing::instrument(skip_all)]
pub async fn added(
    txn: &WriteTxn,
    user: &entity::user::Model,
    change: Change<'_>,
) -> Result<(), DbErr> {
    let (what, event) = rule(change.kind).added;
    record(txn, user, what, event, change).await
}

/// A credential was removed: the owner's notice and the event, in `txn`.
#[tracing::instrument(skip_all)]
pub async fn removed(
    txn: &WriteTxn,
    user: &entity::user::Model,
    change: Change<'_>,
) -> Result<(), DbErr> {
    let (what, event) = rule(change.kind).removed;
    record(txn, user, what, event, change).await
}

async fn record(
    txn: &WriteTxn,
    user: &entity::user::Model,
    what: &str,
    event: Event,
    change: Change<'_>,
) -> Result<(), DbErr> {
    events::record(&**txn, user.id, event, change.client, change.actor).await?;
    txn.notify(user, &notice(what, change.name)).await
}

/// What an account event ends, beyond the credential it names.
#[derive(Clone, Copy, Debug)]
enum Ends {
    Sessions,
    ApiTokens,
    Passkeys,
    PendingEmailChange,
}

/// A completed password reset is recovery: it ends what a holder of the
/// account could have added without the second factor.
const ENDED_BY_RECOVERY: &[Ends] = &[
    Ends::Sessions,
    Ends::ApiTokens,
    Ends::Passkeys,
    Ends::PendingEmailChange,
];

/// Deactivation ends every way in that is not the account's own factor.
const ENDED_BY_DEACTIVATION: &[Ends] = &[Ends::Sessions, Ends::ApiTokens, Ends::PendingEmailChange];

/// Ends what recovery ends; answers the names of the passkeys it removed,
/// for the reset's notice (each also recorded as `PASSKEY_REMOVED`).
#[tracing::instrument(skip_all)]
pub async fn end_at_recovery(
    txn: &WriteTxn,
    user_id: Uuid,
    client: &ClientInfo,
    now: DateTime<Utc>,
) -> Result<Vec<String>, DbErr> {
    let mut ended = Vec::new();
    for what in ENDED_BY_RECOVERY {
        ended.extend(end(txn, *what, user_id, client, now).await?);
    }
    Ok(ended)
}

/// Ends what deactivation ends.
#[tracing::instrument(skip_all)]
pub async fn end_at_deactivation(
    txn: &WriteTxn,
    user_id: Uuid,
    client: &ClientInfo,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    for what in ENDED_BY_DEACTIVATION {
        end(txn, *what, user_id, client, now).await?;
    }
    Ok(())
}

async fn end(
    txn: &WriteTxn,
    what: Ends,
    user_id: Uuid,
    client: &ClientInfo,
    now: DateTime<Utc>,
) -> Result<Vec<String>, DbErr> {
    match what {
        Ends::Sessions => {
            revoke_sessions(&**txn, session::Column::UserId.eq(user_id), now).await?;
        }
        Ends::ApiTokens => {
            api_token::Entity::update_many()
                .col_expr(api_token::Column::RevokedAt, Expr::value(now))
                .filter(api_token::Column::UserId.eq(user_id))
                .filter(api_token::Column::RevokedAt.is_null())
                .exec(&**txn)
                .await?;
        }
        Ends::PendingEmailChange => {
            email_change::Entity::delete_many()
                .filter(email_change::Column::UserId.eq(user_id))
                .filter(email_change::Column::UsedTokenHash.is_null())
                .exec(&**txn)
                .await?;
        }
        Ends::Passkeys => {
            let keys = passkey::Entity::find()
                .filter(passkey::Column::UserId.eq(user_id))
                .order_by_asc(passkey::Column::CreatedAt)
                .all(&**txn)
                .await?;
            passkey::Entity::delete_many()
                .filter(passkey::Column::UserId.eq(user_id))
                .exec(&**txn)
                .await?;
            for _ in &keys {
                events::record(&**txn, user_id, Event::PasskeyRemoved, client, None).await?;
            }
            return Ok(keys.into_iter().map(|k| k.name).collect());
        }
    }
    Ok(Vec::new())
}
