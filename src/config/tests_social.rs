//! The social sign-in settings as API.md §9.1 states them.

use super::tests::{KEY, vars};
use super::*;

#[test]
fn github_is_on_with_both_its_client_settings_and_names_the_missing_one() {
    let load = |pairs: &[(&str, &str)]| {
        let mut all = vec![("SECRET_KEY", KEY)];
        all.extend_from_slice(pairs);
        Settings::from_vars(&vars(&all), Path::new("/nonexistent"))
    };
    let named = |pairs: &[(&str, &str)]| match load(pairs) {
        Err(ConfigError::Invalid { name, .. }) => name,
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    };
    let (s, _) = load(&[("SOCIAL_TRUSTED_PROVIDERS", "")]).unwrap();
    assert!(s.social.github.is_none());
    assert_eq!(named(&[("GITHUB_CLIENT_ID", "id")]), "GITHUB_CLIENT_SECRET");
    assert_eq!(named(&[("GITHUB_CLIENT_SECRET", "x")]), "GITHUB_CLIENT_ID");
    assert_eq!(
        named(&[("SOCIAL_TRUSTED_PROVIDERS", "github")]),
        "SOCIAL_TRUSTED_PROVIDERS"
    );
    let both = [("GITHUB_CLIENT_ID", "id"), ("GITHUB_CLIENT_SECRET", "x")];
    let (s, _) = load(&[both[0], both[1], ("SOCIAL_TRUSTED_PROVIDERS", "github")]).unwrap();
    let github = s.social.github.as_ref().unwrap();
    assert_eq!(github.issuer, "https://github.com");
    assert_eq!(github.api_url, "https://api.github.com");
    assert_eq!(github.scopes, ["read:user", "user:email"]);
    assert!(s.social.is_trusted("github"));
    let names: Vec<&str> = s.social.all().map(|p| p.name()).collect();
    assert_eq!(names, ["github"]);
    assert_eq!(
        named(&[both[0], both[1], ("GITHUB_API_URL", "ftp://x")]),
        "GITHUB_API_URL"
    );
    let production = [
        ("APP_ENV", "production"),
        ("EMAIL_URL", "smtp://localhost:25"),
        both[0],
        both[1],
        (
            "GITHUB_TOKEN_URL",
            "http://ghe.internal/login/oauth/access_token",
        ),
    ];
    assert_eq!(named(&production), "GITHUB_TOKEN_URL");
    // GitHub Enterprise and an OpenID provider on one origin: one issuer.
    let shared = [
        both[0],
        both[1],
        (
            "GITHUB_AUTHORIZE_URL",
            "https://git.example.com/login/oauth/authorize",
        ),
        ("OIDC_PROVIDERS", "corp"),
        ("OIDC_CORP_ISSUER", "https://git.example.com/"),
        ("OIDC_CORP_CLIENT_ID", "c"),
    ];
    assert_eq!(named(&shared), "GITHUB_AUTHORIZE_URL");
}
