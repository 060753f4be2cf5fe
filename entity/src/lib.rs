//! SeaORM entities: data only. No I/O and no GraphQL derives live here, so a
//! column such as `password_hash` can never leak through the API by accident.

pub mod user;

pub mod prelude {
    pub use super::user::Entity as User;
}
