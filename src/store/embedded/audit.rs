//! The audit log of the embedded store: entries in time order, plus a per-license
//! index so one license's history is a range read. Entries are written in the
//! transaction of the change they describe. The index rows live in the licenses
//! table, beside their license (format 2, see `tables::is_license`); files of
//! format 1 had them in a table of their own, moved over once at open.

use redb::{Database, ReadableTable, WriteTransaction};

use super::tables::{
    decode, encode, is_license, unavailable, AUDIT, AUDIT_BY_LICENSE, LICENSES, LICENSE_COUNT, META,
};
use crate::domain::AuditEntry;
use crate::store::{AuditCursor, AuditQuery, StoreError};

/// An audit entry ready to write: its key, bytes and license.
pub(super) struct AuditRow {
    key: String,
    bytes: Vec<u8>,
    license: Option<String>,
}

fn audit_key(e: &AuditEntry) -> String {
    cursor_key(&AuditCursor::of(e))
}

/// The key of the position `c` (keys sort as the log's order).
fn cursor_key(c: &AuditCursor) -> String {
    let nanos = c.at.timestamp_nanos_opt().unwrap_or_default().max(0);
    format!("{nanos:020}-{}", c.id)
}

/// Encodes an entry before the transaction (off the blocking thread's critical part).
pub(super) fn row(e: &AuditEntry) -> Result<AuditRow, StoreError> {
    Ok(AuditRow {
        key: audit_key(e),
        bytes: encode(e)?,
        license: e.license_key.clone(),
    })
}

fn index_key(license: &str, audit_key: &str) -> String {
    format!("{license}\u{1}{audit_key}")
}

/// Writes audit entries and their per-license index in the caller's transaction.
pub(super) fn write(txn: &WriteTransaction, rows: &[AuditRow]) -> Result<(), StoreError> {
    let mut at = txn.open_table(AUDIT).map_err(unavailable)?;
    let mut ix = txn.open_table(LICENSES).map_err(unavailable)?;
    for r in rows {
        at.insert(r.key.as_str(), r.bytes.as_slice())
            .map_err(unavailable)?;
        if let Some(l) = &r.license {
            ix.insert(index_key(l, &r.key).as_str(), &[][..])
                .map_err(unavailable)?;
        }
    }
    Ok(())
}

/// Moves a format-1 file's audit index into the licenses table and counts its
/// licenses (once per file); how many index rows moved.
pub(super) fn colocate_index(txn: &WriteTransaction) -> Result<usize, StoreError> {
    let mut meta = txn.open_table(META).map_err(unavailable)?;
    if meta.get(LICENSE_COUNT).map_err(unavailable)?.is_some() {
        return Ok(0);
    }
    let mut licenses = txn.open_table(LICENSES).map_err(unavailable)?;
    let mut count = 0u64;
    for row in licenses.iter().map_err(unavailable)? {
        count += u64::from(is_license(row.map_err(unavailable)?.0.value()));
    }
    // Row by row (an audit log of millions of entries is not held in memory).
    let ix = txn.open_table(AUDIT_BY_LICENSE).map_err(unavailable)?;
    let mut moved = 0;
    for row in ix.iter().map_err(unavailable)? {
        let (k, _) = row.map_err(unavailable)?;
        licenses.insert(k.value(), &[][..]).map_err(unavailable)?;
        moved += 1;
    }
    drop((ix, licenses));
    txn.delete_table(AUDIT_BY_LICENSE).map_err(unavailable)?;
    meta.insert(LICENSE_COUNT, count).map_err(unavailable)?;
    Ok(moved)
}

/// Builds the per-license audit index of a file written before it existed (once).
pub(super) fn backfill_index(txn: &WriteTransaction) -> Result<(), StoreError> {
    let mut meta = txn.open_table(META).map_err(unavailable)?;
    if meta.get("audit_by_license").map_err(unavailable)?.is_some() {
        return Ok(());
    }
    let at = txn.open_table(AUDIT).map_err(unavailable)?;
    let mut ix = txn.open_table(AUDIT_BY_LICENSE).map_err(unavailable)?;
    for row in at.iter().map_err(unavailable)? {
        let (k, v) = row.map_err(unavailable)?;
        let e: AuditEntry = decode(v.value())?;
        if let Some(l) = &e.license_key {
            ix.insert(index_key(l, k.value()).as_str(), ())
                .map_err(unavailable)?;
        }
    }
    meta.insert("audit_by_license", 1).map_err(unavailable)?;
    Ok(())
}

/// Entries matching `q`, newest first: a range of the log (or of one
/// license's index) read backwards from `q.before`, stopping at `q.from`.
pub(super) fn list(db: &Database, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
    let txn = db.begin_read().map_err(unavailable)?;
    let t = txn.open_table(AUDIT).map_err(unavailable)?;
    let end = q.before.as_ref().map(cursor_key);
    let mut out = Vec::new();
    // Whether to read on.
    let mut take = |e: AuditEntry| {
        if q.past_start(&e) {
            return false;
        }
        if q.keeps(&e) {
            out.push(e);
        }
        out.len() < q.wanted()
    };
    if let Some(license) = &q.license_key {
        // One license's history: a range of the index, newest first.
        let ix = txn.open_table(LICENSES).map_err(unavailable)?;
        let lo = format!("{license}\u{1}");
        let hi = match &end {
            Some(k) => index_key(license, k),
            None => format!("{license}\u{2}"),
        };
        for row in ix
            .range(lo.as_str()..hi.as_str())
            .map_err(unavailable)?
            .rev()
        {
            let (k, _) = row.map_err(unavailable)?;
            let Some(v) = t.get(&k.value()[lo.len()..]).map_err(unavailable)? else {
                continue;
            };
            if !take(decode(v.value())?) {
                break;
            }
        }
    } else {
        let rows = match &end {
            Some(k) => t.range(..k.as_str()).map_err(unavailable)?,
            None => t.iter().map_err(unavailable)?,
        };
        for row in rows.rev() {
            let (_, v) = row.map_err(unavailable)?;
            if !take(decode(v.value())?) {
                break;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "audit_tests.rs"]
mod tests;
