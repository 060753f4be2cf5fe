//! E-mail addresses, as given at sign-up and sign-in.

use std::fmt;
use std::hash::{Hash, Hasher};

use email_address::{EmailAddress, Options};

use super::{Invalid, normalize};

/// The longest address that fits a mail path: RFC 5321 allows 256 octets
/// including the angle brackets (RFC 3696 erratum 1690).
pub const MAX_CHARS: usize = 254;

/// A syntactically valid e-mail address.
///
/// The address keeps the case it was typed in, for sending mail to it, while
/// [`key`](Email::key) is the lower-cased form used to find an account: people
/// don't remember how they capitalised their address, and no mainstream
/// provider treats `Ann@` and `ann@` as different mailboxes. Equality and
/// hashing go by the key.
#[derive(Clone)]
pub struct Email {
    /// Trimmed and NFKC-normalised, case kept.
    address: String,
    /// `address.to_lowercase()`.
    key: String,
    /// Byte offset of the `@`.
    at: usize,
}

impl Email {
    /// Parses an address as a person would type it into a form.
    ///
    /// Accepted: `local@domain.tld` with a dot-atom local part (Unicode letters
    /// allowed) and a host name with at least two labels. Refused, although
    /// RFC 5322 allows them, because no real sign-up uses them and they only
    /// make look-ups and display harder: display names (`Ann <ann@x.org>`),
    /// quoted local parts (`"a b"@x.org`), IP addresses as domains
    /// (`a@[10.0.0.1]`, `a@10.0.0.1`) and domains without a dot (`a@localhost`).
    ///
    /// # Errors
    ///
    /// "must not be empty", "must be at most 254 characters", "must not
    /// contain control characters" or "must be a valid email address".
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let address = normalize(raw, MAX_CHARS)
            .ok_or_else(|| Invalid(format!("must be at most {MAX_CHARS} characters")))?;
        if address.is_empty() {
            return Err(Invalid("must not be empty".into()));
        }
        if address.chars().any(char::is_control) {
            return Err(Invalid("must not contain control characters".into()));
        }

        let options = Options::default()
            .with_required_tld()
            .without_domain_literal()
            .without_display_text();
        EmailAddress::parse_with_options(&address, options).map_err(|_| syntax_error())?;

        // The crate accepts quoted local parts, which may contain `@`; with
        // those refused the first `@` is the only one.
        let (local, domain) = address.split_once('@').ok_or_else(syntax_error)?;
        if local.starts_with('"') || !is_host_name(domain) {
            return Err(syntax_error());
        }

        Ok(Self {
            at: local.len(),
            key: address.to_lowercase(),
            address,
        })
    }

    /// The address as typed, after trimming and NFKC normalisation.
    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// The lower-cased address, for the unique index and comparisons.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The part before the `@`, case kept.
    pub fn local_part(&self) -> &str {
        &self.address[..self.at]
    }

    /// The part after the `@`, case kept.
    pub fn domain(&self) -> &str {
        &self.address[self.at + 1..]
    }

    /// The address with all but the first character of the local part hidden,
    /// e.g. `m***@example.com`: enough for a person to recognise their own
    /// address in a message, not enough to harvest it.
    pub fn mask(&self) -> String {
        let mut masked = String::with_capacity(self.domain().len() + 8);
        masked.extend(self.local_part().chars().next());
        masked.push_str("***@");
        masked.push_str(self.domain());
        masked
    }
}

fn syntax_error() -> Invalid {
    Invalid("must be a valid email address".into())
}

/// Whether a domain that `email_address` accepted is also a host name: labels
/// of letters, digits and hyphens only (the crate allows any atom character,
/// like `!` or `_`), and not an IPv4 address in disguise (no top-level domain
/// is all digits).
fn is_host_name(domain: &str) -> bool {
    let labels_ok = domain
        .split('.')
        .all(|label| label.chars().all(|c| c.is_alphanumeric() || c == '-'));
    let numeric_tld = domain
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()));
    labels_ok && !numeric_tld
}

impl PartialEq for Email {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Email {}

impl Hash for Email {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

/// Shows the address: e-mail addresses are not secrets.
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Email").field(&self.address).finish()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn message(raw: &str) -> String {
        Email::parse(raw).unwrap_err().0
    }

    #[test]
    fn accepts_a_plain_address() {
        let email = Email::parse("ann@example.com").unwrap();
        assert_eq!(email.as_str(), "ann@example.com");
        assert_eq!(email.local_part(), "ann");
        assert_eq!(email.domain(), "example.com");
    }

    #[test]
    fn accepts_plus_tags_dots_and_subdomains() {
        let email = Email::parse("ann.lee+news@mail.example.co.uk").unwrap();
        assert_eq!(email.local_part(), "ann.lee+news");
        assert_eq!(email.domain(), "mail.example.co.uk");
    }

    #[test]
    fn trims_surrounding_whitespace() {
        let email = Email::parse(" \t ann@example.com \n").unwrap();
        assert_eq!(email.as_str(), "ann@example.com");
    }

    #[test]
    fn keeps_case_in_as_str_but_lower_cases_the_key() {
        let email = Email::parse("Ann.Lee@Example.COM").unwrap();
        assert_eq!(email.as_str(), "Ann.Lee@Example.COM");
        assert_eq!(email.key(), "ann.lee@example.com");
        assert_eq!(email.local_part(), "Ann.Lee");
    }

    #[test]
    fn addresses_differing_only_in_case_are_equal() {
        let a = Email::parse("ANN@example.com").unwrap();
        let b = Email::parse("ann@EXAMPLE.com").unwrap();
        assert_eq!(a, b);
        let set: std::collections::HashSet<_> = [a, b].into_iter().collect();
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn full_width_letters_are_normalised_by_nfkc() {
        let email = Email::parse("ｍａｉｌ@example.com").unwrap();
        assert_eq!(email.as_str(), "mail@example.com");
        assert_eq!(email, Email::parse("mail@example.com").unwrap());
    }

    #[test]
    fn full_width_at_sign_is_normalised_by_nfkc() {
        let email = Email::parse("mail＠example.com").unwrap();
        assert_eq!(email.as_str(), "mail@example.com");
    }

    #[test]
    fn accepts_unicode_local_part_and_domain() {
        let email = Email::parse("Jürgen@bücher.de").unwrap();
        assert_eq!(email.key(), "jürgen@bücher.de");
    }

    #[test]
    fn decomposed_and_composed_accents_give_the_same_address() {
        let decomposed = Email::parse("jo\u{65}\u{301}@example.com").unwrap();
        let composed = Email::parse("jo\u{e9}@example.com").unwrap();
        assert_eq!(decomposed.as_str(), composed.as_str());
    }

    #[test]
    fn refuses_empty_and_whitespace_only() {
        assert_eq!(message(""), "must not be empty");
        assert_eq!(message("   \t\n "), "must not be empty");
    }

    #[test]
    fn refuses_control_characters_inside() {
        assert_eq!(
            message("ann\u{0}@example.com"),
            "must not contain control characters"
        );
        assert_eq!(
            message("ann@exa\nmple.com"),
            "must not contain control characters"
        );
        assert_eq!(
            message("ann@example.com\u{7f}x"),
            "must not contain control characters"
        );
    }

    #[test]
    fn refuses_invisible_format_characters() {
        assert_eq!(
            message("ann\u{200b}@example.com"),
            "must be a valid email address"
        );
        assert_eq!(
            message("ann@exa\u{202e}mple.com"),
            "must be a valid email address"
        );
    }

    #[test]
    fn refuses_malformed_addresses() {
        for raw in [
            "ann",
            "ann@",
            "@example.com",
            "ann@@example.com",
            "ann@example@example.com",
            "ann example@example.com",
            "ann..lee@example.com",
            ".ann@example.com",
            "ann.@example.com",
            "ann@example..com",
            "ann@.example.com",
            "ann@example.com.",
            "ann@-example.com",
            "ann@example-.com",
            "ann@exa_mple.com",
            "ann@exa!mple.com",
            "ann@example.com>",
            "ann,lee@example.com",
        ] {
            assert_eq!(message(raw), "must be a valid email address", "{raw:?}");
        }
    }

    #[test]
    fn refuses_a_domain_without_a_dot() {
        assert_eq!(message("ann@localhost"), "must be a valid email address");
    }

    #[test]
    fn refuses_ip_address_domains() {
        for raw in [
            "ann@[127.0.0.1]",
            "ann@[IPv6:::1]",
            "ann@127.0.0.1",
            "ann@10.0.0.256",
        ] {
            assert_eq!(message(raw), "must be a valid email address", "{raw:?}");
        }
    }

    #[test]
    fn accepts_digits_in_domain_labels_other_than_the_last() {
        assert!(Email::parse("ann@123.example.com").is_ok());
        assert!(Email::parse("ann@mail2.example.com").is_ok());
    }

    #[test]
    fn refuses_display_name_forms() {
        for raw in [
            "Ann <ann@example.com>",
            "\"Ann Lee\" <ann@example.com>",
            "<ann@example.com>",
        ] {
            assert_eq!(message(raw), "must be a valid email address", "{raw:?}");
        }
    }

    #[test]
    fn refuses_quoted_local_parts() {
        assert_eq!(
            message("\"ann lee\"@example.com"),
            "must be a valid email address"
        );
        assert_eq!(
            message("\"ann@lee\"@example.com"),
            "must be a valid email address"
        );
    }

    #[test]
    fn accepts_254_characters_and_refuses_255() {
        let domain = format!(
            "{}.{}.{}.com",
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(57)
        );
        let fits = format!("{}@{domain}", "a".repeat(64));
        assert_eq!(fits.chars().count(), MAX_CHARS);
        assert!(Email::parse(&fits).is_ok());

        let too_long = format!("{}@{domain}", "a".repeat(65));
        assert_eq!(message(&too_long), "must be at most 254 characters");
    }

    #[test]
    fn refuses_a_local_part_over_64_characters() {
        let raw = format!("{}@example.com", "a".repeat(65));
        assert_eq!(message(&raw), "must be a valid email address");
    }

    #[test]
    fn refuses_a_one_mebibyte_input_quickly() {
        let huge = format!("{}@example.com", "a".repeat(1 << 20));
        let start = Instant::now();
        assert_eq!(message(&huge), "must be at most 254 characters");
        assert!(start.elapsed() < Duration::from_millis(200));
    }

    #[test]
    fn refuses_a_one_mebibyte_whitespace_input_quickly() {
        let huge = " ".repeat(1 << 20);
        let start = Instant::now();
        assert_eq!(message(&huge), "must not be empty");
        assert!(start.elapsed() < Duration::from_millis(200));
    }

    #[test]
    fn mask_keeps_the_first_character_and_the_domain() {
        let email = Email::parse("mary.jones@example.com").unwrap();
        assert_eq!(email.mask(), "m***@example.com");
    }

    #[test]
    fn mask_of_a_one_character_local_part_hides_its_length_too() {
        let email = Email::parse("m@example.com").unwrap();
        assert_eq!(email.mask(), "m***@example.com");
    }

    #[test]
    fn mask_keeps_a_whole_non_ascii_first_character() {
        let email = Email::parse("élodie@exemple.fr").unwrap();
        assert_eq!(email.mask(), "é***@exemple.fr");
    }

    #[test]
    fn debug_and_display_show_the_address() {
        let email = Email::parse("Ann@example.com").unwrap();
        assert_eq!(email.to_string(), "Ann@example.com");
        assert_eq!(format!("{email:?}"), "Email(\"Ann@example.com\")");
    }
}
