//! The async-graphql schema: root types merged from per-capability parts,
//! and the request limits.

pub mod codes;
pub mod document;
pub mod guards;
pub mod loaders;
pub mod mutation;
pub mod pagination;
pub mod query;
pub mod types;

use async_graphql::{Context, EmptySubscription, Schema, SchemaBuilder};

use crate::config::Settings;
use crate::error::AppError;
use crate::services::AppContext;

pub use mutation::Mutation;
pub use query::Query;

pub type AppSchema = Schema<Query, Mutation, EmptySubscription>;

/// The schema with its limits but without runtime data: enough for the SDL.
pub fn builder(settings: &Settings) -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    let builder = Schema::build(Query::default(), Mutation::default(), EmptySubscription)
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
