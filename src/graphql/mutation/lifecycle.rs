//! An account's life after sign-up (API.md §8.5): changing its address and
//! deleting it.

use async_graphql::{Context, Object, Result};

use crate::graphql::guards::{IsAuthenticated, authenticated};
use crate::graphql::types::User;
use crate::graphql::{app, client};
use crate::services::account::account_deletion;
use crate::services::account::email_change::{self, Confirmed};

#[derive(Default)]
pub struct LifecycleMutation;

#[Object]
impl LifecycleMutation {
    /// Mails the new address a confirmation link and the old one a notice
    /// (fresh session). True for any well-formed address, taken or not.
    #[graphql(guard = "IsAuthenticated")]
    async fn request_email_change(&self, ctx: &Context<'_>, new_email: String) -> Result<bool> {
        email_change::request(app(ctx)?, authenticated(ctx)?, &new_email, &client(ctx)?).await?;
        Ok(true)
    }

    /// Confirms an address change with the mailed link's `uid` and `token`.
    async fn confirm_email_change(
        &self,
        ctx: &Context<'_>,
        uid: String,
        token: String,
    ) -> Result<User> {
        let user = match email_change::confirm(app(ctx)?, &uid, &token, &client(ctx)?).await? {
            Confirmed::Changed(user) | Confirmed::AlreadyChanged(user) => user,
        };
        Ok(User::to_owner(user))
    }

    /// Deletes the signed-in user's account and everything that is its,
    /// after checking the password; the address is mailed a notice.
    #[graphql(guard = "IsAuthenticated")]
    async fn delete_account(&self, ctx: &Context<'_>, password: String) -> Result<bool> {
        account_deletion::delete_account(app(ctx)?, authenticated(ctx)?, &password, &client(ctx)?)
            .await?;
        Ok(true)
    }
}
