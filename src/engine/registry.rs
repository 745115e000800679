//! (environment, key) → the license's actor, with time-to-idle eviction, plus a
//! negative cache so unknown keys never reach the store twice in a row.

use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, Addr};
use governor::Quota;
use moka::future::Cache;

use super::actor::{ActorShared, LicenseActor, Reload, Stop};
use super::heartbeats::HeartbeatBuffer;
use super::{EngineError, SettingsCell};
use crate::config::EngineSettings;
use crate::domain::{Environment, LicenseKey};
use crate::metrics::metrics;
use crate::store::{Store, StoreError};

type Key = (Environment, LicenseKey);

#[derive(Debug, Clone)]
enum LoadError {
    Unknown,
    Store(StoreError),
}

/// Finds or starts exactly one actor per resident license on this node.
pub struct Registry {
    actors: Cache<Key, Addr<LicenseActor>>,
    negative: moka::sync::Cache<Key, ()>,
    shared: Arc<ActorShared>,
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
        let actors = Cache::builder()
            .max_capacity(cfg.registry_capacity)
            .time_to_idle(Duration::from_secs(cfg.registry_idle_secs.max(1)))
            .eviction_listener(|_k, addr: Addr<LicenseActor>, _cause| addr.do_send(Stop))
            .build();
        let negative = moka::sync::Cache::builder()
            .max_capacity(cfg.negative_cache_capacity)
            .time_to_live(Duration::from_secs(cfg.negative_cache_ttl_secs.max(1)))
            .build();
        Registry {
            actors,
            negative,
            shared: Arc::new(ActorShared {
                store,
                quota,
                catalog,
                clock: Default::default(),
                heartbeats,
                settings,
            }),
        }
    }

    /// The actor for a key, loading the license on a miss; `None` for unknown keys.
    ///
    /// Concurrent misses for one key share a single load (moka's coalescing
    /// `try_get_with`), so two actors for one license never start on this node.
    ///
    /// `charge` (client requests) is taken for every unknown-key answer from the
    /// negative cache, and *before* the store read for a key the catalog has never
    /// heard of, so a guess over the client's limit costs no read at all; real
    /// keys (resident or in the catalog) are never charged.
    pub async fn lookup(
        &self,
        env: Environment,
        key: LicenseKey,
        charge: Option<&(dyn Fn() -> Result<(), EngineError> + Send + Sync)>,
    ) -> Result<Option<Addr<LicenseActor>>, EngineError> {
        let k = (env, key);
        let m = metrics();
        if let Some(addr) = self.actors.get(&k).await {
            if addr.connected() {
                m.lookup_hit.inc();
                return Ok(Some(addr));
            }
            self.actors.invalidate(&k).await;
        }
        if self.negative.contains_key(&k) {
            m.lookup_negative.inc();
            if let Some(charge) = charge {
                charge()?;
            }
            return Ok(None);
        }
        if let Some(charge) = charge {
            if !self.shared.catalog.contains(env, &k.1) {
                charge()?;
            }
        }
        m.lookup_miss.inc();
        let store = self.shared.store.clone();
        let (env, key) = (k.0, k.1.clone());
        let loaded = self
            .actors
            .try_get_with(k.clone(), async {
                match store.get_license(env, &key).await {
                    Ok(Some(license)) => {
                        Ok(LicenseActor::new(license, self.shared.clone()).start())
                    }
                    Ok(None) => Err(LoadError::Unknown),
                    Err(e) => Err(LoadError::Store(e)),
                }
            })
            .await;
        match loaded {
            Ok(addr) => Ok(Some(addr)),
            Err(e) => match e.as_ref() {
                LoadError::Unknown => {
                    self.negative.insert(k, ());
                    Ok(None)
                }
                LoadError::Store(s) => Err(EngineError::Store(s.clone())),
            },
        }
    }

    /// Drops a license from memory (deleted or changed elsewhere) and remembers it as unknown.
    pub async fn forget(&self, env: Environment, key: LicenseKey) {
        let k = (env, key);
        self.actors.invalidate(&k).await;
        self.negative.insert(k, ());
    }

    /// Another node changed this license: drop the resident copy and any NOT_FOUND
    /// memory, so the next request loads the committed state.
    /// Returns whether the license was resident (its actor then updates the catalog).
    pub async fn refresh(&self, env: Environment, key: LicenseKey) -> bool {
        let k = (env, key);
        self.negative.invalidate(&k);
        match self.actors.get(&k).await {
            Some(addr) if addr.connected() => {
                addr.do_send(Reload);
                true
            }
            _ => false,
        }
    }

    /// A key now exists: stop answering NOT_FOUND from memory.
    pub fn forget_negative(&self, env: Environment, key: &LicenseKey) {
        self.negative.invalidate(&(env, key.clone()));
    }

    /// How many actors are resident (approximate, for tests and pages).
    pub fn resident(&self) -> u64 {
        self.actors.entry_count()
    }

    /// Stops every resident actor (used at shutdown and by tests).
    pub async fn clear(&self) {
        self.actors.invalidate_all();
        self.actors.run_pending_tasks().await;
    }
}
