//! Outbound webhooks (API.md §11.2, §11.4): the Standard Webhooks
//! signature and the HTTP sender that never reaches an internal address
//! unless the operator allows it.

pub mod sender;
pub mod signature;
