//! The default store: redb files under the data folder, one per environment plus
//! one for global records (customers, secrets). Every write is one ACID transaction
//! committed with fsync before the call returns.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use super::embedded_history as history;
use super::{AuditQuery, LicenseQuery, LicenseWrite, Page, SeenAt, Store, StoreError};
use crate::domain::{
    Activation, AuditEntry, Customer, EnvSettings, Environment, Generator, License, LicenseKey,
    Product,
};
use crate::metrics::metrics;

/// The on-disk format this build reads and writes.
pub const FORMAT_VERSION: u64 = 1;

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const LICENSES: TableDefinition<&str, &[u8]> = TableDefinition::new("licenses");
const PRODUCTS: TableDefinition<&str, &[u8]> = TableDefinition::new("products");
const GENERATORS: TableDefinition<&str, &[u8]> = TableDefinition::new("generators");
/// Keyed by `{nanos:020}-{uuid}` so iteration is in time order.
const AUDIT: TableDefinition<&str, &[u8]> = TableDefinition::new("audit");
/// Audit keys of each license: `"{license key}\u{1}{audit key}"` → nothing, so the
/// license's history is a range read, not a scan of the whole log.
const AUDIT_BY_LICENSE: TableDefinition<&str, ()> = TableDefinition::new("audit_by_license");
const SETTINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("settings");
const CUSTOMERS: TableDefinition<&str, &[u8]> = TableDefinition::new("customers");
const CUSTOMERS_BY_EMAIL: TableDefinition<&str, &str> = TableDefinition::new("customers_by_email");
const SECRETS: TableDefinition<&str, &[u8]> = TableDefinition::new("secrets");

/// redb-backed `Store`.
pub struct EmbeddedStore {
    global: Arc<Database>,
    production: Arc<Database>,
    staging: Arc<Database>,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, StoreError> {
    rmp_serde::to_vec_named(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    rmp_serde::from_slice(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn audit_key(e: &AuditEntry) -> String {
    let nanos = e.at.timestamp_nanos_opt().unwrap_or_default().max(0);
    format!("{nanos:020}-{}", e.id)
}

/// An audit entry ready to write: its key, bytes and license.
struct AuditRow {
    key: String,
    bytes: Vec<u8>,
    license: Option<String>,
}

fn audit_row(e: &AuditEntry) -> Result<AuditRow, StoreError> {
    Ok(AuditRow {
        key: audit_key(e),
        bytes: encode(e)?,
        license: e.license_key.clone(),
    })
}

fn index_key(license: &str, audit_key: &str) -> String {
    format!("{license}\u{1}{audit_key}")
}

/// Writes audit entries and their per-license index in the caller's transaction.
fn write_audit(txn: &redb::WriteTransaction, rows: &[AuditRow]) -> Result<(), StoreError> {
    let mut at = txn.open_table(AUDIT).map_err(unavailable)?;
    let mut ix = txn.open_table(AUDIT_BY_LICENSE).map_err(unavailable)?;
    for r in rows {
        at.insert(r.key.as_str(), r.bytes.as_slice())
            .map_err(unavailable)?;
        if let Some(l) = &r.license {
            ix.insert(index_key(l, &r.key).as_str(), ())
                .map_err(unavailable)?;
        }
    }
    Ok(())
}

/// Builds the per-license audit index of a file written before it existed (once).
fn backfill_audit_index(txn: &redb::WriteTransaction) -> Result<(), StoreError> {
    let mut meta = txn.open_table(META).map_err(unavailable)?;
    if meta.get("audit_by_license").map_err(unavailable)?.is_some() {
        return Ok(());
    }
    let at = txn.open_table(AUDIT).map_err(unavailable)?;
    let mut ix = txn.open_table(AUDIT_BY_LICENSE).map_err(unavailable)?;
    for row in at.iter().map_err(unavailable)? {
        let (k, v) = row.map_err(unavailable)?;
        let e: AuditEntry = decode(v.value())?;
        if let Some(l) = &e.license_key {
            ix.insert(index_key(l, k.value()).as_str(), ())
                .map_err(unavailable)?;
        }
    }
    meta.insert("audit_by_license", 1).map_err(unavailable)?;
    Ok(())
}

/// Opens (or creates) one database file and checks its format version.
fn open(path: &Path, global: bool, cache_bytes: usize) -> Result<Database, StoreError> {
    let db = redb::Builder::new()
        .set_cache_size(cache_bytes)
        .create(path)
        .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
    let txn = db.begin_write().map_err(unavailable)?;
    {
        let mut meta = txn.open_table(META).map_err(unavailable)?;
        let found = meta
            .get("format_version")
            .map_err(unavailable)?
            .map(|v| v.value());
        match found {
            Some(v) if v != FORMAT_VERSION => {
                return Err(StoreError::Corrupt(format!(
                    "{} has format version {v}; this build knows only version {FORMAT_VERSION}",
                    path.display()
                )))
            }
            Some(_) => {}
            None => {
                meta.insert("format_version", FORMAT_VERSION)
                    .map_err(unavailable)?;
            }
        }
        if global {
            txn.open_table(CUSTOMERS).map_err(unavailable)?;
            txn.open_table(CUSTOMERS_BY_EMAIL).map_err(unavailable)?;
            txn.open_table(SECRETS).map_err(unavailable)?;
        } else {
            for t in [LICENSES, PRODUCTS, GENERATORS, AUDIT, SETTINGS] {
                txn.open_table(t).map_err(unavailable)?;
            }
            txn.open_table(AUDIT_BY_LICENSE).map_err(unavailable)?;
        }
    }
    if !global {
        backfill_audit_index(&txn)?;
        let moved = super::embedded_history::migrate(&txn)?;
        if moved > 0 {
            tracing::info!(
                file = %path.display(),
                licenses = moved,
                "moved activation history out of the license records"
            );
        }
    }
    txn.commit().map_err(unavailable)?;
    Ok(db)
}

impl EmbeddedStore {
    /// Opens the data folder, creating it on first use; refuses unknown format versions.
    ///
    /// `cache_mb` bounds each environment file's page cache (redb's default is 1 GiB
    /// per file, which would dwarf the resident licenses themselves).
    pub fn open(dir: &Path, cache_mb: usize) -> Result<Self, StoreError> {
        let env_cache = cache_mb.max(1) * 1024 * 1024;
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
        })?;
        Ok(EmbeddedStore {
            global: Arc::new(open(&dir.join("global.redb"), true, env_cache / 4)?),
            production: Arc::new(open(&dir.join("production.redb"), false, env_cache)?),
            staging: Arc::new(open(&dir.join("staging.redb"), false, env_cache)?),
        })
    }

    fn env_db(&self, env: Environment) -> Arc<Database> {
        match env {
            Environment::Production => self.production.clone(),
            Environment::Staging => self.staging.clone(),
        }
    }

    /// Runs blocking redb work off the async threads, timed and counted.
    async fn run<T, F>(&self, op: &'static str, db: Arc<Database>, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    {
        let started = Instant::now();
        let result = tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| StoreError::Unavailable(format!("store task failed: {e}")))
            .and_then(|r| r);
        let m = metrics();
        m.store_duration
            .with_label_values(&["embedded", op])
            .observe(started.elapsed().as_secs_f64());
        match &result {
            Err(StoreError::Unavailable(_) | StoreError::Corrupt(_)) => {
                m.store_errors.with_label_values(&["embedded", op]).inc();
                m.store_up.set(0);
            }
            _ => m.store_up.set(1),
        }
        result
    }
}

fn get_one<T: DeserializeOwned>(
    db: &Database,
    table: TableDefinition<&str, &[u8]>,
    key: &str,
) -> Result<Option<T>, StoreError> {
    let txn = db.begin_read().map_err(unavailable)?;
    let t = txn.open_table(table).map_err(unavailable)?;
    let v = t.get(key).map_err(unavailable)?;
    v.map(|g| decode(g.value())).transpose()
}

fn all<T: DeserializeOwned>(
    db: &Database,
    table: TableDefinition<&str, &[u8]>,
) -> Result<Vec<T>, StoreError> {
    let txn = db.begin_read().map_err(unavailable)?;
    let t = txn.open_table(table).map_err(unavailable)?;
    let mut out = Vec::with_capacity(t.len().map_err(unavailable)? as usize);
    for row in t.iter().map_err(unavailable)? {
        let (_, v) = row.map_err(unavailable)?;
        out.push(decode(v.value())?);
    }
    Ok(out)
}

fn put_one<T: Serialize>(
    db: &Database,
    table: TableDefinition<&str, &[u8]>,
    key: &str,
    value: &T,
    audit: Option<&AuditEntry>,
) -> Result<(), StoreError> {
    let bytes = encode(value)?;
    let txn = db.begin_write().map_err(unavailable)?;
    {
        let mut t = txn.open_table(table).map_err(unavailable)?;
        t.insert(key, bytes.as_slice()).map_err(unavailable)?;
        if let Some(a) = audit {
            write_audit(&txn, &[audit_row(a)?])?;
        }
    }
    txn.commit().map_err(unavailable)
}

#[async_trait]
impl Store for EmbeddedStore {
    fn backend(&self) -> &'static str {
        "embedded"
    }

    async fn get_license(
        &self,
        env: Environment,
        key: &LicenseKey,
    ) -> Result<Option<License>, StoreError> {
        let key = key.as_str().to_owned();
        self.run("get_license", self.env_db(env), move |db| {
            get_one(db, LICENSES, &key)
        })
        .await
    }

    async fn insert_licenses(
        &self,
        env: Environment,
        licenses: &[License],
        audit: &[AuditEntry],
    ) -> Result<(), StoreError> {
        let rows: Vec<(String, Vec<u8>, Vec<Activation>)> = licenses
            .iter()
            .map(|l| {
                let (record, history) = history::split(l);
                Ok((l.key.as_str().to_owned(), encode(&record)?, history))
            })
            .collect::<Result<_, StoreError>>()?;
        let audits: Vec<AuditRow> = audit.iter().map(audit_row).collect::<Result<_, _>>()?;
        self.run("insert_licenses", self.env_db(env), move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut t = txn.open_table(LICENSES).map_err(unavailable)?;
                for (k, v, _) in &rows {
                    if t.get(k.as_str()).map_err(unavailable)?.is_some() {
                        // Dropping the transaction aborts it: nothing is written.
                        return Err(StoreError::Conflict(format!(
                            "license key {} already exists",
                            crate::telemetry::mask_key(k)
                        )));
                    }
                    t.insert(k.as_str(), v.as_slice()).map_err(unavailable)?;
                }
                for (k, _, h) in &rows {
                    history::write(&txn, k, h)?;
                }
                write_audit(&txn, &audits)?;
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn update_license(
        &self,
        env: Environment,
        write: LicenseWrite<'_>,
    ) -> Result<(), StoreError> {
        let key = write.license.key.as_str().to_owned();
        // The record keeps active activations; deactivated ones (in the license or
        // among the touched rows) become history rows in the same transaction.
        let (record, retired) = write.split_history();
        let bytes = encode(&record)?;
        let expected = write.expected_version;
        let audit = audit_row(write.audit)?;
        self.run("update_license", self.env_db(env), move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut t = txn.open_table(LICENSES).map_err(unavailable)?;
                let current: Option<License> = t
                    .get(key.as_str())
                    .map_err(unavailable)?
                    .map(|g| decode(g.value()))
                    .transpose()?;
                match current {
                    None => return Err(StoreError::NotFound("license not found".into())),
                    Some(c) if c.version != expected => {
                        return Err(StoreError::Conflict(format!(
                            "license changed meanwhile (version {} not {expected})",
                            c.version
                        )))
                    }
                    Some(_) => {}
                }
                t.insert(key.as_str(), bytes.as_slice())
                    .map_err(unavailable)?;
                history::write(&txn, &key, &retired)?;
                write_audit(&txn, std::slice::from_ref(&audit))?;
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn activation_history(
        &self,
        env: Environment,
        key: &LicenseKey,
        page: u32,
        per_page: u32,
    ) -> Result<Vec<Activation>, StoreError> {
        let key = key.as_str().to_owned();
        self.run("activation_history", self.env_db(env), move |db| {
            history::page(db, &key, page, per_page)
        })
        .await
    }

    async fn delete_license(
        &self,
        env: Environment,
        key: &LicenseKey,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let key = key.as_str().to_owned();
        let audit = audit_row(audit)?;
        self.run("delete_license", self.env_db(env), move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            let existed = {
                let mut t = txn.open_table(LICENSES).map_err(unavailable)?;
                let existed = t.remove(key.as_str()).map_err(unavailable)?.is_some();
                if existed {
                    history::remove(&txn, &key)?;
                    write_audit(&txn, std::slice::from_ref(&audit))?;
                }
                existed
            };
            txn.commit().map_err(unavailable)?;
            Ok(existed)
        })
        .await
    }

    async fn touch_last_seen(&self, env: Environment, batch: &[SeenAt]) -> Result<(), StoreError> {
        let mut by_key: HashMap<String, Vec<(String, DateTime<Utc>)>> = HashMap::new();
        for s in batch {
            by_key
                .entry(s.key.as_str().to_owned())
                .or_default()
                .push((s.identifier.as_str().to_owned(), s.at));
        }
        self.run("touch_last_seen", self.env_db(env), move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut t = txn.open_table(LICENSES).map_err(unavailable)?;
                for (key, seen) in by_key {
                    let license: Option<License> = t
                        .get(key.as_str())
                        .map_err(unavailable)?
                        .map(|g| decode(g.value()))
                        .transpose()?;
                    let Some(mut license) = license else { continue };
                    let mut changed = false;
                    for (ident, at) in seen {
                        for a in license
                            .activations
                            .iter_mut()
                            .filter(|a| a.is_active() && a.identifier.as_str() == ident)
                        {
                            if a.last_seen.is_none_or(|prev| prev < at) {
                                a.last_seen = Some(at);
                                changed = true;
                            }
                        }
                    }
                    // last_seen does not bump the version: it is not a state change.
                    if changed {
                        t.insert(key.as_str(), encode(&license)?.as_slice())
                            .map_err(unavailable)?;
                    }
                }
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn list_licenses(
        &self,
        env: Environment,
        query: &LicenseQuery,
    ) -> Result<Page<License>, StoreError> {
        let query = query.clone();
        let global = self.global.clone();
        self.run("list_licenses", self.env_db(env), move |db| {
            let licenses: Vec<License> = all(db, LICENSES)?;
            let products: HashMap<Uuid, Product> = all::<Product>(db, PRODUCTS)?
                .into_iter()
                .map(|p| (p.id, p))
                .collect();
            let customers: HashMap<Uuid, Customer> = all::<Customer>(&global, CUSTOMERS)?
                .into_iter()
                .map(|c| (c.id, c))
                .collect();
            Ok(query.apply(licenses, &products, &customers))
        })
        .await
    }

    async fn licenses_due_for_expiry(
        &self,
        env: Environment,
        now: DateTime<Utc>,
        grace: chrono::Duration,
    ) -> Result<Vec<LicenseKey>, StoreError> {
        self.run("licenses_due_for_expiry", self.env_db(env), move |db| {
            Ok(all::<License>(db, LICENSES)?
                .into_iter()
                .filter(|l| l.status.can_expire() && l.is_past_grace(now, grace))
                .map(|l| l.key)
                .collect())
        })
        .await
    }

    async fn put_product(
        &self,
        env: Environment,
        product: &Product,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let p = product.clone();
        let a = audit.clone();
        self.run("put_product", self.env_db(env), move |db| {
            put_one(db, PRODUCTS, &p.id.to_string(), &p, Some(&a))
        })
        .await
    }

    async fn get_product(&self, env: Environment, id: Uuid) -> Result<Option<Product>, StoreError> {
        self.run("get_product", self.env_db(env), move |db| {
            get_one(db, PRODUCTS, &id.to_string())
        })
        .await
    }

    async fn list_products(&self, env: Environment) -> Result<Vec<Product>, StoreError> {
        self.run("list_products", self.env_db(env), |db| {
            let mut v: Vec<Product> = all(db, PRODUCTS)?;
            v.sort_by_key(|p| p.name.to_lowercase());
            Ok(v)
        })
        .await
    }

    async fn put_generator(
        &self,
        env: Environment,
        generator: &Generator,
    ) -> Result<(), StoreError> {
        let g = generator.clone();
        self.run("put_generator", self.env_db(env), move |db| {
            put_one(db, GENERATORS, &g.id.to_string(), &g, None)
        })
        .await
    }

    async fn get_generator(
        &self,
        env: Environment,
        id: Uuid,
    ) -> Result<Option<Generator>, StoreError> {
        self.run("get_generator", self.env_db(env), move |db| {
            get_one(db, GENERATORS, &id.to_string())
        })
        .await
    }

    async fn list_generators(&self, env: Environment) -> Result<Vec<Generator>, StoreError> {
        self.run("list_generators", self.env_db(env), |db| {
            let mut v: Vec<Generator> = all(db, GENERATORS)?;
            v.sort_by_key(|g| g.created_at);
            Ok(v)
        })
        .await
    }

    async fn insert_customer(&self, customer: &Customer) -> Result<(), StoreError> {
        let c = customer.clone();
        self.run("insert_customer", self.global.clone(), move |db| {
            let bytes = encode(&c)?;
            let id = c.id.to_string();
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut by_email = txn.open_table(CUSTOMERS_BY_EMAIL).map_err(unavailable)?;
                if by_email
                    .get(c.email.as_str())
                    .map_err(unavailable)?
                    .is_some()
                {
                    return Err(StoreError::Conflict(format!(
                        "a customer with email {} already exists",
                        c.email
                    )));
                }
                by_email
                    .insert(c.email.as_str(), id.as_str())
                    .map_err(unavailable)?;
                let mut t = txn.open_table(CUSTOMERS).map_err(unavailable)?;
                t.insert(id.as_str(), bytes.as_slice())
                    .map_err(unavailable)?;
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn update_customer(&self, customer: &Customer) -> Result<(), StoreError> {
        let c = customer.clone();
        self.run("update_customer", self.global.clone(), move |db| {
            let bytes = encode(&c)?;
            let id = c.id.to_string();
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut t = txn.open_table(CUSTOMERS).map_err(unavailable)?;
                if t.get(id.as_str()).map_err(unavailable)?.is_none() {
                    return Err(StoreError::NotFound(format!("no customer {id}")));
                }
                t.insert(id.as_str(), bytes.as_slice())
                    .map_err(unavailable)?;
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn get_customer(&self, id: Uuid) -> Result<Option<Customer>, StoreError> {
        self.run("get_customer", self.global.clone(), move |db| {
            get_one(db, CUSTOMERS, &id.to_string())
        })
        .await
    }

    async fn get_customer_by_email(&self, email: &str) -> Result<Option<Customer>, StoreError> {
        let email = email.to_owned();
        self.run("get_customer_by_email", self.global.clone(), move |db| {
            let id = {
                let txn = db.begin_read().map_err(unavailable)?;
                let t = txn.open_table(CUSTOMERS_BY_EMAIL).map_err(unavailable)?;
                let v = t.get(email.as_str()).map_err(unavailable)?;
                v.map(|g| g.value().to_owned())
            };
            match id {
                Some(id) => get_one(db, CUSTOMERS, &id),
                None => Ok(None),
            }
        })
        .await
    }

    async fn list_customers(&self) -> Result<Vec<Customer>, StoreError> {
        self.run("list_customers", self.global.clone(), |db| {
            let mut v: Vec<Customer> = all(db, CUSTOMERS)?;
            v.sort_by(|a, b| a.email.cmp(&b.email));
            Ok(v)
        })
        .await
    }

    async fn append_audit(&self, env: Environment, entry: &AuditEntry) -> Result<(), StoreError> {
        let row = audit_row(entry)?;
        self.run("append_audit", self.env_db(env), move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            write_audit(&txn, std::slice::from_ref(&row))?;
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn list_audit(
        &self,
        env: Environment,
        query: &AuditQuery,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let q = query.clone();
        self.run("list_audit", self.env_db(env), move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let t = txn.open_table(AUDIT).map_err(unavailable)?;
            let limit = if q.limit == 0 { 100 } else { q.limit };
            let mut out = Vec::new();
            if let Some(license) = &q.license_key {
                // One license's history: a range of the index, newest first.
                let ix = txn.open_table(AUDIT_BY_LICENSE).map_err(unavailable)?;
                let (lo, hi) = (format!("{license}\u{1}"), format!("{license}\u{2}"));
                for row in ix
                    .range(lo.as_str()..hi.as_str())
                    .map_err(unavailable)?
                    .rev()
                {
                    let (k, _) = row.map_err(unavailable)?;
                    let audit_key = &k.value()[lo.len()..];
                    let Some(v) = t.get(audit_key).map_err(unavailable)? else {
                        continue;
                    };
                    let e: AuditEntry = decode(v.value())?;
                    if q.action.as_ref().is_some_and(|a| &e.action != a) {
                        continue;
                    }
                    out.push(e);
                    if out.len() >= limit {
                        break;
                    }
                }
                return Ok(out);
            }
            for row in t.iter().map_err(unavailable)?.rev() {
                let (_, v) = row.map_err(unavailable)?;
                let e: AuditEntry = decode(v.value())?;
                if q.license_key
                    .as_ref()
                    .is_some_and(|k| e.license_key.as_ref() != Some(k))
                {
                    continue;
                }
                if q.action.as_ref().is_some_and(|a| &e.action != a) {
                    continue;
                }
                out.push(e);
                if out.len() >= limit {
                    break;
                }
            }
            Ok(out)
        })
        .await
    }

    async fn get_settings(&self, env: Environment) -> Result<Option<EnvSettings>, StoreError> {
        self.run("get_settings", self.env_db(env), |db| {
            get_one(db, SETTINGS, "settings")
        })
        .await
    }

    async fn put_settings(
        &self,
        env: Environment,
        settings: &EnvSettings,
    ) -> Result<(), StoreError> {
        let s = settings.clone();
        self.run("put_settings", self.env_db(env), move |db| {
            put_one(db, SETTINGS, "settings", &s, None)
        })
        .await
    }

    async fn get_secret(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let name = name.to_owned();
        self.run("get_secret", self.global.clone(), move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let t = txn.open_table(SECRETS).map_err(unavailable)?;
            let v = t.get(name.as_str()).map_err(unavailable)?;
            Ok(v.map(|g| g.value().to_vec()))
        })
        .await
    }

    async fn list_secrets(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.run("list_secrets", self.global.clone(), |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let t = txn.open_table(SECRETS).map_err(unavailable)?;
            let mut out = Vec::new();
            for row in t.iter().map_err(unavailable)? {
                let (k, v) = row.map_err(unavailable)?;
                out.push((k.value().to_owned(), v.value().to_vec()));
            }
            Ok(out)
        })
        .await
    }

    async fn put_secret_if_absent(&self, name: &str, value: &[u8]) -> Result<Vec<u8>, StoreError> {
        let name = name.to_owned();
        let value = value.to_vec();
        self.run("put_secret", self.global.clone(), move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            let kept = {
                let mut t = txn.open_table(SECRETS).map_err(unavailable)?;
                let existing = t
                    .get(name.as_str())
                    .map_err(unavailable)?
                    .map(|g| g.value().to_vec());
                match existing {
                    Some(v) => v,
                    None => {
                        t.insert(name.as_str(), value.as_slice())
                            .map_err(unavailable)?;
                        value
                    }
                }
            };
            txn.commit().map_err(unavailable)?;
            Ok(kept)
        })
        .await
    }

    async fn put_secret(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        let name = name.to_owned();
        let value = value.to_vec();
        self.run("put_secret", self.global.clone(), move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut t = txn.open_table(SECRETS).map_err(unavailable)?;
                t.insert(name.as_str(), value.as_slice())
                    .map_err(unavailable)?;
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }
}
