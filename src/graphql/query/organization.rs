use async_graphql::{Context, ID, Object, Result};

use crate::graphql::app;
use crate::graphql::guards::{IsAuthenticated, viewer};
use crate::graphql::pagination::{Connection, connection, page_cost};
use crate::graphql::types::organization::{InvitationPreview, Organization, with_models};
use crate::graphql::types::uuid_arg;
use crate::services::organizations::{invitations, orgs};
use crate::services::shared::pagination::Window;

#[derive(Default)]
pub struct OrganizationQuery;

#[Object]
impl OrganizationQuery {
    /// The viewer's organizations, in the order the viewer joined them.
    #[graphql(
        guard = "IsAuthenticated",
        complexity = "page_cost(first.or(last).unwrap_or(20)) * child_complexity + 1"
    )]
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Organization>> {
        let me = viewer(ctx)?;
        let window = Window::new(first, after, last, before);
        let select = orgs::memberships_of(me.id);
        let ordering = orgs::joined_order();
        let mut found =
            connection(ctx, select, &ordering, window, Organization::of_membership).await?;
        with_models(ctx, found.nodes_mut()).await?;
        Ok(found)
    }

    /// Null unless the viewer is a member.
    #[graphql(guard = "IsAuthenticated")]
    async fn organization(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Organization>> {
        let id = uuid_arg(&id, "id")?;
        let found = orgs::find(app(ctx)?, viewer(ctx)?.id, id).await?;
        Ok(found.map(Organization::seen))
    }

    /// Case-insensitive; null unless the viewer is a member.
    #[graphql(guard = "IsAuthenticated")]
    async fn organization_by_slug(
        &self,
        ctx: &Context<'_>,
        slug: String,
    ) -> Result<Option<Organization>> {
        let found = orgs::find_by_slug(app(ctx)?, viewer(ctx)?.id, &slug).await?;
        Ok(found.map(Organization::seen))
    }

    /// Anyone holding a live invitation token; else null.
    async fn invitation_preview(
        &self,
        ctx: &Context<'_>,
        token: String,
    ) -> Result<Option<InvitationPreview>> {
        let found = invitations::live(app(ctx)?, &token).await?;
        Ok(found.map(|(inv, org)| InvitationPreview::new(inv, org)))
    }
}
