//! Mail leaves only through the outbox: a service writes an `email_outbox`
//! row in the same transaction as the change that caused it, and the worker
//! delivers it with retries through the transport `EMAIL_URL` chose.

pub mod outbox;
pub mod templates;
pub mod transport;

pub use outbox::Outbox;
pub use templates::Email;
pub use transport::Transport;
