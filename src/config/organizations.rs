//! Organization settings (API.md §10.6): invitation links and lifetimes,
//! and the limits on memberships, members, invitations and inviting.

use std::time::Duration;

use url::Url;

use super::vars::{Vars, invalid};
use super::{ConfigError, RateLimit};

#[derive(Clone, Debug)]
pub struct OrganizationSettings {
    pub invitation_ttl: Duration,
    /// A front-end page: mails then link to `{url}?token=…`.
    pub invitation_url: Option<Url>,
    /// `inviteMember` calls per inviting user per window.
    pub invite_rate_limit: RateLimit,
    /// Organizations one user may belong to.
    pub max_memberships: u64,
    /// Members of one organization.
    pub max_members: u64,
    /// Pending invitations of one organization.
    pub max_pending_invitations: u64,
}

impl OrganizationSettings {
    pub(super) fn from_vars(v: &Vars) -> Result<OrganizationSettings, ConfigError> {
        let invitation_url = match v.get("INVITATION_URL") {
            None => None,
            Some(raw) => Some(
                Url::parse(&raw)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https") && u.fragment().is_none())
                    .ok_or_else(|| {
                        invalid(
                            "INVITATION_URL",
                            "expected an http(s) URL without a fragment",
                        )
                    })?,
            ),
        };
        Ok(OrganizationSettings {
            invitation_ttl: v.duration("INVITATION_TTL", "7d")?,
            invitation_url,
            invite_rate_limit: v.rate("INVITE_RATE_LIMIT", "20/1h")?,
            max_memberships: v.positive("ORG_MAX_MEMBERSHIPS", 50)?,
            max_members: v.positive("ORG_MAX_MEMBERS", 1000)?,
            max_pending_invitations: v.positive("ORG_MAX_PENDING_INVITATIONS", 100)?,
        })
    }
}
