//! The kinds of second factor a sign-in challenge can ask for.

/// How a challenge's code reaches the user: by mail, or from an
/// authenticator app (API.md §8.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecondFactorMethod {
    Email,
    Totp,
}
