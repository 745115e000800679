//! Where a webhook may be sent: the URL rules when an endpoint is saved, and
//! the address rules applied at delivery time to every address the host
//! resolves to (so a name that later points inside the network is refused).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Checks an endpoint URL; `allow_http` is the `webhooks.allow_http` setting.
pub fn check_url(raw: &str, allow_http: bool) -> Result<url::Url, String> {
    let raw = raw.trim();
    if raw.len() > 2048 {
        return Err("The URL is longer than 2048 characters.".into());
    }
    let u = url::Url::parse(raw).map_err(|e| format!("Not a URL ({e})."))?;
    match u.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => {
            return Err(
                "The URL must start with https:// (plain http is off: webhooks.allow_http).".into(),
            )
        }
        other => return Err(format!("Scheme {other}: is not allowed; use https://.")),
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err("The URL has no host.".into());
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(
            "Put no user name or password in the URL; verify the signature instead.".into(),
        );
    }
    if u.fragment().is_some() {
        return Err("The URL must not have a #fragment.".into());
    }
    Ok(u)
}

/// Why an address may not receive webhooks (None: it may). Loopback, private,
/// link-local (cloud metadata at 169.254.169.254), shared, unspecified,
/// broadcast, multicast and reserved ranges, in IPv4 and IPv6 (also mapped).
pub fn forbidden(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => forbidden_v4(v4),
            None => forbidden_v6(v6),
        },
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local or cloud metadata")
    } else if ip.is_unspecified() || a == 0 {
        Some("unspecified")
    } else if ip.is_broadcast() || ip.is_multicast() || a >= 240 {
        Some("broadcast, multicast or reserved")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared (carrier-grade NAT)")
    } else if a == 192 && b == 0 && ip.octets()[2] == 0 {
        Some("IETF protocol assignments")
    } else if a == 198 && (18..20).contains(&b) {
        Some("benchmarking")
    } else {
        None
    }
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if first & 0xfe00 == 0xfc00 {
        Some("private (unique local)")
    } else if first & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else if first == 0x64 && ip.segments()[1] == 0xff9b {
        // NAT64 can reach any IPv4 address, private ones included.
        Some("NAT64")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_inside_the_network_are_refused_and_public_ones_pass() {
        let table: &[(&str, bool)] = &[
            ("127.0.0.1", true),
            ("127.8.9.10", true),
            ("10.0.0.5", true),
            ("172.16.0.1", true),
            ("172.31.255.255", true),
            ("172.32.0.1", false),
            ("192.168.1.1", true),
            ("169.254.169.254", true),
            ("100.64.0.1", true),
            ("100.128.0.1", false),
            ("0.0.0.0", true),
            ("0.1.2.3", true),
            ("255.255.255.255", true),
            ("224.0.0.1", true),
            ("240.0.0.1", true),
            ("192.0.0.8", true),
            ("198.18.0.1", true),
            ("8.8.8.8", false),
            ("93.184.215.14", false),
            ("::1", true),
            ("::", true),
            ("fd00::1", true),
            ("fe80::1", true),
            ("ff02::1", true),
            ("::ffff:127.0.0.1", true),
            ("::ffff:10.1.2.3", true),
            ("64:ff9b::a00:1", true),
            ("::ffff:8.8.8.8", false),
            ("2606:4700:4700::1111", false),
        ];
        for (ip, refused) in table {
            let got = forbidden(ip.parse().unwrap());
            assert_eq!(got.is_some(), *refused, "{ip}: {got:?}");
        }
    }

    #[test]
    fn urls_must_be_https_unless_allowed_and_carry_no_credentials() {
        let table: &[(&str, bool, bool)] = &[
            ("https://hooks.example.com/kw", false, true),
            ("http://hooks.example.com/kw", false, false),
            ("http://hooks.example.com/kw", true, true),
            ("ftp://hooks.example.com/", true, false),
            ("https://user:pw@hooks.example.com/", false, false),
            ("https://hooks.example.com/#x", false, false),
            ("not a url", true, false),
            ("https://", false, false),
        ];
        for (url, allow_http, ok) in table {
            assert_eq!(
                check_url(url, *allow_http).is_ok(),
                *ok,
                "{url} allow_http={allow_http}"
            );
        }
    }
}
