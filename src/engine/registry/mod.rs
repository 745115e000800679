//! (environment, key) → the license resident in memory, with idle and capacity
//! eviction ([`table`]), coalesced loads, and a negative cache so unknown keys
//! never reach the store twice in a row.

mod table;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::Addr;
use governor::Quota;
use parking_lot::Mutex;
use tokio::sync::OnceCell;

use super::actor::{ActorShared, LicenseActor};
use super::heartbeats::HeartbeatBuffer;
use super::resident::Resident;
use super::{EngineError, SettingsCell};
use crate::config::EngineSettings;
use crate::domain::{Environment, LicenseKey};
use crate::metrics::metrics;
use crate::store::{Store, StoreError};
use table::Table;

/// One table per environment, so a hit is looked up by `&LicenseKey` (no key copy).
type PerEnv<T> = [T; 2];

fn slot(env: Environment) -> usize {
    match env {
        Environment::Production => 0,
        Environment::Staging => 1,
    }
}

#[derive(Debug, Clone)]
enum LoadError {
    Unknown,
    Store(StoreError),
}

/// A load in flight: every concurrent miss of one key awaits the same cell.
type Loading = Arc<OnceCell<Result<Arc<Resident>, LoadError>>>;

/// Finds or loads exactly one [`Resident`] per license in memory on this node.
pub struct Registry {
    tables: PerEnv<Table>,
    loading: Mutex<HashMap<(Environment, LicenseKey), Loading>>,
    negative: PerEnv<moka::sync::Cache<LicenseKey, ()>>,
    shared: Arc<ActorShared>,
    capacity: usize,
    idle_secs: u32,
    /// The registry clock's zero: "last used" is counted in seconds from here.
    epoch: Instant,
}

impl Registry {
    /// An empty registry; licenses are loaded on first use.
    pub fn new(
        store: Arc<dyn Store>,
        catalog: Arc<super::catalog::Catalog>,
        cfg: &EngineSettings,
        quota: Quota,
        heartbeats: Arc<HeartbeatBuffer>,
        settings: Arc<SettingsCell>,
    ) -> Self {
        let negative = || {
            moka::sync::Cache::builder()
                .max_capacity(cfg.negative_cache_capacity)
                .time_to_live(Duration::from_secs(cfg.negative_cache_ttl_secs.max(1)))
                .build()
        };
        Registry {
            tables: Default::default(),
            loading: Mutex::default(),
            negative: [negative(), negative()],
            shared: Arc::new(ActorShared {
                store,
                quota,
                catalog,
                clock: Default::default(),
                heartbeats,
                settings,
            }),
            capacity: usize::try_from(cfg.registry_capacity).unwrap_or(usize::MAX),
            idle_secs: u32::try_from(cfg.registry_idle_secs.max(1)).unwrap_or(u32::MAX),
            epoch: Instant::now(),
        }
    }

    /// Seconds since the registry started (the "last used" clock).
    fn now(&self) -> u32 {
        u32::try_from(self.epoch.elapsed().as_secs()).unwrap_or(u32::MAX)
    }

    /// The resident license for a key, loading it on a miss; `None` for unknown keys.
    ///
    /// Concurrent misses for one key share a single load, so one license is
    /// never resident twice on this node (and never has two actors).
    ///
    /// `charge` (client requests) is taken for every unknown-key answer from the
    /// negative cache, and *before* the store read for a key the catalog has never
    /// heard of, so a guess over the client's limit costs no read at all; real
    /// keys (resident or in the catalog) are never charged.
    pub async fn lookup(
        &self,
        env: Environment,
        key: &LicenseKey,
        charge: Option<&(dyn Fn() -> Result<(), EngineError> + Send + Sync)>,
    ) -> Result<Option<Arc<Resident>>, EngineError> {
        let (table, negative) = (&self.tables[slot(env)], &self.negative[slot(env)]);
        let m = metrics();
        if let Some(r) = table.get(key, self.now()) {
            if !r.is_gone() {
                m.lookup_hit.inc();
                return Ok(Some(r));
            }
            table.remove_if_same(key, &r);
        }
        if negative.contains_key(key) {
            m.lookup_negative.inc();
            if let Some(charge) = charge {
                charge()?;
            }
            return Ok(None);
        }
        if let Some(charge) = charge {
            if !self.shared.catalog.contains(env, key) {
                charge()?;
            }
        }
        m.lookup_miss.inc();
        match self.load(env, key).await {
            Ok(r) => Ok(Some(r)),
            Err(LoadError::Unknown) => {
                negative.insert(key.clone(), ());
                Ok(None)
            }
            Err(LoadError::Store(s)) => Err(EngineError::Store(s)),
        }
    }

    /// One store read per key however many ask at once; the first to finish
    /// makes the result resident (under the same lock a new miss checks first).
    async fn load(&self, env: Environment, key: &LicenseKey) -> Result<Arc<Resident>, LoadError> {
        let table = &self.tables[slot(env)];
        let cell = {
            let mut loading = self.loading.lock();
            if let Some(r) = table.get(key, self.now()).filter(|r| !r.is_gone()) {
                return Ok(r);
            }
            let entry = loading.entry((env, key.clone())).or_default();
            entry.clone()
        };
        let result = cell
            .get_or_init(|| async {
                match self.shared.store.get_license(env, key).await {
                    Ok(Some(license)) => Ok(Resident::new(license, self.shared.clone())),
                    Ok(None) => Err(LoadError::Unknown),
                    Err(e) => Err(LoadError::Store(e)),
                }
            })
            .await
            .clone();
        let mut loading = self.loading.lock();
        let k = (env, key.clone());
        if loading.get(&k).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            loading.remove(&k);
            if let Ok(r) = &result {
                table.insert(k.1, r.clone(), self.now());
            }
        }
        result
    }

    /// Drops a license from memory (deleted or changed elsewhere) and remembers it as unknown.
    pub async fn forget(&self, env: Environment, key: LicenseKey) {
        self.tables[slot(env)].remove(&key);
        self.negative[slot(env)].insert(key, ());
    }

    /// Another node changed this license: drop any NOT_FOUND memory and the
    /// resident copy, unless it has an actor: that one is returned, for the caller
    /// to send it [`super::actor::Reload`] (queued behind the changes already
    /// waiting). A license resident without an actor just leaves memory; the
    /// next request loads the committed state.
    pub async fn refresh(&self, env: Environment, key: LicenseKey) -> Option<Addr<LicenseActor>> {
        let table = &self.tables[slot(env)];
        self.negative[slot(env)].invalidate(&key);
        let r = table.get(&key, self.now())?;
        match r.started_actor() {
            Some(addr) if addr.connected() => Some(addr.clone()),
            _ => {
                table.remove_if_same(&key, &r);
                None
            }
        }
    }

    /// A key now exists: stop answering NOT_FOUND from memory.
    pub fn forget_negative(&self, env: Environment, key: &LicenseKey) {
        self.negative[slot(env)].invalidate(key);
    }

    /// How many licenses are resident (for tests and pages).
    pub fn resident(&self) -> u64 {
        self.tables.iter().map(|t| t.len() as u64).sum()
    }

    /// Drops every resident license and stops their actors (shutdown and tests).
    pub async fn clear(&self) {
        for t in &self.tables {
            t.clear();
        }
    }

    /// Drops idle licenses and, over capacity, the least recently used (each
    /// environment its share of the excess); also forgets loads nobody waits
    /// for any more. CPU work over every resident: run it off the workers.
    pub fn sweep(&self) -> usize {
        let idle_before = self.now().saturating_sub(self.idle_secs);
        let total = self.resident() as usize;
        let over = total.saturating_sub(self.capacity);
        let dropped = self
            .tables
            .iter()
            .map(|t| {
                let len = t.len();
                let cap = match over {
                    0 => usize::MAX,
                    _ => len.saturating_sub((over * len).div_ceil(total.max(1))),
                };
                t.sweep(idle_before, cap)
            })
            .sum();
        // A load whose every waiter went away (cancelled requests) is forgotten.
        self.loading
            .lock()
            .retain(|_, cell| Arc::strong_count(cell) > 1);
        dropped
    }
}

#[cfg(test)]
mod tests;
