//! Validations per minute for the dashboard chart, read from the server's own
//! `keywarden_verdicts_total` counter (the same series Prometheus scrapes).

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;

use crate::domain::Environment;

/// How often the counter is read, and how much history is kept.
const EVERY: Duration = Duration::from_secs(15);
const KEEP: usize = 4 * 60;

/// Validate and heartbeat answers so far, per environment, from the metrics registry.
pub fn checks_so_far(env: Environment) -> u64 {
    use prometheus::core::Collector;
    let mut total = 0u64;
    // Only the verdict counter: gathering the whole registry would also read
    // the process collector's /proc files on every dashboard view.
    for family in crate::metrics::metrics().verdicts.collect() {
        for metric in family.get_metric() {
            let mut env_ok = false;
            let mut op_ok = false;
            for l in metric.get_label() {
                match l.get_name() {
                    "env" => env_ok = l.get_value() == env.as_str(),
                    "op" => op_ok = matches!(l.get_value(), "validate" | "heartbeat"),
                    _ => {}
                }
            }
            if env_ok && op_ok {
                total += metric.get_counter().get_value() as u64;
            }
        }
    }
    total
}

/// Periodic readings of the counter.
#[derive(Default)]
pub struct RateHistory {
    samples: Mutex<VecDeque<(DateTime<Utc>, [u64; 2])>>,
}

fn idx(env: Environment) -> usize {
    match env {
        Environment::Production => 0,
        Environment::Staging => 1,
    }
}

impl RateHistory {
    pub fn sample(&self, at: DateTime<Utc>) {
        let reading = [
            checks_so_far(Environment::Production),
            checks_so_far(Environment::Staging),
        ];
        let mut s = self.samples.lock();
        s.push_back((at, reading));
        while s.len() > KEEP {
            s.pop_front();
        }
    }

    /// Reads the counter every 15 s for as long as the process runs.
    pub fn spawn_sampler(self: std::sync::Arc<Self>) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(EVERY);
            loop {
                tick.tick().await;
                self.sample(Utc::now());
            }
        });
    }

    /// Checks per minute over the last `minutes` minutes, oldest first (the last bar
    /// is the minute still running, measured up to `now`).
    pub fn per_minute(&self, env: Environment, minutes: usize, now: DateTime<Utc>) -> Vec<u64> {
        let s = self.samples.lock();
        let live = checks_so_far(env);
        let first = s.front().map(|(_, r)| r[idx(env)]).unwrap_or(live);
        let at = |t: DateTime<Utc>| -> u64 {
            if t >= now {
                return live;
            }
            s.iter()
                .rev()
                .find(|(when, _)| *when <= t)
                .map(|(_, r)| r[idx(env)])
                .unwrap_or(first)
        };
        (0..minutes)
            .rev()
            .map(|k| {
                let end = now - chrono::Duration::minutes(k as i64);
                let start = end - chrono::Duration::minutes(1);
                at(end).saturating_sub(at(start))
            })
            .collect()
    }
}
