//! Webhook vocabulary (API.md §11.3, §11.4): the event catalogue, what an
//! endpoint may subscribe to, and which addresses an endpoint may never
//! reach unless the operator allows private targets.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::SecurityEventType;

/// The event `pingWebhookEndpoint` sends; no subscription needs it.
pub const PING: &str = "webhook.ping";

/// Events other than `security.*`, in the contract's order.
const OTHERS: &[&str] = &[
    "user.created",
    "user.deleted",
    "organization.created",
    "organization.updated",
    "organization.deleted",
    "organization.member_added",
    "organization.member_updated",
    "organization.member_removed",
    "organization.invitation_created",
    "organization.invitation_revoked",
];

/// `security.<type in lower case>`.
pub fn security_event(kind: SecurityEventType) -> String {
    format!("security.{}", kind.as_str().to_ascii_lowercase())
}

/// Every event type `webhookEventTypes` lists, `webhook.ping` included.
pub fn catalogue() -> Vec<String> {
    let mut all: Vec<String> = SecurityEventType::ALL
        .iter()
        .map(|k| security_event(*k))
        .collect();
    all.extend(OTHERS.iter().map(|s| (*s).to_owned()));
    all.push(PING.to_owned());
    all
}

/// Whether `pattern` may be subscribed to: a name `webhookEventTypes`
/// lists, `security.*`, `user.*`, `organization.*` or `*`, as written. The
/// ping is accepted too (a list copied from `webhookEventTypes` is valid),
/// though pings come whatever an endpoint subscribed to.
pub fn is_pattern(pattern: &str) -> bool {
    matches!(pattern, "*" | "security.*" | "user.*" | "organization.*")
        || catalogue().iter().any(|name| name == pattern)
}

/// Whether an endpoint subscribed to `patterns` gets `event`.
pub fn matches<'a>(mut patterns: impl Iterator<Item = &'a str>, event: &str) -> bool {
    patterns.any(|p| {
        p == "*"
            || p == event
            || p.strip_suffix('*')
                .is_some_and(|group| event.starts_with(group))
    })
}

/// An address no webhook may reach without `WEBHOOK_ALLOW_PRIVATE`:
/// loopback, unspecified, private, link-local (cloud metadata), shared,
/// multicast or broadcast, IPv4-mapped and -compatible IPv6 forms included.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => internal_v4(v4),
            None => internal_v6(v6),
        },
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || a >= 240
}

fn internal_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00
        // link-local, and the deprecated site-local fec0::/10
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] & 0xffc0) == 0xfec0
        // Teredo (2001::/32): tunnels to an address it hides
        || (s[0] == 0x2001 && s[1] == 0)
        // ::ffff:0:a.b.c.d (SIIT)
        || (s[..4] == [0; 4] && s[4] == 0xffff && s[5] == 0)
}

/// The IPv4 address an IPv6 one carries to its destination: mapped
/// (`::ffff:a.b.c.d`), compatible (`::a.b.c.d`), NAT64 (`64:ff9b::/96`,
/// `64:ff9b:1::/48`, what DNS64 synthesises) or 6to4 (`2002:AABB:CCDD::`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let [.., a, b, c, d] = ip.octets();
    let low = Ipv4Addr::new(a, b, c, d);
    if let Some(mapped) = ip.to_ipv4_mapped() {
        return Some(mapped);
    }
    if (s[0] == 0x64 && s[1] == 0xff9b && (s[2..6] == [0; 4] || s[2] == 1))
        || compatible_v4(ip).is_some()
    {
        return Some(low);
    }
    if s[0] == 0x2002 {
        let [h1, h2] = s[1].to_be_bytes();
        let [l1, l2] = s[2].to_be_bytes();
        return Some(Ipv4Addr::new(h1, h2, l1, l2));
    }
    None
}

/// `::a.b.c.d` (deprecated IPv4-compatible form), but not `::` or `::1`.
fn compatible_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    (s[..6] == [0; 6] && (s[6] != 0 || s[7] > 1)).then(|| {
        let [.., a, b, c, d] = ip.octets();
        Ipv4Addr::new(a, b, c, d)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_and_matching_follow_the_catalogue() {
        assert!(is_pattern("security.login_succeeded"));
        assert!(is_pattern("security.*") && is_pattern("*") && is_pattern("user.*"));
        assert!(!is_pattern("Security.login_succeeded"));
        assert!(!is_pattern("security.nope") && is_pattern("webhook.ping"));
        assert!(!is_pattern("security.login*") && !is_pattern(""));
        let subscribed = ["security.*", "user.deleted"];
        assert!(matches(subscribed.into_iter(), "security.password_reset"));
        assert!(matches(subscribed.into_iter(), "user.deleted"));
        assert!(!matches(subscribed.into_iter(), "user.created"));
        assert!(catalogue().contains(&"security.org_member_removed".to_owned()));
    }

    #[test]
    fn internal_addresses_however_spelled() {
        for internal in [
            "127.0.0.1",
            "127.8.9.10",
            "0.0.0.0",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a00:5",
            "64:ff9b:1::a9fe:a9fe",
            "2002:a00:1::1",
            "2001:0:4136:e378::1",
            "fec0::1",
            "::ffff:0:a00:1",
        ] {
            assert!(is_internal(internal.parse().unwrap()), "{internal}");
        }
        for public in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_internal(public.parse().unwrap()), "{public}");
        }
    }
}
