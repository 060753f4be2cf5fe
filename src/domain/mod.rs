//! Domain types that are parsed, not validated.
//!
//! Every user-supplied value is turned into one of these types as a service
//! receives it (resolvers pass the client's strings through untouched). Once
//! a value has a type it is known to be well-formed, so the code after the
//! parse never re-checks it and can't forget to.
//!
//! Each `parse` returns an [`Invalid`] with a short message that does not name
//! the field; the service gathers them into a [`FieldErrors`] under the input
//! field they came from, so that a client sees every problem at once.

use std::collections::BTreeMap;
use std::collections::btree_map;
use std::fmt;

use unicode_normalization::UnicodeNormalization;

/// Case-folds text for search and ordering (NFKC, then lower case), in Rust
/// rather than SQL: SQLite's `lower()` folds ASCII only.
pub fn fold(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfkc().collect::<String>().to_lowercase()
}

pub mod email;
pub mod gender;
pub mod oauth;
pub mod organization;
pub mod password;
pub mod phone;
pub mod second_factor;
pub mod security_event;
pub mod username;
pub mod webhook;

pub use email::Email;
pub use gender::Gender;
pub use password::Password;
pub use phone::Phone;
pub use second_factor::SecondFactorMethod;
pub use security_event::SecurityEventType;
pub use username::Username;

/// A reason a value was refused, without its field: the caller knows which input field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

/// Input field name → messages; becomes `extensions.fields` of a `BAD_USER_INPUT` error.
///
/// A `BTreeMap` keeps the fields in a stable order, so responses and test
/// snapshots don't change from one run to the next.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// One error, for a failure that is known before any other field is looked at.
    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    /// Records `message` under `field`, after any already recorded for it.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_default().push(message.into());
    }

    /// Keeps the value of a successful parse, or records its error under `field`.
    ///
    /// This lets a resolver parse every field before giving up, instead of
    /// stopping at the first bad one:
    ///
    /// ```ignore
    /// let mut errors = FieldErrors::new();
    /// let email = errors.check("email", Email::parse(&input.email));
    /// let username = errors.check("username", Username::parse(&input.username));
    /// errors.into_result()?;
    /// ```
    pub fn check<T>(&mut self, field: &str, r: Result<T, Invalid>) -> Option<T> {
        match r {
            Ok(value) => Some(value),
            Err(Invalid(message)) => {
                self.add(field, message);
                None
            }
        }
    }

    /// Whether nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok` when nothing was recorded, so that `?` ends a resolver on bad input.
    ///
    /// # Errors
    ///
    /// `self`, when at least one message was recorded.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }

    /// The fields in name order, each with its messages in the order they were added.
    pub fn iter(&self) -> btree_map::Iter<'_, String, Vec<String>> {
        self.0.iter()
    }
}

impl<'a> IntoIterator for &'a FieldErrors {
    type Item = (&'a String, &'a Vec<String>);
    type IntoIter = btree_map::Iter<'a, String, Vec<String>>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// `field: message; field: message`, for logs and the top-level error message.
impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut separator = "";
        for (field, messages) in self {
            for message in messages {
                write!(f, "{separator}{field}: {message}")?;
                separator = "; ";
            }
        }
        Ok(())
    }
}

impl std::error::Error for FieldErrors {}

/// Trims `raw`, applies Unicode NFKC and trims again; `None` when the result
/// would be longer than `max_chars` characters.
///
/// NFKC makes look-alike forms of the same text (full-width letters, ligatures,
/// composed and decomposed accents) one value, so they can't be registered
/// twice. The second trim removes spaces that NFKC can produce (e.g. from
/// U+00A8 DIAERESIS).
///
/// Input of more than eight bytes per allowed character is refused before
/// normalizing: no realistic value is that long even fully decomposed, and
/// this keeps a megabyte-sized input from costing a megabyte of work.
fn normalize(raw: &str, max_chars: usize) -> Option<String> {
    let trimmed = raw.trim();
    if trimmed.len() > max_chars.saturating_mul(8) {
        return None;
    }
    let normalized: String = trimmed.nfkc().collect();
    let normalized = normalized.trim();
    (normalized.chars().count() <= max_chars).then(|| normalized.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_field_errors_are_empty_and_ok() {
        let errors = FieldErrors::new();
        assert!(errors.is_empty());
        assert_eq!(errors.into_result(), Ok(()));
    }

    #[test]
    fn single_records_one_message() {
        let errors = FieldErrors::single("email", "must not be empty");
        assert!(!errors.is_empty());
        let collected: Vec<_> = errors.iter().collect();
        assert_eq!(
            collected,
            [(&"email".to_owned(), &vec!["must not be empty".to_owned()])]
        );
    }

    #[test]
    fn add_keeps_several_messages_per_field_in_order() {
        let mut errors = FieldErrors::new();
        errors.add("password", "first");
        errors.add("password", "second");
        let messages: Vec<_> = errors.iter().flat_map(|(_, m)| m.clone()).collect();
        assert_eq!(messages, ["first", "second"]);
    }

    #[test]
    fn check_returns_the_value_on_success_and_records_nothing() {
        let mut errors = FieldErrors::new();
        let value = errors.check("age", Ok::<_, Invalid>(42));
        assert_eq!(value, Some(42));
        assert!(errors.is_empty());
    }

    #[test]
    fn check_records_the_error_under_the_field_and_returns_none() {
        let mut errors = FieldErrors::new();
        let value: Option<u8> = errors.check("email", Err(Invalid("bad".into())));
        assert_eq!(value, None);
        assert_eq!(errors, FieldErrors::single("email", "bad"));
    }

    #[test]
    fn into_result_is_err_when_something_was_recorded() {
        let errors = FieldErrors::single("email", "bad");
        assert_eq!(errors.clone().into_result(), Err(errors));
    }

    #[test]
    fn display_lists_fields_in_name_order_separated_by_semicolons() {
        let mut errors = FieldErrors::new();
        errors.add("password", "is too common");
        errors.add("email", "must be a valid email address");
        errors.add("password", "is too similar to your email or username");
        assert_eq!(
            errors.to_string(),
            "email: must be a valid email address; password: is too common; \
             password: is too similar to your email or username"
        );
    }

    #[test]
    fn display_of_no_errors_is_empty() {
        assert_eq!(FieldErrors::new().to_string(), "");
    }

    #[test]
    fn invalid_displays_its_message() {
        assert_eq!(Invalid("is too common".into()).to_string(), "is too common");
    }

    #[test]
    fn normalize_trims_before_and_after_nfkc() {
        assert_eq!(normalize("  ｍａｉｌ\u{3000}", 10).as_deref(), Some("mail"));
    }

    #[test]
    fn normalize_counts_characters_not_bytes() {
        assert_eq!(normalize("ééé", 3).as_deref(), Some("ééé"));
        assert_eq!(normalize("éééé", 3), None);
    }

    #[test]
    fn normalize_composes_decomposed_accents_before_counting() {
        assert_eq!(normalize("e\u{301}", 1).as_deref(), Some("é"));
    }

    #[test]
    fn normalize_refuses_huge_input() {
        assert_eq!(normalize(&"a".repeat(1 << 20), 254), None);
    }
}
