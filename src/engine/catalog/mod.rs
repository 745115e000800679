//! The per-node catalog of license summaries that admin search, filters, sorts and
//! page numbers run on (CQL has no substring index and no backward paging).
//!
//! Loaded from the store in the background after start ([`load`]), so the
//! client API serves at once; kept current by the actors (every committed
//! change), license creation, deletes, and the change log for other nodes'
//! writes. Compact columns ([`shelf`]): about 80 bytes a license.

mod arena;
mod lists;
pub mod load;
mod orders;
mod row_index;
mod search;
mod shelf;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use parking_lot::{RwLock, RwLockUpgradableReadGuard, RwLockWriteGuard};
use serde::Serialize;
use uuid::Uuid;

use crate::domain::{Customer, Environment, License, LicenseKey, LicenseStatus, Product};
use crate::store::{LicenseQuery, Listed, Page, StoreError};
use shelf::Shelf;

/// What the License Keys table shows of a license.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LicenseSummary {
    pub key: LicenseKey,
    pub product_id: Uuid,
    pub customer_id: Option<Uuid>,
    pub status: LicenseStatus,
    pub activation_limit: i32,
    pub activations_in_use: u32,
    /// Whether a device was ever bound (its history may hold deactivated ones).
    pub ever_activated: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Whether an abuse case waits for review (the Abuse Cases page, the dashboard).
    #[serde(skip)]
    pub case_open: bool,
}

impl From<&License> for LicenseSummary {
    fn from(l: &License) -> Self {
        LicenseSummary {
            key: l.key.clone(),
            product_id: l.product_id,
            customer_id: l.customer_id,
            status: l.status,
            activation_limit: l.activation_limit.get(),
            activations_in_use: l.active_count() as u32,
            ever_activated: l.ever_activated || !l.activations.is_empty(),
            expires_at: l.expires_at,
            created_at: l.created_at,
            case_open: l.has_open_case(),
        }
    }
}

impl Listed for &LicenseSummary {
    fn key(&self) -> &str {
        self.key.as_str()
    }
    fn product_id(&self) -> Uuid {
        self.product_id
    }
    fn customer_id(&self) -> Option<Uuid> {
        self.customer_id
    }
    fn status(&self) -> LicenseStatus {
        self.status
    }
    fn activation_limit(&self) -> i32 {
        self.activation_limit
    }
    fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.expires_at
    }
    fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
}

/// License counts of one environment.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub total: usize,
    pub by_status: HashMap<LicenseStatus, usize>,
    pub by_product: HashMap<Uuid, usize>,
    pub by_customer: HashMap<Uuid, usize>,
    pub activations_in_use: u64,
    /// Licenses that can still expire and do so within 7, 14 and 30 days.
    pub expiring: [usize; 3],
}

/// How far the background load of an environment has come (see [`Catalog::progress`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub loaded: u64,
    /// Licenses the store said it holds, when it knows.
    pub total: Option<u64>,
}

impl Progress {
    /// Percent done (0 while the total is unknown), for "indexing, N %".
    pub fn percent(&self) -> u8 {
        match self.total {
            Some(t) if t > 0 => (self.loaded.min(t) * 100 / t) as u8,
            _ => 0,
        }
    }
}

/// While an environment loads: the keys changed live since the load began.
/// The load skips them, so it never overwrites a newer change (or brings back
/// a deleted license) with what it read earlier.
#[derive(Default)]
struct Loading {
    touched: HashSet<LicenseKey>,
    progress: Option<Progress>,
}

/// One environment: its summaries and, until loaded, the load's state.
#[derive(Default)]
struct Side {
    shelf: Shelf,
    loading: Option<Loading>,
}

/// Summaries of every license of both environments.
pub struct Catalog {
    production: RwLock<Side>,
    staging: RwLock<Side>,
    /// `true` once both environments are loaded.
    ready: tokio::sync::watch::Sender<bool>,
}

impl Default for Catalog {
    /// An empty catalog with nothing to load (tests, fresh stores).
    fn default() -> Self {
        Catalog {
            production: RwLock::default(),
            staging: RwLock::default(),
            ready: tokio::sync::watch::Sender::new(true),
        }
    }
}

impl Catalog {
    fn side(&self, env: Environment) -> &RwLock<Side> {
        match env {
            Environment::Production => &self.production,
            Environment::Staging => &self.staging,
        }
    }

    /// An empty catalog waiting for [`load::load`]: live changes are recorded
    /// so the load cannot overwrite them.
    pub fn loading() -> Catalog {
        let side = || {
            RwLock::new(Side {
                shelf: Shelf::default(),
                loading: Some(Loading::default()),
            })
        };
        Catalog {
            production: side(),
            staging: side(),
            ready: tokio::sync::watch::Sender::new(false),
        }
    }

    /// Reads every license before answering (tests, tools); the server loads in
    /// the background instead ([`load::spawn`]).
    pub async fn build(store: &dyn crate::store::Store) -> Result<Catalog, StoreError> {
        let catalog = Catalog::loading();
        load::load(&catalog, store).await?;
        Ok(catalog)
    }

    /// Whether every license of both environments has been loaded.
    pub fn is_ready(&self) -> bool {
        *self.ready.borrow()
    }

    /// Waits until [`Catalog::is_ready`]: for answers that must be complete
    /// (the admin API listing, exports, the customer portal, reminders).
    pub async fn wait_ready(&self) {
        let mut rx = self.ready.subscribe();
        // The sender lives in `self`, so the channel cannot close meanwhile.
        let _ = rx.wait_for(|ready| *ready).await;
    }

    /// The environment's load progress, `None` once it is loaded.
    pub fn progress(&self, env: Environment) -> Option<Progress> {
        let side = self.side(env).read();
        let loading = side.loading.as_ref()?;
        Some(loading.progress.unwrap_or(Progress {
            loaded: 0,
            total: None,
        }))
    }

    /// Records a license as committed.
    pub fn upsert(&self, l: &License) {
        let mut side = self.side(l.environment).write();
        if let Some(loading) = side.loading.as_mut() {
            loading.touched.insert(l.key.clone());
        }
        side.shelf.upsert(l);
    }

    /// Forgets a deleted license.
    pub fn remove(&self, env: Environment, key: &LicenseKey) {
        let mut side = self.side(env).write();
        if let Some(loading) = side.loading.as_mut() {
            loading.touched.insert(key.clone());
        }
        side.shelf.remove(key.as_str());
    }

    /// How many licenses the environment holds (so far, while loading).
    pub fn len(&self, env: Environment) -> usize {
        self.side(env).read().shelf.len()
    }

    /// Whether the environment holds no license yet.
    pub fn is_empty(&self, env: Environment) -> bool {
        self.len(env) == 0
    }

    /// Whether the license exists as far as this node has heard.
    ///
    /// While the environment is still loading, a key not loaded yet answers
    /// `true` ("don't know"): the registry then does not charge the caller's
    /// unknown-key limiter, so real customers never pay for a node that just
    /// started; guesses are still charged once the negative cache knows them.
    pub fn contains(&self, env: Environment, key: &LicenseKey) -> bool {
        let side = self.side(env).read();
        side.loading.is_some() || side.shelf.find(key.as_str()).is_some()
    }

    /// Counts for the dashboard and the products page, in one pass.
    pub fn stats(&self, env: Environment, now: DateTime<Utc>) -> Stats {
        let side = self.side(env).read();
        let s = &side.shelf;
        let mut st = Stats::default();
        let mut per_product = vec![0usize; s.products.ids().len()];
        let mut per_customer = vec![0usize; s.customers.ids().len()];
        for row in (0..s.rows()).filter(|r| s.is_live(*r)) {
            let r = row as usize;
            st.total += 1;
            let status = s.status_of(row);
            *st.by_status.entry(status).or_default() += 1;
            per_product[s.product[r] as usize] += 1;
            if let Some(c) = per_customer.get_mut(s.customer[r] as usize) {
                *c += 1;
            }
            st.activations_in_use += u64::from(s.in_use[r]);
            if let Some(at) = s.expires_at(row).filter(|_| status.can_expire()) {
                if at > now {
                    let days = (at - now).num_seconds() as f64 / 86_400.0;
                    for (i, d) in [7.0, 14.0, 30.0].into_iter().enumerate() {
                        if days <= d {
                            st.expiring[i] += 1;
                        }
                    }
                }
            }
        }
        let counted = |ix: &arena::Interner, n: Vec<usize>| -> HashMap<Uuid, usize> {
            let ids = ix.ids().iter().copied();
            ids.zip(n).filter(|(_, n)| *n > 0).collect()
        };
        st.by_product = counted(&s.products, per_product);
        st.by_customer = counted(&s.customers, per_customer);
        st
    }

    /// Assigned licenses that can still expire and do so within `within`:
    /// (key, customer, expiry), for reminders.
    pub fn expiring_assigned(
        &self,
        env: Environment,
        now: DateTime<Utc>,
        within: chrono::Duration,
    ) -> Vec<(LicenseKey, Uuid, DateTime<Utc>)> {
        let side = self.side(env).read();
        let s = &side.shelf;
        (0..s.rows())
            .filter(|r| s.is_live(*r) && s.status_of(*r).can_expire())
            .filter_map(|r| {
                let c = s.customer_of(r)?;
                let at = s.expires_at(r).filter(|t| *t > now && *t <= now + within)?;
                Some((LicenseKey::parse(s.keys.get(r)).ok()?, c, at))
            })
            .collect()
    }

    /// Keys of one customer's licenses (the customer portal's entry point): one
    /// pass over the customer column, 4 bytes a license.
    pub fn keys_of_customer(&self, env: Environment, customer: Uuid) -> Vec<LicenseKey> {
        let side = self.side(env).read();
        let s = &side.shelf;
        let Some(c) = s.customers.find(customer) else {
            return Vec::new();
        };
        (0..s.rows())
            .filter(|r| s.customer[*r as usize] == c && s.is_live(*r))
            .filter_map(|r| LicenseKey::parse(s.keys.get(r)).ok())
            .collect()
    }

    /// Summaries of one customer's licenses (the customer portal's lists): one
    /// pass over the customer column, no store read.
    pub fn summaries_of_customer(&self, env: Environment, customer: Uuid) -> Vec<LicenseSummary> {
        let side = self.side(env).read();
        let s = &side.shelf;
        let Some(c) = s.customers.find(customer) else {
            return Vec::new();
        };
        (0..s.rows())
            .filter(|r| s.customer[*r as usize] == c && s.is_live(*r))
            .filter_map(|r| s.summary(r))
            .collect()
    }

    /// [`Catalog::query`] on the blocking pool, so a large sort never holds up
    /// the worker thread that also answers validations.
    pub async fn query_off_thread(
        self: &std::sync::Arc<Self>,
        env: Environment,
        q: LicenseQuery,
        products: std::sync::Arc<HashMap<Uuid, Product>>,
        customers: std::sync::Arc<HashMap<Uuid, Customer>>,
    ) -> Result<Page<LicenseSummary>, StoreError> {
        let me = self.clone();
        actix_web::web::block(move || me.query(env, &q, &products, &customers))
            .await
            .map_err(|e| StoreError::Unavailable(format!("catalog query: {e}")))
    }

    /// [`Catalog::stats`] on the blocking pool.
    pub async fn stats_off_thread(
        self: &std::sync::Arc<Self>,
        env: Environment,
        now: DateTime<Utc>,
    ) -> Result<Stats, StoreError> {
        let me = self.clone();
        actix_web::web::block(move || me.stats(env, now))
            .await
            .map_err(|e| StoreError::Unavailable(format!("catalog stats: {e}")))
    }

    /// One page of a search/filter/sort, with the total (of what is loaded so
    /// far, while loading).
    pub fn query(
        &self,
        env: Environment,
        q: &LicenseQuery,
        products: &HashMap<Uuid, Product>,
        customers: &HashMap<Uuid, Customer>,
    ) -> Page<LicenseSummary> {
        let side = self.side(env).upgradable_read();
        let side = if side.shelf.order.is_settled() {
            RwLockUpgradableReadGuard::downgrade(side)
        } else {
            let mut w = RwLockUpgradableReadGuard::upgrade(side);
            let s = &mut w.shelf;
            s.order.settle(&s.keys);
            RwLockWriteGuard::downgrade(w)
        };
        search::query(&side.shelf, q, products, customers)
    }
}
