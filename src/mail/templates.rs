//! The messages authql sends, each with a text and an HTML part. Values
//! that come from users are HTML-escaped; links come from `PUBLIC_URL` only.

/// A rendered message, ready for the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Sent before other waiting mail: someone is waiting for it to sign in.
    pub urgent: bool,
}

/// A lifetime in words for a mail: "1 day", "10 minutes", "1 hour 30 minutes".
pub fn duration_text(d: std::time::Duration) -> String {
    let mut secs = d.as_secs();
    let mut parts = Vec::new();
    for (unit, size) in [
        ("day", 86_400),
        ("hour", 3_600),
        ("minute", 60),
        ("second", 1),
    ] {
        let n = secs / size;
        secs %= size;
        if n > 0 && parts.len() < 2 {
            parts.push(format!("{n} {unit}{}", if n == 1 { "" } else { "s" }));
        }
    }
    if parts.is_empty() {
        "a moment".to_owned()
    } else {
        parts.join(" ")
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Wraps paragraphs of already-escaped HTML in a minimal, mail-safe page.
fn page(title: &str, paragraphs: &[String]) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>\n")).collect();
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body style=\"font-family: sans-serif; line-height: 1.5\">\n{body}</body></html>\n",
        escape(title)
    )
}

fn link(url: &str) -> String {
    let u = escape(url);
    format!("<a href=\"{u}\">{u}</a>")
}

pub fn activation(link_url: &str, code: &str, ttl_text: &str, code_ttl_text: &str) -> Email {
    let subject = "Activate your account".to_owned();
    let text = format!(
        "Welcome!\n\nTo activate your account, open this link:\n\n{link_url}\n\n\
         or enter this code: {code}\n\n\
         The link works for {ttl_text} and the code for {code_ttl_text}; using either one uses up both.\n\n\
         If you did not sign up, ignore this message.\n"
    );
    let html = page(
        &subject,
        &[
            "Welcome!".into(),
            format!(
                "To activate your account, open this link:<br>{}",
                link(link_url)
            ),
            format!(
                "or enter this code: <strong style=\"font-size: 1.4em; letter-spacing: 0.2em\">{}</strong>",
                escape(code)
            ),
            format!(
                "The link works for {} and the code for {}; using either one uses up both.",
                escape(ttl_text),
                escape(code_ttl_text)
            ),
            "If you did not sign up, ignore this message.".into(),
        ],
    );
    Email {
        subject,
        text,
        html,
        urgent: false,
    }
}

/// Sent instead of an activation mail when someone registers an address
/// that already has an account: the owner learns of it, the registrant
/// learns nothing.
pub fn already_registered(public_url: &str) -> Email {
    let subject = "Someone tried to sign up with your address".to_owned();
    let reset = format!("{public_url}/graphql");
    let text = format!(
        "Someone (perhaps you) tried to create an account with this address, which already has one.\n\n\
         If it was you, sign in instead; if you forgot your password, ask for a reset at {reset}.\n\
         If it was not you, you can ignore this message: your account is unchanged.\n"
    );
    let html = page(
        &subject,
        &[
            "Someone (perhaps you) tried to create an account with this address, which already has one.".into(),
            format!("If it was you, sign in instead; if you forgot your password, ask for a reset at {}.", link(&reset)),
            "If it was not you, you can ignore this message: your account is unchanged.".into(),
        ],
    );
    Email {
        subject,
        text,
        html,
        urgent: false,
    }
}

pub fn login_code(code: &str, ttl_text: &str) -> Email {
    let subject = "Your sign-in code".to_owned();
    let text = format!(
        "Your sign-in code is: {code}\n\nIt works once, for {ttl_text}.\n\
         If you did not try to sign in, someone knows your password: change it now.\n"
    );
    let html = page(
        &subject,
        &[
            format!(
                "Your sign-in code is: <strong style=\"font-size: 1.4em; letter-spacing: 0.2em\">{}</strong>",
                escape(code)
            ),
            format!("It works once, for {}.", escape(ttl_text)),
            "If you did not try to sign in, someone knows your password: change it now.".into(),
        ],
    );
    Email {
        subject,
        text,
        html,
        urgent: true,
    }
}

/// An email sign-in (API.md §9.2): a code, and a link when the request
/// had somewhere to send the browser back to. Using either uses both.
pub fn email_sign_in(link_url: Option<&str>, code: &str, ttl_text: &str) -> Email {
    let subject = "Your sign-in link and code".to_owned();
    let link_text = link_url.map_or(String::new(), |url| {
        format!("To sign in, open this link and press the button:\n\n{url}\n\nor enter ")
    });
    let text = format!(
        "{}{}this code: {code}\n\nIt works once, for {ttl_text}; using the link or the code uses up both.\n\
         If you did not ask to sign in, ignore this message.\n",
        link_text,
        if link_url.is_some() {
            ""
        } else {
            "To sign in, enter "
        },
    );
    let mut paragraphs = Vec::new();
    if let Some(url) = link_url {
        paragraphs.push(format!(
            "To sign in, open this link and press the button:<br>{}",
            link(url)
        ));
    }
    paragraphs.push(format!(
        "Your sign-in code is: <strong style=\"font-size: 1.4em; letter-spacing: 0.2em\">{}</strong>",
        escape(code)
    ));
    paragraphs.push(format!(
        "It works once, for {}; using the link or the code uses up both.",
        escape(ttl_text)
    ));
    paragraphs.push("If you did not ask to sign in, ignore this message.".into());
    Email {
        html: page(&subject, &paragraphs),
        subject,
        text,
        urgent: true,
    }
}

/// A notice of a change to the account's security ("if this wasn't you…").
/// The last mail to a deleted account's address: nothing is left to reset.
pub fn account_deleted() -> Email {
    let subject = "Your account was deleted".to_owned();
    let lines = [
        "Your account and everything in it were deleted, as you asked.",
        "This address can sign up again at any time.",
        "If this wasn't you, someone knew your password: change it wherever else you use it.",
    ];
    Email {
        text: format!("{}\n", lines.join("\n\n")),
        html: page(&subject, &lines.map(escape)),
        subject,
        urgent: false,
    }
}

pub fn security_notice(what: &str, public_url: &str) -> Email {
    let subject = format!("Security notice: {what}");
    let text = format!(
        "This is a notice that on your account: {what}.\n\n\
         If this was you, there is nothing to do.\n\
         If this wasn't you, reset your password right away ({public_url}/graphql, requestPasswordReset) \
         and sign out of every session.\n"
    );
    let html = page(
        &subject,
        &[
            format!(
                "This is a notice that on your account: <strong>{}</strong>.",
                escape(what)
            ),
            "If this was you, there is nothing to do.".into(),
            format!(
                "If this wasn't you, reset your password right away ({}) and sign out of every session.",
                link(&format!("{public_url}/graphql"))
            ),
        ],
    );
    Email {
        subject,
        text,
        html,
        urgent: false,
    }
}

/// To the new address of an address change: the link that confirms it.
pub fn email_change_link(link_url: &str, ttl_text: &str) -> Email {
    let subject = "Confirm your new email address".to_owned();
    let text = format!(
        "Someone (hopefully you) asked to move their account to this address.\n\n\
         To confirm, open this link:\n\n{link_url}\n\n\
         It works once, for {ttl_text}. If you did not ask, ignore this message: nothing changes.\n"
    );
    let html = page(
        &subject,
        &[
            "Someone (hopefully you) asked to move their account to this address.".into(),
            format!("To confirm, open this link:<br>{}", link(link_url)),
            format!(
                "It works once, for {}. If you did not ask, ignore this message: nothing changes.",
                escape(ttl_text)
            ),
        ],
    );
    Email {
        subject,
        text,
        html,
        urgent: false,
    }
}

/// To an address that already has an account, when someone asks to move
/// another account to it: nothing happens, and its owner is told.
pub fn email_in_use() -> Email {
    let subject = "Someone tried to use your email address".to_owned();
    let lines = [
        "Someone asked to move another account to this address. This address already has an account (yours), so nothing changed.",
        "If this was you, sign in with this address instead. Otherwise there is nothing to do.",
    ];
    Email {
        text: format!("{}\n", lines.join("\n\n")),
        html: page(&subject, &lines.map(escape)),
        subject,
        urgent: false,
    }
}

pub fn password_reset(link_url: &str, ttl_text: &str) -> Email {
    let subject = "Reset your password".to_owned();
    let text = format!(
        "Someone (hopefully you) asked to reset the password of this account.\n\n\
         To choose a new password, open this link:\n\n{link_url}\n\n\
         It works once, for {ttl_text}. If you did not ask, ignore this message: your password is unchanged.\n"
    );
    let html = page(
        &subject,
        &[
            "Someone (hopefully you) asked to reset the password of this account.".into(),
            format!(
                "To choose a new password, open this link:<br>{}",
                link(link_url)
            ),
            format!(
                "It works once, for {}. If you did not ask, ignore this message: your password is unchanged.",
                escape(ttl_text)
            ),
        ],
    );
    Email {
        subject,
        text,
        html,
        urgent: false,
    }
}

/// An invitation to an organization (API.md §10.3). The organization's
/// name is the inviter's text: escaped, and never made a link.
pub fn invitation(org_name: &str, role: &str, link_url: &str, ttl_text: &str) -> Email {
    let subject = "You are invited to join an organization".to_owned();
    let role = role.to_lowercase();
    let text = format!(
        "You are invited to join the organization \"{org_name}\" as {role}.\n\n\
         To accept, open this link, then sign in (or register with this address) and accept:\n\n\
         {link_url}\n\nThe invitation is valid for {ttl_text}. If you do not know this organization, ignore this message.\n"
    );
    let paragraphs = [
        format!(
            "You are invited to join the organization <strong>{}</strong> as {}.",
            escape(org_name),
            escape(&role)
        ),
        format!(
            "To accept, open this link, then sign in (or register with this address) and accept:<br>{}",
            link(link_url)
        ),
        format!(
            "The invitation is valid for {}. If you do not know this organization, ignore this message.",
            escape(ttl_text)
        ),
    ];
    Email {
        html: page(&subject, &paragraphs),
        subject,
        text,
        urgent: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_words() {
        use std::time::Duration;
        assert_eq!(duration_text(Duration::from_secs(86_400)), "1 day");
        assert_eq!(duration_text(Duration::from_secs(600)), "10 minutes");
        assert_eq!(
            duration_text(Duration::from_secs(5_400)),
            "1 hour 30 minutes"
        );
    }

    #[test]
    fn user_values_are_escaped_in_html() {
        let e = activation(
            "https://x.example/activate/a/b?<script>",
            "123456",
            "1 day",
            "10 minutes",
        );
        assert!(!e.html.contains("<script>"));
        assert!(e.html.contains("&lt;script&gt;"));
        assert!(e.text.contains("123456"));
    }
}
