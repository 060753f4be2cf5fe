//! Owned, paginated, guarded resources (`Product`).

pub mod products;
