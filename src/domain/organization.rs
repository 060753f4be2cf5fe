//! Organizations' rules that need no database (API.md §10): the role
//! table, names and slugs.

use rand::Rng;
use unicode_normalization::UnicodeNormalization;

use super::Invalid;

/// A member's role in an organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Member,
    Admin,
    Owner,
}

impl Role {
    /// As stored and as the API's enum and webhooks name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "OWNER",
            Role::Admin => "ADMIN",
            Role::Member => "MEMBER",
        }
    }

    pub fn parse(stored: &str) -> Option<Role> {
        match stored {
            "OWNER" => Some(Role::Owner),
            "ADMIN" => Some(Role::Admin),
            "MEMBER" => Some(Role::Member),
            _ => None,
        }
    }

    /// The `org_role` claim: `owner`, `admin` or `member`.
    pub fn claim(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    /// OWNER or ADMIN: manages the organization's members and data.
    pub fn manages(self) -> bool {
        self >= Role::Admin
    }

    /// Whether a member of this role may grant, revoke, change or remove
    /// `target` (§10.2): OWNER and what concerns OWNERs only by an OWNER,
    /// MEMBER and ADMIN by OWNER or ADMIN.
    pub fn may_handle(self, target: Role) -> bool {
        match target {
            Role::Owner => self == Role::Owner,
            Role::Admin | Role::Member => self.manages(),
        }
    }
}

const NAME_MAX: usize = 100;

/// Format characters that reorder or hide text (bidi controls, zero-width
/// ones): a name shown in mail and on pages must read as it is.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}' | '\u{00AD}')
}
const SLUG_MIN: usize = 3;
const SLUG_MAX: usize = 40;

/// A name: trimmed, 1–100 characters, no control characters.
pub fn parse_name(raw: &str) -> Result<String, Invalid> {
    let name = raw.trim();
    let len = name.chars().count();
    if len == 0 || len > NAME_MAX {
        return Err(Invalid(format!("must be 1 to {NAME_MAX} characters")));
    }
    if name
        .chars()
        .any(|c| c.is_control() || is_invisible_format(c))
    {
        return Err(Invalid(
            "must not contain control, direction or invisible characters".into(),
        ));
    }
    Ok(name.to_owned())
}

/// A slug as given: trimmed, lowercased, `^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$`.
pub fn parse_slug(raw: &str) -> Result<String, Invalid> {
    let slug = raw.trim().to_lowercase();
    if is_slug(&slug) {
        Ok(slug)
    } else {
        Err(Invalid(
            "must be 3 to 40 characters of a-z, 0-9 and -, starting and ending with a letter or digit"
                .into(),
        ))
    }
}

fn is_slug(slug: &str) -> bool {
    let b = slug.as_bytes();
    let inner = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    (SLUG_MIN..=SLUG_MAX).contains(&b.len())
        && inner(&b[0])
        && inner(&b[b.len() - 1])
        && b.iter().all(|c| inner(c) || *c == b'-')
}

/// The slug a name gives (NFKC, lowercase, every run of other characters
/// than `a-z0-9` one `-`, trimmed of `-`, cut to 40); `None` when shorter
/// than 3 characters (the caller adds a suffix).
pub fn slug_from_name(name: &str) -> String {
    let mut slug = String::new();
    for c in name.nfkc().collect::<String>().to_lowercase().chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_matches('-');
    slug[..slug.len().min(SLUG_MAX)]
        .trim_end_matches('-')
        .to_owned()
}

/// `base` made unique by `-` and 6 random `[a-z0-9]`, `base` cut so the
/// whole stays within 40 characters.
pub fn with_suffix(base: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let suffix: String = (0..6)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    let base = base[..base.len().min(SLUG_MAX - 7)].trim_end_matches('-');
    if base.is_empty() {
        // "-abc123" would not start with a letter or digit.
        return format!("org-{suffix}");
    }
    format!("{base}-{suffix}")
}

/// Whether a derived slug may be used as it is.
pub fn derived_is_usable(slug: &str) -> bool {
    is_slug(slug)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_the_contract() {
        assert_eq!(parse_slug("  Acme-Inc ").unwrap(), "acme-inc");
        for bad in ["ab", "-abc", "abc-", "a_bc", &"a".repeat(41), "ÄBC"] {
            assert!(parse_slug(bad).is_err(), "{bad}");
        }
        assert_eq!(slug_from_name("Acme, Inc.!"), "acme-inc");
        assert_eq!(slug_from_name("Ｆｕｌｌ Ｗｉｄｔｈ"), "full-width");
        assert_eq!(slug_from_name("日本"), "");
        assert_eq!(slug_from_name(&"x".repeat(50)).len(), 40);
        let s = with_suffix(&"y".repeat(40));
        assert!(derived_is_usable(&s) && s.len() <= 40, "{s}");
        assert!(derived_is_usable(&with_suffix("")));
        assert!(parse_name("evil\u{202E}moc.elgoog").is_err());
        assert!(parse_name("a\u{200B}b").is_err());
    }

    #[test]
    fn the_role_table() {
        assert!(Role::Owner.may_handle(Role::Owner));
        assert!(!Role::Admin.may_handle(Role::Owner));
        assert!(Role::Admin.may_handle(Role::Admin));
        assert!(!Role::Member.may_handle(Role::Member));
        assert_eq!(Role::parse("ADMIN"), Some(Role::Admin));
        assert_eq!(Role::Admin.claim(), "admin");
    }
}
