//! The async-graphql schema: root types merged from per-capability parts,
//! and the request limits.

pub mod codes;
pub mod document;
mod document_cache;
pub mod guards;
pub mod loaders;
pub mod mutation;
pub mod pagination;
pub mod pricing;
pub mod query;
pub mod subscription;
pub mod text_input;
pub mod types;

use async_graphql::{Context, Schema, SchemaBuilder};

use crate::auth::RequestContext;
use crate::auth::viewer::Credential;
use crate::config::Settings;
use crate::error::AppError;
use crate::services::AppContext;
use crate::services::shared::client::ClientInfo;

pub use mutation::Mutation;
pub use query::Query;
pub use subscription::Subscription;

pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// The schema with its limits but without runtime data: enough for the SDL.
pub fn builder(settings: &Settings) -> SchemaBuilder<Query, Mutation, Subscription> {
    let builder = Schema::build(Query::default(), Mutation::default(), Subscription)
        .limit_depth(settings.max_depth)
        .limit_complexity(settings.max_complexity);
    if settings.graphiql {
        builder
    } else {
        builder.disable_introspection()
    }
}

/// The SDL exported by `authql export-schema` and checked in as `schema.graphql`.
pub fn sdl(settings: &Settings) -> String {
    builder(settings).finish().sdl()
}

/// The services' context, the schema's global data; its absence is a wiring bug.
pub fn app<'a>(ctx: &Context<'a>) -> Result<&'a AppContext, AppError> {
    ctx.data_opt::<AppContext>()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("app context missing from schema data")))
}

/// Where the request comes from, for sessions and security events: the
/// client's address and user agent, and the session it was made with.
pub fn client(ctx: &Context<'_>) -> Result<ClientInfo, AppError> {
    let rc = RequestContext::of(ctx)?;
    Ok(ClientInfo {
        ip: rc.client_ip.to_string(),
        user_agent: rc.user_agent.clone(),
        session_id: match rc.viewer.authenticated().map(|a| a.credential) {
            Some(Credential::Session(id)) => Some(id),
            _ => None,
        },
        trigger: Some(ctx.field().name().to_owned()),
    })
}
