//! The password rules of API.md §4.

use std::time::{Duration, Instant};

use super::*;

const TOO_SHORT: &str = "must be at least 8 characters";
const TOO_LONG: &str = "must be at most 128 characters";
const COMMON: &str = "is too common";
const SIMILAR: &str = "is too similar to your email or username";

fn message(raw: &str) -> String {
    Password::parse(raw, None, None).unwrap_err().0
}

fn similar_message(raw: &str, email: Option<&str>, username: Option<&str>) -> String {
    Password::parse(raw, email, username).unwrap_err().0
}

#[test]
fn accepts_a_good_password_and_exposes_it_unchanged() {
    let password = Password::parse("  correct horse battery staple ", None, None).unwrap();
    assert_eq!(password.expose(), "  correct horse battery staple ");
}

#[test]
fn debug_never_shows_the_password() {
    let password = Password::parse("Tr0ub4dor&3xyz", None, None).unwrap();
    let debug = format!("{password:?}");
    assert_eq!(debug, "Password(***)");
    assert!(!format!("{:?}", Some(password)).contains("Tr0ub4dor"));
}

#[test]
fn accepts_8_and_128_characters_and_refuses_7_and_129() {
    assert!(Password::parse("zq8#vLp2", None, None).is_ok());
    assert!(Password::parse(&"zq8#vLp2".repeat(16), None, None).is_ok());
    assert_eq!(message("zq8#vLp"), TOO_SHORT);
    assert_eq!(message(&format!("{}x", "zq8#vLp2".repeat(16))), TOO_LONG);
}

#[test]
fn counts_characters_not_bytes() {
    // 8 characters, 16 bytes.
    assert!(Password::parse("éèêëēėęě", None, None).is_ok());
    // 7 characters, 28 bytes.
    assert_eq!(message(&"🔑".repeat(7)), TOO_SHORT);
    // 128 four-byte characters: 512 bytes, still allowed.
    assert!(Password::parse(&"🔑".repeat(128), None, None).is_ok());
    assert_eq!(message(&"🔑".repeat(129)), TOO_LONG);
}

#[test]
fn refuses_empty_and_whitespace_only_as_too_short() {
    assert_eq!(message(""), TOO_SHORT);
    assert_eq!(message("   "), TOO_SHORT);
}

#[test]
fn whitespace_counts_and_is_kept() {
    assert!(Password::parse("  zq8#  ", None, None).is_ok());
}

#[test]
fn control_characters_are_allowed_in_a_password() {
    let password = Password::parse("zq8#\tvLp2\u{0}", None, None).unwrap();
    assert_eq!(password.expose(), "zq8#\tvLp2\u{0}");
}

#[test]
fn refuses_a_one_mebibyte_password_quickly() {
    let huge = "a".repeat(1 << 20);
    let start = Instant::now();
    assert_eq!(message(&huge), TOO_LONG);
    assert!(start.elapsed() < Duration::from_millis(200));
}

#[test]
fn the_common_list_is_loaded_whole() {
    assert_eq!(COMMON_PASSWORDS.len(), 19_640);
    assert!(COMMON_PASSWORDS.contains("friend of emily"));
}

#[test]
fn refuses_common_passwords() {
    for raw in [
        "password123",
        "qwertyuiop",
        "123456789",
        "iloveyou",
        "sunshine",
    ] {
        assert_eq!(message(raw), COMMON, "{raw:?}");
    }
}

#[test]
fn refuses_common_passwords_in_any_case_and_with_surrounding_spaces() {
    assert_eq!(message("PassWord123"), COMMON);
    assert_eq!(message("  qwertyuiop  "), COMMON);
}

#[test]
fn common_list_matches_other_scripts_in_any_case() {
    // The list's Cyrillic entries are all shorter than 8 characters.
    assert!(is_common("ЙЦУКЕН"));
    assert!(is_common("пароль"));
}

#[test]
fn a_common_password_with_a_twist_is_not_on_the_list() {
    assert!(Password::parse("password123!x", None, None).is_ok());
}

#[test]
fn refuses_a_password_close_to_the_username() {
    assert_eq!(
        similar_message("johnsmith1", None, Some("johnsmith")),
        SIMILAR
    );
    assert_eq!(
        similar_message("JohnSmith!", None, Some("johnsmith")),
        SIMILAR
    );
}

#[test]
fn refuses_the_username_itself() {
    assert_eq!(
        similar_message("Zebrafish99", None, Some("zebrafish99")),
        SIMILAR
    );
}

#[test]
fn refuses_a_password_close_to_the_email_or_its_local_part() {
    let email = Some("Ann.Lee.Writer@example.com");
    assert_eq!(
        similar_message("Ann.Lee.Writer@example.com", email, None),
        SIMILAR
    );
    assert_eq!(similar_message("annleewriter", email, None), SIMILAR);
    assert_eq!(similar_message("ann.lee.writr", email, None), SIMILAR);
}

#[test]
fn refuses_a_password_containing_a_part_of_the_email() {
    let email = Some("ann.zimmerman@example.com");
    assert_eq!(similar_message("zimmerman-2024!", email, None), SIMILAR);
}

#[test]
fn refuses_a_password_contained_in_a_long_attribute() {
    let username = Some("the_quick_brownfoxjumps");
    assert_eq!(similar_message("brownfoxjumps", None, username), SIMILAR);
}

#[test]
fn short_parts_only_count_when_nearly_the_whole_password() {
    // "ann" and "lee" are under 4 characters, so containing them is fine.
    let email = Some("ann.lee@example.org");
    assert!(Password::parse("lee-river-ann-42", email, None).is_ok());
}

#[test]
fn accepts_a_password_unrelated_to_the_account() {
    assert!(
        Password::parse(
            "violet-orbit-7-lantern",
            Some("johnsmith@example.com"),
            Some("johnsmith"),
        )
        .is_ok()
    );
}

#[test]
fn similarity_is_ignored_without_attributes() {
    assert!(Password::parse("johnsmith1", None, None).is_ok());
}

#[test]
fn similarity_with_unicode_attributes_ignores_case() {
    assert_eq!(
        similar_message("ΓΙΏΡΓΟΣ_1983", None, Some("γιώργος")),
        SIMILAR
    );
}

#[test]
fn a_one_mebibyte_attribute_is_handled_quickly() {
    let huge = "x".repeat(1 << 20);
    let start = Instant::now();
    assert!(Password::parse("violet-orbit-7-lantern", Some(&huge), Some(&huge)).is_ok());
    assert!(start.elapsed() < Duration::from_millis(500));
}

#[test]
fn the_length_is_checked_before_the_common_list() {
    assert_eq!(message("123456"), TOO_SHORT);
}

#[test]
fn the_common_list_is_checked_before_similarity() {
    assert_eq!(
        similar_message("password1", None, Some("password1")),
        COMMON
    );
}

#[test]
fn login_accepts_anything_non_empty_up_to_128_characters() {
    for raw in ["a", "password", "  ", &"🔑".repeat(128)] {
        let password = Password::parse_for_login(raw).unwrap();
        assert_eq!(password.expose(), raw);
    }
}

#[test]
fn login_refuses_empty_and_over_128_characters() {
    assert_eq!(
        Password::parse_for_login("").unwrap_err().0,
        "must not be empty"
    );
    assert_eq!(
        Password::parse_for_login(&"a".repeat(129)).unwrap_err().0,
        "must be at most 128 characters"
    );
}

#[test]
fn login_refuses_a_one_mebibyte_password_quickly() {
    let huge = "a".repeat(1 << 20);
    let start = Instant::now();
    assert!(Password::parse_for_login(&huge).is_err());
    assert!(start.elapsed() < Duration::from_millis(200));
}
