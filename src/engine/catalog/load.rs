//! Loading the catalog after start, in the background: the client API and
//! `/readyz` do not wait for it. Batches land under the environment's write
//! lock, skipping keys changed live since the load began (see `Loading`), so
//! an upsert or delete that arrives meanwhile is never overwritten by the
//! older copy the load read.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Catalog, Progress};
use crate::domain::{Environment, License};
use crate::store::{LicenseSink, Store, StoreError};

/// Licenses applied per hold of the write lock, so queries and live changes
/// wait at most one small batch.
const LOCKED_BATCH: usize = 1_000;

/// Loads `catalog` from `store` on the runtime, retrying with backoff until it
/// has every license (a store that is down at start delays only the listing).
pub fn spawn(catalog: Arc<Catalog>, store: Arc<dyn Store>) {
    tokio::spawn(async move {
        held_by_test().await;
        let mut wait = Duration::from_millis(500);
        while let Err(e) = load(&catalog, store.as_ref()).await {
            tracing::warn!(error = %e, "catalog load failed; retrying");
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(30));
        }
    });
}

/// Test hook: with `KW_TEST_HOLD_CATALOG` (not `KEYWARDEN_`: the config
/// refuses unknown keys of that prefix) naming a file, the load starts
/// only once that file exists, so integration tests can see the server serve
/// while its catalog is still indexing (never set in production).
async fn held_by_test() {
    let Some(path) = std::env::var_os("KW_TEST_HOLD_CATALOG") else {
        return;
    };
    tracing::warn!(
        "catalog load held until {} exists (test hook)",
        path.to_string_lossy()
    );
    while !std::path::Path::new(&path).exists() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Reads every license of each environment still loading into `catalog`.
pub async fn load(catalog: &Catalog, store: &dyn Store) -> Result<(), StoreError> {
    for env in Environment::ALL {
        if catalog.progress(env).is_none() {
            continue;
        }
        let started = Instant::now();
        let mut sink = Sink { catalog, env };
        store.scan_licenses(env, &mut sink).await?;
        catalog.finish(env);
        tracing::info!(
            env = env.as_str(),
            licenses = catalog.len(env),
            secs = started.elapsed().as_secs_f64(),
            "catalog loaded"
        );
    }
    Ok(())
}

/// Hands the store's batches to the catalog.
struct Sink<'a> {
    catalog: &'a Catalog,
    env: Environment,
}

impl LicenseSink for Sink<'_> {
    fn expect(&mut self, total: u64) {
        let mut side = self.catalog.side(self.env).write();
        if let Some(loading) = side.loading.as_mut() {
            loading.progress = Some(Progress {
                loaded: 0,
                total: Some(total),
            });
            // Columns sized once: no doubling while loading, whose freed
            // copies the allocator would keep as resident memory.
            side.shelf.reserve(total as usize);
        }
    }

    fn batch(&mut self, licenses: Vec<License>) {
        for chunk in licenses.chunks(LOCKED_BATCH) {
            self.catalog.load_batch(self.env, chunk);
        }
    }
}

impl Catalog {
    /// Applies loaded licenses, except those changed live meanwhile.
    pub(super) fn load_batch(&self, env: Environment, licenses: &[License]) {
        let mut side = self.side(env).write();
        let super::Side { shelf, loading } = &mut *side;
        let Some(loading) = loading.as_mut() else {
            return;
        };
        for l in licenses
            .iter()
            .filter(|l| !loading.touched.contains(&l.key))
        {
            shelf.upsert(l);
        }
        let p = loading.progress.get_or_insert(Progress {
            loaded: 0,
            total: None,
        });
        p.loaded += licenses.len() as u64;
    }

    /// Ends an environment's load; the catalog is ready once both are loaded.
    pub(super) fn finish(&self, env: Environment) {
        {
            let mut side = self.side(env).write();
            side.loading = None;
            let s = &mut side.shelf;
            s.order.settle(&s.keys);
            s.shrink();
        }
        if Environment::ALL
            .iter()
            .all(|e| self.side(*e).read().loading.is_none())
        {
            self.ready.send_replace(true);
        }
    }
}
