//! How every `Store` call of the embedded backend runs: which file, on a
//! blocking thread, timed and counted (the trait mapping in `mod.rs` uses these).

use std::sync::Arc;
use std::time::Instant;

use redb::Database;
use serde::de::DeserializeOwned;

use super::tables::{all, get_one, Records};
use super::EmbeddedStore;
use crate::domain::Environment;
use crate::store::StoreError;

impl EmbeddedStore {
    pub(super) fn env_db(&self, env: Environment) -> Arc<Database> {
        match env {
            Environment::Production => self.production.clone(),
            Environment::Staging => self.staging.clone(),
        }
    }

    /// Runs blocking redb work off the async threads, timed and counted.
    pub(super) async fn run<T, F>(
        &self,
        op: &'static str,
        db: Arc<Database>,
        f: F,
    ) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    {
        let started = Instant::now();
        let result = tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| StoreError::Unavailable(format!("store task failed: {e}")))
            .and_then(|r| r);
        crate::store::observe("embedded", op, started, &result);
        result
    }

    /// The record of `table` under `key`, timed as `op`.
    pub(super) async fn record<T>(
        &self,
        op: &'static str,
        db: Arc<Database>,
        table: Records,
        key: String,
    ) -> Result<Option<T>, StoreError>
    where
        T: DeserializeOwned + Send + 'static,
    {
        self.run(op, db, move |db| get_one(db, table, &key)).await
    }

    /// Every record of `table` in the order the listing shows, timed as `op`.
    pub(super) async fn listed<T>(
        &self,
        op: &'static str,
        db: Arc<Database>,
        table: Records,
        order: fn(Vec<T>) -> Vec<T>,
    ) -> Result<Vec<T>, StoreError>
    where
        T: DeserializeOwned + Send + 'static,
    {
        self.run(op, db, move |db| Ok(order(all(db, table)?))).await
    }
}
