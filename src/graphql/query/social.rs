use async_graphql::{Context, Object, Result};

use crate::graphql::app;
use crate::graphql::guards::{IsAuthenticated, viewer};
use crate::graphql::types::identity::{Identity, SocialProvider};
use crate::services::signin::social::identities;

#[derive(Default)]
pub struct SocialQuery;

#[Object]
impl SocialQuery {
    /// Anyone: the configured providers, in `OIDC_PROVIDERS` order, then GitHub.
    async fn social_providers(&self, ctx: &Context<'_>) -> Result<Vec<SocialProvider>> {
        let settings = &app(ctx)?.settings;
        Ok(settings
            .social
            .all()
            .map(|p| SocialProvider {
                name: p.name().to_owned(),
                display_name: p.display_name().to_owned(),
                start_url: format!("{}/auth/{}/start", settings.public_url, p.name()),
            })
            .collect())
    }

    /// The viewer's identities, oldest first.
    #[graphql(guard = "IsAuthenticated")]
    async fn identities(&self, ctx: &Context<'_>) -> Result<Vec<Identity>> {
        let found = identities::list(app(ctx)?, viewer(ctx)?.id).await?;
        Ok(found.into_iter().map(Identity).collect())
    }
}
