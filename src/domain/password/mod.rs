//! Passwords, in memory only.
//!
//! The checks for a new password follow NIST SP 800-63B: a minimum length, no
//! composition rules, and a refusal of passwords that are known to be common
//! or that are guessable from the account itself.

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use super::Invalid;

/// Fewest characters in a new password.
pub const MIN_CHARS: usize = 8;
/// Most characters in a new password; enough for any passphrase.
pub const MAX_CHARS: usize = 128;
/// Most characters accepted at sign-in and wherever a password proves who
/// you are (API.md §8.9): the same as a new password may have, so nothing
/// longer is ever hashed.
pub const MAX_LOGIN_CHARS: usize = MAX_CHARS;

/// Similarity at or above which a password is too close to a user attribute,
/// as in Django's `UserAttributeSimilarityValidator`.
const MAX_SIMILARITY: f64 = 0.7;
/// Shortest piece of an attribute that is compared on its own.
const MIN_PART_CHARS: usize = 3;
/// Shortest text whose occurrence inside the other counts as similar.
const MIN_CONTAINED_CHARS: usize = 4;

/// Django's list of the 20,000 most common passwords.
///
/// The file holds 19,640 entries, lower-cased and de-duplicated, one per
/// line. It is `django/contrib/auth/common-passwords.txt.gz` of Django 5.2.19,
/// unzipped and otherwise unchanged (BSD-3-Clause, © Django Software
/// Foundation and individual contributors); Django credits the list to Royce
/// Williams, <https://gist.github.com/roycewilliams/226886fd01572964e1431ac8afc999ce>.
///
/// It is compiled in, so the check can't fail at run time for a missing file.
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect()
});

/// A password in plain text, held only as long as it takes to hash or verify it.
///
/// There is no `Display` and `Debug` prints `Password(***)`, so a password
/// can't end up in a log or an error message by accident; [`expose`] makes
/// every place that reads it visible in the code.
///
/// [`expose`]: Password::expose
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Parses a new password (sign-up, reset, change).
    ///
    /// `email` and `username` are the account's own values, when known, so
    /// that a password like `johnsmith1` for the user `johnsmith` is refused.
    /// The checks run in order and the first failure is reported: length,
    /// then the common list, then similarity.
    ///
    /// # Errors
    ///
    /// "must be at least 8 characters", "must be at most 128 characters", "is
    /// too common" or "is too similar to your email or username".
    pub fn parse(raw: &str, email: Option<&str>, username: Option<&str>) -> Result<Self, Invalid> {
        // Every char is at most 4 bytes: more bytes than that means too many
        // chars, without counting a possibly huge input.
        let chars = if raw.len() > MAX_CHARS * 4 {
            usize::MAX
        } else {
            raw.chars().count()
        };
        if chars > MAX_CHARS {
            return Err(Invalid(format!("must be at most {MAX_CHARS} characters")));
        }
        if chars < MIN_CHARS {
            return Err(Invalid(format!("must be at least {MIN_CHARS} characters")));
        }
        if is_common(raw) {
            return Err(Invalid("is too common".into()));
        }
        if is_too_similar(raw, email, username) {
            return Err(Invalid("is too similar to your email or username".into()));
        }
        Ok(Self(raw.to_owned()))
    }

    /// Parses a password given at sign-in, which is only ever compared with a
    /// stored hash.
    ///
    /// Only the length is checked: the rules for new passwords may have
    /// changed since the account was made, and telling an attacker which rule
    /// a guess broke helps nobody. The caller should answer a failure here
    /// exactly like a wrong password.
    ///
    /// # Errors
    ///
    /// "must not be empty" or "must be at most 128 characters".
    pub fn parse_for_login(raw: &str) -> Result<Self, Invalid> {
        if raw.is_empty() {
            return Err(Invalid("must not be empty".into()));
        }
        if raw.len() > MAX_LOGIN_CHARS * 4 || raw.chars().count() > MAX_LOGIN_CHARS {
            return Err(Invalid(format!(
                "must be at most {MAX_LOGIN_CHARS} characters"
            )));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The plain text, for hashing or verifying. Never log or return it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Never shows the password.
impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// Whether the password, ignoring case and surrounding spaces, is on the list.
fn is_common(password: &str) -> bool {
    COMMON_PASSWORDS.contains(password.trim().to_lowercase().as_str())
}

/// Whether the password is too close to the e-mail address, its local part or
/// the user name, in the manner of Django's `UserAttributeSimilarityValidator`.
///
/// Each value is compared whole and in pieces split at non-alphanumeric
/// characters, so `ann.lee@example.com` also guards against `annlee` and
/// `lee`-based passwords, not just the full address.
fn is_too_similar(password: &str, email: Option<&str>, username: Option<&str>) -> bool {
    let password = password.to_lowercase();
    let local_part = email
        .and_then(|email| email.rsplit_once('@'))
        .map(|(local, _)| local);
    [email, local_part, username]
        .into_iter()
        .flatten()
        .any(|value| is_similar_to_value(&password, &value.to_lowercase()))
}

fn is_similar_to_value(password: &str, value: &str) -> bool {
    let parts = value
        .split(|c: char| !c.is_alphanumeric())
        .filter(|part| part.chars().count() >= MIN_PART_CHARS);
    std::iter::once(value)
        .chain(parts)
        .any(|candidate| is_similar(password, candidate))
}

/// Whether one text contains the other (of at least
/// [`MIN_CONTAINED_CHARS`]), or their normalised Levenshtein similarity is at
/// least [`MAX_SIMILARITY`].
fn is_similar(a: &str, b: &str) -> bool {
    let (a_len, b_len) = (a.chars().count(), b.chars().count());
    let ((short, short_len), (long, long_len)) = if a_len <= b_len {
        ((a, a_len), (b, b_len))
    } else {
        ((b, b_len), (a, a_len))
    };
    if short_len >= MIN_CONTAINED_CHARS && long.contains(short) {
        return true;
    }
    // The edit distance is at least the difference in length, so the
    // similarity is at most short/long. Skipping pairs that can't reach the
    // threshold also keeps a huge attribute from costing a quadratic
    // comparison.
    #[allow(clippy::cast_precision_loss, reason = "lengths are far below 2^52")]
    if (short_len as f64) < MAX_SIMILARITY * long_len as f64 {
        return false;
    }
    strsim::normalized_levenshtein(a, b) >= MAX_SIMILARITY
}

#[cfg(test)]
mod tests;
