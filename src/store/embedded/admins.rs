//! Admin accounts of the embedded store: one row per admin in the global file,
//! keyed by id; the version check and the write are one write transaction.

use redb::WriteTransaction;
use uuid::Uuid;

use super::tables::{decoded, encode, unavailable, ADMINS};
use crate::domain::AdminUser;
use crate::store::StoreError;

/// Writes `admin` if the stored row matches `expected` (`None` = no row yet).
pub(super) fn put(
    txn: &WriteTransaction,
    admin: &AdminUser,
    expected: Option<u64>,
) -> Result<AdminUser, StoreError> {
    let id = admin.id.to_string();
    let mut stored = admin.clone();
    stored.version = expected.map_or(1, |v| v + 1);
    let bytes = encode(&stored)?;
    let mut t = txn.open_table(ADMINS).map_err(unavailable)?;
    let found: Option<AdminUser> = decoded(&t, &id)?;
    if found.map(|f| f.version) != expected {
        return Err(StoreError::admin_moved(admin.id));
    }
    t.insert(id.as_str(), bytes.as_slice())
        .map_err(unavailable)?;
    Ok(stored)
}

/// Deletes the row of `id` if its stored version is `expected`.
pub(super) fn delete(txn: &WriteTransaction, id: Uuid, expected: u64) -> Result<(), StoreError> {
    let key = id.to_string();
    let mut t = txn.open_table(ADMINS).map_err(unavailable)?;
    let found: Option<AdminUser> = decoded(&t, &key)?;
    if found.map(|f| f.version) != Some(expected) {
        return Err(StoreError::admin_moved(id));
    }
    t.remove(key.as_str()).map_err(unavailable)?;
    Ok(())
}
