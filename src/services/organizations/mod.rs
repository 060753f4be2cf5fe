//! Organizations, roles and invitations (API.md §10): `access` (the lock,
//! the viewer's membership, the sessions that carry a role), `orgs`,
//! `members`, `invitations` and `active` (the session's active
//! organization).

pub mod access;
pub mod active;
pub mod invitations;
pub mod members;
pub mod orgs;
