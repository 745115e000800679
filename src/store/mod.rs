//! The storage boundary: a domain-level async trait with two backends in mind
//! (embedded on one machine, ScyllaDB for clusters). Each method maps onto the
//! tables of `schema.cql`; none is a generic key-value call.

mod audit_query;
mod change_log;
mod contracts;
pub mod cql;
pub mod embedded;
mod error;
mod files;
mod idempotency;
mod jobs;
mod listing;
mod mail;
mod query;
mod sessions;
mod webhooks;

pub use audit_query::{AuditCursor, AuditQuery};
pub use change_log::{Change, ChangeKind};
pub use contracts::ContractRows;
pub(crate) use error::observe;
pub use error::StoreError;
pub use files::{FileRows, UploadRow};
pub use idempotency::IdempotencyRows;
pub use jobs::JobRows;
pub use mail::{record_of, MailRows};
pub(crate) use query::contains_folded;
pub use query::{LicenseQuery, Listed, Page, SortField, MAX_PER_PAGE};
pub use sessions::{Portal, SessionRow, SessionRows};
pub use webhooks::WebhookRows;
pub mod counts;
pub use counts::{CountRows, DayCounts};
pub mod customer_rows;
pub use customer_rows::CustomerRows;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::{
    Activation, AdminUser, AuditEntry, Customer, EnvSettings, Environment, Generator, Identifier,
    License, LicenseKey, Product,
};

/// A committed change to one license: the new record, the version it replaces,
/// the activation rows it touched and the audit entry that goes with it.
#[derive(Debug, Clone)]
pub struct LicenseWrite<'a> {
    pub license: &'a License,
    pub expected_version: u64,
    pub touched: &'a [Activation],
    pub audit: &'a AuditEntry,
}

impl LicenseWrite<'_> {
    /// The record to store (active activations only) and the history rows this
    /// write adds: deactivated activations still in the license or among the
    /// touched rows, each once. Both backends write exactly these.
    pub fn split_history(&self) -> (License, Vec<Activation>) {
        let mut record = self.license.clone();
        let mut retired = record.retire_deactivated();
        for t in self.touched.iter().filter(|a| !a.is_active()) {
            if !retired.iter().any(|r| r.id == t.id) {
                retired.push(t.clone());
            }
        }
        (record, retired)
    }
}

/// One heartbeat's `last_seen`, batched by the write-behind flusher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenAt {
    pub key: LicenseKey,
    pub identifier: Identifier,
    pub at: DateTime<Utc>,
}

/// Everything Keywarden persists. Writes return only after the backend committed.
#[async_trait]
pub trait Store:
    SessionRows
    + JobRows
    + FileRows
    + MailRows
    + IdempotencyRows
    + ContractRows
    + WebhookRows
    + CountRows
    + CustomerRows
    + Send
    + Sync
    + 'static
{
    /// Name for metrics and logs.
    fn backend(&self) -> &'static str;

    /// Shutdown, after the last request: finish what is queued and let the
    /// files go (the embedded store's redb files then close cleanly and the
    /// next start does not check them page by page; CQL needs nothing).
    async fn close(&self) {}

    /// Whether other nodes write to this store too (so a node's cached copies
    /// can be behind it until the change log arrives).
    fn shared_by_nodes(&self) -> bool {
        false
    }

    // --- licenses (per environment; a license and its activations are one record) ---
    async fn get_license(
        &self,
        env: Environment,
        key: &LicenseKey,
    ) -> Result<Option<License>, StoreError>;
    /// Inserts new licenses all-or-nothing; a taken key is a `Conflict`.
    async fn insert_licenses(
        &self,
        env: Environment,
        licenses: &[License],
        audit: &[AuditEntry],
    ) -> Result<(), StoreError>;
    /// Replaces a license only if the stored version is `expected_version` (compare and set).
    async fn update_license(
        &self,
        env: Environment,
        write: LicenseWrite<'_>,
    ) -> Result<(), StoreError>;
    async fn delete_license(
        &self,
        env: Environment,
        key: &LicenseKey,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError>;
    /// Deactivated activations of a license, newest first: page `page` (from 1) of
    /// `per_page`. The license record itself holds only the active ones.
    async fn activation_history(
        &self,
        env: Environment,
        key: &LicenseKey,
        page: u32,
        per_page: u32,
    ) -> Result<Vec<Activation>, StoreError>;
    /// Moves `last_seen` of active activations; unknown or deactivated ones are skipped.
    async fn touch_last_seen(&self, env: Environment, batch: &[SeenAt]) -> Result<(), StoreError>;
    async fn list_licenses(
        &self,
        env: Environment,
        query: &LicenseQuery,
    ) -> Result<Page<License>, StoreError>;
    /// Every license of an environment, handed to `sink` a batch at a time: the
    /// catalog's background load keeps one batch in memory, not the whole table.
    /// The default pages through `list_licenses`; backends override it with a
    /// cheaper read (embedded: key ranges; CQL: one scan).
    async fn scan_licenses(
        &self,
        env: Environment,
        sink: &mut (dyn LicenseSink + Send),
    ) -> Result<(), StoreError> {
        let mut q = LicenseQuery {
            per_page: MAX_PER_PAGE,
            descending: false,
            ..LicenseQuery::default()
        };
        loop {
            let page = self.list_licenses(env, &q).await?;
            if q.page == 1 {
                sink.expect(page.total);
            }
            let done = (page.items.len() as u32) < q.per_page;
            let mut items = page.items.into_iter().peekable();
            while items.peek().is_some() {
                sink.batch(items.by_ref().take(SCAN_BATCH).collect());
            }
            if done {
                return Ok(());
            }
            q.page += 1;
        }
    }
    /// Keys whose expiry plus `grace` is before `now` and whose state can still expire.
    async fn licenses_due_for_expiry(
        &self,
        env: Environment,
        now: DateTime<Utc>,
        grace: chrono::Duration,
    ) -> Result<Vec<LicenseKey>, StoreError>;

    // --- products and generators (per environment) ---
    async fn put_product(
        &self,
        env: Environment,
        product: &Product,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;
    async fn get_product(&self, env: Environment, id: Uuid) -> Result<Option<Product>, StoreError>;
    async fn list_products(&self, env: Environment) -> Result<Vec<Product>, StoreError>;
    async fn put_generator(
        &self,
        env: Environment,
        generator: &Generator,
    ) -> Result<(), StoreError>;
    async fn get_generator(
        &self,
        env: Environment,
        id: Uuid,
    ) -> Result<Option<Generator>, StoreError>;
    async fn list_generators(&self, env: Environment) -> Result<Vec<Generator>, StoreError>;

    // --- customers (global) ---
    /// Inserts a customer; a taken email is a `Conflict`.
    async fn insert_customer(&self, customer: &Customer) -> Result<(), StoreError>;
    async fn get_customer(&self, id: Uuid) -> Result<Option<Customer>, StoreError>;
    /// Replaces an existing customer's record; its email must not change (the
    /// email index is not touched). An unknown id is `NotFound`.
    async fn update_customer(&self, customer: &Customer) -> Result<(), StoreError>;
    async fn get_customer_by_email(&self, email: &str) -> Result<Option<Customer>, StoreError>;
    async fn list_customers(&self) -> Result<Vec<Customer>, StoreError>;

    // --- admin accounts (global; one row each, written conditionally on `version`) ---
    /// Every admin row (order unspecified).
    async fn list_admins(&self) -> Result<Vec<AdminUser>, StoreError>;
    /// Writes an admin row: `expected = None` only if no row with its id exists,
    /// `Some(v)` only if the stored row's version is `v`; otherwise `Conflict`
    /// and nothing changes. Returns the admin as stored, with its new version.
    async fn put_admin(
        &self,
        admin: &AdminUser,
        expected: Option<u64>,
    ) -> Result<AdminUser, StoreError>;
    /// Deletes an admin row only if its stored version is `expected_version`;
    /// otherwise (or when it is gone) `Conflict`.
    async fn delete_admin(&self, id: Uuid, expected_version: u64) -> Result<(), StoreError>;

    // --- audit, settings, secrets ---
    async fn append_audit(&self, env: Environment, entry: &AuditEntry) -> Result<(), StoreError>;
    /// Newest first.
    async fn list_audit(
        &self,
        env: Environment,
        query: &AuditQuery,
    ) -> Result<Vec<AuditEntry>, StoreError>;
    async fn get_settings(&self, env: Environment) -> Result<Option<EnvSettings>, StoreError>;
    async fn put_settings(
        &self,
        env: Environment,
        settings: &EnvSettings,
    ) -> Result<(), StoreError>;
    async fn get_secret(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Every secret, for backups.
    async fn list_secrets(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// Stores `value` unless a secret of that name exists; returns the one kept.
    async fn put_secret_if_absent(&self, name: &str, value: &[u8]) -> Result<Vec<u8>, StoreError>;
    async fn put_secret(&self, name: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Replaces a secret only if it still holds `old` (a rotation racing
    /// another node's loses); whether it was replaced.
    async fn swap_secret(&self, name: &str, old: &[u8], new: &[u8]) -> Result<bool, StoreError>;

    /// Changes (licenses, settings, admin accounts) other nodes made at or after
    /// `since`, for the change-log reader.
    /// A single-node backend has none.
    async fn changes_since(
        &self,
        _env: Environment,
        _since: DateTime<Utc>,
    ) -> Result<Vec<Change>, StoreError> {
        Ok(Vec::new())
    }
}

/// Past activations the pages and the admin API show beside the active ones.
pub const HISTORY_SHOWN: u32 = 100;

/// `license` for display: its active activations plus the newest `limit` history
/// rows, in activation order. Never written back (the record keeps active ones).
pub async fn with_history(
    store: &dyn Store,
    env: Environment,
    mut license: License,
    limit: u32,
) -> Result<License, StoreError> {
    if !license.ever_activated {
        return Ok(license);
    }
    let history = store
        .activation_history(env, &license.key, 1, limit)
        .await?;
    license.activations.extend(history);
    license.activations.sort_by_key(|a| (a.activated_at, a.id));
    Ok(license)
}

/// Licenses per batch of [`Store::scan_licenses`].
pub const SCAN_BATCH: usize = 1_000;

/// Receives [`Store::scan_licenses`]: how many to expect, then the batches.
pub trait LicenseSink {
    /// The environment's license count, when the backend knows it (progress).
    fn expect(&mut self, total: u64);
    /// The next licenses read.
    fn batch(&mut self, licenses: Vec<License>);
}

/// Every license of an environment, oldest first, read page by page through the trait
/// (catalog build at start, backups).
pub async fn all_licenses(store: &dyn Store, env: Environment) -> Result<Vec<License>, StoreError> {
    let mut out = Vec::new();
    let mut q = LicenseQuery {
        page: 1,
        per_page: MAX_PER_PAGE,
        descending: false,
        ..LicenseQuery::default()
    };
    loop {
        let page = store.list_licenses(env, &q).await?;
        let done = (page.items.len() as u32) < q.per_page;
        out.extend(page.items);
        if done {
            return Ok(out);
        }
        q.page += 1;
    }
}
