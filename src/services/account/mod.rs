//! An account's life: registration, activation, profile, address change, password change and reset, deletion, the users admin, importing from Django, the periodic clean-up.

pub mod account_deletion;
pub mod activation;
pub mod django_import;
pub mod email_change;
pub mod maintenance;
pub mod passwords;
pub mod profile;
pub mod registration;
pub mod users;
