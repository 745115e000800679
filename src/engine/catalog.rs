//! The per-node catalog of license summaries that admin search, filters, sorts and
//! page numbers run on (CQL has no substring index and no backward paging).
//!
//! Built from the store at start; kept current by the actors (every committed
//! change), license creation, deletes, and the change log for other nodes' writes.
//! About 150 bytes a license: a few hundred MB at a million.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use parking_lot::RwLock;
use serde::Serialize;
use uuid::Uuid;

use crate::domain::{Customer, Environment, License, LicenseKey, LicenseStatus, Product};
use crate::store::{LicenseQuery, Listed, Page, Store, StoreError};

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

type Shelf = RwLock<HashMap<LicenseKey, LicenseSummary>>;

/// Summaries of every license of both environments.
#[derive(Default)]
pub struct Catalog {
    production: Shelf,
    staging: Shelf,
    /// Keys per (environment, customer), for the customer portal. Written while
    /// the shelf's write lock is held, so the two agree.
    by_customer: RwLock<HashMap<(Environment, Uuid), std::collections::HashSet<LicenseKey>>>,
}

impl Catalog {
    fn shelf(&self, env: Environment) -> &Shelf {
        match env {
            Environment::Production => &self.production,
            Environment::Staging => &self.staging,
        }
    }

    /// Reads every license once, page by page.
    pub async fn build(store: &dyn Store) -> Result<Catalog, StoreError> {
        let catalog = Catalog::default();
        for env in Environment::ALL {
            for l in &crate::store::all_licenses(store, env).await? {
                catalog.upsert(l);
            }
        }
        Ok(catalog)
    }

    /// Records a license as committed.
    pub fn upsert(&self, l: &License) {
        let env = l.environment;
        let mut shelf = self.shelf(env).write();
        let before = shelf
            .insert(l.key.clone(), LicenseSummary::from(l))
            .and_then(|old| old.customer_id);
        if before != l.customer_id {
            let mut ix = self.by_customer.write();
            if let Some(c) = before {
                if let Some(set) = ix.get_mut(&(env, c)) {
                    set.remove(&l.key);
                }
            }
            if let Some(c) = l.customer_id {
                ix.entry((env, c)).or_default().insert(l.key.clone());
            }
        }
    }

    /// Forgets a deleted license (and its customer index entry).
    pub fn remove(&self, env: Environment, key: &LicenseKey) {
        let mut shelf = self.shelf(env).write();
        if let Some(c) = shelf.remove(key).and_then(|old| old.customer_id) {
            if let Some(set) = self.by_customer.write().get_mut(&(env, c)) {
                set.remove(key);
            }
        }
    }

    /// How many licenses the environment holds.
    pub fn len(&self, env: Environment) -> usize {
        self.shelf(env).read().len()
    }

    /// Whether the environment holds no license yet.
    pub fn is_empty(&self, env: Environment) -> bool {
        self.len(env) == 0
    }

    /// Counts for the dashboard and the products page, in one pass.
    pub fn stats(&self, env: Environment, now: DateTime<Utc>) -> Stats {
        let mut st = Stats::default();
        for l in self.shelf(env).read().values() {
            st.total += 1;
            *st.by_status.entry(l.status).or_default() += 1;
            *st.by_product.entry(l.product_id).or_default() += 1;
            if let Some(c) = l.customer_id {
                *st.by_customer.entry(c).or_default() += 1;
            }
            st.activations_in_use += u64::from(l.activations_in_use);
            if let Some(at) = l.expires_at.filter(|_| l.status.can_expire()) {
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
        st
    }

    /// Licenses that ever had a device, newest first, optionally only those matching `keep`.
    pub fn with_devices(
        &self,
        env: Environment,
        keep: impl Fn(&LicenseSummary) -> bool,
    ) -> Vec<LicenseSummary> {
        let mut v: Vec<LicenseSummary> = self
            .shelf(env)
            .read()
            .values()
            .filter(|l| l.ever_activated && keep(l))
            .cloned()
            .collect();
        v.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.key.cmp(&b.key)));
        v
    }

    /// Assigned licenses that can still expire and do so within `within`:
    /// (key, customer, expiry), for reminders.
    pub fn expiring_assigned(
        &self,
        env: Environment,
        now: DateTime<Utc>,
        within: chrono::Duration,
    ) -> Vec<(LicenseKey, Uuid, DateTime<Utc>)> {
        self.shelf(env)
            .read()
            .values()
            .filter(|l| l.status.can_expire())
            .filter_map(|l| {
                let c = l.customer_id?;
                let at = l.expires_at.filter(|t| *t > now && *t <= now + within)?;
                Some((l.key.clone(), c, at))
            })
            .collect()
    }

    /// Whether the license exists (as far as this node has heard).
    pub fn contains(&self, env: Environment, key: &LicenseKey) -> bool {
        self.shelf(env).read().contains_key(key)
    }

    /// Keys of one customer's licenses (the customer portal's entry point).
    pub fn keys_of_customer(&self, env: Environment, customer: Uuid) -> Vec<LicenseKey> {
        self.by_customer
            .read()
            .get(&(env, customer))
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default()
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

    /// One page of a search/filter/sort, with the total.
    pub fn query(
        &self,
        env: Environment,
        q: &LicenseQuery,
        products: &HashMap<Uuid, Product>,
        customers: &HashMap<Uuid, Customer>,
    ) -> Page<LicenseSummary> {
        let shelf = self.shelf(env).read();
        let rows: Vec<&LicenseSummary> = shelf.values().collect();
        let page = q.apply(rows, products, customers);
        Page {
            items: page.items.into_iter().cloned().collect(),
            total: page.total,
            page: page.page,
            per_page: page.per_page,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::license::fixtures::license;
    use crate::store::SortField;

    /// A page of production licenses, with no product or customer names to search.
    fn production_page(c: &Catalog, q: &LicenseQuery) -> Page<LicenseSummary> {
        c.query(Environment::Production, q, &HashMap::new(), &HashMap::new())
    }

    #[test]
    fn the_customer_index_follows_assignments_and_deletes() {
        let c = Catalog::default();
        let env = Environment::Production;
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let mut l = license(LicenseStatus::Assigned, 5, &[]);
        l.customer_id = Some(a);
        c.upsert(&l);
        assert_eq!(c.keys_of_customer(env, a), vec![l.key.clone()]);
        l.customer_id = Some(b);
        c.upsert(&l);
        assert!(c.keys_of_customer(env, a).is_empty());
        assert_eq!(c.keys_of_customer(env, b), vec![l.key.clone()]);
        assert!(c.keys_of_customer(Environment::Staging, b).is_empty());
        c.remove(env, &l.key);
        assert!(c.keys_of_customer(env, b).is_empty());
    }

    #[test]
    fn upserts_replace_and_removes_forget() {
        let c = Catalog::default();
        let mut l = license(LicenseStatus::Active, 5, &["a"]);
        c.upsert(&l);
        l.status = LicenseStatus::Suspended;
        c.upsert(&l);
        let q = LicenseQuery::default();
        let page = production_page(&c, &q);
        assert_eq!(page.total, 1);
        assert_eq!(page.items[0].status, LicenseStatus::Suspended);
        assert_eq!(page.items[0].activations_in_use, 1);
        c.remove(Environment::Production, &l.key);
        assert!(c.is_empty(Environment::Production));
    }

    #[test]
    fn a_first_page_over_many_rows_is_sorted_and_counted() {
        let c = Catalog::default();
        for i in 0..5000 {
            let mut l = license(LicenseStatus::Available, 5, &[]);
            l.key = LicenseKey::parse(&format!("K-{:05}", (i * 7919) % 5000)).unwrap();
            c.upsert(&l);
        }
        let q = LicenseQuery {
            sort: SortField::Key,
            descending: false,
            page: 3,
            per_page: 10,
            ..LicenseQuery::default()
        };
        let page = production_page(&c, &q);
        assert_eq!(page.total, 5000);
        let keys: Vec<&str> = page.items.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(keys[0], "K-00020");
        assert_eq!(keys[9], "K-00029");
    }
}
