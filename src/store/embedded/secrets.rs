//! Secrets of the embedded store (signing keys, session keys), raw bytes by name
//! in the global file.

use redb::{Database, ReadableTable, WriteTransaction};

use super::tables::{unavailable, SECRETS};
use crate::store::StoreError;

pub(super) fn get(db: &Database, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
    let txn = db.begin_read().map_err(unavailable)?;
    let t = txn.open_table(SECRETS).map_err(unavailable)?;
    let v = t.get(name).map_err(unavailable)?;
    Ok(v.map(|g| g.value().to_vec()))
}

pub(super) fn list(db: &Database) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    let txn = db.begin_read().map_err(unavailable)?;
    let t = txn.open_table(SECRETS).map_err(unavailable)?;
    let mut out = Vec::new();
    for row in t.iter().map_err(unavailable)? {
        let (k, v) = row.map_err(unavailable)?;
        out.push((k.value().to_owned(), v.value().to_vec()));
    }
    Ok(out)
}

/// Stores `value` unless `name` exists; returns the value kept.
pub(super) fn put_if_absent(
    txn: &WriteTransaction,
    name: &str,
    value: &[u8],
) -> Result<Vec<u8>, StoreError> {
    let mut t = txn.open_table(SECRETS).map_err(unavailable)?;
    let existing = t
        .get(name)
        .map_err(unavailable)?
        .map(|g| g.value().to_vec());
    match existing {
        Some(v) => Ok(v),
        None => {
            t.insert(name, value).map_err(unavailable)?;
            Ok(value.to_vec())
        }
    }
}

pub(super) fn put(txn: &WriteTransaction, name: &str, value: &[u8]) -> Result<(), StoreError> {
    let mut t = txn.open_table(SECRETS).map_err(unavailable)?;
    t.insert(name, value).map_err(unavailable)?;
    Ok(())
}

/// Replaces `name`'s value if it is still `old`; whether it did.
pub(super) fn swap(
    txn: &WriteTransaction,
    name: &str,
    old: &[u8],
    new: &[u8],
) -> Result<bool, StoreError> {
    let mut t = txn.open_table(SECRETS).map_err(unavailable)?;
    let current = t
        .get(name)
        .map_err(unavailable)?
        .map(|g| g.value().to_vec());
    if current.as_deref() != Some(old) {
        return Ok(false);
    }
    t.insert(name, new).map_err(unavailable)?;
    Ok(true)
}
