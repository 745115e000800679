//! Write-behind for heartbeat `last_seen`: a heartbeat moves an atomic in the
//! license's resident view and marks the license dirty (one list entry per
//! license and flush, not per heartbeat); the flusher writes the newest
//! `last_seen` of every dirty license on an interval and at shutdown. A crash
//! loses at most one interval of `last_seen`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use parking_lot::Mutex;

use super::resident::Resident;
use crate::domain::{Environment, Identifier, LicenseKey};
use crate::metrics::metrics;
use crate::store::{SeenAt, Store};

/// Licenses with heartbeats since the last flush, and writes that failed.
#[derive(Default)]
pub struct HeartbeatBuffer {
    /// A device's time is written again once it moved this far (milliseconds).
    precision_ms: i64,
    dirty: Mutex<(Vec<Arc<Resident>>, Option<Instant>)>,
    /// What the last flush could not write, retried by the next (one entry per
    /// device, the newest time: bounded by the devices seen, however long the outage).
    failed: Mutex<Failed>,
}

type Failed = HashMap<(Environment, LicenseKey, Identifier), DateTime<Utc>>;

impl HeartbeatBuffer {
    /// A buffer whose flushes skip devices seen less than `precision` after
    /// their last written time (the flush at shutdown writes them all).
    pub fn new(precision: Duration) -> Self {
        HeartbeatBuffer {
            precision_ms: i64::try_from(precision.as_millis()).unwrap_or(i64::MAX),
            ..Default::default()
        }
    }

    /// Queues a license whose devices were seen (called once per flush interval
    /// per license: the resident's dirty flag filters the rest).
    pub fn mark(&self, resident: Arc<Resident>) {
        let mut g = self.dirty.lock();
        g.0.push(resident);
        g.1.get_or_insert_with(Instant::now);
    }

    /// Writes what moved past the precision; on failure the entries go back
    /// for the next try.
    pub async fn flush(&self, store: &dyn Store) {
        self.flush_within(store, self.precision_ms).await
    }

    /// Writes every newer time (at shutdown).
    pub async fn flush_all(&self, store: &dyn Store) {
        self.flush_within(store, 0).await
    }

    async fn flush_within(&self, store: &dyn Store, precision_ms: i64) {
        let (dirty, oldest) = {
            let mut g = self.dirty.lock();
            (std::mem::take(&mut g.0), g.1.take())
        };
        let mut by_env: HashMap<Environment, Vec<SeenAt>> = HashMap::new();
        for ((env, key, identifier), at) in std::mem::take(&mut *self.failed.lock()) {
            by_env.entry(env).or_default().push(SeenAt {
                key,
                identifier,
                at,
            });
        }
        let mut waiting = Vec::new();
        for r in dirty {
            // Cleared before reading: a heartbeat after this point marks it again.
            r.clear_dirty();
            if r.is_gone() {
                continue;
            }
            let env = r.view().license.environment;
            let (due, held) = r.seen_at(precision_ms);
            by_env.entry(env).or_default().extend(due);
            // Times held back stay queued (once), for a later flush or shutdown.
            if held && r.mark_dirty() {
                waiting.push(r);
            }
        }
        if !waiting.is_empty() {
            self.dirty.lock().0.extend(waiting);
        }
        let count: usize = by_env.values().map(Vec::len).sum();
        let m = metrics();
        if count == 0 {
            m.heartbeat_pending.set(0);
            return;
        }
        let mut failed = Vec::new();
        for (env, batch) in by_env {
            if let Err(e) = store.touch_last_seen(env, &batch).await {
                tracing::warn!(error = %e, count = batch.len(), "heartbeat flush failed; will retry");
                failed.extend(batch.into_iter().map(|s| (env, s)));
            }
        }
        if let Some(o) = oldest {
            m.heartbeat_flush_lag.set(o.elapsed().as_secs_f64());
        }
        if failed.is_empty() {
            m.heartbeat_flush_batch.observe(count as f64);
        }
        let mut retry = self.failed.lock();
        for (env, s) in failed {
            let at = retry.entry((env, s.key, s.identifier)).or_insert(s.at);
            *at = (*at).max(s.at);
        }
        let retry = retry.len();
        m.heartbeat_pending
            .set((self.dirty.lock().0.len() + retry) as i64);
    }

    /// Flushes every `interval` until the process ends.
    pub fn spawn_flusher(self: Arc<Self>, store: Arc<dyn Store>, interval: Duration) {
        actix_rt::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                self.flush(store.as_ref()).await;
            }
        });
    }
}
