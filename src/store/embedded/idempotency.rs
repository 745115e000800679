//! [`crate::store::IdempotencyRows`] on the embedded backend: one table in the
//! global file, key → MessagePack record; a claim reads and writes in one
//! write transaction, so two requests cannot both take a key.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redb::{ReadableTable, TableDefinition};

use super::files::open_read;
use super::tables::{decode, decoded, encode, unavailable, Records};
use super::EmbeddedStore;
use crate::domain::idempotency::IdemRecord;
use crate::store::{IdempotencyRows, StoreError};

/// (caller, key) hash → record.
const IDEMPOTENCY: Records = TableDefinition::new("idempotency");

#[async_trait]
impl IdempotencyRows for EmbeddedStore {
    async fn claim_idempotency(
        &self,
        key: &str,
        claim: &IdemRecord,
        now: DateTime<Utc>,
    ) -> Result<Option<IdemRecord>, StoreError> {
        let (key, bytes) = (key.to_owned(), encode(claim)?);
        self.write("claim_idempotency", self.global_writer(), move |txn| {
            let mut t = txn.open_table(IDEMPOTENCY).map_err(unavailable)?;
            let found: Option<IdemRecord> = decoded(&t, &key)?;
            if let Some(live) = found.filter(|r| !r.lapsed(now)) {
                return Ok(Some(live));
            }
            t.insert(key.as_str(), bytes.as_slice())
                .map_err(unavailable)?;
            Ok(None)
        })
        .await
    }

    async fn get_idempotency(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<IdemRecord>, StoreError> {
        let key = key.to_owned();
        self.run("get_idempotency", self.global_db(), move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let Some(t) = open_read(&txn, IDEMPOTENCY)? else {
                return Ok(None);
            };
            let found: Option<IdemRecord> = decoded(&t, &key)?;
            Ok(found.filter(|r| !r.lapsed(now)))
        })
        .await
    }

    async fn finish_idempotency(&self, key: &str, record: &IdemRecord) -> Result<(), StoreError> {
        let (key, bytes) = (key.to_owned(), encode(record)?);
        self.write("finish_idempotency", self.global_writer(), move |txn| {
            let mut t = txn.open_table(IDEMPOTENCY).map_err(unavailable)?;
            t.insert(key.as_str(), bytes.as_slice())
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn release_idempotency(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.write("release_idempotency", self.global_writer(), move |txn| {
            let mut t = txn.open_table(IDEMPOTENCY).map_err(unavailable)?;
            t.remove(key.as_str()).map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn sweep_idempotency(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        self.write("sweep_idempotency", self.global_writer(), move |txn| {
            let mut t = txn.open_table(IDEMPOTENCY).map_err(unavailable)?;
            let mut lapsed = Vec::new();
            for row in t.iter().map_err(unavailable)? {
                let (k, v) = row.map_err(unavailable)?;
                let r: IdemRecord = decode(v.value())?;
                if r.lapsed(now) {
                    lapsed.push(k.value().to_owned());
                }
            }
            for k in &lapsed {
                t.remove(k.as_str()).map_err(unavailable)?;
            }
            Ok(lapsed.len())
        })
        .await
    }
}
