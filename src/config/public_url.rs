//! `server.public_url`: the one source of absolute URLs the server writes, never
//! a request header (security item 1).

use std::net::IpAddr;

use super::Settings;

impl Settings {
    /// `mail.public_url` was the setting before `server.public_url`: it still
    /// works when the new one is not set.
    pub(super) fn take_mail_public_url(&mut self) {
        if self.server.public_url.trim().is_empty() && !self.mail.public_url.trim().is_empty() {
            self.server.public_url = std::mem::take(&mut self.mail.public_url);
        }
    }

    /// Fills an empty `server.public_url` from the address the server listens on
    /// (an unspecified address becomes loopback). Returns whether it was filled.
    pub fn fill_public_url(&mut self, bound: std::net::SocketAddr) -> bool {
        if !self.server.public_url.trim().is_empty() {
            return false;
        }
        let mut addr = bound;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr {
                std::net::SocketAddr::V4(_) => IpAddr::from([127, 0, 0, 1]),
                std::net::SocketAddr::V6(_) => IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
            });
        }
        self.server.public_url = format!("http://{addr}");
        true
    }

    /// `scheme://host[:port]` of `server.public_url`, without a trailing slash.
    pub fn public_base(&self) -> &str {
        self.server.public_url.trim().trim_end_matches('/')
    }

    /// Whether people reach the server over TLS (Secure cookies, HSTS).
    pub fn public_is_https(&self) -> bool {
        self.public_base().starts_with("https://")
    }
}

/// An absolute http(s) URL of a host, with no path, query, fragment or credentials.
pub(super) fn check_public_url(raw: &str) -> Result<(), String> {
    let why = "must be an absolute http:// or https:// URL of the server, such as https://licenses.example.com";
    let u = url::Url::parse(raw.trim()).map_err(|e| format!("{why} ({e})"))?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none_or(str::is_empty) {
        return Err(why.into());
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("must not carry a user name or password".into());
    }
    if u.path() != "/" || u.query().is_some() || u.fragment().is_some() {
        return Err("must not have a path, query or fragment".into());
    }
    Ok(())
}
