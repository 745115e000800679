//! Client traffic counted per environment and UTC day for the dashboard:
//! relaxed atomics on the request path, added to the store's daily counts
//! every few seconds by one task (and at shutdown), so the numbers survive a
//! restart and sum every node. A crash loses at most one flush interval.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{Duration as Span, NaiveDate, NaiveDateTime, Timelike, Utc};

use super::error::AppError;

use crate::domain::Environment;
use crate::store::{DayCounts, Store};

/// How often counts go to the store.
pub const FLUSH_SECS: u64 = 5;

/// Counts since the last flush: [activations, validations, failed] per environment.
#[derive(Default)]
pub struct DailyTraffic {
    counts: [[AtomicU64; 3]; 2],
}

fn slot(env: Environment) -> usize {
    match env {
        Environment::Production => 0,
        Environment::Staging => 1,
    }
}

impl DailyTraffic {
    /// A device was activated.
    pub fn activation(&self, env: Environment) {
        self.counts[slot(env)][0].fetch_add(1, Ordering::Relaxed);
    }

    /// A validation or heartbeat was answered (`valid` or not).
    pub fn validation(&self, env: Environment, valid: bool) {
        let c = &self.counts[slot(env)];
        c[1].fetch_add(1, Ordering::Relaxed);
        if !valid {
            c[2].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Moves what was counted into the store (this UTC hour); what cannot be
    /// written is counted again for the next flush.
    pub async fn flush(&self, store: &dyn Store) {
        let hour = start_of_hour(Utc::now().naive_utc());
        for env in Environment::ALL {
            let c = &self.counts[slot(env)];
            let add = DayCounts {
                activations: c[0].swap(0, Ordering::Relaxed),
                validations: c[1].swap(0, Ordering::Relaxed),
                failed_validations: c[2].swap(0, Ordering::Relaxed),
            };
            if add.is_zero() {
                continue;
            }
            if let Err(e) = store.add_counts(env, hour, add).await {
                tracing::warn!(%env, error = %e, "daily counts not written; kept for the next flush");
                c[0].fetch_add(add.activations, Ordering::Relaxed);
                c[1].fetch_add(add.validations, Ordering::Relaxed);
                c[2].fetch_add(add.failed_validations, Ordering::Relaxed);
            }
        }
    }

    /// Flushes every [`FLUSH_SECS`].
    pub fn spawn_flusher(self: Arc<Self>, store: Arc<dyn Store>) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(FLUSH_SECS));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                self.flush(store.as_ref()).await;
            }
        });
    }
}

/// The hour `t` falls in.
fn start_of_hour(t: NaiveDateTime) -> NaiveDateTime {
    t.date().and_hms_opt(t.hour(), 0, 0).unwrap_or(t)
}

/// What the dashboard shows of the traffic: the last 7 days (oldest first,
/// today last) and the last 24 hours.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrafficSummary {
    pub days: Vec<(NaiveDate, DayCounts)>,
    pub last_24h: DayCounts,
}

impl TrafficSummary {
    /// Today's counts.
    pub fn today(&self) -> DayCounts {
        self.days.last().map(|d| d.1).unwrap_or_default()
    }

    /// Yesterday's counts.
    pub fn yesterday(&self) -> DayCounts {
        self.days
            .iter()
            .rev()
            .nth(1)
            .map(|d| d.1)
            .unwrap_or_default()
    }
}

/// Sums stored hours into days and the last 24 hours before `now` (pure).
pub fn summarise(hours: &[(NaiveDateTime, DayCounts)], now: NaiveDateTime) -> TrafficSummary {
    let today = now.date();
    let days = (0..7)
        .rev()
        .map(|back| {
            let day = today - Span::days(back);
            let sum = hours
                .iter()
                .filter(|(h, _)| h.date() == day)
                .fold(DayCounts::default(), |acc, (_, c)| acc.plus(*c));
            (day, sum)
        })
        .collect();
    let since = start_of_hour(now) - Span::hours(23);
    let last_24h = hours
        .iter()
        .filter(|(h, _)| *h >= since && *h <= now)
        .fold(DayCounts::default(), |acc, (_, c)| acc.plus(*c));
    TrafficSummary { days, last_24h }
}

/// The summary of `env` now, read from the store (every node's counts).
pub async fn summary(store: &dyn Store, env: Environment) -> Result<TrafficSummary, AppError> {
    let now = Utc::now().naive_utc();
    let from = (now.date() - Span::days(6))
        .and_hms_opt(0, 0, 0)
        .unwrap_or(now);
    let hours = store.read_counts(env, from, start_of_hour(now)).await?;
    Ok(summarise(&hours, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn c(a: u64, v: u64, f: u64) -> DayCounts {
        DayCounts {
            activations: a,
            validations: v,
            failed_validations: f,
        }
    }

    #[test]
    fn hours_sum_into_seven_days_and_the_last_24_hours() {
        let now = at("2026-12-06 10:30");
        let hours = [
            (at("2026-11-29 23:00"), c(100, 100, 100)), // 7 days back: outside
            (at("2026-11-30 05:00"), c(1, 10, 1)),
            (at("2026-12-05 09:00"), c(2, 20, 2)), // yesterday, outside 24 h
            (at("2026-12-05 11:00"), c(3, 30, 3)), // yesterday, inside 24 h
            (at("2026-12-06 00:00"), c(4, 40, 4)),
            (at("2026-12-06 10:00"), c(5, 50, 5)),
        ];
        let s = summarise(&hours, now);
        assert_eq!(s.days.len(), 7);
        assert_eq!(s.days[0], (at("2026-11-30 00:00").date(), c(1, 10, 1)));
        assert_eq!(s.today(), c(9, 90, 9));
        assert_eq!(s.yesterday(), c(5, 50, 5));
        assert_eq!(s.last_24h, c(12, 120, 12));
        let none = summarise(&[], now);
        assert_eq!(none.today(), DayCounts::default());
        assert_eq!(none.days.len(), 7);
    }

    #[test]
    fn counting_is_per_environment_and_flush_moves_it() {
        let t = DailyTraffic::default();
        t.validation(Environment::Production, true);
        t.validation(Environment::Production, false);
        t.activation(Environment::Staging);
        let read = |e: Environment, i: usize| t.counts[slot(e)][i].load(Ordering::Relaxed);
        assert_eq!(read(Environment::Production, 1), 2);
        assert_eq!(read(Environment::Production, 2), 1);
        assert_eq!(read(Environment::Staging, 0), 1);
        assert_eq!(read(Environment::Staging, 1), 0);
    }
}
