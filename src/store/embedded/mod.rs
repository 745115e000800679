//! The default store: redb files under the data folder, one per environment plus
//! one for global records (customers, secrets). Every write is committed with
//! fsync before the call returns; writes that wait together share one ACID
//! transaction (group commit), a failed one leaving nothing in it.
//!
//! This file maps the `Store` trait onto the parts below: each call copies its
//! arguments and is timed; a license read (a registry miss) goes to the file's
//! reader threads (`reader.rs`: the misses waiting share a read transaction),
//! other reads run their read transaction on a blocking thread, and a write
//! goes to the file's single writer (`writer.rs`), which commits the writes
//! waiting together in one transaction, one fsync (group commit).

mod admins;
mod audit;
mod batched;
mod calls;
mod contracts;
mod counts;
mod customers;
mod files;
mod format;
mod history;
mod idempotency;
mod jobs;
mod licenses;
mod mail;
mod reader;
mod secrets;
mod sessions;
mod tables;
mod webhooks;
mod writer;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::listing::{customers_by_email, generators_by_age, products_by_name};
use super::{AuditQuery, LicenseQuery, LicenseWrite, Page, SeenAt, Store, StoreError};
use crate::domain::{
    Activation, AdminUser, AuditEntry, Customer, EnvSettings, Environment, Generator, License,
    LicenseKey, Product,
};
use history::SplitRecord;
use reader::Readers;
use tables::{put_one, ADMINS, CUSTOMERS, GENERATORS, PRODUCTS, SETTINGS};
use writer::Writers;

/// The on-disk format this build writes (2: the audit index beside the licenses).
pub const FORMAT_VERSION: u64 = 2;

/// redb-backed `Store`.
pub struct EmbeddedStore {
    files: parking_lot::RwLock<Option<calls::Files>>,
    writers: Writers,
    readers: Readers,
}

#[async_trait]
impl Store for EmbeddedStore {
    fn backend(&self) -> &'static str {
        "embedded"
    }

    async fn close(&self) {
        self.close_files();
    }

    async fn get_license(
        &self,
        env: Environment,
        key: &LicenseKey,
    ) -> Result<Option<License>, StoreError> {
        self.read_license(env, key.as_str().to_owned()).await
    }

    async fn insert_licenses(
        &self,
        env: Environment,
        licenses: &[License],
        audit: &[AuditEntry],
    ) -> Result<(), StoreError> {
        let rows: Vec<SplitRecord> = licenses
            .iter()
            .map(SplitRecord::of)
            .collect::<Result<_, _>>()?;
        let audits: Vec<_> = audit.iter().map(audit::row).collect::<Result<_, _>>()?;
        self.write("insert_licenses", self.env_writer(env), move |txn| {
            licenses::insert(txn, &rows, &audits)
        })
        .await
    }

    async fn update_license(
        &self,
        env: Environment,
        write: LicenseWrite<'_>,
    ) -> Result<(), StoreError> {
        let update = licenses::Update::of(&write)?;
        self.write("update_license", self.env_writer(env), move |txn| {
            licenses::update(txn, &update)
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
        let audit = audit::row(audit)?;
        self.write("delete_license", self.env_writer(env), move |txn| {
            licenses::delete(txn, &key, &audit)
        })
        .await
    }

    async fn touch_last_seen(&self, env: Environment, batch: &[SeenAt]) -> Result<(), StoreError> {
        let by_key = licenses::group_seen(batch);
        self.write("touch_last_seen", self.env_writer(env), move |txn| {
            licenses::touch(txn, &by_key)
        })
        .await
    }

    async fn list_licenses(
        &self,
        env: Environment,
        query: &LicenseQuery,
    ) -> Result<Page<License>, StoreError> {
        let query = query.clone();
        let global = self.global_db().ok_or_else(calls::closed)?;
        self.run("list_licenses", self.env_db(env), move |db| {
            licenses::list(db, &global, &query)
        })
        .await
    }

    async fn scan_licenses(
        &self,
        env: Environment,
        sink: &mut (dyn super::LicenseSink + Send),
    ) -> Result<(), StoreError> {
        self.scan_in_batches(env, sink).await
    }

    async fn licenses_due_for_expiry(
        &self,
        env: Environment,
        now: DateTime<Utc>,
        grace: chrono::Duration,
    ) -> Result<Vec<LicenseKey>, StoreError> {
        self.run("licenses_due_for_expiry", self.env_db(env), move |db| {
            licenses::due(db, now, grace)
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
        self.write("put_product", self.env_writer(env), move |txn| {
            put_one(txn, PRODUCTS, &p.id.to_string(), &p, Some(&a))
        })
        .await
    }

    async fn get_product(&self, env: Environment, id: Uuid) -> Result<Option<Product>, StoreError> {
        let db = self.env_db(env);
        self.record("get_product", db, PRODUCTS, id.to_string())
            .await
    }

    async fn list_products(&self, env: Environment) -> Result<Vec<Product>, StoreError> {
        let db = self.env_db(env);
        self.listed("list_products", db, PRODUCTS, products_by_name)
            .await
    }

    async fn put_generator(
        &self,
        env: Environment,
        generator: &Generator,
    ) -> Result<(), StoreError> {
        let g = generator.clone();
        self.write("put_generator", self.env_writer(env), move |txn| {
            put_one(txn, GENERATORS, &g.id.to_string(), &g, None)
        })
        .await
    }

    async fn get_generator(
        &self,
        env: Environment,
        id: Uuid,
    ) -> Result<Option<Generator>, StoreError> {
        let db = self.env_db(env);
        self.record("get_generator", db, GENERATORS, id.to_string())
            .await
    }

    async fn list_generators(&self, env: Environment) -> Result<Vec<Generator>, StoreError> {
        let db = self.env_db(env);
        self.listed("list_generators", db, GENERATORS, generators_by_age)
            .await
    }

    async fn insert_customer(&self, customer: &Customer) -> Result<(), StoreError> {
        let c = customer.clone();
        self.write("insert_customer", self.global_writer(), move |txn| {
            customers::insert(txn, &c)
        })
        .await
    }

    async fn update_customer(&self, customer: &Customer) -> Result<(), StoreError> {
        let c = customer.clone();
        self.write("update_customer", self.global_writer(), move |txn| {
            customers::update(txn, &c)
        })
        .await
    }

    async fn get_customer(&self, id: Uuid) -> Result<Option<Customer>, StoreError> {
        let db = self.global_db();
        self.record("get_customer", db, CUSTOMERS, id.to_string())
            .await
    }

    async fn get_customer_by_email(&self, email: &str) -> Result<Option<Customer>, StoreError> {
        let email = email.to_owned();
        self.run("get_customer_by_email", self.global_db(), move |db| {
            customers::by_email(db, &email)
        })
        .await
    }

    async fn list_customers(&self) -> Result<Vec<Customer>, StoreError> {
        let db = self.global_db();
        self.listed("list_customers", db, CUSTOMERS, customers_by_email)
            .await
    }

    async fn list_admins(&self) -> Result<Vec<AdminUser>, StoreError> {
        let db = self.global_db();
        self.listed("list_admins", db, ADMINS, |v| v).await
    }

    async fn put_admin(
        &self,
        admin: &AdminUser,
        expected: Option<u64>,
    ) -> Result<AdminUser, StoreError> {
        let a = admin.clone();
        self.write("put_admin", self.global_writer(), move |txn| {
            admins::put(txn, &a, expected)
        })
        .await
    }

    async fn delete_admin(&self, id: Uuid, expected_version: u64) -> Result<(), StoreError> {
        self.write("delete_admin", self.global_writer(), move |txn| {
            admins::delete(txn, id, expected_version)
        })
        .await
    }

    async fn append_audit(&self, env: Environment, entry: &AuditEntry) -> Result<(), StoreError> {
        let row = audit::row(entry)?;
        self.write("append_audit", self.env_writer(env), move |txn| {
            audit::write(txn, std::slice::from_ref(&row))
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
            audit::list(db, &q)
        })
        .await
    }

    async fn get_settings(&self, env: Environment) -> Result<Option<EnvSettings>, StoreError> {
        let db = self.env_db(env);
        self.record("get_settings", db, SETTINGS, "settings".into())
            .await
    }

    async fn put_settings(
        &self,
        env: Environment,
        settings: &EnvSettings,
    ) -> Result<(), StoreError> {
        let s = settings.clone();
        self.write("put_settings", self.env_writer(env), move |txn| {
            put_one(txn, SETTINGS, "settings", &s, None)
        })
        .await
    }

    async fn get_secret(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let name = name.to_owned();
        self.run("get_secret", self.global_db(), move |db| {
            secrets::get(db, &name)
        })
        .await
    }

    async fn list_secrets(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.run("list_secrets", self.global_db(), secrets::list)
            .await
    }

    async fn put_secret_if_absent(&self, name: &str, value: &[u8]) -> Result<Vec<u8>, StoreError> {
        let name = name.to_owned();
        let value = value.to_vec();
        self.write("put_secret", self.global_writer(), move |txn| {
            secrets::put_if_absent(txn, &name, &value)
        })
        .await
    }

    async fn put_secret(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        let name = name.to_owned();
        let value = value.to_vec();
        self.write("put_secret", self.global_writer(), move |txn| {
            secrets::put(txn, &name, &value)
        })
        .await
    }

    async fn swap_secret(&self, name: &str, old: &[u8], new: &[u8]) -> Result<bool, StoreError> {
        let (name, old, new) = (name.to_owned(), old.to_vec(), new.to_vec());
        self.write("put_secret", self.global_writer(), move |txn| {
            secrets::swap(txn, &name, &old, &new)
        })
        .await
    }
}
