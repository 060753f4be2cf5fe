//! The settings as the contract states them (API.md §6).

use super::*;

pub(super) fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub(super) const KEY: &str = "0123456789abcdef0123456789abcdef";

#[test]
fn defaults_match_the_contract() {
    let (s, _) =
        Settings::from_vars(&vars(&[("SECRET_KEY", KEY)]), Path::new("/nonexistent")).unwrap();
    assert_eq!(s.database_url, "sqlite://authql.db?mode=rwc");
    assert_eq!(s.bind_addr.to_string(), "127.0.0.1:8000");
    assert_eq!(s.public_url, "http://localhost:8000");
    assert_eq!(s.email, EmailTransport::Console);
    assert_eq!(s.access_token_ttl, Duration::from_secs(300));
    assert_eq!(s.refresh_token_ttl, Duration::from_secs(86_400));
    assert_eq!(
        s.login_rate_limit,
        RateLimit {
            max: 10,
            window: Duration::from_secs(900)
        }
    );
    assert_eq!(
        s.mail_rate_limit,
        RateLimit {
            max: 5,
            window: Duration::from_secs(3600)
        }
    );
    assert_eq!(s.two_factor, TwoFactorPolicy::Optional);
    assert_eq!(s.totp_issuer, "authql");
    assert!(s.require_activation && s.graphiql);
    assert_eq!(
        (s.max_body_bytes, s.max_batch, s.max_depth, s.max_complexity),
        (1_048_576, 10, 20, 1000)
    );
}

#[test]
fn production_refuses_to_start_without_a_secret_key() {
    let err = Settings::from_vars(
        &vars(&[
            ("APP_ENV", "production"),
            ("EMAIL_URL", "smtp://localhost:25"),
        ]),
        Path::new("/nonexistent"),
    )
    .unwrap_err();
    assert!(matches!(err, ConfigError::MissingSecretInProduction));
}

#[test]
fn production_refuses_console_email() {
    let err = Settings::from_vars(
        &vars(&[("APP_ENV", "production"), ("SECRET_KEY", KEY)]),
        Path::new("/nonexistent"),
    )
    .unwrap_err();
    assert!(matches!(err, ConfigError::ConsoleEmailInProduction));
}

#[test]
fn production_turns_graphiql_off_unless_asked() {
    let base = [
        ("APP_ENV", "production"),
        ("SECRET_KEY", KEY),
        ("EMAIL_URL", "smtp://mail:25"),
    ];
    let (s, _) = Settings::from_vars(&vars(&base), Path::new("/x")).unwrap();
    assert!(!s.graphiql);
    let mut with = base.to_vec();
    with.push(("GRAPHIQL", "true"));
    let (s, _) = Settings::from_vars(&vars(&with), Path::new("/x")).unwrap();
    assert!(s.graphiql);
}

#[test]
fn short_secret_keys_are_refused() {
    let err = Settings::from_vars(&vars(&[("SECRET_KEY", "short")]), Path::new("/x")).unwrap_err();
    assert!(err.to_string().contains("SECRET_KEY"));
}

#[test]
fn a_missing_development_key_is_generated_once_and_kept() {
    let dir = std::env::temp_dir().join(format!("authql-secret-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let (first, warnings) = Settings::from_vars(&vars(&[]), &dir).unwrap();
    assert_eq!(warnings.len(), 1);
    let (second, _) = Settings::from_vars(&vars(&[]), &dir).unwrap();
    assert_eq!(first.secret_bytes(), second.secret_bytes());
    assert!(first.secret_bytes().len() >= MIN_SECRET_BYTES);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn malformed_values_name_their_variable() {
    for (name, value) in [
        ("ACCESS_TOKEN_TTL", "soon"),
        ("ACCESS_TOKEN_TTL", "0s"),
        ("LOGIN_RATE_LIMIT", "ten per minute"),
        ("LOGIN_RATE_LIMIT", "0/1m"),
        ("MAX_BATCH", "0"),
        ("MAX_BATCH", "-1"),
        ("BIND_ADDR", "localhost"),
        ("EMAIL_URL", "carrier-pigeon://"),
        ("TRUSTED_PROXIES", "10.0.0.0/99"),
        ("PUBLIC_URL", "ftp://example.com"),
        ("TWO_FACTOR", "sometimes"),
        ("REQUIRE_ACTIVATION", "maybe"),
        ("TOTP_ISSUER", "ACME:prod"),
    ] {
        let err = Settings::from_vars(
            &vars(&[("SECRET_KEY", KEY), (name, value)]),
            Path::new("/x"),
        )
        .expect_err(name);
        assert!(err.to_string().starts_with(name), "{name}={value}: {err}");
    }
}

#[test]
fn lists_and_rates_parse() {
    let (s, _) = Settings::from_vars(
        &vars(&[
            ("SECRET_KEY", KEY),
            ("CORS_ORIGINS", "https://a.example, https://b.example"),
            ("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1"),
            ("MAIL_RATE_LIMIT", "3/10m"),
            ("EMAIL_URL", "file:///tmp/mail"),
            ("PUBLIC_URL", "https://auth.example.com/"),
        ]),
        Path::new("/x"),
    )
    .unwrap();
    assert_eq!(s.cors_origins.len(), 2);
    assert_eq!(s.trusted_proxies.len(), 2);
    assert_eq!(s.mail_rate_limit.max, 3);
    assert_eq!(s.email, EmailTransport::File("/tmp/mail".into()));
    assert_eq!(s.public_url, "https://auth.example.com");
}

/// Each connection of an in-memory SQLite database sees a database of its
/// own: the server refuses one, naming the setting.
#[test]
fn in_memory_sqlite_is_refused() {
    for url in ["sqlite::memory:", "sqlite://x.db?mode=memory"] {
        let err = Settings::from_vars(
            &vars(&[("SECRET_KEY", KEY), ("DATABASE_URL", url)]),
            Path::new("/x"),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("DATABASE_URL:"), "{err}");
    }
}

/// `SHUTDOWN_GRACE` (API.md §8.10): 10 s unless set; a bad value is named.
#[test]
fn shutdown_grace_defaults_to_ten_seconds() {
    let (s, _) = Settings::from_vars(&vars(&[("SECRET_KEY", KEY)]), Path::new("/x")).unwrap();
    assert_eq!(s.shutdown_grace, std::time::Duration::from_secs(10));
    let err = Settings::from_vars(
        &vars(&[("SECRET_KEY", KEY), ("SHUTDOWN_GRACE", "soon")]),
        Path::new("/x"),
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("SHUTDOWN_GRACE:"), "{err}");
}

/// In production a PostgreSQL server other than loopback is reached over
/// TLS (API.md §8.10), unless `DATABASE_ALLOW_PLAINTEXT=true`; the refusal
/// names the variable, the listener's URL included.
#[test]
fn production_refuses_plaintext_to_a_remote_postgres() {
    let production = [
        ("APP_ENV", "production"),
        ("SECRET_KEY", KEY),
        ("EMAIL_URL", "smtp://mail:25"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut all = production.to_vec();
        all.extend_from_slice(extra);
        Settings::from_vars(&vars(&all), Path::new("/x"))
    };
    let remote = "postgres://u:p@db.example.com:5432/app";
    for url in [remote, "postgres://u@db.example.com/app?sslmode=prefer"] {
        let err = with(&[("DATABASE_URL", url)]).unwrap_err();
        assert!(err.to_string().starts_with("DATABASE_URL:"), "{err}");
    }
    for url in [
        "postgres://u@db.example.com/app?sslmode=require",
        "postgres://u@db.example.com/app?sslmode=verify-full",
        "postgres://postgres@127.0.0.1:5432/app",
        "postgres://u@localhost/app?sslmode=disable",
    ] {
        assert!(with(&[("DATABASE_URL", url)]).is_ok(), "{url}");
    }
    let allowed = with(&[
        ("DATABASE_URL", remote),
        ("DATABASE_ALLOW_PLAINTEXT", "true"),
    ]);
    assert!(allowed.is_ok());
    let err = with(&[
        (
            "DATABASE_URL",
            "postgres://u@db.example.com/app?sslmode=require",
        ),
        ("DATABASE_LISTEN_URL", remote),
    ])
    .unwrap_err();
    assert!(err.to_string().starts_with("DATABASE_LISTEN_URL:"), "{err}");
    // sqlx reads PGHOST when the URL names no host.
    let err = with(&[
        ("DATABASE_URL", "postgres:///app?sslmode=disable"),
        ("PGHOST", "db.example.com"),
    ])
    .unwrap_err();
    assert!(err.to_string().starts_with("DATABASE_URL:"), "{err}");
    // `verify-ca` checks a chain to the named root only; a root with less
    // than verify-ca would be ignored by one client and not the other.
    for url in [
        "postgres://u@db.example.com/app?sslmode=verify-ca",
        "postgres://u@db.example.com/app?sslmode=require&sslrootcert=/ca.pem",
    ] {
        let err = with(&[("DATABASE_URL", url)]).unwrap_err();
        assert!(err.to_string().starts_with("DATABASE_URL:"), "{err}");
    }
    assert!(with(&[("DATABASE_URL", "POSTGRES://u@db.example.com/app")]).is_err());
    // Development connects as the URL says.
    let (s, _) = Settings::from_vars(
        &vars(&[("SECRET_KEY", KEY), ("DATABASE_URL", remote)]),
        Path::new("/x"),
    )
    .unwrap();
    assert_eq!(s.database_listen_url, remote, "the listener's default");
}

#[test]
fn unknown_sslmodes_and_listener_urls_are_named() {
    let err = Settings::from_vars(
        &vars(&[
            ("SECRET_KEY", KEY),
            ("DATABASE_URL", "postgres://h/db?sslmode=verify"),
        ]),
        Path::new("/x"),
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("DATABASE_URL:"), "{err}");
    let err = Settings::from_vars(
        &vars(&[
            ("SECRET_KEY", KEY),
            ("DATABASE_LISTEN_URL", "sqlite://x.db"),
        ]),
        Path::new("/x"),
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("DATABASE_LISTEN_URL:"), "{err}");
    // SQLite's changes notify no one: a listener there would wait forever.
    let err = Settings::from_vars(
        &vars(&[
            ("SECRET_KEY", KEY),
            ("DATABASE_LISTEN_URL", "postgres://db.example.com/app"),
        ]),
        Path::new("/x"),
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("DATABASE_LISTEN_URL:"), "{err}");
}

#[test]
fn the_claims_hook_needs_a_well_formed_secret_and_policy() {
    let refused = |pairs: &[(&str, &str)]| {
        let mut all = vec![
            ("SECRET_KEY", KEY),
            ("HOOK_CUSTOM_CLAIMS_URL", "https://hooks.example.com/claims"),
        ];
        all.extend_from_slice(pairs);
        match Settings::from_vars(&vars(&all), Path::new("/nonexistent")) {
            Err(ConfigError::Invalid { name, .. }) => name,
            other => panic!("{pairs:?} was accepted: {:?}", other.map(|_| ())),
        }
    };
    assert_eq!(refused(&[]), "HOOK_SECRET");
    assert_eq!(refused(&[("HOOK_SECRET", "whsec_c2hvcnQ=")]), "HOOK_SECRET");
    assert_eq!(
        refused(&[("HOOK_SECRET", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]),
        "HOOK_SECRET"
    );
    let good = (
        "HOOK_SECRET",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYo=",
    );
    assert_eq!(refused(&[good, ("HOOK_FAILURE", "ignore")]), "HOOK_FAILURE");
    assert_eq!(refused(&[good, ("HOOK_TIMEOUT", "soon")]), "HOOK_TIMEOUT");
    let (s, _) = Settings::from_vars(
        &vars(&[
            ("SECRET_KEY", KEY),
            ("HOOK_CUSTOM_CLAIMS_URL", "https://h.example/c"),
            good,
        ]),
        Path::new("/nonexistent"),
    )
    .unwrap();
    let hook = s.webhooks.claims_hook.unwrap();
    assert!(hook.deny && hook.timeout == Duration::from_secs(2) && hook.key.len() == 32);
}

#[test]
fn the_oauth_provider_needs_an_asymmetric_key_and_well_formed_settings() {
    let load = |pairs: &[(&str, &str)]| {
        let mut all = vec![("SECRET_KEY", KEY)];
        all.extend_from_slice(pairs);
        Settings::from_vars(&vars(&all), Path::new("/nonexistent"))
    };
    let (s, _) = load(&[]).unwrap();
    assert!(!s.oauth.enabled && !s.oauth.dynamic_registration);
    assert_eq!(s.oauth.code_ttl, Duration::from_secs(600));
    assert_eq!(
        s.oauth.registration_rate_limit,
        RateLimit {
            max: 10,
            window: Duration::from_secs(3600)
        }
    );
    let named = |pairs: &[(&str, &str)]| match load(pairs) {
        Err(ConfigError::Invalid { name, .. }) => name,
        other => panic!("{:?}", other.map(|_| ())),
    };
    assert_eq!(
        named(&[("OAUTH_PROVIDER", "true"), ("JWT_ALGORITHM", "HS256")]),
        "OAUTH_PROVIDER"
    );
    assert_eq!(
        named(&[("OAUTH_LOGIN_URL", "/relative")]),
        "OAUTH_LOGIN_URL"
    );
    assert_eq!(
        named(&[("OAUTH_RESOURCES", "https://api.example.com#x")]),
        "OAUTH_RESOURCES"
    );
    assert_eq!(named(&[("OAUTH_CODE_TTL", "soon")]), "OAUTH_CODE_TTL");
}

#[test]
fn a_transaction_pooler_needs_postgresql_and_a_listen_url_of_its_own() {
    let named = |pairs: &[(&str, &str)]| {
        let mut all = vec![("SECRET_KEY", KEY)];
        all.extend_from_slice(pairs);
        match Settings::from_vars(&vars(&all), Path::new("/x")) {
            Err(ConfigError::Invalid { name, .. }) => name,
            other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
        }
    };
    let bouncer = ("DATABASE_URL", "postgres://u@127.0.0.1:6432/app");
    let pooled = ("DATABASE_POOLER", "transaction");
    assert_eq!(named(&[pooled]), "DATABASE_POOLER", "SQLite");
    assert_eq!(named(&[bouncer, pooled]), "DATABASE_LISTEN_URL");
    assert_eq!(
        named(&[bouncer, ("DATABASE_POOLER", "session")]),
        "DATABASE_POOLER"
    );
    let direct = ("DATABASE_LISTEN_URL", "postgres://u@127.0.0.1:5432/app");
    let (s, _) = Settings::from_vars(
        &vars(&[("SECRET_KEY", KEY), bouncer, pooled, direct]),
        Path::new("/x"),
    )
    .unwrap();
    assert!(s.database_pooled);
    assert_eq!(s.migration_url(), "postgres://u@127.0.0.1:5432/app");
}
