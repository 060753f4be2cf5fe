//! Organizations as their members see them (API.md §10.1). An
//! `Organization` is only ever built for a member: it carries the
//! viewer's role, which decides what its fields show.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{invitation, membership, organization, user};
use uuid::Uuid;

use super::security_event::load_user;
use super::{SecurityEvent, SecurityEventFilter, User};
use crate::domain::organization::Role;
use crate::error::AppError;
use crate::graphql::app;
use crate::graphql::guards::viewer;
use crate::graphql::loaders::users_by_id;
use crate::graphql::pagination::{Connection, ListItem, connection, page_cost};
use crate::services::organizations::access::{Seen, role_of};
use crate::services::organizations::orgs::{self, OrgInput};
use crate::services::organizations::{invitations, members};
use crate::services::shared::pagination::{Window, newest_first};
use crate::services::shared::{accounts, security_events};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum OrganizationRole {
    Owner,
    Admin,
    Member,
}

impl From<Role> for OrganizationRole {
    fn from(r: Role) -> Self {
        match r {
            Role::Owner => OrganizationRole::Owner,
            Role::Admin => OrganizationRole::Admin,
            Role::Member => OrganizationRole::Member,
        }
    }
}

impl From<OrganizationRole> for Role {
    fn from(r: OrganizationRole) -> Self {
        match r {
            OrganizationRole::Owner => Role::Owner,
            OrganizationRole::Admin => Role::Admin,
            OrganizationRole::Member => Role::Member,
        }
    }
}

/// An organization and the viewer's role in it; `model` is filled for a
/// page of them at once (`with_models`).
#[derive(Clone)]
pub struct Organization {
    id: Uuid,
    model: Option<Arc<organization::Model>>,
    role: Role,
}

impl Organization {
    pub fn seen(seen: Seen) -> Organization {
        Organization {
            id: seen.organization.id,
            model: Some(Arc::new(seen.organization)),
            role: seen.role,
        }
    }

    /// From the viewer's membership; its organization comes later.
    pub fn of_membership(m: membership::Model) -> Organization {
        Organization {
            id: m.organization_id,
            role: role_of(&m),
            model: None,
        }
    }

    fn model(&self) -> async_graphql::Result<&organization::Model> {
        self.model
            .as_deref()
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("organization not loaded")).into())
    }

    fn manager(&self) -> async_graphql::Result<()> {
        match self.role.manages() {
            true => Ok(()),
            false => Err(AppError::Forbidden.into()),
        }
    }
}

/// Fills the organizations of a page in one query.
pub async fn with_models<'a>(
    ctx: &Context<'_>,
    nodes: impl Iterator<Item = &'a mut Organization>,
) -> Result<(), AppError> {
    let nodes: Vec<&mut Organization> = nodes.collect();
    let ids = nodes.iter().map(|n| n.id).collect();
    let found: HashMap<Uuid, Arc<organization::Model>> = orgs::many(app(ctx)?, ids)
        .await?
        .into_iter()
        .map(|o| (o.id, Arc::new(o)))
        .collect();
    for node in nodes {
        node.model = found.get(&node.id).cloned();
    }
    Ok(())
}

impl ListItem for Organization {
    const EDGE: &'static str = "OrganizationEdge";
    const CONNECTION: &'static str = "OrganizationConnection";
    const PAGE: &'static str = "OrganizationPage";
}

#[Object]
impl Organization {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }
    async fn name(&self) -> async_graphql::Result<&str> {
        Ok(&self.model()?.name)
    }
    async fn slug(&self) -> async_graphql::Result<&str> {
        Ok(&self.model()?.slug)
    }
    async fn created_at(&self) -> async_graphql::Result<DateTime<Utc>> {
        Ok(self.model()?.created_at)
    }
    async fn viewer_role(&self) -> OrganizationRole {
        self.role.into()
    }
    /// Members, not invitations.
    async fn member_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let n = orgs::member_count(app(ctx)?, self.id).await?;
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }
    /// Any member; oldest first.
    #[graphql(complexity = "page_cost(first.or(last).unwrap_or(20)) * child_complexity + 1")]
    #[allow(clippy::too_many_arguments, reason = "the contract's arguments")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<MembershipFilter>,
    ) -> async_graphql::Result<Connection<Membership>> {
        let role = filter.and_then(|f| f.role).map(Role::from);
        let me = viewer(ctx)?.id;
        let ordering = orgs::joined_order();
        let mut found = connection(
            ctx,
            members::of(self.id, role),
            &ordering,
            Window::new(first, after, last, before),
            |m| Membership {
                model: m,
                user: None,
                viewer: me,
                viewer_role: self.role,
            },
        )
        .await?;
        with_users(app(ctx)?, found.nodes_mut()).await?;
        Ok(found)
    }
    /// OWNER, ADMIN: pending invitations, newest first.
    #[graphql(complexity = "page_cost(first.or(last).unwrap_or(20)) * child_complexity + 1")]
    async fn invitations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Connection<Invitation>> {
        self.manager()?;
        let ordering = newest_first!(invitation::Entity);
        let select = invitations::pending(self.id);
        let w = Window::new(first, after, last, before);
        Ok(connection(ctx, select, &ordering, w, Invitation).await?)
    }
    /// OWNER, ADMIN: the organization's `ORG_*` events, newest first.
    #[graphql(complexity = "page_cost(first.or(last).unwrap_or(20)) * child_complexity + 1")]
    #[allow(clippy::too_many_arguments, reason = "the contract's arguments")]
    async fn security_events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<SecurityEventFilter>,
    ) -> async_graphql::Result<Connection<SecurityEvent>> {
        self.manager()?;
        let select = security_events::of_organization(self.id, filter.unwrap_or_default().into())?;
        let ordering = security_events::ordering();
        let w = Window::new(first, after, last, before);
        Ok(connection(ctx, select, &ordering, w, SecurityEvent).await?)
    }
}

/// A membership as a member of the organization sees it.
#[derive(Clone)]
pub struct Membership {
    pub model: membership::Model,
    pub user: Option<Arc<user::Model>>,
    /// Who is looking, and their role in the organization.
    pub viewer: Uuid,
    pub viewer_role: Role,
}

/// Fills the members' accounts of a page in one query.
async fn with_users<'a>(
    app: &crate::services::AppContext,
    nodes: impl Iterator<Item = &'a mut Membership>,
) -> Result<(), AppError> {
    let nodes: Vec<&mut Membership> = nodes.collect();
    let ids = nodes.iter().map(|n| n.model.user_id).collect();
    let found = users_by_id(app, ids).await?;
    for node in nodes {
        node.user = found.get(&node.model.user_id).cloned();
    }
    Ok(())
}

impl Membership {
    /// The viewer's own membership, with their account.
    pub fn own(model: membership::Model, me: &user::Model) -> Membership {
        Membership {
            viewer_role: role_of(&model),
            viewer: me.id,
            user: Some(Arc::new(me.clone())),
            model,
        }
    }

    /// Another member's membership, as the viewer `who` sees it.
    pub async fn of(
        app: &crate::services::AppContext,
        model: membership::Model,
        who: &crate::auth::viewer::Authenticated,
    ) -> async_graphql::Result<Membership> {
        let seen = orgs::find(app, who.user.id, model.organization_id).await?;
        let user = accounts::find(app, model.user_id).await?.map(Arc::new);
        Ok(Membership {
            viewer_role: seen.map_or(Role::Member, |s| s.role),
            viewer: who.user.id,
            user,
            model,
        })
    }

    fn account(&self) -> async_graphql::Result<&user::Model> {
        self.user
            .as_deref()
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("member not loaded")).into())
    }
}

impl ListItem for Membership {
    const EDGE: &'static str = "MembershipEdge";
    const CONNECTION: &'static str = "MembershipConnection";
    const PAGE: &'static str = "MembershipPage";
}

#[Object]
impl Membership {
    /// §3's visibility rules for `User` fields hold.
    async fn user(&self) -> async_graphql::Result<User> {
        let account = self.account()?.clone();
        Ok(match account.id == self.viewer {
            true => User::to_owner(account),
            false => User::new(account),
        })
    }
    async fn role(&self) -> OrganizationRole {
        role_of(&self.model).into()
    }
    /// When the user joined.
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
    /// To the organization's OWNERs and ADMINs and to the member; else null.
    async fn email(&self) -> async_graphql::Result<Option<String>> {
        let account = self.account()?;
        let shown = self.viewer_role.manages() || account.id == self.viewer;
        Ok(shown.then(|| account.email.clone()))
    }
}

#[derive(Clone)]
pub struct Invitation(pub invitation::Model);

impl ListItem for Invitation {
    const EDGE: &'static str = "InvitationEdge";
    const CONNECTION: &'static str = "InvitationConnection";
    const PAGE: &'static str = "InvitationPage";
}

#[Object]
impl Invitation {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn organization_id(&self) -> ID {
        ID(self.0.organization_id.to_string())
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn role(&self) -> OrganizationRole {
        Role::parse(&self.0.role).unwrap_or(Role::Member).into()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
    /// Null once that account is deleted.
    async fn invited_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match self.0.invited_by {
            Some(id) => load_user(ctx, id).await,
            None => Ok(None),
        }
    }
}

/// What the holder of a live invitation link may see.
#[derive(SimpleObject)]
pub struct InvitationPreview {
    pub organization_name: String,
    pub organization_slug: String,
    pub email: String,
    pub role: OrganizationRole,
    pub expires_at: DateTime<Utc>,
}

impl InvitationPreview {
    pub fn new(inv: invitation::Model, org: organization::Model) -> InvitationPreview {
        InvitationPreview {
            organization_name: org.name,
            organization_slug: org.slug,
            email: inv.email,
            role: Role::parse(&inv.role).unwrap_or(Role::Member).into(),
            expires_at: inv.expires_at,
        }
    }
}

#[derive(InputObject, Default)]
pub struct MembershipFilter {
    pub role: Option<OrganizationRole>,
}

#[derive(InputObject)]
pub struct CreateOrganizationInput {
    pub name: String,
    pub slug: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateOrganizationInput {
    pub name: Option<String>,
    pub slug: Option<String>,
}

impl From<CreateOrganizationInput> for OrgInput {
    fn from(i: CreateOrganizationInput) -> Self {
        OrgInput {
            name: Some(i.name),
            slug: i.slug,
        }
    }
}

impl From<UpdateOrganizationInput> for OrgInput {
    fn from(i: UpdateOrganizationInput) -> Self {
        OrgInput {
            name: i.name,
            slug: i.slug,
        }
    }
}
