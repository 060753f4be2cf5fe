//! SeaORM entities: data only. No I/O and no GraphQL derives live here, so a
//! column such as `password_hash` can never leak through the API by accident.

pub mod api_token;
pub mod email_change;
pub mod email_outbox;
pub mod email_sign_in;
pub mod exchange_code;
pub mod identity;
pub mod invitation;
pub mod membership;
pub mod oauth_authorization;
pub mod oauth_client;
pub mod oauth_grant;
pub mod one_time_code;
pub mod organization;
pub mod passkey;
pub mod product;
pub mod rate_limit;
pub mod recovery_code;
pub mod refresh_token;
pub mod security_event;
pub mod session;
pub mod social_code;
pub mod social_flow;
pub mod totp_factor;
pub mod user;
pub mod webauthn_challenge;
pub mod webhook_delivery;
pub mod webhook_endpoint;

pub mod prelude {
    pub use super::api_token::Entity as ApiToken;
    pub use super::email_change::Entity as EmailChange;
    pub use super::email_outbox::Entity as EmailOutbox;
    pub use super::email_sign_in::Entity as EmailSignIn;
    pub use super::exchange_code::Entity as ExchangeCode;
    pub use super::identity::Entity as Identity;
    pub use super::invitation::Entity as Invitation;
    pub use super::membership::Entity as Membership;
    pub use super::oauth_authorization::Entity as OauthAuthorization;
    pub use super::oauth_client::Entity as OauthClient;
    pub use super::oauth_grant::Entity as OauthGrant;
    pub use super::one_time_code::Entity as OneTimeCode;
    pub use super::organization::Entity as Organization;
    pub use super::passkey::Entity as Passkey;
    pub use super::product::Entity as Product;
    pub use super::rate_limit::Entity as RateLimit;
    pub use super::recovery_code::Entity as RecoveryCode;
    pub use super::refresh_token::Entity as RefreshToken;
    pub use super::security_event::Entity as SecurityEvent;
    pub use super::session::Entity as Session;
    pub use super::social_code::Entity as SocialCode;
    pub use super::social_flow::Entity as SocialFlow;
    pub use super::totp_factor::Entity as TotpFactor;
    pub use super::user::Entity as User;
    pub use super::webauthn_challenge::Entity as WebauthnChallenge;
    pub use super::webhook_delivery::Entity as WebhookDelivery;
    pub use super::webhook_endpoint::Entity as WebhookEndpoint;
}
