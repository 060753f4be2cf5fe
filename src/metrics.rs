//! What the server is doing, in the Prometheus text format (API.md §8.7),
//! served on `METRICS_ADDR` only. One registry per application, so every
//! instance (and every test server in one process) counts its own. Labels
//! are fixed vocabularies and route templates: never a user id, email, IP
//! or token.

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// Request latencies: 1 ms to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Password hashes take tens of milliseconds, more under load.
const HASH_BUCKETS: &[f64] = &[0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0];

pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub graphql_operations: IntCounterVec,
    pub logins: IntCounterVec,
    /// The provider's token endpoint (API.md §9.3).
    pub oauth_token_requests: IntCounterVec,
    pub hash_duration: Histogram,
    pub hash_waiting: IntGauge,
    pub mail_pending: IntGauge,
    pub mail_sent: IntCounterVec,
    pub db_pool: IntGaugeVec,
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("a valid metric");
            registry
                .register(Box::new(c.clone()))
                .expect("a new metric name");
            c
        };
        let http_requests = counter(
            "authql_http_requests_total",
            "HTTP requests answered, by route template and status.",
            &["route", "status"],
        );
        let graphql_operations = counter(
            "authql_graphql_operations_total",
            "GraphQL operations, by type and outcome (ok, error, rejected).",
            &["type", "outcome"],
        );
        let logins = counter(
            "authql_logins_total",
            "Sign-in attempts by outcome.",
            &["outcome"],
        );
        let oauth_token_requests = counter(
            "authql_oauth_token_requests_total",
            "Requests to the OAuth token endpoint, by grant type and outcome.",
            &["grant_type", "outcome"],
        );
        let mail_sent = counter(
            "authql_mail_sent_total",
            "Mail delivery attempts by outcome (sent, failed, dead: given up).",
            &["outcome"],
        );
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "authql_http_request_duration_seconds",
                "Time to answer an HTTP request, by route template.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["route"],
        )
        .expect("a valid metric");
        registry
            .register(Box::new(http_duration.clone()))
            .expect("a new metric name");
        let hash_duration = Histogram::with_opts(
            HistogramOpts::new(
                "authql_password_hash_duration_seconds",
                "Time one password hash or verification took on its thread.",
            )
            .buckets(HASH_BUCKETS.to_vec()),
        )
        .expect("a valid metric");
        registry
            .register(Box::new(hash_duration.clone()))
            .expect("a new metric name");
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("a valid metric");
            registry
                .register(Box::new(g.clone()))
                .expect("a new metric name");
            g
        };
        let hash_waiting = gauge(
            "authql_password_hash_queue_waiting",
            "Requests waiting for a password-hashing turn.",
        );
        let mail_pending = gauge(
            "authql_mail_outbox_pending",
            "Messages in the outbox not yet delivered.",
        );
        let gauges = |name: &str, help: &str, labels: &[&str]| {
            let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("a valid metric");
            registry
                .register(Box::new(g.clone()))
                .expect("a new metric name");
            g
        };
        let db_pool = gauges(
            "authql_db_pool_connections",
            "Database pool connections by state (idle, in_use).",
            &["state"],
        );
        gauges(
            "authql_build_info",
            "The running build: always 1.",
            &["version"],
        )
        .with_label_values(&[env!("CARGO_PKG_VERSION")])
        .set(1);
        // Every series of a fixed vocabulary exists from the start at 0, so a
        // scrape shows each family and rates need no first increment.
        for outcome in [
            "success",
            "invalid_credentials",
            "second_factor",
            "rate_limited",
            "not_active",
            "unavailable",
        ] {
            logins.with_label_values(&[outcome]);
        }
        for outcome in ["sent", "failed"] {
            mail_sent.with_label_values(&[outcome]);
        }
        for kind in ["query", "mutation"] {
            for outcome in ["ok", "error", "rejected"] {
                graphql_operations.with_label_values(&[kind, outcome]);
            }
        }
        for state in ["idle", "in_use"] {
            db_pool.with_label_values(&[state]);
        }
        Metrics {
            registry,
            http_requests,
            http_duration,
            graphql_operations,
            logins,
            oauth_token_requests,
            hash_duration,
            hash_waiting,
            mail_pending,
            mail_sent,
            db_pool,
        }
    }

    /// Every family in the Prometheus text format.
    pub fn render(&self) -> String {
        TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// The route template of a path, for labels: the mailed links' secrets
/// (uid and token) never become label values.
pub fn route_template(path: &str) -> &'static str {
    match path {
        "/graphql" => "/graphql",
        "/healthz" => "/healthz",
        "/readyz" => "/readyz",
        "/.well-known/jwks.json" => "/.well-known/jwks.json",
        "/.well-known/openid-configuration" => "/.well-known/openid-configuration",
        p if p.starts_with("/activate/") => "/activate/{uid}/{token}",
        p if p.starts_with("/reset-password/") => "/reset-password/{uid}/{token}",
        p if p.starts_with("/confirm-email/") => "/confirm-email/{uid}/{token}",
        p if p.starts_with("/email-sign-in/") => "/email-sign-in/{token}",
        p if p.starts_with("/invitations/") => "/invitations/{token}",
        p if p.starts_with("/auth/") && p.ends_with("/start") => "/auth/{provider}/start",
        p if p.starts_with("/auth/") && p.ends_with("/callback") => "/auth/{provider}/callback",
        p if p.starts_with("/graphiql/") => "/graphiql/{file}",
        "/.well-known/oauth-authorization-server" => "/.well-known/oauth-authorization-server",
        "/oauth/authorize" => "/oauth/authorize",
        "/oauth/login" => "/oauth/login",
        "/oauth/consent" => "/oauth/consent",
        "/oauth/token" => "/oauth/token",
        "/oauth/userinfo" => "/oauth/userinfo",
        "/oauth/revoke" => "/oauth/revoke",
        "/oauth/introspect" => "/oauth/introspect",
        "/oauth/logout" => "/oauth/logout",
        "/oauth/register" => "/oauth/register",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_render_and_routes_are_templates() {
        let m = Metrics::new();
        m.logins.with_label_values(&["success"]).inc();
        let text = m.render();
        assert!(
            text.contains("authql_logins_total{outcome=\"success\"} 1"),
            "{text}"
        );
        assert!(text.contains("authql_build_info{version="));
        assert_eq!(
            route_template("/activate/MQ/abc-123"),
            "/activate/{uid}/{token}"
        );
        assert_eq!(route_template("/etc/passwd"), "other");
    }
}
