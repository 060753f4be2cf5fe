use async_graphql::{Context, MaybeUndefined, Object, Result};

use crate::auth::RequestContext;
use crate::error::AppError;
use crate::graphql::guards::{IsAuthenticated, viewer};
use crate::graphql::types::{RegisterInput, RegisterPayload, UpdateProfileInput, User};
use crate::graphql::{app, client};
use crate::services::account::activation::{self, LinkActivation};
use crate::services::account::profile::{self, Change, ProfileUpdate};
use crate::services::account::registration::{self, Registration};

#[derive(Default)]
pub struct AccountMutation;

fn change(value: MaybeUndefined<String>) -> Change<String> {
    match value {
        MaybeUndefined::Undefined => Change::Keep,
        MaybeUndefined::Null => Change::Clear,
        MaybeUndefined::Value(v) => Change::Set(v),
    }
}

#[Object]
impl AccountMutation {
    /// Creates an account (inactive until activated, unless activation is
    /// off). An address that already has an account gets the same answer and
    /// its owner a notice instead.
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> Result<RegisterPayload> {
        let registered = registration::register(
            app(ctx)?,
            Registration {
                email: input.email,
                password: input.password,
                confirm_password: input.confirm_password,
                username: input.username,
                first_name: input.first_name,
                last_name: input.last_name,
                phone: input.phone,
                gender: input.gender.map(Into::into),
                invitation_token: input.invitation_token,
            },
            &client(ctx)?,
        )
        .await?;
        Ok(RegisterPayload {
            email: registered.email,
            activation_required: registered.activation_required,
        })
    }

    /// Activates with the `uid` and `token` of the mailed link.
    async fn activate_account(
        &self,
        ctx: &Context<'_>,
        uid: String,
        token: String,
    ) -> Result<User> {
        match activation::activate_with_link(app(ctx)?, &uid, &token, &client(ctx)?).await? {
            LinkActivation::Activated(user) => Ok(User::to_owner(*user)),
            // Over GraphQL a used link is simply used up.
            LinkActivation::AlreadyActive => Err(AppError::InvalidToken.into()),
        }
    }

    /// Activates with the 6-digit code of the activation mail.
    async fn activate_account_with_code(
        &self,
        ctx: &Context<'_>,
        email: String,
        code: String,
    ) -> Result<User> {
        Ok(User::to_owner(
            activation::activate_with_code(app(ctx)?, &email, &code, &client(ctx)?).await?,
        ))
    }

    /// Mails a new link and code if the address awaits activation. Always
    /// true for a well-formed address.
    async fn resend_activation_email(&self, ctx: &Context<'_>, email: String) -> Result<bool> {
        let ip = RequestContext::of(ctx)?.client_ip.to_string();
        activation::resend_activation(app(ctx)?, &email, &ip).await?;
        Ok(true)
    }

    #[graphql(guard = "IsAuthenticated")]
    async fn update_profile(&self, ctx: &Context<'_>, input: UpdateProfileInput) -> Result<User> {
        let me = viewer(ctx)?;
        let update = ProfileUpdate {
            username: change(input.username),
            first_name: change(input.first_name),
            last_name: change(input.last_name),
            phone: change(input.phone),
            gender: input.gender.map(Into::into),
        };
        Ok(User::new(
            profile::update_profile(app(ctx)?, me.id, update, &client(ctx)?).await?,
        ))
    }
}
