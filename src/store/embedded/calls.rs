//! How every `Store` call of the embedded backend runs: which file; reads on a
//! blocking thread, writes through the file's group-commit writer; each timed
//! and counted (the trait mapping in `mod.rs` uses these).

use std::sync::Arc;
use std::time::Instant;

use redb::{Database, WriteTransaction};
use serde::de::DeserializeOwned;

use super::tables::{all, get_one, Records};
use super::writer::Writer;
use super::EmbeddedStore;
use crate::domain::Environment;
use crate::store::StoreError;

/// The store's redb files, held here until [`EmbeddedStore::close_files`] takes
/// them (redb writes a file's allocator state only when its `Database` is
/// dropped; a file never closed is checked page by page at its next open).
pub(super) struct Files {
    pub(super) global: Arc<Database>,
    pub(super) production: Arc<Database>,
    pub(super) staging: Arc<Database>,
}

/// What a call on a closed store answers.
pub(super) fn closed() -> StoreError {
    StoreError::Unavailable("the store is closed (shutting down)".into())
}

impl EmbeddedStore {
    /// An environment's file; `None` once the store is closed.
    pub(super) fn env_db(&self, env: Environment) -> Option<Arc<Database>> {
        let files = self.files.read();
        let files = files.as_ref()?;
        Some(match env {
            Environment::Production => files.production.clone(),
            Environment::Staging => files.staging.clone(),
        })
    }

    /// The global file; `None` once the store is closed.
    pub(super) fn global_db(&self) -> Option<Arc<Database>> {
        Some(self.files.read().as_ref()?.global.clone())
    }

    /// Shutdown: the writers commit what is queued, the readers answer theirs,
    /// their threads end, and the files are let go, so each closes cleanly
    /// when its last in-flight read ends (at once, normally). Calls after
    /// this answer "unavailable".
    pub(super) fn close_files(&self) {
        for w in [
            &self.writers.global,
            &self.writers.production,
            &self.writers.staging,
        ] {
            w.close();
        }
        self.readers.production.close();
        self.readers.staging.close();
        self.files.write().take();
    }

    /// The group-commit writer of an environment's file.
    pub(super) fn env_writer(&self, env: Environment) -> &Writer {
        match env {
            Environment::Production => &self.writers.production,
            Environment::Staging => &self.writers.staging,
        }
    }

    /// The group-commit writer of the global file.
    pub(super) fn global_writer(&self) -> &Writer {
        &self.writers.global
    }

    /// Runs `work` in `writer`'s next group commit, timed and counted as `op`;
    /// answers once the commit holding it is durable. `work` may run twice
    /// (see `writer.rs`), so it borrows what it captured.
    pub(super) async fn write<T, F>(
        &self,
        op: &'static str,
        writer: &Writer,
        work: F,
    ) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnMut(&WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    {
        let started = Instant::now();
        let result = writer.write(work).await;
        crate::store::observe("embedded", op, started, &result);
        result
    }

    /// The license under `key`, read by the file's reader threads in the next
    /// batch (a registry miss: see `reader.rs`), timed as `get_license`.
    pub(super) async fn read_license(
        &self,
        env: Environment,
        key: String,
    ) -> Result<Option<crate::domain::License>, StoreError> {
        let started = Instant::now();
        let reader = match env {
            Environment::Production => &self.readers.production,
            Environment::Staging => &self.readers.staging,
        };
        let result = reader.license(key).await;
        crate::store::observe("embedded", "get_license", started, &result);
        result
    }

    /// Runs blocking redb work off the async threads, timed and counted.
    pub(super) async fn run<T, F>(
        &self,
        op: &'static str,
        db: Option<Arc<Database>>,
        f: F,
    ) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    {
        let db = db.ok_or_else(closed)?;
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
        db: Option<Arc<Database>>,
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
        db: Option<Arc<Database>>,
        table: Records,
        order: fn(Vec<T>) -> Vec<T>,
    ) -> Result<Vec<T>, StoreError>
    where
        T: DeserializeOwned + Send + 'static,
    {
        self.run(op, db, move |db| Ok(order(all(db, table)?))).await
    }

    /// Every license of `env` to `sink`, a key range of `SCAN_BATCH` at a time
    /// (the catalog's background load), timed as `list_licenses`.
    pub(super) async fn scan_in_batches(
        &self,
        env: Environment,
        sink: &mut (dyn crate::store::LicenseSink + Send),
    ) -> Result<(), StoreError> {
        let mut after: Option<String> = None;
        loop {
            let from = after.clone();
            let (batch, total) = self
                .run("list_licenses", self.env_db(env), move |db| {
                    super::licenses::range(db, from.as_deref(), crate::store::SCAN_BATCH)
                })
                .await?;
            if after.is_none() {
                sink.expect(total);
            }
            let Some(last) = batch.last() else {
                return Ok(());
            };
            after = Some(last.key.as_str().to_owned());
            let done = batch.len() < crate::store::SCAN_BATCH;
            sink.batch(batch);
            if done {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use crate::domain::Environment;
    use crate::store::embedded::{history::tests::old_license, EmbeddedStore};
    use crate::store::{Store, StoreError};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_closed_store_lets_its_files_close_cleanly_and_answers_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path(), 4).unwrap();
        let license = old_license();
        let env = Environment::Production;
        store
            .insert_licenses(env, std::slice::from_ref(&license), &[])
            .await
            .unwrap();
        assert!(store
            .get_license(env, &license.key)
            .await
            .unwrap()
            .is_some());

        Store::close(&store).await;
        let after = store.get_license(env, &license.key).await;
        assert!(
            matches!(after, Err(StoreError::Unavailable(_))),
            "{after:?}"
        );
        let write = store
            .insert_licenses(env, std::slice::from_ref(&license), &[])
            .await;
        assert!(
            matches!(write, Err(StoreError::Unavailable(_))),
            "{write:?}"
        );

        // The store object still exists, yet its files are free and were
        // closed cleanly: redb opens each without checking it page by page.
        for file in ["global.redb", "production.redb", "staging.redb"] {
            let repaired = Arc::new(AtomicBool::new(false));
            let flag = repaired.clone();
            let db = redb::Builder::new()
                .set_repair_callback(move |_| flag.store(true, Ordering::SeqCst))
                .create(dir.path().join(file))
                .unwrap_or_else(|e| panic!("{file} still held after close: {e}"));
            assert!(!repaired.load(Ordering::SeqCst), "{file} needed a repair");
            drop(db);
        }
        drop(store);
        let reopened = EmbeddedStore::open(dir.path(), 4).unwrap();
        assert!(reopened
            .get_license(env, &license.key)
            .await
            .unwrap()
            .is_some());
    }
}
