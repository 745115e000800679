//! The redb tables of the embedded store and what every part of it does with them:
//! MessagePack records under string keys, read one, read all, write one (in
//! the transaction of the file's writer, see `writer.rs`).

use redb::{Database, ReadableTable, TableDefinition, WriteTransaction};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::audit;
use crate::domain::AuditEntry;
use crate::store::StoreError;

/// A table of MessagePack records under string keys.
pub(super) type Records = TableDefinition<'static, &'static str, &'static [u8]>;

pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
pub(super) const LICENSES: Records = TableDefinition::new("licenses");
pub(super) const PRODUCTS: Records = TableDefinition::new("products");
pub(super) const GENERATORS: Records = TableDefinition::new("generators");
/// Keyed by `{nanos:020}-{uuid}` so iteration is in time order.
pub(super) const AUDIT: Records = TableDefinition::new("audit");
/// Audit keys of each license, files of format 1: `"{license key}\u{1}{audit key}"`
/// → nothing. Format 2 keeps these rows in [`LICENSES`] (see [`is_license`]).
pub(super) const AUDIT_BY_LICENSE: TableDefinition<&str, ()> =
    TableDefinition::new("audit_by_license");

/// Whether a key of [`LICENSES`] is a license rather than a row of the audit
/// index (`"{license key}\u{1}{audit key}"` → empty; a license key never holds
/// U+0001). The index rows sort right after their license, so an activation's
/// commit writes its license and its audit index row on one page, not two
/// random pages of two B-trees.
pub(super) fn is_license(key: &str) -> bool {
    !key.contains('\u{1}')
}

/// The META key of how many licenses [`LICENSES`] holds (its length counts
/// the audit index rows too).
pub(super) const LICENSE_COUNT: &str = "license_count";
pub(super) const SETTINGS: Records = TableDefinition::new("settings");
pub(super) const CUSTOMERS: Records = TableDefinition::new("customers");
pub(super) const CUSTOMERS_BY_EMAIL: TableDefinition<&str, &str> =
    TableDefinition::new("customers_by_email");
pub(super) const SECRETS: Records = TableDefinition::new("secrets");
/// Admin accounts, one row each under the admin's id (global file).
pub(super) const ADMINS: Records = TableDefinition::new("admins");
/// Deactivated activations, one row each (see `history`).
pub(super) const ACTIVATION_HISTORY: Records = TableDefinition::new("activation_history");

pub(super) fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

pub(super) fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

pub(super) fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, StoreError> {
    rmp_serde::to_vec_named(v).map_err(corrupt)
}

pub(super) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    rmp_serde::from_slice(bytes).map_err(corrupt)
}

/// The record under `key` of an open table.
pub(super) fn decoded<T: DeserializeOwned>(
    t: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &str,
) -> Result<Option<T>, StoreError> {
    let v = t.get(key).map_err(unavailable)?;
    v.map(|g| decode(g.value())).transpose()
}

pub(super) fn get_one<T: DeserializeOwned>(
    db: &Database,
    table: Records,
    key: &str,
) -> Result<Option<T>, StoreError> {
    let txn = db.begin_read().map_err(unavailable)?;
    let t = txn.open_table(table).map_err(unavailable)?;
    decoded(&t, key)
}

pub(super) fn all<T: DeserializeOwned>(
    db: &Database,
    table: Records,
) -> Result<Vec<T>, StoreError> {
    all_where(db, table, |_| true)
}

/// The records of `table` whose key `keep` accepts (the others are not decoded).
pub(super) fn all_where<T: DeserializeOwned>(
    db: &Database,
    table: Records,
    keep: impl Fn(&str) -> bool,
) -> Result<Vec<T>, StoreError> {
    let txn = db.begin_read().map_err(unavailable)?;
    let t = txn.open_table(table).map_err(unavailable)?;
    let mut out = Vec::new();
    for row in t.iter().map_err(unavailable)? {
        let (k, v) = row.map_err(unavailable)?;
        if keep(k.value()) {
            out.push(decode(v.value())?);
        }
    }
    Ok(out)
}

/// Writes one record, and its audit entry in the same transaction.
pub(super) fn put_one<T: Serialize>(
    txn: &WriteTransaction,
    table: Records,
    key: &str,
    value: &T,
    audit: Option<&AuditEntry>,
) -> Result<(), StoreError> {
    let bytes = encode(value)?;
    let mut t = txn.open_table(table).map_err(unavailable)?;
    t.insert(key, bytes.as_slice()).map_err(unavailable)?;
    if let Some(a) = audit {
        audit::write(txn, &[audit::row(a)?])?;
    }
    Ok(())
}
