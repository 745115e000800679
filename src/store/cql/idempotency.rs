//! [`crate::store::IdempotencyRows`] on CQL (global keyspace): a claim is an
//! `INSERT … IF NOT EXISTS USING TTL` of the lease, so a node that dies
//! mid-request frees the key by itself; the answer is written over it with
//! the day's TTL, which also makes lapsed records vanish (no sweep).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;

use super::files::prep;
use super::rows::{applied, blobs, decode, encode};
use super::CqlStore;
use crate::domain::idempotency::{IdemRecord, KEEP_SECS, LEASE_SECS};
use crate::store::{IdempotencyRows, StoreError};

/// The statements of the idempotency table.
pub(super) struct IdempotencyStatements {
    claim: PreparedStatement,
    get: PreparedStatement,
    finish: PreparedStatement,
    release: PreparedStatement,
}

impl IdempotencyStatements {
    pub(super) async fn prepare(s: &Session, prefix: &str) -> Result<Self, StoreError> {
        let t = format!("{prefix}_global.idempotency");
        Ok(IdempotencyStatements {
            claim: prep(s, format!("INSERT INTO {t} (key, body) VALUES (?, ?) IF NOT EXISTS USING TTL {LEASE_SECS}")).await?,
            get: prep(s, format!("SELECT body FROM {t} WHERE key = ?")).await?,
            finish: prep(s, format!("UPDATE {t} USING TTL {KEEP_SECS} SET body = ? WHERE key = ? IF EXISTS")).await?,
            release: prep(s, format!("DELETE FROM {t} WHERE key = ? IF EXISTS")).await?,
        })
    }
}

impl CqlStore {
    async fn read_idempotency(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<IdemRecord>, StoreError> {
        let r = self.execute(&self.idempotency.get, (key,)).await?;
        match blobs(r)?.into_iter().next() {
            None => Ok(None),
            Some(b) => Ok(Some(decode::<IdemRecord>(&b)?).filter(|r| !r.lapsed(now))),
        }
    }
}

#[async_trait]
impl IdempotencyRows for CqlStore {
    async fn claim_idempotency(
        &self,
        key: &str,
        claim: &IdemRecord,
        now: DateTime<Utc>,
    ) -> Result<Option<IdemRecord>, StoreError> {
        self.timed("claim_idempotency", async {
            let body = encode(claim)?;
            // Twice at most: the record found may lapse between the insert and the read.
            for _ in 0..2 {
                let r = self
                    .execute(&self.idempotency.claim, (key, body.as_slice()))
                    .await?;
                if applied(r)? {
                    return Ok(None);
                }
                if let Some(live) = self.read_idempotency(key, now).await? {
                    return Ok(Some(live));
                }
            }
            Ok(Some(claim.clone()))
        })
        .await
    }

    async fn get_idempotency(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<IdemRecord>, StoreError> {
        self.timed("get_idempotency", self.read_idempotency(key, now))
            .await
    }

    async fn finish_idempotency(&self, key: &str, record: &IdemRecord) -> Result<(), StoreError> {
        self.timed("finish_idempotency", async {
            let body = encode(record)?;
            self.execute(&self.idempotency.finish, (body.as_slice(), key))
                .await?;
            Ok(())
        })
        .await
    }

    async fn release_idempotency(&self, key: &str) -> Result<(), StoreError> {
        self.timed("release_idempotency", async {
            self.execute(&self.idempotency.release, (key,)).await?;
            Ok(())
        })
        .await
    }

    async fn sweep_idempotency(&self, _now: DateTime<Utc>) -> Result<usize, StoreError> {
        Ok(0)
    }
}
