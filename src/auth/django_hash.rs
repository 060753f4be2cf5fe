//! Django's password hashes, so users imported from a Django site sign in
//! with the passwords they have (API.md §8.5). Each format is checked by
//! its primitive's own crate (pbkdf2, bcrypt, argon2), never by code of
//! ours; the server replaces the hash with its own argon2id on the first
//! successful sign-in. Work factors far beyond any Django default are
//! refused as hostile: a stored hash must not be able to stall the server.

use argon2::{Argon2, PasswordHash, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Above this many PBKDF2 iterations a hash is hostile (Django's defaults
/// are 1,000,000–1,500,000).
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
/// bcrypt's cost is a power of two; Django's default is 12.
const MAX_BCRYPT_COST: u32 = 16;
/// Argon2 memory in KiB (Django's default is 102,400: 100 MiB) and passes
/// (Django's default is 2): 256 MiB and 10 (API.md §8.10).
const MAX_ARGON2_MEMORY_KIB: u32 = 256 * 1024;
const MAX_ARGON2_PASSES: u32 = 10;

/// A Django hash that authql can check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DjangoHash {
    Pbkdf2Sha256 {
        iterations: u32,
        salt: String,
        hash: Vec<u8>,
    },
    Pbkdf2Sha1 {
        iterations: u32,
        salt: String,
        hash: Vec<u8>,
    },
    /// The PHC string after Django's `argon2` prefix.
    Argon2 {
        phc: String,
    },
    /// bcrypt of the hex SHA-256 of the password (no 72-byte limit).
    BcryptSha256 {
        bcrypt: String,
    },
    Bcrypt {
        bcrypt: String,
    },
}

/// Why a stored value cannot be imported as a usable password.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// `!…`: Django's mark for "no password can sign in".
    Unusable,
    Hostile(&'static str),
    Unsupported(String),
    Malformed,
}

impl Refusal {
    /// The reason as the import prints it.
    pub fn reason(&self) -> String {
        match self {
            Refusal::Unusable => "unusable password".into(),
            Refusal::Hostile(what) => format!("hostile {what}"),
            Refusal::Unsupported(algorithm) => format!("unsupported hasher {algorithm:?}"),
            Refusal::Malformed => "malformed password hash".into(),
        }
    }
}

/// Reads a Django `password` column value.
pub fn parse(stored: &str) -> Result<DjangoHash, Refusal> {
    if stored.is_empty() || stored.starts_with('!') {
        return Err(Refusal::Unusable);
    }
    let (algorithm, rest) = stored.split_once('$').ok_or(Refusal::Malformed)?;
    match algorithm {
        "pbkdf2_sha256" | "pbkdf2_sha1" => {
            let mut parts = rest.splitn(3, '$');
            let (Some(iterations), Some(salt), Some(hash)) =
                (parts.next(), parts.next(), parts.next())
            else {
                return Err(Refusal::Malformed);
            };
            let iterations: u32 = iterations.parse().map_err(|_| Refusal::Malformed)?;
            if iterations > MAX_PBKDF2_ITERATIONS {
                return Err(Refusal::Hostile("iteration count"));
            }
            let hash = STANDARD.decode(hash).map_err(|_| Refusal::Malformed)?;
            // Exactly one digest block: an empty digest would match every
            // password, a longer one multiply the work of each check.
            let length = if algorithm == "pbkdf2_sha256" { 32 } else { 20 };
            if hash.len() != length || salt.is_empty() {
                return Err(Refusal::Malformed);
            }
            let salt = salt.to_owned();
            Ok(if algorithm == "pbkdf2_sha256" {
                DjangoHash::Pbkdf2Sha256 {
                    iterations,
                    salt,
                    hash,
                }
            } else {
                DjangoHash::Pbkdf2Sha1 {
                    iterations,
                    salt,
                    hash,
                }
            })
        }
        "argon2" => {
            // Django writes `argon2` + argon2-cffi's PHC string, which
            // begins with the `$` split off above.
            let rest = format!("${rest}");
            let phc = PasswordHash::new(&rest).map_err(|_| Refusal::Malformed)?;
            let params = argon2::Params::try_from(&phc).map_err(|_| Refusal::Malformed)?;
            let salted = phc
                .salt
                .is_some_and(|salt| !AsRef::<[u8]>::as_ref(&salt).is_empty());
            let hashed = phc.hash.is_some_and(|hash| hash.len() >= 16);
            if !salted || !hashed {
                return Err(Refusal::Malformed);
            }
            if params.m_cost() > MAX_ARGON2_MEMORY_KIB || params.t_cost() > MAX_ARGON2_PASSES {
                return Err(Refusal::Hostile("argon2 cost"));
            }
            Ok(DjangoHash::Argon2 {
                phc: rest.to_owned(),
            })
        }
        "bcrypt_sha256" | "bcrypt" => {
            // Django writes `bcrypt$` + the bcrypt string, which starts with `$`.
            let bcrypt = rest.to_owned();
            // `$2b$12$` and 53 characters of salt and digest, no more or less.
            if bcrypt.len() != 60 {
                return Err(Refusal::Malformed);
            }
            let parts: bcrypt::HashParts = bcrypt.parse().map_err(|_| Refusal::Malformed)?;
            if parts.get_cost() > MAX_BCRYPT_COST {
                return Err(Refusal::Hostile("bcrypt cost"));
            }
            Ok(if algorithm == "bcrypt" {
                DjangoHash::Bcrypt { bcrypt }
            } else {
                DjangoHash::BcryptSha256 { bcrypt }
            })
        }
        other => Err(Refusal::Unsupported(other.to_owned())),
    }
}

impl DjangoHash {
    /// Whether `password` is the one this hash was made from. CPU-heavy:
    /// run it where password hashing runs.
    pub fn verify(&self, password: &[u8]) -> bool {
        match self {
            DjangoHash::Pbkdf2Sha256 {
                iterations,
                salt,
                hash,
            } => {
                let mut out = vec![0u8; hash.len()];
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt.as_bytes(), *iterations, &mut out);
                out.ct_eq(hash).into()
            }
            DjangoHash::Pbkdf2Sha1 {
                iterations,
                salt,
                hash,
            } => {
                let mut out = vec![0u8; hash.len()];
                pbkdf2::pbkdf2_hmac::<Sha1>(password, salt.as_bytes(), *iterations, &mut out);
                out.ct_eq(hash).into()
            }
            // argon2's verifier allocates the hash's memory per call (Django's
            // default: 100 MiB). Deliberately not the hashing threads'
            // reused buffer: that only grows, and one imported hash would
            // pin 100 MiB per thread for good; this runs once per imported
            // user, before the hash is replaced.
            DjangoHash::Argon2 { phc } => Argon2::default()
                .verify_password(password, phc.as_str())
                .is_ok(),
            DjangoHash::BcryptSha256 { bcrypt } => {
                let prehash = hex::encode(Sha256::digest(password));
                bcrypt::verify(prehash, bcrypt).unwrap_or(false)
            }
            DjangoHash::Bcrypt { bcrypt } => bcrypt::verify(password, bcrypt).unwrap_or(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_cannot_or_must_not_be_checked() {
        assert_eq!(parse("!abcdef"), Err(Refusal::Unusable));
        assert_eq!(parse(""), Err(Refusal::Unusable));
        assert_eq!(
            parse("pbkdf2_sha256$20000000$salt$AAAA"),
            Err(Refusal::Hostile("iteration count"))
        );
        assert_eq!(
            parse("pbkdf2_sha256$many$salt$AAAA"),
            Err(Refusal::Malformed)
        );
        assert_eq!(
            parse("md5$salt$0123456789abcdef"),
            Err(Refusal::Unsupported("md5".into()))
        );
        assert_eq!(parse("bcrypt$$2b$31$abc"), Err(Refusal::Malformed));
        let digest = STANDARD.encode([7u8; 32]);
        assert!(matches!(
            parse(&format!("pbkdf2_sha256$1000000$salt${digest}")),
            Ok(DjangoHash::Pbkdf2Sha256 {
                iterations: 1_000_000,
                ..
            })
        ));
    }

    /// The review's takeover: an empty digest imported as usable and then
    /// matched every password (a zero-length comparison); a padded digest
    /// multiplied the work per check. A digest must be exactly the
    /// algorithm's length, a salt must be there, and argon2's costs stay
    /// within 256 MiB and 10 passes (API.md §8.10).
    #[test]
    fn refuses_empty_cut_padded_or_costly_hashes() {
        let sha256 = |n: usize| STANDARD.encode(vec![7u8; n]);
        for stored in [
            format!("pbkdf2_sha256$1000$salt${}", ""),
            format!("pbkdf2_sha256$1000$salt${}", sha256(31)),
            format!("pbkdf2_sha256$1000$salt${}", sha256(33)),
            format!("pbkdf2_sha256$1000$salt${}", sha256(32 * 64)),
            format!("pbkdf2_sha1$1000$salt${}", sha256(32)),
            format!("pbkdf2_sha256$1000$${}", sha256(32)),
        ] {
            assert!(parse(&stored).is_err(), "{stored}");
        }
        assert!(parse(&format!("pbkdf2_sha1$1000$salt${}", sha256(20))).is_ok());
        assert_eq!(
            parse("argon2$argon2id$v=19$m=524288,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"),
            Err(Refusal::Hostile("argon2 cost"))
        );
        assert_eq!(
            parse("argon2$argon2id$v=19$m=102400,t=11,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"),
            Err(Refusal::Hostile("argon2 cost"))
        );
        assert!(
            parse("argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
                .is_ok()
        );
        assert!(parse("bcrypt$$2b$12$short").is_err());
    }

    /// The stored form round-trips: parsed, checked, a near miss refused.
    /// (Hashes Django itself wrote are checked by the import test.)
    #[test]
    fn checks_pbkdf2_sha256_as_django_computes_it() {
        let mut out = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(b"correct horse", b"seasalt", 1000, &mut out);
        let stored = format!("pbkdf2_sha256$1000$seasalt${}", STANDARD.encode(out));
        assert!(parse(&stored).unwrap().verify(b"correct horse"));
        assert!(!parse(&stored).unwrap().verify(b"correct horsf"));
    }
}
