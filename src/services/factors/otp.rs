//! Two-factor sign-in: emailed codes, authenticator apps, recovery codes.
//!
//! A correct password with two-factor on yields a challenge: a random id
//! for the client (stored only as its SHA-256) and either a 6-digit code
//! by mail (stored only as an HMAC) or the expectation of the app's code. Every rule that must hold across requests and
//! instances — one success, at most `OTP_MAX_ATTEMPTS` wrong tries, resend
//! spacing and count — is a single conditional UPDATE in the database.

use chrono::{DateTime, Utc};
use entity::one_time_code::{self, PURPOSE_LOGIN};
use entity::user;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use crate::auth::assurance::{Assurance, Method};
use crate::auth::recovery_codes as recovery;
use crate::auth::tokens::{
    code_digest, constant_time_eq, random_token, sha256_hex, six_digit_code,
};
use crate::db::now;
use crate::domain::Email;
use crate::domain::SecondFactorMethod;
use crate::domain::SecurityEventType as Kind;
use crate::error::{AppError, AppResult};
use crate::mail::templates;
use crate::services::AppContext;
use crate::services::credentials::login_limits::LoginLimits;
use crate::services::credentials::sessions::{self, Tokens};
use crate::services::factors::codes::{self, AccountCodes};
use crate::services::factors::recovery_codes;
use crate::services::factors::totp;
use crate::services::shared::client::ClientInfo;
use crate::services::shared::identity_links as link;
use crate::services::shared::mail::{Budget, WriteTxn};
use crate::services::shared::security_events as events;
use crate::services::shared::two_factor;

/// A challenge may be re-sent this many times.
pub const MAX_RESENDS: i32 = 3;

/// At most this many sign-in challenges per account are live at once;
/// opening another ends the oldest (API.md §8.1).
pub const MAX_LIVE_CHALLENGES: usize = 3;

/// What the client learns of a challenge (never the code).
pub struct ChallengeIssued {
    pub challenge_id: String,
    pub expires_at: DateTime<Utc>,
    pub sent_to: String,
    pub method: SecondFactorMethod,
}

pub(super) fn masked(user: &user::Model) -> String {
    Email::parse(&user.email)
        .map(|e| e.mask())
        .unwrap_or_else(|_| "***".into())
}

/// What a sign-in challenge follows.
pub struct FirstStep<'a> {
    /// The `amr` of the first step.
    pub method: Method,
    /// The provider of a `fed` first step.
    pub provider: Option<&'a str>,
    /// For `reauthenticate`: the session the code makes fresh.
    pub session: Option<Uuid>,
    /// A `fed` sign-in whose identity is linked when the code is right
    /// (the used social code that holds it).
    pub link_code: Option<Uuid>,
}

/// Opens a sign-in challenge: for a user with an authenticator app it
/// expects the app's code and mails nothing, else it mails a code. With
/// `session`, it is a `reauthenticate` challenge: its code makes that
/// session fresh instead of opening a new one.
#[tracing::instrument(skip_all)]
pub async fn start_challenge(
    app: &AppContext,
    user: &user::Model,
    after: FirstStep<'_>,
) -> AppResult<ChallengeIssued> {
    let FirstStep {
        method: first,
        provider,
        session,
        link_code,
    } = after;
    let settings = &app.settings;
    let now = now();
    let method = two_factor::challenge_method(user);
    let challenge_id = random_token();
    let id = Uuid::now_v7();
    let code = six_digit_code();
    let expires_at =
        now + chrono::Duration::from_std(settings.otp_ttl).map_err(AppError::internal)?;
    let txn = WriteTxn::begin(app).await?;
    one_time_code::ActiveModel {
        id: Set(id),
        user_id: Set(user.id),
        purpose: Set(PURPOSE_LOGIN.to_owned()),
        challenge_hash: Set(Some(sha256_hex(&challenge_id))),
        code_hash: Set(match method {
            SecondFactorMethod::Email => code_digest(settings.secret_bytes(), &id, &code),
            SecondFactorMethod::Totp => String::new(),
        }),
        attempts: Set(0),
        max_attempts: Set(settings.otp_max_attempts as i32),
        resends: Set(0),
        last_sent_at: Set(now),
        expires_at: Set(expires_at),
        consumed_at: Set(None),
        created_at: Set(now),
        session_id: Set(session),
        method: Set(method.as_str().to_owned()),
        first_step: Set(first.as_str().to_owned()),
        provider: Set(provider.map(str::to_owned)),
        link_code_id: Set(link_code),
    }
    .insert(&*txn)
    .await?;
    if let Some(code) = link_code {
        // The used social code holds the identity until the challenge ends.
        link::keep_until(&txn, code, expires_at).await?;
    }
    end_all_but_newest(&txn, user.id, now).await?;
    let sent_to = match method {
        SecondFactorMethod::Email => {
            if let Err(refused) = codes::spend_sign_in_mail(&*txn, settings, user.id).await {
                txn.rollback().await;
                return Err(refused);
            }
            let mail = templates::login_code(&code, &templates::duration_text(settings.otp_ttl));
            txn.mail(user, mail, Budget::Account).await?;
            masked(user)
        }
        SecondFactorMethod::Totp => String::new(),
    };
    txn.commit().await?;
    Ok(ChallengeIssued {
        challenge_id,
        expires_at,
        sent_to,
        method,
    })
}

pub(super) async fn find_challenge(
    app: &AppContext,
    challenge_id: &str,
) -> AppResult<(one_time_code::Model, user::Model)> {
    if challenge_id.is_empty() || challenge_id.len() > 128 {
        return Err(AppError::InvalidToken);
    }
    let challenge = one_time_code::Entity::find()
        .filter(one_time_code::Column::ChallengeHash.eq(sha256_hex(challenge_id)))
        .filter(one_time_code::Column::Purpose.eq(PURPOSE_LOGIN))
        .find_also_related(user::Entity);
    match app.db.read().one_also(challenge).await? {
        Some((row, Some(user))) => Ok((row, user)),
        _ => Err(AppError::InvalidToken),
    }
}

/// What a user typed at `verifyOtp`: six digits (the mailed code or the
/// app's, as the challenge says) or one of their recovery codes.
enum Guess<'a> {
    Digits(&'a str),
    Recovery(String),
}

impl Guess<'_> {
    fn parse(code: &str) -> AppResult<Guess<'_>> {
        match (codes::parse(code), recovery::normalize(code)) {
            (Ok(digits), _) => Ok(Guess::Digits(digits)),
            (_, Some(recovery)) => Ok(Guess::Recovery(recovery)),
            (Err(e), None) => Err(e),
        }
    }
}

/// Exchanges a challenge and its code for a session, once. The challenge
/// is used up and the code judged in one transaction, so a right code is
/// spent (an app's time step, a recovery code) only by the sign-in it
/// completes, and exactly one of any number of parallel tries wins.
#[tracing::instrument(skip_all)]
pub async fn verify(
    app: &AppContext,
    challenge_id: &str,
    code: &str,
    client: &ClientInfo,
) -> AppResult<Tokens> {
    let guess = Guess::parse(code)?;
    let (row, user) = find_challenge(app, challenge_id).await?;
    let limits = LoginLimits::new(&app.settings, &user.email_key, &client.ip);
    let attempt = limits
        .begin(&app.db, app.settings.hash_queue_timeout)
        .await?;
    let now = now();
    if !codes::is_live(&row, now) {
        attempt.withdraw().await?;
        return Err(AppError::InvalidToken);
    }
    let account = AccountCodes::new(&app.settings, user.id);
    let account_left = match account.begin(app.db.alone()).await {
        Ok(left) => left,
        Err(e) => {
            attempt.failed().await?;
            return Err(e);
        }
    };
    let txn = WriteTxn::begin(app).await?;
    if !codes::consume(&*txn, row.id, now).await? {
        txn.rollback().await;
        attempt.withdraw().await?;
        return Err(AppError::InvalidToken);
    }
    let right = match &guess {
        Guess::Digits(digits) => match SecondFactorMethod::from_stored(&row.method) {
            SecondFactorMethod::Email => constant_time_eq(
                &row.code_hash,
                &code_digest(app.settings.secret_bytes(), &row.id, digits),
            ),
            SecondFactorMethod::Totp => totp::claim(&*txn, app, &user, digits).await?,
        },
        Guess::Recovery(code) => recovery_codes::claim(&*txn, app, user.id, code).await?,
    };
    if !right {
        let attempts = codes::release_wrong(&*txn, row.id).await?;
        events::record(&*txn, user.id, Kind::SecondFactorFailed, client, None).await?;
        txn.commit().await?;
        attempt.failed().await?;
        return Err(codes::wrong_answer(&row, Some(attempts), account_left));
    }
    account.clear(&*txn).await?;
    let fresh = user::Entity::find_by_id(user.id).one(&*txn).await?;
    let Some(fresh) = fresh.filter(|u| u.is_active) else {
        txn.rollback().await;
        attempt.withdraw().await?;
        return Err(AppError::InvalidToken);
    };
    let first = Method::parse(&row.first_step).unwrap_or(Method::Pwd);
    let proved = Assurance::first(first).with(match guess {
        Guess::Digits(_) => Method::Otp,
        Guess::Recovery(_) => Method::Rec,
    });
    // A provider sign-in's identity, linked only now that the second factor
    // passed (API.md §9.1 rule 3), in the sign-in's transaction and before
    // the claims hook is asked. Refused: the challenge is used up and the
    // account records the failed sign-in.
    if let Some(code) = row.link_code_id
        && let Err(refused) = link::complete(&txn, app, &fresh, code, client).await
    {
        txn.rollback().await;
        attempt.withdraw().await?;
        // A refusal, not a failure of the database: nothing to record then.
        if matches!(refused, AppError::IdentityLinkRequired) {
            link_refused(app, &row, client).await?;
        }
        return Err(refused);
    }
    let tokens = match row.session_id {
        Some(session_id) => {
            sessions::renew_session(&txn, app, session_id, fresh, proved, client).await
        }
        // After its code was judged, so inside the transaction that judged
        // it: the hook is asked only for a right code.
        None => match sessions::prepare(app, &fresh, client, sessions::proved_now(proved)).await {
            Ok(mut opening) => {
                opening.session.provider = row.provider.clone();
                sessions::open_session(&txn, app, fresh, opening).await
            }
            Err(e) => Err(e),
        },
    };
    let tokens = match tokens {
        Ok(tokens) => tokens,
        Err(e) => {
            txn.rollback().await;
            attempt.withdraw().await?;
            if matches!(e, AppError::HookFailed(_)) {
                // The right code was counted on the account's budget before
                // it was judged; `HOOK_FAILED` uses nothing up (§11.5).
                account.clear(app.db.alone()).await?;
            }
            return Err(e);
        }
    };
    let origin = ClientInfo {
        session_id: Some(row.session_id.unwrap_or(tokens.session_id)),
        ..client.clone()
    };
    match row.session_id {
        Some(_) => {
            let how = events::How::signed_in(&tokens.assurance);
            events::record_how(
                &*txn,
                tokens.user.id,
                Kind::Reauthenticated,
                &origin,
                None,
                how,
            )
            .await?
        }
        None => sessions::record_sign_in(&txn, &tokens, client, row.provider.as_deref()).await?,
    }
    if matches!(guess, Guess::Recovery(_)) {
        events::record(&*txn, tokens.user.id, Kind::RecoveryCodeUsed, &origin, None).await?;
        txn.notify(&tokens.user, "a recovery code was used to sign in")
            .await?;
    }
    txn.commit().await?;
    attempt.succeeded().await?;
    if row.session_id.is_none() {
        // A second factor completing a sign-in (`login` counted the challenge).
        app.metrics.logins.with_label_values(&["success"]).inc();
    }
    Ok(tokens)
}

/// A challenge whose pending link no longer holds: used up, and the
/// account records `LOGIN_FAILED` as the provider sign-in's.
async fn link_refused(
    app: &AppContext,
    row: &one_time_code::Model,
    client: &ClientInfo,
) -> AppResult<()> {
    let txn = WriteTxn::begin(app).await?;
    codes::consume(&*txn, row.id, now()).await?;
    let how = link::how(row.provider.as_deref().unwrap_or_default());
    events::record_how(&*txn, row.user_id, Kind::LoginFailed, client, None, how).await?;
    txn.commit().await?;
    Ok(())
}

/// Ends the user's live sign-in challenges beyond the newest
/// `MAX_LIVE_CHALLENGES`, so logging in again and again opens no more
/// fresh tries than that at once.
async fn end_all_but_newest(
    txn: &WriteTxn,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    let mut live = one_time_code::Entity::find()
        .filter(one_time_code::Column::UserId.eq(user_id))
        .filter(one_time_code::Column::Purpose.eq(PURPOSE_LOGIN));
    for condition in codes::live(now) {
        live = live.filter(condition);
    }
    let older: Vec<Uuid> = live
        .order_by_desc(one_time_code::Column::CreatedAt)
        .order_by_desc(one_time_code::Column::Id)
        .all(&**txn)
        .await?
        .into_iter()
        .skip(MAX_LIVE_CHALLENGES)
        .map(|row| row.id)
        .collect();
    if !older.is_empty() {
        one_time_code::Entity::update_many()
            .col_expr(one_time_code::Column::ConsumedAt, Expr::value(now))
            .filter(one_time_code::Column::Id.is_in(older))
            .exec(&**txn)
            .await?;
    }
    Ok(())
}
