use async_graphql::{Context, ID, Object, Result};

use crate::error::AppError;
use crate::graphql::guards::{IsAuthenticated, viewer};
use crate::graphql::pagination::{Connection, connection, page_cost};
use crate::graphql::types::{SecurityEvent, SecurityEventFilter, uuid_arg};
use crate::services::shared::pagination::Window;
use crate::services::shared::security_events;

#[derive(Default)]
pub struct SecurityEventQuery;

#[Object]
impl SecurityEventQuery {
    /// The viewer's security events, newest first; `userId`: staff may read
    /// any user's (anyone their own).
    #[graphql(
        guard = "IsAuthenticated",
        complexity = "page_cost(first.or(last).unwrap_or(20)) * child_complexity + 1"
    )]
    #[allow(
        clippy::too_many_arguments,
        reason = "the arguments are the contract's, one per GraphQL argument"
    )]
    async fn security_events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<SecurityEventFilter>,
        user_id: Option<ID>,
    ) -> Result<Connection<SecurityEvent>> {
        let me = viewer(ctx)?;
        let user_id = match user_id {
            None => me.id,
            Some(id) => {
                let id = uuid_arg(&id, "userId")?;
                if id != me.id && !me.is_staff {
                    return Err(AppError::Forbidden.into());
                }
                id
            }
        };
        let select = security_events::filtered(user_id, filter.unwrap_or_default().into())?;
        let window = Window::new(first, after, last, before);
        let ordering = security_events::ordering();
        Ok(connection(ctx, select, &ordering, window, SecurityEvent).await?)
    }
}
