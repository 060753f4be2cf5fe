//! The provider's values (API.md §9.3): scopes, client types, redirect
//! URIs and how a presented one matches a registered one.

use super::Invalid;

/// The four scopes the provider knows, in the contract's order.
pub const SCOPES: [&str; 4] = ["openid", "email", "profile", "offline_access"];

/// A set of known scopes, kept in [`SCOPES`] order (so stored and shown
/// values are stable).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scopes(u8);

impl Scopes {
    pub const ALL: Scopes = Scopes(0b1111);

    /// Space-separated scopes; an unknown one is `Err` with its name.
    pub fn parse_space(raw: &str) -> Result<Scopes, String> {
        Scopes::parse_list(raw.split(' ').filter(|s| !s.is_empty()))
    }

    pub fn parse_list<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Scopes, String> {
        let mut set = 0u8;
        for name in names {
            let i = SCOPES
                .iter()
                .position(|s| *s == name)
                .ok_or_else(|| name.to_owned())?;
            set |= 1 << i;
        }
        Ok(Scopes(set))
    }

    /// A stored value (always well-formed; anything unknown is dropped).
    pub fn stored(raw: &str) -> Scopes {
        Scopes::parse_list(raw.split(' ').filter(|s| SCOPES.contains(s))).unwrap_or_default()
    }

    pub fn has(self, name: &str) -> bool {
        SCOPES
            .iter()
            .position(|s| *s == name)
            .is_some_and(|i| self.0 & (1 << i) != 0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn covers(self, other: Scopes) -> bool {
        other.0 & !self.0 == 0
    }

    pub fn union(self, other: Scopes) -> Scopes {
        Scopes(self.0 | other.0)
    }

    pub fn intersect(self, other: Scopes) -> Scopes {
        Scopes(self.0 & other.0)
    }

    pub fn names(self) -> Vec<&'static str> {
        SCOPES
            .iter()
            .enumerate()
            .filter(|(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, s)| *s)
            .collect()
    }

    /// Space-separated, in [`SCOPES`] order.
    pub fn to_space(self) -> String {
        self.names().join(" ")
    }
}

/// Whether a client authenticates with a secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientType {
    Confidential,
    Public,
}

impl ClientType {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientType::Confidential => "CONFIDENTIAL",
            ClientType::Public => "PUBLIC",
        }
    }

    pub fn stored(raw: &str) -> ClientType {
        if raw == "PUBLIC" {
            ClientType::Public
        } else {
            ClientType::Confidential
        }
    }
}

/// The longest redirect URI a client may register.
pub const MAX_REDIRECT_URI: usize = 2000;

/// A redirect URI a client may register: absolute, no fragment, no
/// wildcard, and `https`, `http` on a loopback host, or a private-use
/// scheme holding a `.` (RFC 8252 §7.1).
pub fn parse_redirect_uri(raw: &str) -> Result<String, Invalid> {
    if raw.is_empty() || raw.len() > MAX_REDIRECT_URI {
        return Err(Invalid(format!("must be 1-{MAX_REDIRECT_URI} characters")));
    }
    if raw.contains('*') || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Invalid("must not hold wildcards or spaces".into()));
    }
    let url = url::Url::parse(raw).map_err(|_| Invalid("must be an absolute URI".into()))?;
    if url.fragment().is_some() || raw.contains('#') {
        return Err(Invalid("must not have a fragment".into()));
    }
    let ok = match url.scheme() {
        "https" => url.host().is_some(),
        "http" => matches!(
            url.host_str(),
            Some("127.0.0.1") | Some("[::1]") | Some("localhost")
        ),
        "javascript" | "data" | "file" | "vbscript" | "blob" | "about" | "ws" | "wss" => false,
        scheme => scheme.contains('.'),
    };
    if !ok {
        return Err(Invalid(
            "must be https, http on a loopback host, or a private-use scheme with a '.'".into(),
        ));
    }
    Ok(raw.to_owned())
}

/// Whether `presented` is `registered`: exact string equality, except that
/// a registered `http://127.0.0.1/…` or `http://[::1]/…` without a port
/// matches the same URI with any port (RFC 8252 §7.3).
pub fn redirect_matches(registered: &str, presented: &str) -> bool {
    if registered == presented {
        return true;
    }
    for host in ["http://127.0.0.1", "http://[::1]"] {
        let (Some(reg_rest), Some(pres_rest)) =
            (registered.strip_prefix(host), presented.strip_prefix(host))
        else {
            continue;
        };
        if reg_rest.starts_with(':') {
            return false;
        }
        let Some(after_colon) = pres_rest.strip_prefix(':') else {
            return false;
        };
        let digits = after_colon.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 5 {
            return false;
        }
        let rest = &after_colon[digits..];
        // The port is followed by the path (or nothing) in both.
        let reg_path = reg_rest;
        return rest == reg_path && (rest.is_empty() || rest.starts_with('/'));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_are_exact_but_for_loopback_ports() {
        assert!(redirect_matches(
            "https://a.example/cb",
            "https://a.example/cb"
        ));
        assert!(!redirect_matches(
            "https://a.example/cb",
            "https://a.example/cb/"
        ));
        assert!(!redirect_matches(
            "https://a.example/cb",
            "https://a.example/cbx"
        ));
        assert!(!redirect_matches(
            "https://a.example/cb",
            "https://A.example/cb"
        ));
        assert!(!redirect_matches(
            "https://a.example/cb",
            "https://a.example/cb?x=1"
        ));
        assert!(redirect_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:4312/cb"
        ));
        assert!(redirect_matches("http://[::1]/cb", "http://[::1]:80/cb"));
        assert!(!redirect_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:43/cbx"
        ));
        assert!(!redirect_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:43@evil/cb"
        ));
        assert!(!redirect_matches(
            "http://127.0.0.1:80/cb",
            "http://127.0.0.1:81/cb"
        ));
        assert!(!redirect_matches(
            "http://localhost/cb",
            "http://localhost:81/cb"
        ));
    }

    #[test]
    fn registrable_redirect_uris() {
        for ok in [
            "https://app.example/cb",
            "http://127.0.0.1/cb",
            "http://localhost:3000/cb",
            "http://[::1]:8080/x?y=1",
            "com.example.app:/callback",
        ] {
            assert!(parse_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://app.example/cb",
            "https://app.example/cb#x",
            "https://*.example/cb",
            "/cb",
            "myapp:/cb",
            "javascript:alert(1)",
            "",
        ] {
            assert!(parse_redirect_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scopes_keep_their_order() {
        let s = Scopes::parse_space("profile openid").unwrap();
        assert_eq!(s.to_space(), "openid profile");
        assert!(Scopes::ALL.covers(s));
        assert!(!s.covers(Scopes::ALL));
        assert_eq!(Scopes::parse_space("openid admin"), Err("admin".into()));
    }
}
