//! The kinds of second factor a sign-in challenge can ask for.

/// How a challenge's code reaches the user: by mail, or from an
/// authenticator app (API.md §8.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecondFactorMethod {
    Email,
    Totp,
}

impl SecondFactorMethod {
    /// The stored (and API) name.
    pub fn as_str(self) -> &'static str {
        match self {
            SecondFactorMethod::Email => "EMAIL",
            SecondFactorMethod::Totp => "TOTP",
        }
    }

    /// The stored name read back; anything unknown is the emailed code,
    /// the method every challenge had before authenticator apps.
    pub fn from_stored(name: &str) -> SecondFactorMethod {
        match name {
            "TOTP" => SecondFactorMethod::Totp,
            _ => SecondFactorMethod::Email,
        }
    }
}
