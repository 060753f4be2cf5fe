//! Delivery through the transport `EMAIL_URL` names: the console (stdout,
//! like Django's console backend; production refuses it), a directory of
//! `.eml` files, or SMTP with short timeouts.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::EmailTransport;

/// An SMTP server that does not answer within this is treated as down; the
/// outbox retries later.
const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

pub enum Transport {
    Console,
    File(AsyncFileTransport<Tokio1Executor>),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// One outbox row as lettre needs it.
pub struct Outgoing<'a> {
    pub message_id: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
}

impl Transport {
    pub fn from_config(config: &EmailTransport) -> anyhow::Result<Transport> {
        Ok(match config {
            EmailTransport::Console => Transport::Console,
            EmailTransport::File(dir) => {
                std::fs::create_dir_all(dir)?;
                Transport::File(AsyncFileTransport::new(dir))
            }
            EmailTransport::Smtp(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| anyhow::anyhow!("EMAIL_URL: {e}"))?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build(),
            ),
        })
    }

    pub async fn send(&self, from: &Mailbox, mail: Outgoing<'_>) -> anyhow::Result<()> {
        let message = Message::builder()
            .from(from.clone())
            .to(mail.to.parse::<Mailbox>()?)
            .subject(mail.subject)
            // Stable across retries: a message sent twice after a crash between
            // send and mark is recognisably the same message.
            .message_id(Some(mail.message_id.to_owned()))
            .multipart(MultiPart::alternative_plain_html(
                mail.text.to_owned(),
                mail.html.to_owned(),
            ))?;
        match self {
            Transport::Console => {
                // Readable rather than MIME-encoded, so a developer can copy
                // the link or code. This is delivery, not logging.
                println!(
                    "----- email -----\nMessage-ID: {}\nFrom: {from}\nTo: {}\nSubject: {}\n\n{}----- end of email -----",
                    mail.message_id, mail.to, mail.subject, mail.text
                );
            }
            Transport::File(t) => {
                t.send(message).await?;
            }
            Transport::Smtp(t) => {
                t.send(message).await?;
            }
        }
        Ok(())
    }
}
