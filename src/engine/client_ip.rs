//! The client address for rate limits: the socket peer, or the first untrusted
//! address in `X-Forwarded-For` when the peer is a trusted proxy.
//!
//! This is the only place that reads a forwarding header: links, cookies and
//! redirects never use `Host` or `X-Forwarded-*` (they come from
//! `server.public_url`), and a test keeps it that way.

use std::net::IpAddr;

/// The client address of a request: its peer, or what a trusted proxy says.
pub fn of_request(
    peer: Option<IpAddr>,
    headers: &actix_web::http::header::HeaderMap,
    trusted: &[IpAddr],
) -> Option<IpAddr> {
    let xff = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
    client_ip(peer, xff, trusted)
}

/// Walks `X-Forwarded-For` from the right, skipping trusted proxies.
pub fn client_ip(
    peer: Option<IpAddr>,
    forwarded_for: Option<&str>,
    trusted: &[IpAddr],
) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let Some(header) = forwarded_for else {
        return Some(peer);
    };
    let mut last = peer;
    for hop in header.rsplit(',') {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => last = ip,
            Ok(ip) => return Some(ip),
            // A garbled hop: stop believing the header past the last trusted proxy.
            Err(_) => return Some(last),
        }
    }
    Some(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Security item 1: no other source file reads a forwarding header or the
    /// request's idea of its own host and scheme (`connection_info`).
    #[test]
    fn only_this_file_reads_forwarding_headers() {
        let mut offenders = Vec::new();
        let root = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src"));
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                if p.ends_with("engine/client_ip.rs") || p.extension().is_none_or(|x| x != "rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&p).unwrap().to_lowercase();
                for needle in [
                    "x-forwarded",
                    "connection_info",
                    "realip_remote_addr",
                    "\"forwarded\"",
                    "header::host",
                ] {
                    if text.contains(needle) {
                        offenders.push(format!("{} reads {needle}", p.display()));
                    }
                }
            }
        }
        assert!(offenders.is_empty(), "{offenders:?}");
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn client_ip_follows_the_trust_rules() {
        let proxies = [ip("10.0.0.1"), ip("10.0.0.2")];
        let table: &[(&str, Option<&str>, &str)] = &[
            // Untrusted peer: its header is ignored.
            ("203.0.113.9", Some("1.2.3.4"), "203.0.113.9"),
            // Trusted peer: the first untrusted hop from the right.
            ("10.0.0.1", Some("1.2.3.4"), "1.2.3.4"),
            ("10.0.0.1", Some("9.9.9.9, 1.2.3.4, 10.0.0.2"), "1.2.3.4"),
            // Trusted peer without header: the peer itself.
            ("10.0.0.1", None, "10.0.0.1"),
            // Garbage in the header: the last trusted hop.
            ("10.0.0.1", Some("nonsense"), "10.0.0.1"),
            // Only proxies: the leftmost proxy.
            ("10.0.0.1", Some("10.0.0.2"), "10.0.0.2"),
        ];
        for (peer, xff, want) in table {
            assert_eq!(
                client_ip(Some(ip(peer)), *xff, &proxies),
                Some(ip(want)),
                "{peer} {xff:?}"
            );
        }
    }
}
