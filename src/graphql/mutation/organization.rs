use async_graphql::{Context, ID, Object, Result};

use crate::graphql::guards::{IsAuthenticated, authenticated};
use crate::graphql::types::AuthPayload;
use crate::graphql::types::organization::{
    CreateOrganizationInput, Invitation, Membership, Organization, OrganizationRole,
    UpdateOrganizationInput,
};
use crate::graphql::types::uuid_arg;
use crate::graphql::{app, client};
use crate::services::organizations::{active, invitations, members, orgs};

#[derive(Default)]
pub struct OrganizationMutation;

#[Object]
impl OrganizationMutation {
    /// The creator is OWNER.
    #[graphql(guard = "IsAuthenticated")]
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        input: CreateOrganizationInput,
    ) -> Result<Organization> {
        let who = authenticated(ctx)?;
        let seen = orgs::create(app(ctx)?, who, input.into(), &client(ctx)?).await?;
        Ok(Organization::seen(seen))
    }

    /// OWNER, ADMIN.
    #[graphql(guard = "IsAuthenticated")]
    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateOrganizationInput,
    ) -> Result<Organization> {
        let who = authenticated(ctx)?;
        let id = uuid_arg(&id, "id")?;
        let seen = orgs::update(app(ctx)?, who, id, input.into(), &client(ctx)?).await?;
        Ok(Organization::seen(seen))
    }

    /// OWNER; fresh.
    #[graphql(guard = "IsAuthenticated")]
    async fn delete_organization(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let who = authenticated(ctx)?;
        let id = uuid_arg(&id, "id")?;
        orgs::delete(app(ctx)?, who, id, &client(ctx)?).await?;
        Ok(true)
    }

    /// The same answer whether or not the address has an account.
    #[graphql(guard = "IsAuthenticated")]
    async fn invite_member(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        email: String,
        #[graphql(default_with = "OrganizationRole::Member")] role: OrganizationRole,
    ) -> Result<Invitation> {
        let who = authenticated(ctx)?;
        let org = uuid_arg(&organization_id, "organizationId")?;
        let app = app(ctx)?;
        let inv = invitations::invite(app, who, org, &email, role.into(), &client(ctx)?).await?;
        Ok(Invitation(inv))
    }

    /// OWNER, ADMIN (OWNER invitations: OWNER).
    #[graphql(guard = "IsAuthenticated")]
    async fn revoke_invitation(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let who = authenticated(ctx)?;
        let id = uuid_arg(&id, "id")?;
        invitations::revoke(app(ctx)?, who, id, &client(ctx)?).await?;
        Ok(true)
    }

    /// The signed-in owner of the invited address.
    #[graphql(guard = "IsAuthenticated")]
    async fn accept_invitation(&self, ctx: &Context<'_>, token: String) -> Result<Membership> {
        let who = authenticated(ctx)?;
        let member = invitations::accept(app(ctx)?, who, &token, &client(ctx)?).await?;
        Ok(Membership::own(member, &who.user))
    }

    #[graphql(guard = "IsAuthenticated")]
    async fn change_member_role(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        user_id: ID,
        role: OrganizationRole,
    ) -> Result<Membership> {
        let who = authenticated(ctx)?;
        let org = uuid_arg(&organization_id, "organizationId")?;
        let user = uuid_arg(&user_id, "userId")?;
        let app = app(ctx)?;
        let member = members::change_role(app, who, org, user, role.into(), &client(ctx)?).await?;
        Membership::of(app, member, who).await
    }

    #[graphql(guard = "IsAuthenticated")]
    async fn remove_member(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        user_id: ID,
    ) -> Result<bool> {
        let who = authenticated(ctx)?;
        let org = uuid_arg(&organization_id, "organizationId")?;
        let user = uuid_arg(&user_id, "userId")?;
        members::remove(app(ctx)?, who, org, user, &client(ctx)?).await?;
        Ok(true)
    }

    #[graphql(guard = "IsAuthenticated")]
    async fn leave_organization(&self, ctx: &Context<'_>, organization_id: ID) -> Result<bool> {
        let who = authenticated(ctx)?;
        let org = uuid_arg(&organization_id, "organizationId")?;
        members::leave(app(ctx)?, who, org, &client(ctx)?).await?;
        Ok(true)
    }

    /// New tokens for the same session, claiming the organization (null
    /// clears it).
    #[graphql(guard = "IsAuthenticated")]
    async fn set_active_organization(
        &self,
        ctx: &Context<'_>,
        organization_id: Option<ID>,
    ) -> Result<AuthPayload> {
        let who = authenticated(ctx)?;
        let org = organization_id
            .map(|id| uuid_arg(&id, "organizationId"))
            .transpose()?;
        let tokens = active::set(app(ctx)?, who, org, &client(ctx)?).await?;
        Ok(tokens.into())
    }
}
