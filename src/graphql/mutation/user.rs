use async_graphql::{Context, ID, Object, Result};

use crate::graphql::guards::{IsStaff, viewer};
use crate::graphql::types::{User, uuid_arg};
use crate::graphql::{app, client};
use crate::services::users;

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
}
