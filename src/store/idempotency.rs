//! `Idempotency-Key` records (issue 14 part 3), shared by every node: one per
//! (caller, key), claimed atomically, holding the first answer for a day.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::domain::idempotency::IdemRecord;

/// The idempotency records: the part of [`super::Store`] that holds them.
#[async_trait]
pub trait IdempotencyRows: Send + Sync {
    /// Takes `key` with `claim` unless a live record holds it: `None` when
    /// taken, else the live record (nothing written). CQL: a lightweight
    /// transaction whose claim lapses by TTL; embedded: one write transaction.
    async fn claim_idempotency(
        &self,
        key: &str,
        claim: &IdemRecord,
        now: DateTime<Utc>,
    ) -> Result<Option<IdemRecord>, StoreError>;
    /// The live record under `key`, if any.
    async fn get_idempotency(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<IdemRecord>, StoreError>;
    /// Writes the finished record (with its answer) over the claim.
    async fn finish_idempotency(&self, key: &str, record: &IdemRecord) -> Result<(), StoreError>;
    /// Drops the claim (the answer is not kept: a retry runs again).
    async fn release_idempotency(&self, key: &str) -> Result<(), StoreError>;
    /// Removes lapsed records; how many (CQL: TTL does it, 0).
    async fn sweep_idempotency(&self, now: DateTime<Utc>) -> Result<usize, StoreError>;
}
