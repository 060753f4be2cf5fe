//! The cache of verified access tokens, and what a token says.

use std::collections::HashMap;
use std::sync::Mutex;

use uuid::Uuid;

/// What a genuine access token says: its user, session and organization
/// claims (the session check compares the last with the session's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub user: Uuid,
    pub session: Uuid,
    /// `org_id` and `org_role` (`owner`, `admin`, `member`), when present.
    pub org: Option<(Uuid, String)>,
}

/// A bounded map of verified tokens to their ids and expiry.
pub(super) struct VerifiedTokens {
    pub(super) enabled: bool,
    pub(super) map: Mutex<HashMap<Box<str>, (Verified, i64)>>,
}

/// Enough for every token in use on a busy instance; cleared when full.
pub(super) const VERIFIED_CAPACITY: usize = 10_000;

impl VerifiedTokens {
    pub(super) fn get(&self, token: &str, now: i64) -> Option<Verified> {
        if !self.enabled {
            return None;
        }
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(token)
            .filter(|(_, exp)| *exp > now)
            .map(|(ids, _)| ids.clone())
    }

    pub(super) fn put(&self, token: &str, ids: Verified, exp: i64) {
        if !self.enabled {
            return;
        }
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= VERIFIED_CAPACITY {
            map.clear();
        }
        map.insert(token.into(), (ids, exp));
    }
}
