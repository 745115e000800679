//! Webhooks as rows (issue 14 part 1): endpoints, deliveries and the feed's
//! cursor, all in the store so every node sees them. Writes that nodes race
//! for are conditional on a version (CQL: lightweight transactions; embedded:
//! one write transaction): one node creates a delivery, claims it, or moves a
//! cursor.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreError;
use crate::domain::webhook::{Delivery, Endpoint};
use crate::domain::{AuditEntry, Environment};

/// Deliveries, endpoints and cursors: the part of [`super::Store`] that holds them.
#[async_trait]
pub trait WebhookRows: Send + Sync {
    /// Writes an endpoint if its stored version is `expected` (`None`: new);
    /// returns it with the next version. Another writer won: `Conflict`.
    async fn put_webhook(
        &self,
        endpoint: &Endpoint,
        expected: Option<u64>,
    ) -> Result<Endpoint, StoreError>;
    /// Every endpoint of every environment (a short list).
    async fn list_webhooks(&self) -> Result<Vec<Endpoint>, StoreError>;
    /// Removes an endpoint (its delivery log lapses on its own); whether it existed.
    async fn delete_webhook(&self, id: Uuid) -> Result<bool, StoreError>;
    /// Writes new deliveries, each unless one with its id exists (two nodes
    /// making the same delivery write it once); returns those written.
    async fn insert_deliveries(&self, deliveries: &[Delivery]) -> Result<usize, StoreError>;
    /// Writes a delivery if its pending copy's version is `expected` (`None`:
    /// no pending copy, as for a retry of a finished one); a finished
    /// delivery leaves the pending set. Another writer won: `Conflict`.
    async fn put_delivery(
        &self,
        delivery: &Delivery,
        expected: Option<u64>,
    ) -> Result<Delivery, StoreError>;
    /// Every unfinished delivery (a small set: finished ones leave it).
    async fn pending_deliveries(&self) -> Result<Vec<Delivery>, StoreError>;
    /// One endpoint's deliveries, newest first.
    async fn list_deliveries(
        &self,
        endpoint: Uuid,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// The time up to which the feed turned `env`'s audit entries into
    /// deliveries, with the cursor's version.
    async fn webhook_cursor(
        &self,
        env: Environment,
    ) -> Result<Option<(DateTime<Utc>, u64)>, StoreError>;
    /// Moves the cursor if its version is `expected` (`None`: none yet).
    async fn put_webhook_cursor(
        &self,
        env: Environment,
        at: DateTime<Utc>,
        expected: Option<u64>,
    ) -> Result<(), StoreError>;
    /// `env`'s audit entries with `after < at <= until`, oldest first, at most `limit`.
    async fn audit_between(
        &self,
        env: Environment,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}
