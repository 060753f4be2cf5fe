//! Reading the mail the server delivered through its configured file
//! transport (`EMAIL_URL=file://…`), as a user reading their inbox would.

use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub message_id: String,
}

impl Mail {
    /// `(uid, token)` of the first `/{path}/{uid}/{token}` link in the text.
    pub fn link(&self, path: &str) -> (String, String) {
        let marker = format!("/{path}/");
        let start = self
            .text
            .find(&marker)
            .unwrap_or_else(|| panic!("no /{path}/ link in {}", self.text))
            + marker.len();
        let rest: String = self.text[start..]
            .chars()
            .take_while(|c| !c.is_whitespace())
            .collect();
        let (uid, token) = rest.split_once('/').expect("uid/token");
        (uid.to_owned(), token.to_owned())
    }

    /// The 6-digit code the text announces ("…code: 123456" / "…code is: 123456").
    pub fn code(&self) -> String {
        for marker in ["code: ", "code is: "] {
            if let Some(at) = self.text.find(marker) {
                let digits: String = self.text[at + marker.len()..].chars().take(6).collect();
                if digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit()) {
                    return digits;
                }
            }
        }
        panic!("no 6-digit code in {}", self.text)
    }
}

/// Every message in `dir`, oldest first.
pub fn read_all(dir: &Path) -> Vec<Mail> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(Result::ok).collect())
        .unwrap_or_default();
    files.retain(|f| f.path().extension().is_some_and(|e| e == "eml"));
    files.sort_by_key(|f| f.metadata().and_then(|m| m.modified()).ok());
    files
        .iter()
        .filter_map(|f| std::fs::read(f.path()).ok())
        .filter_map(|raw| parse(&raw))
        .collect()
}

pub fn parse(raw: &[u8]) -> Option<Mail> {
    let msg = mail_parser::MessageParser::default().parse(raw)?;
    let to = msg
        .to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or_default()
        .to_owned();
    Some(Mail {
        to,
        subject: msg.subject().unwrap_or_default().to_owned(),
        text: msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
        html: msg.body_html(0).map(|t| t.into_owned()).unwrap_or_default(),
        message_id: msg.message_id().unwrap_or_default().to_owned(),
    })
}

/// Waits until `dir` holds at least `n` messages to `to`; returns them all.
pub async fn wait_for(dir: &Path, to: &str, n: usize) -> Vec<Mail> {
    wait_for_within(dir, to, n, Duration::from_secs(15)).await
}

/// `wait_for`, for at most `wait`.
pub async fn wait_for_within(dir: &Path, to: &str, n: usize, wait: Duration) -> Vec<Mail> {
    let deadline = Instant::now() + wait;
    loop {
        let mails: Vec<Mail> = read_all(dir)
            .into_iter()
            .filter(|m| m.to.eq_ignore_ascii_case(to))
            .collect();
        if mails.len() >= n {
            return mails;
        }
        if Instant::now() > deadline {
            panic!(
                "expected {n} mails to {to}, found {}: {mails:?}",
                mails.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The messages to `to` after the outbox has had time to deliver.
pub async fn settled(dir: &Path, to: &str) -> Vec<Mail> {
    tokio::time::sleep(Duration::from_millis(1500)).await;
    read_all(dir)
        .into_iter()
        .filter(|m| m.to.eq_ignore_ascii_case(to))
        .collect()
}
