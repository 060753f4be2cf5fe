//! GraphQL output and input types, built from entities (never derived on them).

pub mod account;
pub mod auth;
pub mod identity;
pub mod oauth;
pub mod oauth_client;
pub mod organization;
pub mod product;
pub mod second_factor;
pub mod security_event;
pub mod user;
pub mod webhook;

use async_graphql::ID;
use uuid::Uuid;

pub use account::{RegisterInput, RegisterPayload, UpdateProfileInput};
pub use auth::{
    ApiToken, ApiTokenCreated, AuthPayload, LoginInput, LoginResult, OtpChallenge,
    ReauthenticateOk, ReauthenticateResult, Session,
};
pub use product::{CreateProductInput, Product, ProductFilter, ProductOrder, UpdateProductInput};
pub use second_factor::{Passkey, PasskeyOptions, RecoveryCodes, TotpEnrollment};
pub use security_event::{SecurityEvent, SecurityEventFilter, SecurityEventType};
pub use user::{Gender, User, UserFilter, UserOrder};

use crate::error::AppError;

/// An `ID` argument as a UUID; a malformed one is `BAD_USER_INPUT` on `field`.
pub fn uuid_arg(id: &ID, field: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id.as_str()).map_err(|_| AppError::field(field, "is not a valid id"))
}
