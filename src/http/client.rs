//! Who sent a request: the client IP behind trusted proxies, as the
//! services record it. Shared by every route, below them all.

use std::net::IpAddr;

use ipnet::IpNet;
use poem::Request;

use crate::services::shared::client::ClientInfo;

/// The client's address: the TCP peer, unless the peer is a trusted proxy;
/// then the right-most `X-Forwarded-For` entry that is not itself trusted
/// (entries further left are whatever the client chose to send).
/// Where a plain HTTP request (a mailed link's page) comes from.
pub fn client_info(req: &Request, trusted: &[IpNet]) -> ClientInfo {
    ClientInfo {
        ip: client_ip(req, trusted).to_string(),
        user_agent: req
            .header(poem::http::header::USER_AGENT)
            .map(|ua| ua.chars().take(512).collect()),
        session_id: None,
        trigger: None,
    }
}

pub fn client_ip(req: &Request, trusted: &[IpNet]) -> IpAddr {
    // An IPv4 peer seen through a dual-stack socket (`::ffff:a.b.c.d`) is
    // that IPv4 address, for TRUSTED_PROXIES and the per-IP limits alike.
    let peer = req
        .remote_addr()
        .as_socket_addr()
        .map(|a| a.ip().to_canonical())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
        .collect();
    forwarded
        .iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .or(forwarded.first())
        .copied()
        .unwrap_or(peer)
}
