//! License records of the embedded store: the all-or-nothing insert, the
//! compare-and-set update, the delete, the heartbeat `last_seen` flush and the
//! whole-table reads behind listings and the expiry sweep. Each write is work
//! on the writer's transaction, with its history rows and audit entry.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use redb::{Database, ReadableTable, WriteTransaction};

use super::audit::{self, AuditRow};
use super::history::{self, SplitRecord};
use super::tables::{
    all, all_where, decode, decoded, encode, is_license, unavailable, CUSTOMERS, LICENSES,
    LICENSE_COUNT, META, PRODUCTS,
};
use crate::domain::{Activation, License, LicenseKey, Product};
use crate::store::listing::{due_for_expiry, license_page};
use crate::store::{LicenseQuery, LicenseWrite, Page, SeenAt, StoreError};

/// Inserts every license or none: a taken key aborts the whole transaction.
pub(super) fn insert(
    txn: &WriteTransaction,
    rows: &[SplitRecord],
    audits: &[AuditRow],
) -> Result<(), StoreError> {
    let mut t = txn.open_table(LICENSES).map_err(unavailable)?;
    for r in rows {
        if t.get(r.key.as_str()).map_err(unavailable)?.is_some() {
            // The writer drops the work of a failed write: nothing is written.
            return Err(StoreError::key_taken(&crate::telemetry::mask_key(&r.key)));
        }
        t.insert(r.key.as_str(), r.bytes.as_slice())
            .map_err(unavailable)?;
    }
    // The audit index rows go to the same table: it must be closed first.
    drop(t);
    for r in rows {
        history::write(txn, &r.key, &r.history)?;
    }
    count_licenses(txn, rows.len() as i64)?;
    audit::write(txn, audits)
}

/// Adds `by` to the licenses table's count of licenses.
fn count_licenses(txn: &WriteTransaction, by: i64) -> Result<(), StoreError> {
    let mut meta = txn.open_table(META).map_err(unavailable)?;
    let now = license_count(&meta)?;
    meta.insert(LICENSE_COUNT, now.saturating_add_signed(by))
        .map_err(unavailable)?;
    Ok(())
}

/// How many licenses the licenses table holds (see `tables::LICENSE_COUNT`).
fn license_count(meta: &impl ReadableTable<&'static str, u64>) -> Result<u64, StoreError> {
    let v = meta.get(LICENSE_COUNT).map_err(unavailable)?;
    Ok(v.map_or(0, |v| v.value()))
}

/// Every license of the table (not its audit index rows).
fn every(db: &Database) -> Result<Vec<License>, StoreError> {
    all_where(db, LICENSES, is_license)
}

/// A license change encoded before its transaction.
pub(super) struct Update {
    key: String,
    bytes: Vec<u8>,
    expected: u64,
    retired: Vec<Activation>,
    audit: AuditRow,
}

impl Update {
    /// The record keeps active activations; deactivated ones (in the license or
    /// among the touched rows) become history rows in the same transaction.
    pub(super) fn of(write: &LicenseWrite<'_>) -> Result<Self, StoreError> {
        let (record, retired) = write.split_history();
        Ok(Update {
            key: write.license.key.as_str().to_owned(),
            bytes: encode(&record)?,
            expected: write.expected_version,
            retired,
            audit: audit::row(write.audit)?,
        })
    }
}

/// The one field of a stored license the compare-and-set reads: the other
/// fields are skipped, not decoded (no strings or maps built on the writer thread).
#[derive(serde::Deserialize)]
struct Versioned {
    version: u64,
}

/// Replaces the license only if its stored version is the expected one.
pub(super) fn update(txn: &WriteTransaction, u: &Update) -> Result<(), StoreError> {
    let mut t = txn.open_table(LICENSES).map_err(unavailable)?;
    match decoded::<Versioned>(&t, &u.key)? {
        None => return Err(StoreError::license_not_found()),
        Some(c) if c.version != u.expected => {
            return Err(StoreError::version_moved(c.version, u.expected))
        }
        Some(_) => {}
    }
    t.insert(u.key.as_str(), u.bytes.as_slice())
        .map_err(unavailable)?;
    drop(t);
    history::write(txn, &u.key, &u.retired)?;
    audit::write(txn, std::slice::from_ref(&u.audit))
}

/// Removes the license and its history; whether it existed.
pub(super) fn delete(
    txn: &WriteTransaction,
    key: &str,
    audit: &AuditRow,
) -> Result<bool, StoreError> {
    let mut t = txn.open_table(LICENSES).map_err(unavailable)?;
    let existed = t.remove(key).map_err(unavailable)?.is_some();
    drop(t);
    if existed {
        count_licenses(txn, -1)?;
        history::remove(txn, key)?;
        audit::write(txn, std::slice::from_ref(audit))?;
    }
    Ok(existed)
}

/// Heartbeats of one flush: (identifier, time) per license key.
pub(super) type SeenByKey = HashMap<String, Vec<(String, DateTime<Utc>)>>;

pub(super) fn group_seen(batch: &[SeenAt]) -> SeenByKey {
    let mut by_key = SeenByKey::new();
    for s in batch {
        by_key
            .entry(s.key.as_str().to_owned())
            .or_default()
            .push((s.identifier.as_str().to_owned(), s.at));
    }
    by_key
}

/// Moves `last_seen` forward on active activations, all licenses in one transaction.
pub(super) fn touch(txn: &WriteTransaction, by_key: &SeenByKey) -> Result<(), StoreError> {
    let mut t = txn.open_table(LICENSES).map_err(unavailable)?;
    for (key, seen) in by_key {
        let Some(mut license) = decoded::<License>(&t, key)? else {
            continue;
        };
        // last_seen does not bump the version: it is not a state change.
        if seen_later(&mut license, seen) {
            t.insert(key.as_str(), encode(&license)?.as_slice())
                .map_err(unavailable)?;
        }
    }
    Ok(())
}

/// Applies heartbeats to a license's active activations; whether any moved.
fn seen_later(license: &mut License, seen: &[(String, DateTime<Utc>)]) -> bool {
    let mut changed = false;
    for (ident, at) in seen {
        let at = *at;
        for a in license
            .activations
            .iter_mut()
            .filter(|a| a.is_active() && a.identifier.as_str() == ident)
        {
            if a.last_seen.is_none_or(|prev| prev < at) {
                a.last_seen = Some(at);
                changed = true;
            }
        }
    }
    changed
}

/// One page of the environment's licenses; customer names come from `global`.
pub(super) fn list(
    db: &Database,
    global: &Database,
    query: &LicenseQuery,
) -> Result<Page<License>, StoreError> {
    let licenses = every(db)?;
    let products: Vec<Product> = all(db, PRODUCTS)?;
    let customers = all(global, CUSTOMERS)?;
    Ok(license_page(query, licenses, products, customers))
}

/// Up to `limit` licenses whose keys sort after `after`, in key order, and the
/// table's size: one read transaction per batch of the catalog's background load.
pub(super) fn range(
    db: &Database,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<License>, u64), StoreError> {
    use std::ops::Bound;
    let txn = db.begin_read().map_err(unavailable)?;
    let total = license_count(&txn.open_table(META).map_err(unavailable)?)?;
    let t = txn.open_table(LICENSES).map_err(unavailable)?;
    let from = after.map_or(Bound::Unbounded, Bound::Excluded);
    let mut out = Vec::with_capacity(limit.min(total as usize));
    for row in t
        .range::<&str>((from, Bound::Unbounded))
        .map_err(unavailable)?
    {
        let (k, v) = row.map_err(unavailable)?;
        if is_license(k.value()) {
            out.push(decode(v.value())?);
            if out.len() == limit {
                break;
            }
        }
    }
    Ok((out, total))
}

/// Keys the expiry sweep should expire now.
pub(super) fn due(
    db: &Database,
    now: DateTime<Utc>,
    grace: Duration,
) -> Result<Vec<LicenseKey>, StoreError> {
    Ok(due_for_expiry(every(db)?, now, grace))
}
