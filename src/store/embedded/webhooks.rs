//! [`crate::store::WebhookRows`] on the embedded backend. In the global file:
//! endpoints by id, pending deliveries by id, the delivery log keyed
//! `{endpoint}/{nanos:020}-{id}` (time order per endpoint) and the feed's
//! cursors. Audit entries are read from the environment's file. Every
//! conditional write reads and writes in one write transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redb::{ReadableTable, TableDefinition, WriteTransaction};
use uuid::Uuid;

use super::files::open_read;
use super::tables::{decode, decoded, encode, unavailable, Records, AUDIT};
use super::EmbeddedStore;
use crate::domain::webhook::{Delivery, DeliveryStatus, Endpoint};
use crate::domain::{AuditEntry, Environment};
use crate::store::{StoreError, WebhookRows};

const WEBHOOKS: Records = TableDefinition::new("webhooks");
const DELIVERY_PENDING: Records = TableDefinition::new("webhook_pending");
const DELIVERY_LOG: Records = TableDefinition::new("webhook_log");
const CURSORS: Records = TableDefinition::new("webhook_cursors");

fn nanos(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(0).max(0)
}

fn log_key(d: &Delivery) -> String {
    format!("{}/{:020}-{}", d.endpoint_id, nanos(d.created_at), d.id)
}

fn moved(what: &str, id: Uuid) -> StoreError {
    StoreError::Conflict(format!("{what} {id} moved on meanwhile"))
}

fn put_endpoint(
    txn: &WriteTransaction,
    e: &Endpoint,
    expected: Option<u64>,
) -> Result<Endpoint, StoreError> {
    let mut t = txn.open_table(WEBHOOKS).map_err(unavailable)?;
    let key = e.id.to_string();
    let found: Option<Endpoint> = decoded(&t, &key)?;
    if found.map(|f| f.version) != expected {
        return Err(moved("webhook", e.id));
    }
    let stored = Endpoint {
        version: expected.map_or(1, |v| v + 1),
        ..e.clone()
    };
    t.insert(key.as_str(), encode(&stored)?.as_slice())
        .map_err(unavailable)?;
    Ok(stored)
}

/// Writes the log row, and the pending copy (removed once finished).
fn write_delivery(txn: &WriteTransaction, d: &Delivery) -> Result<(), StoreError> {
    let bytes = encode(d)?;
    let mut log = txn.open_table(DELIVERY_LOG).map_err(unavailable)?;
    log.insert(log_key(d).as_str(), bytes.as_slice())
        .map_err(unavailable)?;
    let mut p = txn.open_table(DELIVERY_PENDING).map_err(unavailable)?;
    let key = d.id.to_string();
    if d.status == DeliveryStatus::Pending {
        p.insert(key.as_str(), bytes.as_slice())
            .map_err(unavailable)?;
    } else {
        p.remove(key.as_str()).map_err(unavailable)?;
    }
    Ok(())
}

fn put_delivery(
    txn: &WriteTransaction,
    d: &Delivery,
    expected: Option<u64>,
) -> Result<Delivery, StoreError> {
    let key = d.id.to_string();
    let found: Option<Delivery> = {
        let p = txn.open_table(DELIVERY_PENDING).map_err(unavailable)?;
        decoded(&p, &key)?
    };
    if found.map(|f| f.version) != expected {
        return Err(moved("delivery", d.id));
    }
    let stored = Delivery {
        version: expected.map_or(1, |v| v + 1),
        ..d.clone()
    };
    write_delivery(txn, &stored)?;
    Ok(stored)
}

fn insert_new(txn: &WriteTransaction, ds: &[Delivery]) -> Result<usize, StoreError> {
    let mut written = 0;
    for d in ds {
        let exists = {
            let log = txn.open_table(DELIVERY_LOG).map_err(unavailable)?;
            let found = log.get(log_key(d).as_str()).map_err(unavailable)?.is_some();
            found
        };
        if !exists {
            write_delivery(
                txn,
                &Delivery {
                    version: 1,
                    ..d.clone()
                },
            )?;
            written += 1;
        }
    }
    Ok(written)
}

fn put_cursor(
    txn: &WriteTransaction,
    env: Environment,
    at: DateTime<Utc>,
    expected: Option<u64>,
) -> Result<(), StoreError> {
    let mut t = txn.open_table(CURSORS).map_err(unavailable)?;
    let found: Option<(i64, u64)> = decoded(&t, env.as_str())?;
    if found.map(|f| f.1) != expected {
        return Err(StoreError::Conflict(format!(
            "{env} webhook cursor moved on meanwhile"
        )));
    }
    let next = (nanos(at), expected.map_or(1, |v| v + 1));
    t.insert(env.as_str(), encode(&next)?.as_slice())
        .map_err(unavailable)?;
    Ok(())
}

fn all<T: serde::de::DeserializeOwned>(
    db: &redb::Database,
    table: Records,
) -> Result<Vec<T>, StoreError> {
    let txn = db.begin_read().map_err(unavailable)?;
    let Some(t) = open_read(&txn, table)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for row in t.iter().map_err(unavailable)? {
        out.push(decode(row.map_err(unavailable)?.1.value())?);
    }
    Ok(out)
}

#[async_trait]
impl WebhookRows for EmbeddedStore {
    async fn put_webhook(
        &self,
        e: &Endpoint,
        expected: Option<u64>,
    ) -> Result<Endpoint, StoreError> {
        let e = e.clone();
        self.write("put_webhook", self.global_writer(), move |txn| {
            put_endpoint(txn, &e, expected)
        })
        .await
    }

    async fn list_webhooks(&self) -> Result<Vec<Endpoint>, StoreError> {
        self.run("list_webhooks", self.global_db(), |db| all(db, WEBHOOKS))
            .await
    }

    async fn delete_webhook(&self, id: Uuid) -> Result<bool, StoreError> {
        self.write("delete_webhook", self.global_writer(), move |txn| {
            let mut t = txn.open_table(WEBHOOKS).map_err(unavailable)?;
            let existed = t
                .remove(id.to_string().as_str())
                .map_err(unavailable)?
                .is_some();
            Ok(existed)
        })
        .await
    }

    async fn insert_deliveries(&self, ds: &[Delivery]) -> Result<usize, StoreError> {
        let ds = ds.to_vec();
        self.write("insert_deliveries", self.global_writer(), move |txn| {
            insert_new(txn, &ds)
        })
        .await
    }

    async fn put_delivery(
        &self,
        d: &Delivery,
        expected: Option<u64>,
    ) -> Result<Delivery, StoreError> {
        let d = d.clone();
        self.write("put_delivery", self.global_writer(), move |txn| {
            put_delivery(txn, &d, expected)
        })
        .await
    }

    async fn pending_deliveries(&self) -> Result<Vec<Delivery>, StoreError> {
        self.run("pending_deliveries", self.global_db(), |db| {
            all(db, DELIVERY_PENDING)
        })
        .await
    }

    async fn list_deliveries(
        &self,
        endpoint: Uuid,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.run("list_deliveries", self.global_db(), move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let Some(t) = open_read(&txn, DELIVERY_LOG)? else {
                return Ok(Vec::new());
            };
            let (from, to) = (format!("{endpoint}/"), format!("{endpoint}0"));
            let mut out = Vec::new();
            for row in t
                .range(from.as_str()..to.as_str())
                .map_err(unavailable)?
                .rev()
                .take(limit)
            {
                out.push(decode(row.map_err(unavailable)?.1.value())?);
            }
            Ok(out)
        })
        .await
    }

    async fn webhook_cursor(
        &self,
        env: Environment,
    ) -> Result<Option<(DateTime<Utc>, u64)>, StoreError> {
        let found: Option<(i64, u64)> = self
            .run("webhook_cursor", self.global_db(), move |db| {
                let txn = db.begin_read().map_err(unavailable)?;
                match open_read(&txn, CURSORS)? {
                    Some(t) => decoded(&t, env.as_str()),
                    None => Ok(None),
                }
            })
            .await?;
        Ok(found.map(|(n, v)| (DateTime::from_timestamp_nanos(n), v)))
    }

    async fn put_webhook_cursor(
        &self,
        env: Environment,
        at: DateTime<Utc>,
        expected: Option<u64>,
    ) -> Result<(), StoreError> {
        self.write("put_webhook_cursor", self.global_writer(), move |txn| {
            put_cursor(txn, env, at, expected)
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
        self.run("audit_between", self.env_db(env), move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let Some(t) = open_read(&txn, AUDIT)? else {
                return Ok(Vec::new());
            };
            // Keys are `{nanos:020}-{id}`: '.' sorts after '-', so `until.` ends the range.
            let from = format!("{:020}", nanos(after) + 1);
            let to = format!("{:020}.", nanos(until));
            let mut out = Vec::new();
            for row in t
                .range(from.as_str()..to.as_str())
                .map_err(unavailable)?
                .take(limit)
            {
                out.push(decode(row.map_err(unavailable)?.1.value())?);
            }
            Ok(out)
        })
        .await
    }
}
