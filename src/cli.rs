//! The command line of API.md §7.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use uuid::Uuid;

use crate::config::JwtAlgorithm;
use crate::db::MigrateCommand;

#[derive(Parser, Debug)]
#[command(name = "authql", version, about = "A GraphQL authentication server")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run migrations, then serve (the default).
    Serve,
    /// Manage the database schema.
    Migrate {
        #[arg(value_enum, default_value_t = MigrateVerb::Up)]
        verb: MigrateVerb,
    },
    /// Create an active staff superuser; the password comes from
    /// AUTHQL_PASSWORD or an interactive prompt.
    CreateSuperuser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        username: Option<String>,
    },
    /// Print the GraphQL SDL, or write it to FILE.
    ExportSchema { file: Option<PathBuf> },
    /// Import the users of a Django site, keeping their password hashes
    /// (each is replaced by argon2id on its user's first sign-in).
    ImportDjango {
        /// The Django database: `sqlite://…` or `postgres://…`.
        #[arg(long = "from", value_name = "DATABASE_URL")]
        from: String,
        /// The user table: Django's default, or a custom user model's.
        #[arg(long, default_value = "auth_user")]
        table: String,
        /// Check every row and report, but write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Access-token signing keys.
    Keys {
        #[command(subcommand)]
        verb: KeysVerb,
    },
    /// The clients of the OAuth provider, whatever OAUTH_PROVIDER says;
    /// stdout carries only JSON.
    OauthClient {
        #[command(subcommand)]
        verb: OauthClientVerb,
    },
}

#[derive(Subcommand, Debug)]
pub enum OauthClientVerb {
    /// Register a client; prints it as a JSON object with its secret
    /// (shown only here; null for a public client).
    Create {
        /// 1-100 characters.
        #[arg(long)]
        name: String,
        /// Repeat for each (1-10): https, http on a loopback host, or a
        /// private-use scheme with a '.'.
        #[arg(long = "redirect-uri", value_name = "URI", required = true)]
        redirect_uri: Vec<String>,
        /// Repeat for each (0-10).
        #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
        post_logout_redirect_uri: Vec<String>,
        /// Repeat for each: openid, email, profile, offline_access (all
        /// four when none is given).
        #[arg(long = "scope", value_name = "SCOPE")]
        scope: Vec<String>,
        /// A public client: no secret, PKCE alone.
        #[arg(long)]
        public: bool,
        /// First-party: no consent page, no notice.
        #[arg(long)]
        skip_consent: bool,
    },
    /// Print every client as a JSON array, newest first.
    List,
    /// Delete a client as deleteOAuthClient does: its grants and pending
    /// authorizations go, and every token issued to it is dead.
    Delete {
        #[arg(value_name = "CLIENT_ID")]
        client_id: Uuid,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeysVerb {
    /// Write a new PKCS#8 PEM private key to FILE (created mode 0600, never
    /// overwritten), or to stdout.
    Generate {
        #[arg(long, value_enum, default_value_t = KeyAlgorithm::EdDSA)]
        algorithm: KeyAlgorithm,
        file: Option<PathBuf>,
    },
    /// Print the JWKS the current settings publish.
    Show,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum KeyAlgorithm {
    #[value(name = "EdDSA")]
    EdDSA,
    #[value(name = "ES256")]
    ES256,
    #[value(name = "RS256")]
    RS256,
}

impl From<KeyAlgorithm> for JwtAlgorithm {
    fn from(a: KeyAlgorithm) -> Self {
        match a {
            KeyAlgorithm::EdDSA => JwtAlgorithm::EdDsa,
            KeyAlgorithm::ES256 => JwtAlgorithm::Es256,
            KeyAlgorithm::RS256 => JwtAlgorithm::Rs256,
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum MigrateVerb {
    /// Apply pending migrations.
    Up,
    /// Roll back the last migration.
    Down,
    /// List migrations and whether each is applied.
    Status,
    /// Drop every table and apply all migrations again.
    Fresh,
}

impl From<MigrateVerb> for MigrateCommand {
    fn from(v: MigrateVerb) -> Self {
        match v {
            MigrateVerb::Up => MigrateCommand::Up,
            MigrateVerb::Down => MigrateCommand::Down,
            MigrateVerb::Status => MigrateCommand::Status,
            MigrateVerb::Fresh => MigrateCommand::Fresh,
        }
    }
}
