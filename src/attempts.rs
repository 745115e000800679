//! Failed credential checks — portal sign-ins, re-authentication, password
//! changes of both portals, and admin API bearer tokens — counted per client IP
//! and per account, so guessing is limited from one address and from many.
//! A locked IP or account waits even with the right secret (a guesser must not
//! learn that a guess was right). Every map here is bounded and forgets.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::LimitSettings;
use crate::engine::nz;

/// Most keys a lock-out map remembers; past it the least used are dropped.
const LOCKED_CAPACITY: u64 = 100_000;
/// Pruning runs when a limiter holds more keys than this, and on a timer.
const PRUNE_ABOVE: usize = 50_000;

/// Refused: wait this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locked(pub u64);

/// The failure counters and lock-outs.
pub struct Attempts {
    by_ip: DefaultKeyedRateLimiter<IpAddr>,
    by_account: DefaultKeyedRateLimiter<String>,
    locked_ip: moka::sync::Cache<IpAddr, Instant>,
    locked_account: moka::sync::Cache<String, Instant>,
}

fn locked_map<K>() -> moka::sync::Cache<K, Instant>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
{
    moka::sync::Cache::builder()
        .time_to_live(Duration::from_secs(3600))
        .max_capacity(LOCKED_CAPACITY)
        .build()
}

impl Attempts {
    pub fn new(limits: &LimitSettings) -> Attempts {
        Attempts {
            by_ip: RateLimiter::keyed(
                Quota::per_minute(nz(limits.login_per_minute)).allow_burst(nz(limits.login_burst)),
            ),
            by_account: RateLimiter::keyed(
                Quota::per_hour(nz(limits.account_failures_per_hour))
                    .allow_burst(nz(limits.account_failures_burst)),
            ),
            locked_ip: locked_map(),
            locked_account: locked_map(),
        }
    }

    /// Refuses while the IP or the account is locked out.
    pub fn refuse_if_locked(&self, ip: IpAddr, account: Option<&str>) -> Result<(), Locked> {
        let now = Instant::now();
        let ip_until = self.locked_ip.get(&ip);
        let acc_until = account.and_then(|a| self.locked_account.get(&account_key(a)));
        match ip_until.into_iter().chain(acc_until).max() {
            Some(until) if until > now => Err(Locked((until - now).as_secs().max(1))),
            _ => Ok(()),
        }
    }

    /// Charges one failure to the IP and to the account; `Err` (and a lock-out)
    /// once either has used up its attempts.
    pub fn charge_failure(&self, ip: IpAddr, account: Option<&str>) -> Result<(), Locked> {
        let clock = governor::clock::DefaultClock::default();
        let now = governor::clock::Clock::now(&clock);
        let mut wait = None;
        if let Err(not_until) = self.by_ip.check_key(&ip) {
            let w = not_until.wait_time_from(now);
            self.locked_ip.insert(ip, Instant::now() + w);
            tracing::warn!(%ip, "credential checks locked for this address after repeated failures");
            wait = Some(w);
        }
        if let Some(a) = account {
            let key = account_key(a);
            if let Err(not_until) = self.by_account.check_key(&key) {
                let w = not_until.wait_time_from(now);
                self.locked_account.insert(key, Instant::now() + w);
                tracing::warn!("credential checks locked for one account after repeated failures");
                wait = Some(wait.map_or(w, |o: Duration| o.max(w)));
            }
        }
        self.prune_if_large();
        match wait {
            Some(w) => {
                crate::metrics::metrics()
                    .rate_limited
                    .with_label_values(&["login"])
                    .inc();
                Err(Locked(w.as_secs().max(1)))
            }
            None => Ok(()),
        }
    }

    /// Keys the limiters remember (IP, account).
    pub fn len(&self) -> (usize, usize) {
        (self.by_ip.len(), self.by_account.len())
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == (0, 0)
    }

    /// Forgets keys whose counters are back to full (security item 9: a spray of
    /// addresses must not grow the limiters forever).
    pub fn prune(&self) {
        self.by_ip.retain_recent();
        self.by_ip.shrink_to_fit();
        self.by_account.retain_recent();
        self.by_account.shrink_to_fit();
        self.locked_ip.run_pending_tasks();
        self.locked_account.run_pending_tasks();
    }

    fn prune_if_large(&self) {
        if self.by_ip.len() > PRUNE_ABOVE || self.by_account.len() > PRUNE_ABOVE {
            self.prune();
        }
    }

    /// Prunes every `every` for as long as the process runs.
    pub fn spawn_pruner(self: Arc<Self>, every: Duration) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                self.prune();
            }
        });
    }
}

/// Accounts are counted case-insensitively (emails), and bounded in length.
fn account_key(account: &str) -> String {
    account.trim().to_lowercase().chars().take(320).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> LimitSettings {
        LimitSettings {
            login_per_minute: 1,
            login_burst: 3,
            account_failures_per_hour: 1,
            account_failures_burst: 5,
            ..LimitSettings::default()
        }
    }

    /// Security item 4: guesses from many addresses still lock the account.
    #[test]
    fn many_addresses_guessing_one_account_are_limited() {
        let a = Attempts::new(&limits());
        let mut refused = 0;
        for i in 0..20u8 {
            let ip = IpAddr::from([10, 0, 0, i]);
            if a.refuse_if_locked(ip, Some("Ann@Example.com")).is_err()
                || a.charge_failure(ip, Some("ann@example.com")).is_err()
            {
                refused += 1;
            }
        }
        assert!(refused >= 14, "only {refused} of 20 refused");
        // Another account from a fresh address is not affected.
        assert!(a
            .refuse_if_locked(IpAddr::from([10, 0, 1, 1]), Some("bob@example.com"))
            .is_ok());
    }

    #[test]
    fn one_address_is_locked_whatever_the_account() {
        let a = Attempts::new(&limits());
        let ip = IpAddr::from([192, 0, 2, 1]);
        let fails = (0..10)
            .filter(|i| a.charge_failure(ip, Some(&format!("u{i}@x.com"))).is_err())
            .count();
        assert!(fails >= 6);
        assert!(a.refuse_if_locked(ip, None).is_err());
    }

    /// Security item 9: limiters forget addresses once their counters are full again.
    #[test]
    fn pruning_forgets_recovered_addresses() {
        let a = Attempts::new(&LimitSettings {
            login_per_minute: 60_000,
            login_burst: 1,
            ..LimitSettings::default()
        });
        for i in 0..1000u32 {
            let _ = a.charge_failure(IpAddr::from(i.to_be_bytes()), None);
        }
        assert_eq!(a.len().0, 1000);
        std::thread::sleep(Duration::from_millis(20));
        a.prune();
        assert_eq!(a.len().0, 0, "recovered addresses are forgotten");
    }
}
