//! Sends one webhook attempt. Redirects are not followed, the attempt has
//! `WEBHOOK_TIMEOUT` in all, and unless private targets are allowed the
//! address actually connected to is checked at every attempt: the client's
//! resolver drops internal addresses (DNS rebinding included), and a URL
//! naming an internal address literally is refused before any connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use crate::domain::webhook::is_internal;

/// Why an attempt sent nothing or got no answer.
#[derive(Debug)]
pub enum Failure {
    /// The target is (or resolves only to) an internal address.
    Internal,
    /// Timeout, refused or broken connection, TLS failure.
    Transport(String),
}

/// Resolves names as the system does, keeping only addresses a webhook
/// may reach.
struct Guarded;

impl Resolve for Guarded {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = found.filter(|a| !is_internal(a.ip())).collect();
            if allowed.is_empty() {
                return Err("the host resolves only to internal addresses".into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// One client for every attempt (its connection pool shared).
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    allow_private: bool,
}

impl Sender {
    pub fn new(timeout: Duration, allow_private: bool) -> anyhow::Result<Sender> {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            // Never through a proxy from the environment: the proxy would
            // resolve and connect, past the check of the address reached.
            .no_proxy()
            // No kept-alive connections: receivers close idle ones on their
            // own schedule (Node after 5 s), and an attempt sent on one they
            // just closed fails for nothing and waits for its retry.
            .pool_max_idle_per_host(0)
            .user_agent(concat!("authql-webhooks/", env!("CARGO_PKG_VERSION")));
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(Guarded));
        }
        Ok(Sender {
            client: builder.build()?,
            allow_private,
        })
    }

    /// POSTs `body` with `headers`; the answer's status, or why none came.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: String,
    ) -> Result<u16, Failure> {
        self.send(url, headers, body)
            .await
            .map(|answer| answer.status().as_u16())
    }

    /// `post`, reading the answer's body too, at most `max` bytes (a
    /// longer one is a failure: nothing past the limit is read).
    pub async fn post_for_body(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: String,
        max: usize,
    ) -> Result<(u16, Vec<u8>), Failure> {
        let mut answer = self.send(url, headers, body).await?;
        let status = answer.status().as_u16();
        let mut read = Vec::new();
        while let Some(chunk) = answer
            .chunk()
            .await
            .map_err(|e| Failure::Transport(without_url(&e)))?
        {
            if read.len() + chunk.len() > max {
                return Err(Failure::Transport(format!("an answer over {max} bytes")));
            }
            read.extend_from_slice(&chunk);
        }
        Ok((status, read))
    }

    async fn send(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: String,
    ) -> Result<reqwest::Response, Failure> {
        let url = Url::parse(url).map_err(|e| Failure::Transport(e.to_string()))?;
        if !self.allow_private && names_internal_address(&url) {
            return Err(Failure::Internal);
        }
        let mut request = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        request
            .send()
            .await
            .map_err(|e| Failure::Transport(without_url(&e)))
    }
}

/// The error without its URL (an endpoint's URL may carry a token).
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "the request failed"
    };
    kind.to_owned()
}

/// Whether the URL's host is an internal address or `localhost`, however
/// spelled (the URL parser reads `127.1`, `2130706433` and `0x7f000001`
/// as 127.0.0.1).
pub fn names_internal_address(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => is_internal(ip.into()),
        Some(Host::Ipv6(ip)) => is_internal(ip.into()),
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        None => true,
    }
}

/// Whether `url` may be an endpoint: its host names no internal address
/// and resolves to none (checked again at every attempt).
pub async fn allowed_target(url: &Url) -> bool {
    if names_internal_address(url) {
        return false;
    }
    let Some(Host::Domain(name)) = url.host() else {
        return true;
    };
    let port = url.port_or_known_default().unwrap_or(443);
    match tokio::net::lookup_host((name, port)).await {
        Ok(found) => found.into_iter().all(|a| !is_internal(a.ip())),
        // A name that does not resolve now may later: checked at each attempt.
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_hosts_however_spelled() {
        for url in [
            "http://127.1/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://localhost./",
            "http://a.localhost/",
            "http://169.254.169.254/latest/meta-data",
            "http://0/",
        ] {
            assert!(names_internal_address(&Url::parse(url).unwrap()), "{url}");
        }
        assert!(!names_internal_address(
            &Url::parse("https://hooks.example.com/x").unwrap()
        ));
    }
}
