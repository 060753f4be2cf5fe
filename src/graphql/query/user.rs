use async_graphql::{Context, ID, Object, Result};

use crate::graphql::app;
use crate::graphql::guards::IsStaff;
use crate::graphql::pagination::{Connection, Page, connection, page as page_of, page_cost};
use crate::graphql::types::{User, UserFilter, UserOrder, uuid_arg};
use crate::services::account::users;
use crate::services::shared::accounts;
use crate::services::shared::pagination::Window;

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// Staff only: a user, or null if there is none with this id.
    #[graphql(guard = "IsStaff")]
    async fn user(&self, ctx: &Context<'_>, id: ID) -> Result<Option<User>> {
        let id = uuid_arg(&id, "id")?;
        Ok(accounts::find(app(ctx)?, id).await?.map(User::new))
    }

    /// Staff only: users with Relay cursor pagination.
    #[graphql(
        guard = "IsStaff",
        complexity = "page_cost(first.or(last).unwrap_or(20)) * child_complexity + 1"
    )]
    #[allow(
        clippy::too_many_arguments,
        reason = "the arguments are the contract's, one per GraphQL argument"
    )]
    async fn users(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<UserFilter>,
        order_by: Option<UserOrder>,
    ) -> Result<Connection<User>> {
        let select = users::filtered(filter.unwrap_or_default().into())?;
        let window = Window::new(first, after, last, before);
        let ordering = UserOrder::ordering(order_by);
        Ok(connection(ctx, select, &ordering, window, User::new).await?)
    }

    /// Staff only: users by page number.
    #[graphql(
        guard = "IsStaff",
        complexity = "page_cost(page_size) * child_complexity + 1"
    )]
    async fn users_page(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 1)] page: i32,
        #[graphql(default = 20)] page_size: i32,
        filter: Option<UserFilter>,
        order_by: Option<UserOrder>,
    ) -> Result<Page<User>> {
        let select = users::filtered(filter.unwrap_or_default().into())?;
        let ordering = UserOrder::ordering(order_by);
        Ok(page_of(ctx, select, &ordering, (page, page_size), User::new).await?)
    }
}
