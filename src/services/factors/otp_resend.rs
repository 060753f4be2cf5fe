//! `resendOtp`: a new mailed code for a live sign-in challenge, replacing
//! the old one — no sooner than `OTP_RESEND_INTERVAL` after the last, at
//! most `MAX_RESENDS` times, and without resetting the wrong-try count.

use entity::one_time_code;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::auth::tokens::{code_digest, six_digit_code};
use crate::db::now;
use crate::domain::SecondFactorMethod;
use crate::error::{AppError, AppResult};
use crate::mail::templates;
use crate::services::AppContext;
use crate::services::factors::codes;
use crate::services::factors::otp::{ChallengeIssued, MAX_RESENDS, find_challenge, masked};
use crate::services::shared::mail::{Budget, WriteTxn};
use crate::services::shared::rate_limit::seconds_until;

/// Mails a new code that replaces the old one: no sooner than
/// `OTP_RESEND_INTERVAL` after the last, at most `MAX_RESENDS` times, and
/// without resetting the wrong-try count.
#[tracing::instrument(skip_all)]
pub async fn resend(app: &AppContext, challenge_id: &str) -> AppResult<ChallengeIssued> {
    let settings = &app.settings;
    let (row, user) = find_challenge(app, challenge_id).await?;
    let now = now();
    if !codes::is_live(&row, now) {
        return Err(AppError::InvalidToken);
    }
    if SecondFactorMethod::from_stored(&row.method) == SecondFactorMethod::Totp {
        return Err(AppError::field(
            "challengeId",
            "this challenge's code comes from the authenticator app: nothing is mailed",
        ));
    }
    let interval =
        chrono::Duration::from_std(settings.otp_resend_interval).map_err(AppError::internal)?;
    let code = six_digit_code();
    let txn = WriteTxn::begin(app).await?;
    let mut update = one_time_code::Entity::update_many()
        .col_expr(
            one_time_code::Column::CodeHash,
            Expr::value(code_digest(settings.secret_bytes(), &row.id, &code)),
        )
        .col_expr(
            one_time_code::Column::Resends,
            Expr::col(one_time_code::Column::Resends).add(1),
        )
        .col_expr(one_time_code::Column::LastSentAt, Expr::value(now))
        .filter(one_time_code::Column::Id.eq(row.id))
        .filter(one_time_code::Column::Resends.lt(MAX_RESENDS))
        .filter(one_time_code::Column::LastSentAt.lte(now - interval));
    for condition in codes::live(now) {
        update = update.filter(condition);
    }
    let updated = update.exec(&*txn).await?.rows_affected == 1;
    if !updated {
        txn.rollback().await;
        // Say why, from the row as it was: the spacing, or the count.
        let retry_after_secs = if row.resends >= MAX_RESENDS {
            seconds_until(row.expires_at, now)
        } else {
            seconds_until(row.last_sent_at + interval, now)
        };
        return Err(AppError::RateLimited { retry_after_secs });
    }
    if let Err(refused) = codes::spend_sign_in_mail(&*txn, settings, user.id).await {
        txn.rollback().await;
        return Err(refused);
    }
    let mail = templates::login_code(&code, &templates::duration_text(settings.otp_ttl));
    txn.mail(&user, mail, Budget::Account).await?;
    txn.commit().await?;
    Ok(ChallengeIssued {
        challenge_id: challenge_id.to_owned(),
        expires_at: row.expires_at,
        sent_to: masked(&user),
        method: SecondFactorMethod::Email,
    })
}
