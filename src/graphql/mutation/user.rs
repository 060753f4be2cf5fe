use async_graphql::{Context, ID, Object, Result};

use crate::graphql::guards::{IsStaff, authenticated, viewer};
use crate::graphql::types::{User, uuid_arg};
use crate::graphql::{app, client};
use crate::services::account::users;
use crate::services::factors::factor_changes;

#[derive(Default)]
pub struct UserMutation;

#[Object]
impl UserMutation {
    /// Staff only: (de)activates an account and mails its owner;
    /// deactivation ends all of its access at once.
    #[graphql(guard = "IsStaff")]
    async fn set_user_active(&self, ctx: &Context<'_>, id: ID, active: bool) -> Result<User> {
        let id = uuid_arg(&id, "id")?;
        let staff = viewer(ctx)?;
        Ok(User::new(
            users::set_active(app(ctx)?, staff, id, active, &client(ctx)?).await?,
        ))
    }

    /// A superuser in a fresh session turns off every second factor of
    /// another user who lost theirs (passkeys stay) and signs them out.
    #[graphql(guard = "IsStaff")]
    async fn reset_second_factors(&self, ctx: &Context<'_>, user_id: ID) -> Result<User> {
        let id = uuid_arg(&user_id, "userId")?;
        let who = authenticated(ctx)?;
        Ok(User::new(
            factor_changes::reset_second_factors(app(ctx)?, who, id, &client(ctx)?).await?,
        ))
    }
}
