//! The kinds of security event (API.md §8.2), stored by name.

macro_rules! event_types {
    ($($variant:ident => $name:literal,)+) => {
        /// What happened to an account's security.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum SecurityEventType {
            $($variant,)+
        }

        impl SecurityEventType {
            /// Every type, in the contract's order (the webhook catalogue).
            pub const ALL: &'static [SecurityEventType] = &[$(SecurityEventType::$variant,)+];

            /// The stored (and API) name, e.g. `LOGIN_SUCCEEDED`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(SecurityEventType::$variant => $name,)+
                }
            }

            pub fn parse(name: &str) -> Option<SecurityEventType> {
                match name {
                    $($name => Some(SecurityEventType::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

event_types! {
    AccountRegistered => "ACCOUNT_REGISTERED",
    AccountActivated => "ACCOUNT_ACTIVATED",
    AccountDeactivated => "ACCOUNT_DEACTIVATED",
    AccountReactivated => "ACCOUNT_REACTIVATED",
    AccountDeleted => "ACCOUNT_DELETED",
    LoginSucceeded => "LOGIN_SUCCEEDED",
    LoginFailed => "LOGIN_FAILED",
    LoginRateLimited => "LOGIN_RATE_LIMITED",
    SecondFactorFailed => "SECOND_FACTOR_FAILED",
    RecoveryCodeUsed => "RECOVERY_CODE_USED",
    RefreshTokenReused => "REFRESH_TOKEN_REUSED",
    SessionRevoked => "SESSION_REVOKED",
    LoggedOut => "LOGGED_OUT",
    Reauthenticated => "REAUTHENTICATED",
    PasswordChanged => "PASSWORD_CHANGED",
    PasswordResetRequested => "PASSWORD_RESET_REQUESTED",
    PasswordReset => "PASSWORD_RESET",
    TwoFactorEnabled => "TWO_FACTOR_ENABLED",
    TwoFactorDisabled => "TWO_FACTOR_DISABLED",
    TotpEnabled => "TOTP_ENABLED",
    TotpDisabled => "TOTP_DISABLED",
    RecoveryCodesGenerated => "RECOVERY_CODES_GENERATED",
    PasskeyAdded => "PASSKEY_ADDED",
    PasskeyRemoved => "PASSKEY_REMOVED",
    ApiTokenCreated => "API_TOKEN_CREATED",
    ApiTokenRevoked => "API_TOKEN_REVOKED",
    EmailChangeRequested => "EMAIL_CHANGE_REQUESTED",
    EmailChanged => "EMAIL_CHANGED",
    ProfileUpdated => "PROFILE_UPDATED",
    SecondFactorsReset => "SECOND_FACTORS_RESET",
    IdentityLinked => "IDENTITY_LINKED",
    IdentityUnlinked => "IDENTITY_UNLINKED",
    EmailSignInRequested => "EMAIL_SIGN_IN_REQUESTED",
    OrgCreated => "ORG_CREATED",
    OrgUpdated => "ORG_UPDATED",
    OrgDeleted => "ORG_DELETED",
    OrgInvitationSent => "ORG_INVITATION_SENT",
    OrgInvitationRevoked => "ORG_INVITATION_REVOKED",
    OrgMemberJoined => "ORG_MEMBER_JOINED",
    OrgMemberRoleChanged => "ORG_MEMBER_ROLE_CHANGED",
    OrgMemberRemoved => "ORG_MEMBER_REMOVED",
    OrgMemberLeft => "ORG_MEMBER_LEFT",
    ClaimsHookFailed => "CLAIMS_HOOK_FAILED",
    WebhookEndpointCreated => "WEBHOOK_ENDPOINT_CREATED",
    WebhookEndpointUpdated => "WEBHOOK_ENDPOINT_UPDATED",
    WebhookEndpointDeleted => "WEBHOOK_ENDPOINT_DELETED",
    WebhookSecretRotated => "WEBHOOK_SECRET_ROTATED",
    OauthConsentGranted => "OAUTH_CONSENT_GRANTED",
    OauthGrantRevoked => "OAUTH_GRANT_REVOKED",
    OauthCodeReused => "OAUTH_CODE_REUSED",
    OauthClientCreated => "OAUTH_CLIENT_CREATED",
    OauthClientUpdated => "OAUTH_CLIENT_UPDATED",
    OauthClientSecretRotated => "OAUTH_CLIENT_SECRET_ROTATED",
    OauthClientDeleted => "OAUTH_CLIENT_DELETED",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in [
            SecurityEventType::LoginSucceeded,
            SecurityEventType::PasswordResetRequested,
            SecurityEventType::ProfileUpdated,
        ] {
            assert_eq!(SecurityEventType::parse(t.as_str()), Some(t));
        }
        assert_eq!(SecurityEventType::parse("login_succeeded"), None);
    }
}
