//! The Mutation root, merged from one part per capability.

pub type Mutation = async_graphql::EmptyMutation;
