//! Where the request being served came from (the client address, as
//! `server.trusted_proxies` allows reading it), for the audit log's IP column.
//! The front doors' middleware sets it around each admin and portal request;
//! entries made while serving it take it, and admin changes carry it to the
//! license's actor. Background work (jobs, sweeps) runs outside any request:
//! its entries have no address.

use std::future::Future;
use std::net::IpAddr;

use chrono::{DateTime, Utc};

use crate::domain::AuditEntry;

tokio::task_local! {
    static CLIENT: Option<IpAddr>;
}

/// Runs `f` as serving a request from `ip`.
pub fn scope<F: Future>(ip: Option<IpAddr>, f: F) -> impl Future<Output = F::Output> {
    CLIENT.scope(ip, f)
}

/// The address of the request being served, if any.
pub fn current() -> Option<IpAddr> {
    CLIENT.try_with(|ip| *ip).ok().flatten()
}

/// A new audit entry stamped `now` with the address of the request being served.
pub fn entry(
    actor: impl Into<String>,
    action: impl Into<String>,
    license_key: Option<&str>,
    now: DateTime<Utc>,
) -> AuditEntry {
    AuditEntry::new(actor, action, license_key, now).from_ip(current())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn entries_take_the_address_of_the_request_they_serve() {
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        let inside = scope(Some(ip), async {
            entry("admin:a@b.co", "x.y", None, Utc::now())
        })
        .await;
        assert_eq!(inside.ip.as_deref(), Some("203.0.113.9"));
        let outside = entry("system", "x.y", None, Utc::now());
        assert_eq!(outside.ip, None);
        assert_eq!(scope(None, async { current() }).await, None);
    }
}
