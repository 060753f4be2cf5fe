//! The signing settings of access tokens (API.md §8.3).

use std::path::{Path, PathBuf};

use super::vars::{Vars, invalid};
use super::{AppEnv, ConfigError};

/// Where a generated development signing key is kept between runs.
pub const JWT_KEY_FILE: &str = ".authql-jwt-key.pem";

/// The algorithm access tokens are signed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwtAlgorithm {
    /// HMAC-SHA256 keyed by `SECRET_KEY` (the default): only this server
    /// can verify its tokens.
    Hs256,
    /// Ed25519.
    EdDsa,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
}

impl JwtAlgorithm {
    pub fn parse(name: &str) -> Option<JwtAlgorithm> {
        Some(match name {
            "HS256" => JwtAlgorithm::Hs256,
            "EdDSA" => JwtAlgorithm::EdDsa,
            "ES256" => JwtAlgorithm::Es256,
            "RS256" => JwtAlgorithm::Rs256,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            JwtAlgorithm::Hs256 => "HS256",
            JwtAlgorithm::EdDsa => "EdDSA",
            JwtAlgorithm::Es256 => "ES256",
            JwtAlgorithm::Rs256 => "RS256",
        }
    }
}

/// Where the signing key comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JwtKeySource {
    /// HS256: `SECRET_KEY`.
    Secret,
    /// `JWT_PRIVATE_KEY_FILE`: a PKCS#8 PEM that must exist.
    File(PathBuf),
    /// Development without `JWT_PRIVATE_KEY_FILE`: this file, generated
    /// (mode 0600, with a warning) when missing and kept across restarts.
    Generated(PathBuf),
}

/// Which extra claims tokens carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwtClaims {
    Standard,
    /// Also Hasura's `https://hasura.io/jwt/claims` namespace.
    Hasura,
}

#[derive(Clone, Debug)]
pub struct JwtSettings {
    pub algorithm: JwtAlgorithm,
    pub key: JwtKeySource,
    /// Earlier keys (PEM, public or private) whose tokens still verify and
    /// whose public keys are still published.
    pub previous_key_files: Vec<PathBuf>,
    pub issuer: String,
    pub audience: Vec<String>,
    pub claims: JwtClaims,
}

impl JwtSettings {
    pub(super) fn from_vars(
        v: &Vars<'_>,
        app_env: AppEnv,
        public_url: &str,
        secret_dir: &Path,
    ) -> Result<JwtSettings, ConfigError> {
        let algorithm = match v.get("JWT_ALGORITHM") {
            None => JwtAlgorithm::Hs256,
            Some(name) => JwtAlgorithm::parse(&name).ok_or_else(|| {
                invalid(
                    "JWT_ALGORITHM",
                    format!("expected HS256, EdDSA, ES256 or RS256, got {name:?}"),
                )
            })?,
        };
        let file = v.get("JWT_PRIVATE_KEY_FILE").map(PathBuf::from);
        let key = match (algorithm, file) {
            (JwtAlgorithm::Hs256, None) => JwtKeySource::Secret,
            (JwtAlgorithm::Hs256, Some(_)) => {
                return Err(invalid(
                    "JWT_PRIVATE_KEY_FILE",
                    "is for EdDSA, ES256 or RS256; HS256 is keyed by SECRET_KEY",
                ));
            }
            (_, Some(path)) => JwtKeySource::File(path),
            (_, None) if app_env == AppEnv::Production => {
                return Err(invalid(
                    "JWT_PRIVATE_KEY_FILE",
                    format!(
                        "APP_ENV=production with JWT_ALGORITHM={} needs a key file (`authql keys generate`)",
                        algorithm.name()
                    ),
                ));
            }
            (_, None) => JwtKeySource::Generated(secret_dir.join(JWT_KEY_FILE)),
        };
        let audience: Vec<String> = match v.get("JWT_AUDIENCE") {
            Some(_) => v.list("JWT_AUDIENCE"),
            None => vec!["authql".to_owned()],
        };
        if audience.is_empty() {
            return Err(invalid("JWT_AUDIENCE", "names no audience"));
        }
        Ok(JwtSettings {
            algorithm,
            key,
            previous_key_files: v
                .list("JWT_PREVIOUS_KEY_FILES")
                .into_iter()
                .map(PathBuf::from)
                .collect(),
            issuer: v.get("JWT_ISSUER").unwrap_or_else(|| public_url.to_owned()),
            audience,
            claims: match v.get("JWT_CLAIMS").as_deref() {
                None | Some("standard") => JwtClaims::Standard,
                Some("hasura") => JwtClaims::Hasura,
                Some(other) => {
                    return Err(invalid(
                        "JWT_CLAIMS",
                        format!("expected standard or hasura, got {other:?}"),
                    ));
                }
            },
        })
    }
}
