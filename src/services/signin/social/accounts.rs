//! The account rules of social sign-in (API.md §9.1), applied when the app
//! exchanges the code a finished flow handed it: a linked identity signs
//! in to its account; an unlinked one is linked or makes an account only
//! where no one can use it to take over someone else's account.

use entity::{identity, social_code, user};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter,
};

use crate::db::now;
use crate::domain::Email;
use crate::domain::SecurityEventType as Kind;
use crate::error::{AppError, AppResult};
use crate::services::AppContext;
use crate::services::shared::accounts::{
    find_by_email, new_account, search_fold, unusable_password,
};
use crate::services::shared::client::ClientInfo;
use crate::services::shared::identity_links::{how, link, may_join};
use crate::services::shared::mail::WriteTxn;
use crate::services::shared::security_events as events;
use crate::services::shared::two_factor;
use crate::services::shared::webhook_outbox;
use crate::services::signin::login::{LoginOutcome, after_federated};

/// The identity a code names, and its account, when linked.
async fn linked(
    app: &AppContext,
    code: &social_code::Model,
) -> AppResult<Option<(identity::Model, user::Model)>> {
    let select = identity::Entity::find()
        .filter(identity::Column::Issuer.eq(code.issuer.clone()))
        .filter(identity::Column::Subject.eq(code.subject.clone()))
        .find_also_related(user::Entity);
    Ok(match app.db.read().one_also(select).await? {
        Some((identity, Some(user))) => Some((identity, user)),
        _ => None,
    })
}

/// `linkIdentity` and `linkIdentityWithIdToken`: links what `code` proved
/// to `user` (no email match asked: the user has just proved both sides).
/// Already the user's: returned as it is; another account's: `FORBIDDEN`.
#[tracing::instrument(skip_all)]
pub async fn link_to(
    app: &AppContext,
    user: &user::Model,
    code: &social_code::Model,
    client: &ClientInfo,
) -> AppResult<identity::Model> {
    let txn = WriteTxn::begin(app).await?;
    let existing = identity::Entity::find()
        .filter(identity::Column::Issuer.eq(code.issuer.clone()))
        .filter(identity::Column::Subject.eq(code.subject.clone()))
        .one(&*txn)
        .await?;
    match existing {
        Some(found) if found.user_id == user.id => {
            txn.rollback().await;
            Ok(found)
        }
        Some(_) => {
            txn.rollback().await;
            Err(AppError::Forbidden)
        }
        None => match link(&txn, app, user, code, client, true).await {
            Ok(made) => {
                txn.commit().await?;
                Ok(made)
            }
            // Linked at the same moment by another request (the unique
            // (issuer, subject) index): answered by who holds it now.
            Err(e) => {
                txn.rollback().await;
                let now_linked = identity::Entity::find()
                    .filter(identity::Column::Issuer.eq(code.issuer.clone()))
                    .filter(identity::Column::Subject.eq(code.subject.clone()));
                match app.db.read().one(now_linked).await? {
                    Some(found) if found.user_id == user.id => Ok(found),
                    Some(_) => Err(AppError::Forbidden),
                    None => Err(e),
                }
            }
        },
    }
}

/// What `exchangeSocialCode` answers for a used-up social code.
#[tracing::instrument(skip_all)]
pub async fn sign_in(
    app: &AppContext,
    code: &social_code::Model,
    client: &ClientInfo,
) -> AppResult<LoginOutcome> {
    if let Some((identity, user)) = linked(app, code).await? {
        if !user.is_active {
            return Err(AppError::AccountNotActive);
        }
        // The identity's email follows the provider; the account's does not.
        identity::Entity::update_many()
            .col_expr(identity::Column::Email, Expr::value(code.email.clone()))
            .col_expr(
                identity::Column::EmailVerified,
                Expr::value(code.email_verified),
            )
            .col_expr(identity::Column::LastUsedAt, Expr::value(Some(now())))
            .filter(identity::Column::Id.eq(identity.id))
            .exec(app.db.alone())
            .await?;
        return after_federated(app, user, &code.provider, None, client).await;
    }
    let social = &app.settings.social;
    // 1. An untrusted provider is believed about who the user is there,
    //    never about an email.
    if !social.is_trusted(&code.provider) {
        return Err(AppError::IdentityLinkRequired);
    }
    // 2. No email the provider vouches for: the same answer whether an
    //    account has the address or not.
    let Some(email) = code
        .email
        .as_deref()
        .filter(|_| code.email_verified)
        .and_then(|e| Email::parse(e).ok())
    else {
        return Err(AppError::IdentityEmailUnverified);
    };
    let txn = WriteTxn::begin(app).await?;
    // Linked meanwhile (another tab, a retry): sign in to that account.
    let again = identity::Entity::find()
        .filter(identity::Column::Issuer.eq(code.issuer.clone()))
        .filter(identity::Column::Subject.eq(code.subject.clone()))
        .one(&*txn)
        .await?;
    if let Some(identity) = again {
        txn.rollback().await;
        let user = crate::services::shared::accounts::find(app, identity.user_id)
            .await?
            .ok_or(AppError::InvalidToken)?;
        if !user.is_active {
            return Err(AppError::AccountNotActive);
        }
        return after_federated(app, user, &code.provider, None, client).await;
    }
    match find_by_email(&*txn, &email).await? {
        // 3. Linked only into an account that rule 3 allows; when its
        //    second factor applies, the link waits for `verifyOtp` (a
        //    sign-in that fails it leaves no identity behind).
        Some(user) => {
            if !may_join(&*txn, &user, code).await? {
                events::record_how(
                    &*txn,
                    user.id,
                    Kind::LoginFailed,
                    client,
                    None,
                    how(&code.provider),
                )
                .await?;
                txn.commit().await?;
                return Err(AppError::IdentityLinkRequired);
            }
            if two_factor::any_on(app, &user) {
                txn.rollback().await;
                return after_federated(app, user, &code.provider, Some(code.id), client).await;
            }
            link(&txn, app, &user, code, client, true).await?;
            txn.commit().await?;
            after_federated(app, user, &code.provider, None, client).await
        }
        // 4. A new account, when sign-up is on.
        None => {
            if !social.signup {
                return Err(AppError::Forbidden);
            }
            let user = create(&txn, &email, code, client).await?;
            link(&txn, app, &user, code, client, false).await?;
            txn.commit().await?;
            after_federated(app, user, &code.provider, None, client).await
        }
    }
}

/// An account from a trusted provider's verified email: active, verified,
/// no password.
async fn create(
    txn: &DatabaseTransaction,
    email: &Email,
    code: &social_code::Model,
    client: &ClientInfo,
) -> AppResult<user::Model> {
    let now = now();
    let mut account = new_account(email, None, unusable_password(), now);
    let first = code.given_name.clone();
    account.search_fold = Set(search_fold(
        email.as_str(),
        None,
        first.as_deref(),
        code.family_name.as_deref(),
    ));
    account.first_name = Set(first);
    account.last_name = Set(code.family_name.clone());
    account.is_active = Set(true);
    account.activated_at = Set(Some(now));
    account.email_verified = Set(true);
    let created = account.insert(txn).await?;
    events::record_how(
        txn,
        created.id,
        Kind::AccountRegistered,
        client,
        None,
        how(&code.provider),
    )
    .await?;
    webhook_outbox::user_created(txn, &created).await?;
    Ok(created)
}
