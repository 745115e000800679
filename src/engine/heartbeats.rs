//! Write-behind for heartbeat `last_seen`: collected in memory, flushed on an
//! interval and at shutdown. A crash loses at most one interval of `last_seen`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use parking_lot::Mutex;

use crate::domain::{Environment, Identifier, LicenseKey};
use crate::metrics::metrics;
use crate::store::{SeenAt, Store};

type Pending = HashMap<(Environment, LicenseKey, Identifier), DateTime<Utc>>;

/// Latest `last_seen` per device since the last flush.
#[derive(Default)]
pub struct HeartbeatBuffer {
    inner: Mutex<(Pending, Option<Instant>)>,
}

impl HeartbeatBuffer {
    /// Remembers the newest time a device was seen.
    pub fn record(
        &self,
        env: Environment,
        key: &LicenseKey,
        identifier: &Identifier,
        at: DateTime<Utc>,
    ) {
        let mut g = self.inner.lock();
        let (pending, oldest) = &mut *g;
        pending.insert((env, key.clone(), identifier.clone()), at);
        oldest.get_or_insert_with(Instant::now);
    }

    /// Writes everything pending; on failure the entries go back for the next try.
    pub async fn flush(&self, store: &dyn Store) {
        let (pending, oldest) = {
            let mut g = self.inner.lock();
            (std::mem::take(&mut g.0), g.1.take())
        };
        if pending.is_empty() {
            metrics().heartbeat_pending.set(0);
            return;
        }
        let count = pending.len();
        let mut by_env: HashMap<Environment, Vec<SeenAt>> = HashMap::new();
        for ((env, key, identifier), at) in &pending {
            by_env.entry(*env).or_default().push(SeenAt {
                key: key.clone(),
                identifier: identifier.clone(),
                at: *at,
            });
        }
        let mut failed = false;
        for (env, batch) in by_env {
            if let Err(e) = store.touch_last_seen(env, &batch).await {
                tracing::warn!(error = %e, count = batch.len(), "heartbeat flush failed; will retry");
                failed = true;
            }
        }
        let m = metrics();
        if let Some(o) = oldest {
            m.heartbeat_flush_lag.set(o.elapsed().as_secs_f64());
        }
        if failed {
            let mut g = self.inner.lock();
            for (k, at) in pending {
                g.0.entry(k).and_modify(|t| *t = (*t).max(at)).or_insert(at);
            }
            g.1 = Some(oldest.unwrap_or_else(Instant::now));
        } else {
            m.heartbeat_flush_batch.observe(count as f64);
        }
        m.heartbeat_pending.set(self.inner.lock().0.len() as i64);
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
