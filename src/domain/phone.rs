//! Telephone numbers.

use std::fmt;

use super::{Invalid, normalize};

/// Fewest digits: shorter numbers are only local extensions or service codes.
pub const MIN_DIGITS: usize = 7;
/// Most digits: the E.164 limit for an international number.
pub const MAX_DIGITS: usize = 15;
/// Most characters as typed, separators included; `+1 (555) 123-4567` has 17.
pub const MAX_CHARS: usize = 32;

/// A telephone number, stored as an optional `+` followed by its digits.
///
/// People type numbers with all kinds of grouping (`+1 (555) 123-4567`,
/// `030 1234.5678`); the separators carry no meaning, so they are dropped and
/// two spellings of one number become equal. The number is not checked
/// against any numbering plan: that needs per-country data, and sending a code
/// to the number is the only real proof that it exists.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Parses a number as typed: digits, spaces, `-`, `(`, `)`, `.` and one
    /// leading `+`, with 7 to 15 digits.
    ///
    /// NFKC runs first, so full-width digits typed with an East Asian input
    /// method count as digits.
    ///
    /// # Errors
    ///
    /// "must not be empty", "must be at most 32 characters", "may contain only
    /// digits, spaces, - ( ) . and a leading +" or "must have 7 to 15 digits".
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let typed = normalize(raw, MAX_CHARS)
            .ok_or_else(|| Invalid(format!("must be at most {MAX_CHARS} characters")))?;
        if typed.is_empty() {
            return Err(Invalid("must not be empty".into()));
        }

        let (plus, rest) = match typed.strip_prefix('+') {
            Some(rest) => ("+", rest),
            None => ("", typed.as_str()),
        };
        let mut number = String::with_capacity(typed.len());
        number.push_str(plus);
        for c in rest.chars() {
            match c {
                '0'..='9' => number.push(c),
                ' ' | '-' | '(' | ')' | '.' => {}
                _ => {
                    return Err(Invalid(
                        "may contain only digits, spaces, - ( ) . and a leading +".into(),
                    ));
                }
            }
        }

        let digits = number.len() - plus.len();
        if !(MIN_DIGITS..=MAX_DIGITS).contains(&digits) {
            return Err(Invalid(format!(
                "must have {MIN_DIGITS} to {MAX_DIGITS} digits"
            )));
        }
        Ok(Self(number))
    }

    /// The normalised number: `+` if one was given, then digits only.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    const CHARACTERS: &str = "may contain only digits, spaces, - ( ) . and a leading +";
    const DIGITS: &str = "must have 7 to 15 digits";

    fn message(raw: &str) -> String {
        Phone::parse(raw).unwrap_err().0
    }

    #[test]
    fn keeps_the_plus_and_drops_separators() {
        let phone = Phone::parse("+1 (555) 123-4567").unwrap();
        assert_eq!(phone.as_str(), "+15551234567");
    }

    #[test]
    fn accepts_a_number_without_a_plus() {
        assert_eq!(
            Phone::parse("030 1234.5678").unwrap().as_str(),
            "03012345678"
        );
    }

    #[test]
    fn two_spellings_of_one_number_are_equal() {
        assert_eq!(
            Phone::parse("+44 20 7946 0958").unwrap(),
            Phone::parse("+44-20-7946-0958").unwrap()
        );
    }

    #[test]
    fn trims_surrounding_whitespace() {
        assert_eq!(Phone::parse("  5551234 \n").unwrap().as_str(), "5551234");
    }

    #[test]
    fn full_width_digits_are_normalised_by_nfkc() {
        assert_eq!(
            Phone::parse("＋８１ ３ １２３４ ５６７８")
                .unwrap()
                .as_str(),
            "+81312345678"
        );
    }

    #[test]
    fn accepts_7_and_15_digits_and_refuses_6_and_16() {
        assert!(Phone::parse("1234567").is_ok());
        assert!(Phone::parse("+123456789012345").is_ok());
        assert_eq!(message("123456"), DIGITS);
        assert_eq!(message("+1234567890123456"), DIGITS);
    }

    #[test]
    fn separators_do_not_count_as_digits() {
        assert_eq!(message("12-34-56"), DIGITS);
        assert_eq!(message("+ ( ) - ."), DIGITS);
    }

    #[test]
    fn refuses_a_plus_anywhere_but_the_start() {
        assert_eq!(message("1+5551234567"), CHARACTERS);
        assert_eq!(message("++15551234567"), CHARACTERS);
        assert_eq!(message("+1 555 +1234567"), CHARACTERS);
    }

    #[test]
    fn refuses_letters_and_other_characters() {
        for raw in [
            "1-800-FLOWERS",
            "555 1234 ext 5",
            "555/123/4567",
            "555#1234567",
            "555\u{0}1234567",
            "555\t1234567",
        ] {
            assert_eq!(message(raw), CHARACTERS, "{raw:?}");
        }
    }

    #[test]
    fn refuses_non_ascii_digits_that_nfkc_keeps() {
        assert_eq!(message("٥٥٥١٢٣٤٥٦٧"), CHARACTERS);
    }

    #[test]
    fn refuses_empty_and_whitespace_only() {
        assert_eq!(message(""), "must not be empty");
        assert_eq!(message(" \t "), "must not be empty");
    }

    #[test]
    fn refuses_long_padding_even_with_few_digits() {
        let raw = format!("+1{}5551234", " ".repeat(40));
        assert_eq!(message(&raw), "must be at most 32 characters");
    }

    #[test]
    fn refuses_a_one_mebibyte_input_quickly() {
        let huge = "5".repeat(1 << 20);
        let start = Instant::now();
        assert_eq!(message(&huge), "must be at most 32 characters");
        assert!(start.elapsed() < Duration::from_millis(200));
    }

    #[test]
    fn display_shows_the_normalised_number() {
        assert_eq!(
            Phone::parse("+1 555 123 4567").unwrap().to_string(),
            "+15551234567"
        );
    }
}
