//! The registry sweep and the unknown-key limiter per client IP: what keeps
//! the engine's per-key memory bounded, and what a guessing client pays.

use std::net::IpAddr;

use super::{Engine, EngineError};

impl Engine {
    /// Forgets client IPs whose unknown-key budget is full again, so a spray of
    /// addresses (IPv6) cannot grow the limiter forever (security item 9).
    pub fn prune_limiters(&self) {
        self.unknown_key_limiter.retain_recent();
        self.unknown_key_limiter.shrink_to_fit();
    }

    /// Drops idle resident licenses and, over `registry_capacity`, the least
    /// recently used; returns how many left memory.
    pub fn sweep_registry(&self) -> usize {
        self.registry.sweep()
    }

    /// IPs the unknown-key limiter remembers.
    pub fn limiter_len(&self) -> usize {
        self.unknown_key_limiter.len()
    }

    /// Charges one unknown-key lookup to the client's IP; `Err` once it guessed too often.
    pub(super) fn charge_unknown_key(&self, ip: IpAddr) -> Result<(), EngineError> {
        self.unknown_key_limiter
            .check_key(&ip)
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                ));
                crate::metrics::metrics()
                    .rate_limited
                    .with_label_values(&["ip"])
                    .inc();
                EngineError::RateLimited {
                    retry_after_secs: wait.as_secs().max(1),
                }
            })
    }
}
