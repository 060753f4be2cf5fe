use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, ID, Object, Result};
use chrono::{DateTime, Utc};
use entity::user;

use crate::auth::RequestContext;
use crate::error::AppError;
use crate::graphql::loaders::{CodesLeftOf, UserLoader};
use crate::graphql::types::second_factor::SecondFactorMethod;
use crate::services::shared::two_factor;

// The domain's gender as a GraphQL enum (conversions both ways derived);
// a plain comment, so the SDL stays as it was.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::Gender")]
pub enum Gender {
    Female,
    Male,
    Other,
    Unspecified,
}

/// An account as the API shows it. Private fields answer `null` to anyone but
/// the user themself and staff (API.md §3).
#[derive(Clone)]
pub struct User {
    model: user::Model,
    /// Shown to the account's owner even though the request is anonymous:
    /// the user a sign-in or an activation returns is the one who proved it.
    to_owner: bool,
}

impl User {
    pub fn new(model: user::Model) -> User {
        User {
            model,
            to_owner: false,
        }
    }

    /// The user of a payload that the requester just proved to own.
    pub fn to_owner(model: user::Model) -> User {
        User {
            model,
            to_owner: true,
        }
    }

    pub fn id_uuid(&self) -> uuid::Uuid {
        self.model.id
    }

    fn visible_to_viewer(&self, ctx: &Context<'_>) -> bool {
        self.to_owner
            || ctx
                .data_opt::<RequestContext>()
                .and_then(|rc| rc.viewer.user())
                .is_some_and(|v| v.id == self.model.id || v.is_staff)
    }

    fn private<T>(&self, ctx: &Context<'_>, value: T) -> Option<T> {
        self.visible_to_viewer(ctx).then_some(value)
    }
}

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.model.id.to_string())
    }
    /// Only to the user themself and staff; null for other viewers.
    async fn email(&self, ctx: &Context<'_>) -> Option<String> {
        self.private(ctx, self.model.email.clone())
    }
    async fn username(&self) -> Option<&str> {
        self.model.username.as_deref()
    }
    async fn first_name(&self) -> Option<&str> {
        self.model.first_name.as_deref()
    }
    async fn last_name(&self) -> Option<&str> {
        self.model.last_name.as_deref()
    }
    /// Self/staff only, else null.
    async fn phone(&self, ctx: &Context<'_>) -> Option<String> {
        self.private(ctx, self.model.phone.clone()).flatten()
    }
    async fn gender(&self) -> Option<Gender> {
        Some(crate::domain::Gender::from_stored(&self.model.gender).into())
    }
    async fn is_active(&self) -> bool {
        self.model.is_active
    }
    async fn is_staff(&self) -> bool {
        self.model.is_staff
    }
    /// Any second factor is on (emailed code or authenticator app).
    /// Self/staff only, else null.
    async fn two_factor_enabled(&self, ctx: &Context<'_>) -> Option<bool> {
        self.private(
            ctx,
            self.model.two_factor_enabled || self.model.totp_enabled,
        )
    }
    /// Someone proved the address (API.md §9.1). Self/staff only, else null.
    async fn email_verified(&self, ctx: &Context<'_>) -> Option<bool> {
        self.private(ctx, self.model.email_verified)
    }

    /// The second factors the user turned on. Self/staff only, else null.
    async fn two_factor_methods(&self, ctx: &Context<'_>) -> Option<Vec<SecondFactorMethod>> {
        self.private(ctx, ()).map(|()| {
            two_factor::methods(&self.model)
                .into_iter()
                .map(Into::into)
                .collect()
        })
    }
    /// Unused recovery codes. Self/staff only, else null.
    async fn recovery_codes_left(&self, ctx: &Context<'_>) -> Result<Option<i32>> {
        if !self.visible_to_viewer(ctx) {
            return Ok(None);
        }
        let loader = ctx
            .data_opt::<DataLoader<UserLoader>>()
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("user loader missing")))?;
        let left = loader
            .load_one(CodesLeftOf(self.model.id))
            .await
            .map_err(|e| AppError::internal(anyhow::anyhow!("counting recovery codes: {e}")))?
            .unwrap_or(0);
        Ok(Some(i32::try_from(left).unwrap_or(i32::MAX)))
    }
    async fn date_joined(&self) -> DateTime<Utc> {
        self.model.date_joined
    }
    /// Self/staff only, else null.
    async fn last_login(&self, ctx: &Context<'_>) -> Option<DateTime<Utc>> {
        self.private(ctx, self.model.last_login).flatten()
    }
}

impl crate::graphql::pagination::ListItem for User {
    const EDGE: &'static str = "UserEdge";
    const CONNECTION: &'static str = "UserConnection";
    const PAGE: &'static str = "UserPage";
}

/// The admin's user filter. `search` matches email, username and names.
#[derive(async_graphql::InputObject, Default)]
pub struct UserFilter {
    pub search: Option<String>,
    pub is_active: Option<bool>,
    pub is_staff: Option<bool>,
}

impl From<UserFilter> for crate::services::account::users::UserFilter {
    fn from(f: UserFilter) -> Self {
        crate::services::account::users::UserFilter {
            search: f.search,
            is_active: f.is_active,
            is_staff: f.is_staff,
        }
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum UserOrderField {
    DateJoined,
    Email,
}

#[derive(async_graphql::InputObject)]
pub struct UserOrder {
    #[graphql(default_with = "UserOrderField::DateJoined")]
    pub field: UserOrderField,
    #[graphql(default_with = "crate::graphql::pagination::OrderDirection::Desc")]
    pub direction: crate::graphql::pagination::OrderDirection,
}

impl UserOrder {
    pub fn ordering(
        order: Option<UserOrder>,
    ) -> crate::services::shared::pagination::Ordering<user::Entity> {
        use crate::graphql::pagination::OrderDirection;
        use crate::services::account::users::{UserSort, ordering};
        let (field, direction) = order
            .map_or((UserOrderField::DateJoined, OrderDirection::Desc), |o| {
                (o.field, o.direction)
            });
        let sort = match field {
            UserOrderField::DateJoined => UserSort::DateJoined,
            UserOrderField::Email => UserSort::Email,
        };
        ordering(sort, direction.is_desc())
    }
}
