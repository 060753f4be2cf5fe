//! Public user names.

use std::fmt;
use std::hash::{Hash, Hasher};

use super::{Invalid, normalize};

/// Fewest characters in a user name.
pub const MIN_CHARS: usize = 3;
/// Most characters in a user name: enough for real names, short enough to show.
pub const MAX_CHARS: usize = 30;

/// A user name of 3 to 30 letters, digits, `_`, `.` and `-`.
///
/// Letters and digits of any script are allowed, so that people can use their
/// own names; punctuation is limited to three characters that are safe in URLs
/// and mentions. The name keeps the case it was typed in for display, while
/// [`key`](Username::key), the lower-cased form, is what must be unique:
/// `Ann` and `ann` are one account. Equality and hashing go by the key.
#[derive(Clone)]
pub struct Username {
    /// Trimmed and NFKC-normalised, case kept.
    name: String,
    /// `name.to_lowercase()`.
    key: String,
}

impl Username {
    /// Parses a user name as typed into a form.
    ///
    /// NFKC runs before the checks, so full-width and other compatibility
    /// forms become their plain letters instead of making look-alike names.
    ///
    /// # Errors
    ///
    /// "must not be empty", "must be 3 to 30 characters" or "may contain only
    /// letters, digits, _ . -".
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let length_error = || Invalid(format!("must be {MIN_CHARS} to {MAX_CHARS} characters"));
        let name = normalize(raw, MAX_CHARS).ok_or_else(length_error)?;
        if name.is_empty() {
            return Err(Invalid("must not be empty".into()));
        }
        if name.chars().count() < MIN_CHARS {
            return Err(length_error());
        }
        if !name.chars().all(is_allowed) {
            return Err(Invalid("may contain only letters, digits, _ . -".into()));
        }
        Ok(Self {
            key: name.to_lowercase(),
            name,
        })
    }

    /// The name as typed, after trimming and NFKC normalisation.
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The lower-cased name, for the unique index and comparisons.
    pub fn key(&self) -> &str {
        &self.key
    }
}

fn is_allowed(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '-')
}

impl PartialEq for Username {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Username {}

impl Hash for Username {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Username").field(&self.name).finish()
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    const LENGTH: &str = "must be 3 to 30 characters";
    const CHARACTERS: &str = "may contain only letters, digits, _ . -";

    fn message(raw: &str) -> String {
        Username::parse(raw).unwrap_err().0
    }

    #[test]
    fn accepts_letters_digits_and_the_three_punctuation_marks() {
        let name = Username::parse("ann_lee-2.0").unwrap();
        assert_eq!(name.as_str(), "ann_lee-2.0");
    }

    #[test]
    fn trims_surrounding_whitespace() {
        assert_eq!(Username::parse("  ann \n").unwrap().as_str(), "ann");
    }

    #[test]
    fn keeps_case_for_display_but_lower_cases_the_key() {
        let name = Username::parse("AnnLee").unwrap();
        assert_eq!(name.as_str(), "AnnLee");
        assert_eq!(name.key(), "annlee");
        assert_eq!(name.to_string(), "AnnLee");
    }

    #[test]
    fn names_differing_only_in_case_are_equal() {
        assert_eq!(
            Username::parse("ANN").unwrap(),
            Username::parse("ann").unwrap()
        );
    }

    #[test]
    fn accepts_turkish_greek_and_german_letters() {
        for raw in ["Şükrü_Işık", "Γιώργος", "Straße", "ÇağrıÖzgür"] {
            assert!(Username::parse(raw).is_ok(), "{raw:?}");
        }
    }

    #[test]
    fn lower_cases_non_ascii_letters_in_the_key() {
        assert_eq!(Username::parse("ΣΟΦΙΑ").unwrap().key(), "σοφια");
        assert_eq!(Username::parse("ŞÜKRÜ").unwrap().key(), "şükrü");
        assert_eq!(Username::parse("STRAßE").unwrap().key(), "straße");
    }

    #[test]
    fn accepts_cjk_and_non_latin_digits() {
        assert!(Username::parse("山田太郎").is_ok());
        assert!(Username::parse("user٣").is_ok());
    }

    #[test]
    fn full_width_letters_are_normalised_by_nfkc() {
        let name = Username::parse("ａｎｎ").unwrap();
        assert_eq!(name.as_str(), "ann");
        assert_eq!(name, Username::parse("ann").unwrap());
    }

    #[test]
    fn ligatures_are_expanded_by_nfkc() {
        assert_eq!(Username::parse("oﬃce").unwrap().as_str(), "office");
    }

    #[test]
    fn refuses_emoji() {
        assert_eq!(message("ann😀"), CHARACTERS);
        assert_eq!(message("👍👍👍"), CHARACTERS);
    }

    #[test]
    fn refuses_spaces_and_other_punctuation() {
        for raw in ["ann lee", "ann@lee", "ann/lee", "ann+lee", "<ann>", "ann's"] {
            assert_eq!(message(raw), CHARACTERS, "{raw:?}");
        }
    }

    #[test]
    fn refuses_control_and_invisible_characters() {
        assert_eq!(message("ann\u{0}lee"), CHARACTERS);
        assert_eq!(message("ann\tlee"), CHARACTERS);
        assert_eq!(message("ann\u{200b}lee"), CHARACTERS);
        assert_eq!(message("ann\u{202e}lee"), CHARACTERS);
    }

    #[test]
    fn refuses_empty_and_whitespace_only() {
        assert_eq!(message(""), "must not be empty");
        assert_eq!(message(" \t\u{3000} "), "must not be empty");
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert!(Username::parse("ééé").is_ok());
        assert!(Username::parse(&"é".repeat(30)).is_ok());
        assert_eq!(message(&"é".repeat(31)), LENGTH);
        assert_eq!(message("éé"), LENGTH);
    }

    #[test]
    fn accepts_3_and_30_characters_and_refuses_2_and_31() {
        assert!(Username::parse("abc").is_ok());
        assert!(Username::parse(&"a".repeat(30)).is_ok());
        assert_eq!(message("ab"), LENGTH);
        assert_eq!(message(&"a".repeat(31)), LENGTH);
    }

    #[test]
    fn refuses_a_one_mebibyte_input_quickly() {
        let huge = "a".repeat(1 << 20);
        let start = Instant::now();
        assert_eq!(message(&huge), LENGTH);
        assert!(start.elapsed() < Duration::from_millis(200));
    }

    #[test]
    fn debug_shows_the_name() {
        let name = Username::parse("Ann").unwrap();
        assert_eq!(format!("{name:?}"), "Username(\"Ann\")");
    }
}
