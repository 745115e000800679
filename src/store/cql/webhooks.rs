//! [`crate::store::WebhookRows`] on CQL (global keyspace): endpoints and
//! unfinished deliveries in one partition each, written with lightweight
//! transactions on `version`; the delivery log per endpoint (30-day TTL);
//! the feed's cursor per environment; audit entries read by day partition.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use uuid::Uuid;

use super::files::prep;
use super::rows::{applied, blobs, decode, encode};
use super::{corrupt, CqlStore};
use crate::domain::webhook::{Delivery, DeliveryStatus, Endpoint};
use crate::domain::{AuditEntry, Environment};
use crate::store::{StoreError, WebhookRows};

pub(super) struct WebhookStatements {
    endpoint_insert: PreparedStatement,
    endpoint_update: PreparedStatement,
    endpoint_all: PreparedStatement,
    endpoint_delete: PreparedStatement,
    log_insert_new: PreparedStatement,
    log_put: PreparedStatement,
    log_of: PreparedStatement,
    pending_insert: PreparedStatement,
    pending_update: PreparedStatement,
    pending_delete: PreparedStatement,
    pending_all: PreparedStatement,
    cursor_get: PreparedStatement,
    cursor_insert: PreparedStatement,
    cursor_update: PreparedStatement,
    /// Per environment (production, staging): audit entries of a day in a time range.
    audit: [PreparedStatement; 2],
}

impl WebhookStatements {
    pub(super) async fn prepare(s: &Session, prefix: &str) -> Result<Self, StoreError> {
        let g = format!("{prefix}_global");
        let audit = |env: Environment| {
            format!(
                "SELECT body FROM {prefix}_{env}.audit_by_day WHERE day = ? AND at > ? AND at <= ? ORDER BY at ASC, id DESC LIMIT ?"
            )
        };
        Ok(WebhookStatements {
            endpoint_insert: prep(s, format!("INSERT INTO {g}.webhooks (bucket, id, version, body) VALUES (0, ?, ?, ?) IF NOT EXISTS")).await?,
            endpoint_update: prep(s, format!("UPDATE {g}.webhooks SET version = ?, body = ? WHERE bucket = 0 AND id = ? IF version = ?")).await?,
            endpoint_all: prep(s, format!("SELECT version, body FROM {g}.webhooks WHERE bucket = 0")).await?,
            endpoint_delete: prep(s, format!("DELETE FROM {g}.webhooks WHERE bucket = 0 AND id = ? IF EXISTS")).await?,
            log_insert_new: prep(s, format!("INSERT INTO {g}.webhook_log (endpoint, created_at, id, body) VALUES (?, ?, ?, ?) IF NOT EXISTS")).await?,
            log_put: prep(s, format!("INSERT INTO {g}.webhook_log (endpoint, created_at, id, body) VALUES (?, ?, ?, ?)")).await?,
            log_of: prep(s, format!("SELECT body FROM {g}.webhook_log WHERE endpoint = ? LIMIT ?")).await?,
            pending_insert: prep(s, format!("INSERT INTO {g}.webhook_pending (bucket, id, version, body) VALUES (0, ?, ?, ?) IF NOT EXISTS")).await?,
            pending_update: prep(s, format!("UPDATE {g}.webhook_pending SET version = ?, body = ? WHERE bucket = 0 AND id = ? IF version = ?")).await?,
            pending_delete: prep(s, format!("DELETE FROM {g}.webhook_pending WHERE bucket = 0 AND id = ? IF EXISTS")).await?,
            pending_all: prep(s, format!("SELECT version, body FROM {g}.webhook_pending WHERE bucket = 0")).await?,
            cursor_get: prep(s, format!("SELECT at, version FROM {g}.webhook_cursors WHERE env = ?")).await?,
            cursor_insert: prep(s, format!("INSERT INTO {g}.webhook_cursors (env, at, version) VALUES (?, ?, 1) IF NOT EXISTS")).await?,
            cursor_update: prep(s, format!("UPDATE {g}.webhook_cursors SET at = ?, version = ? WHERE env = ? IF version = ?")).await?,
            audit: [
                prep(s, audit(Environment::Production)).await?,
                prep(s, audit(Environment::Staging)).await?,
            ],
        })
    }
}

fn moved(what: &str, id: Uuid) -> StoreError {
    StoreError::Conflict(format!("{what} {id} moved on meanwhile"))
}

impl CqlStore {
    async fn write_delivery_log(&self, d: &Delivery) -> Result<(), StoreError> {
        let values = (d.endpoint_id, d.created_at, d.id, encode(d)?);
        self.exec(&self.webhooks.log_put, values).await
    }

    async fn write_pending_delivery(
        &self,
        d: &Delivery,
        expected: Option<u64>,
    ) -> Result<Delivery, StoreError> {
        let stored = Delivery {
            version: expected.map_or(1, |v| v + 1),
            ..d.clone()
        };
        let body = encode(&stored)?;
        let w = &self.webhooks;
        let r = match expected {
            None => {
                self.execute(&w.pending_insert, (d.id, stored.version as i64, body))
                    .await?
            }
            Some(v) => {
                let values = (stored.version as i64, body, d.id, v as i64);
                self.execute(&w.pending_update, values).await?
            }
        };
        if !applied(r)? {
            return Err(moved("delivery", d.id));
        }
        Ok(stored)
    }
}

#[async_trait]
impl WebhookRows for CqlStore {
    async fn put_webhook(
        &self,
        e: &Endpoint,
        expected: Option<u64>,
    ) -> Result<Endpoint, StoreError> {
        self.timed("put_webhook", async {
            let stored = Endpoint {
                version: expected.map_or(1, |v| v + 1),
                ..e.clone()
            };
            let (body, v) = (encode(&stored)?, stored.version as i64);
            let w = &self.webhooks;
            let r = match expected {
                None => self.execute(&w.endpoint_insert, (e.id, v, body)).await?,
                Some(old) => {
                    self.execute(&w.endpoint_update, (v, body, e.id, old as i64))
                        .await?
                }
            };
            if !applied(r)? {
                return Err(moved("webhook", e.id));
            }
            Ok(stored)
        })
        .await
    }

    async fn list_webhooks(&self) -> Result<Vec<Endpoint>, StoreError> {
        self.timed("list_webhooks", async {
            let rows: Vec<(u64, Endpoint)> =
                self.all_versioned(&self.webhooks.endpoint_all).await?;
            Ok(rows
                .into_iter()
                .map(|(version, e)| Endpoint { version, ..e })
                .collect())
        })
        .await
    }

    async fn delete_webhook(&self, id: Uuid) -> Result<bool, StoreError> {
        self.timed("delete_webhook", async {
            applied(self.execute(&self.webhooks.endpoint_delete, (id,)).await?)
        })
        .await
    }

    async fn insert_deliveries(&self, ds: &[Delivery]) -> Result<usize, StoreError> {
        self.timed("insert_deliveries", async {
            let mut written = 0;
            for d in ds {
                let d = Delivery {
                    version: 1,
                    ..d.clone()
                };
                let values = (d.endpoint_id, d.created_at, d.id, encode(&d)?);
                if applied(self.execute(&self.webhooks.log_insert_new, values).await?)? {
                    // The log row decides who made it; the pending copy follows.
                    match self.write_pending_delivery(&d, None).await {
                        Ok(_) | Err(StoreError::Conflict(_)) => written += 1,
                        Err(e) => return Err(e),
                    }
                }
            }
            Ok(written)
        })
        .await
    }

    async fn put_delivery(
        &self,
        d: &Delivery,
        expected: Option<u64>,
    ) -> Result<Delivery, StoreError> {
        self.timed("put_delivery", async {
            let stored = self.write_pending_delivery(d, expected).await?;
            self.write_delivery_log(&stored).await?;
            if stored.status != DeliveryStatus::Pending {
                self.exec(&self.webhooks.pending_delete, (stored.id,))
                    .await?;
            }
            Ok(stored)
        })
        .await
    }

    async fn pending_deliveries(&self) -> Result<Vec<Delivery>, StoreError> {
        self.timed("pending_deliveries", async {
            let rows: Vec<(u64, Delivery)> = self.all_versioned(&self.webhooks.pending_all).await?;
            Ok(rows
                .into_iter()
                .map(|(version, d)| Delivery { version, ..d })
                .collect())
        })
        .await
    }

    async fn list_deliveries(
        &self,
        endpoint: Uuid,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.timed("list_deliveries", async {
            let limit = limit.min(10_000) as i32;
            let r = self
                .execute(&self.webhooks.log_of, (endpoint, limit))
                .await?;
            blobs(r)?.iter().map(|b| decode(b)).collect()
        })
        .await
    }

    async fn webhook_cursor(
        &self,
        env: Environment,
    ) -> Result<Option<(DateTime<Utc>, u64)>, StoreError> {
        self.timed("webhook_cursor", async {
            let rows = self
                .rows(&self.webhooks.cursor_get, (env.as_str(),))
                .await?;
            let row = rows
                .maybe_first_row::<(Option<DateTime<Utc>>, Option<i64>)>()
                .map_err(corrupt)?;
            Ok(row.and_then(|(at, v)| Some((at?, v.unwrap_or(0) as u64))))
        })
        .await
    }

    async fn put_webhook_cursor(
        &self,
        env: Environment,
        at: DateTime<Utc>,
        expected: Option<u64>,
    ) -> Result<(), StoreError> {
        self.timed("put_webhook_cursor", async {
            let w = &self.webhooks;
            let r = match expected {
                None => self.execute(&w.cursor_insert, (env.as_str(), at)).await?,
                Some(v) => {
                    let values = (at, (v + 1) as i64, env.as_str(), v as i64);
                    self.execute(&w.cursor_update, values).await?
                }
            };
            if !applied(r)? {
                return Err(StoreError::Conflict(format!(
                    "{env} webhook cursor moved on meanwhile"
                )));
            }
            Ok(())
        })
        .await
    }

    async fn audit_between(
        &self,
        env: Environment,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.timed("audit_between", async {
            let stmt = &self.webhooks.audit[env as usize];
            let mut out: Vec<AuditEntry> = Vec::new();
            let mut day = after.date_naive();
            while day <= until.date_naive() && out.len() < limit {
                let want = (limit - out.len()) as i32;
                let values = (day.format("%Y-%m-%d").to_string(), after, until, want);
                for b in blobs(self.execute(stmt, values).await?)? {
                    out.push(decode(&b)?);
                }
                day += Duration::days(1);
            }
            Ok(out)
        })
        .await
    }
}
