//! Assurance (API.md §8.8): what a session's user proved, and so how far
//! the session may be trusted. Only the sign-in steps build an `Assurance`
//! (a password, a code, a passkey); everything that checks a password
//! later (`changePassword`, `deleteAccount` …) carries the caller's on,
//! so a factor proves only itself.

use chrono::{DateTime, Utc};

/// One way of proving who you are, as `amr` names it (RFC 8176).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// The password.
    Pwd,
    /// A mailed sign-in code or an authenticator app's code.
    Otp,
    /// A recovery code.
    Rec,
    /// A passkey with user verification.
    Hwk,
    /// A passwordless email link or code (§9.2).
    Email,
    /// Another identity provider (§9.1).
    Fed,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Pwd => "pwd",
            Method::Otp => "otp",
            Method::Rec => "rec",
            Method::Hwk => "hwk",
            Method::Email => "email",
            Method::Fed => "fed",
        }
    }

    pub fn parse(name: &str) -> Option<Method> {
        [
            Method::Pwd,
            Method::Otp,
            Method::Rec,
            Method::Hwk,
            Method::Email,
            Method::Fed,
        ]
        .into_iter()
        .find(|m| m.as_str() == name)
    }

    /// A second factor: proves something besides the first step.
    fn is_second_factor(self) -> bool {
        matches!(self, Method::Otp | Method::Rec)
    }
}

/// Methods one session can have proved: a first step, a second factor,
/// and room for a later kind.
const MAX_METHODS: usize = 4;

/// The methods a session's user proved, in the order they proved them.
/// Kept inline (no allocation): every authenticated request reads one.
#[derive(Clone, Copy, Debug)]
pub struct Assurance {
    methods: [Method; MAX_METHODS],
    len: u8,
}

impl PartialEq for Assurance {
    fn eq(&self, other: &Self) -> bool {
        self.list() == other.list()
    }
}

impl Eq for Assurance {}

pub const AAL1: &str = "aal1";
pub const AAL2: &str = "aal2";

impl Assurance {
    /// A sign-in's first step: a password, a passkey, a link or a provider.
    pub fn first(method: Method) -> Assurance {
        Assurance {
            methods: [method; MAX_METHODS],
            len: 1,
        }
    }

    /// The same sign-in, completed by a second factor.
    pub fn with(mut self, factor: Method) -> Assurance {
        let len = usize::from(self.len);
        if !self.list().contains(&factor) && len < MAX_METHODS {
            self.methods[len] = factor;
            self.len += 1;
        }
        self
    }

    fn list(&self) -> &[Method] {
        &self.methods[..usize::from(self.len)]
    }

    /// Two factors, or one passkey (webauthn-rs verified the user).
    pub fn is_aal2(&self) -> bool {
        self.has_two_factors() || self.list().contains(&Method::Hwk)
    }

    fn has_two_factors(&self) -> bool {
        self.list().iter().any(|m| !m.is_second_factor())
            && self.list().iter().any(|m| m.is_second_factor())
    }

    pub fn aal(&self) -> &'static str {
        if self.is_aal2() { AAL2 } else { AAL1 }
    }

    /// `amr` as clients see it: the methods, then `mfa` when two factors
    /// made the session `aal2`.
    pub fn amr(&self) -> Vec<&'static str> {
        let mut amr: Vec<&'static str> = self.list().iter().map(|m| m.as_str()).collect();
        if self.has_two_factors() {
            amr.push("mfa");
        }
        amr
    }

    /// The `amr` column: the methods, space-separated.
    pub fn stored(&self) -> String {
        let names: Vec<&str> = self.list().iter().map(|m| m.as_str()).collect();
        names.join(" ")
    }

    /// Reads the `amr` column back. Unknown names are dropped (a newer
    /// version's method proves nothing this one knows); an empty list is
    /// the password of sessions older than assurance.
    pub fn from_stored(amr: &str) -> Assurance {
        let mut methods = amr.split_whitespace().filter_map(Method::parse);
        let Some(first) = methods.next() else {
            return Assurance::first(Method::Pwd);
        };
        methods.fold(Assurance::first(first), Assurance::with)
    }
}

/// What a session's user last proved, and when: the session's
/// `authenticatedAt`, `aal` and `amr` move together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proof {
    pub at: DateTime<Utc>,
    pub assurance: Assurance,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_methods() {
        let pwd = Assurance::first(Method::Pwd);
        assert_eq!((pwd.aal(), pwd.amr()), ("aal1", vec!["pwd"]));
        let two = pwd.with(Method::Otp);
        assert_eq!((two.aal(), two.amr()), ("aal2", vec!["pwd", "otp", "mfa"]));
        let rec = pwd.with(Method::Rec);
        assert_eq!(rec.amr(), vec!["pwd", "rec", "mfa"]);
        let key = Assurance::first(Method::Hwk);
        assert_eq!((key.aal(), key.amr()), ("aal2", vec!["hwk"]));
        let email = Assurance::first(Method::Email);
        assert_eq!(email.aal(), "aal1");
        assert_eq!(Assurance::from_stored(&two.stored()), two);
        assert_eq!(Assurance::from_stored(""), Assurance::first(Method::Pwd));
        assert_eq!(
            Assurance::from_stored("pwd nonsense"),
            Assurance::first(Method::Pwd)
        );
    }

    /// A code alone is not two factors: nothing but a first step and a
    /// second factor together makes `mfa`.
    #[test]
    fn a_second_factor_alone_is_aal1() {
        let code = Assurance::first(Method::Otp);
        assert_eq!((code.aal(), code.amr()), ("aal1", vec!["otp"]));
    }
}
