//! Inputs and payloads of registration and the profile.

use async_graphql::{InputObject, MaybeUndefined, SimpleObject};

use super::Gender;

#[derive(InputObject, Debug)]
pub struct RegisterInput {
    pub email: String,
    pub password: String,
    pub confirm_password: String,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub gender: Option<Gender>,
    /// A live invitation's token (API.md §10.3): the account is created
    /// active, as a member with the invited role.
    pub invitation_token: Option<String>,
}

#[derive(SimpleObject, Debug)]
pub struct RegisterPayload {
    /// The address as it was understood (trimmed, normalised).
    pub email: String,
    /// Whether the account waits for activation by link or code.
    pub activation_required: bool,
}

/// Omitted fields stay as they are; `null` (or an empty string) clears one.
#[derive(InputObject, Debug)]
pub struct UpdateProfileInput {
    pub username: MaybeUndefined<String>,
    pub first_name: MaybeUndefined<String>,
    pub last_name: MaybeUndefined<String>,
    pub phone: MaybeUndefined<String>,
    pub gender: Option<Gender>,
}
