//! Activation history of the embedded store: deactivated activations as rows of
//! their own (`"{license key}\u{1}{nanos:020}-{id}"` → MessagePack), written in
//! the same transaction as the license change that ended them. The license record
//! keeps only active activations, so its size — and the cost of every write —
//! does not depend on how many devices came and went before.

use redb::ReadableTable;

use super::tables::{decode, encode, unavailable, ACTIVATION_HISTORY, LICENSES, META};
use crate::domain::{Activation, License};
use crate::store::StoreError;

/// First key of a license's history rows; every row of it starts with this.
fn prefix(license: &str) -> String {
    format!("{license}\u{1}")
}

fn row_key(license: &str, a: &Activation) -> String {
    let at = a.deactivated_at.unwrap_or(a.activated_at);
    let nanos = at.timestamp_nanos_opt().unwrap_or_default().max(0);
    format!("{}{nanos:020}-{}", prefix(license), a.id)
}

/// A license ready to write: its key, its record (active activations only,
/// encoded) and the history rows it sheds.
pub(super) struct SplitRecord {
    pub key: String,
    pub bytes: Vec<u8>,
    pub history: Vec<Activation>,
}

impl SplitRecord {
    pub(super) fn of(license: &License) -> Result<Self, StoreError> {
        let mut record = license.clone();
        let history = record.retire_deactivated();
        Ok(SplitRecord {
            key: license.key.as_str().to_owned(),
            bytes: encode(&record)?,
            history,
        })
    }
}

/// Writes history rows in the caller's transaction.
pub(super) fn write(
    txn: &redb::WriteTransaction,
    license: &str,
    rows: &[Activation],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut t = txn.open_table(ACTIVATION_HISTORY).map_err(unavailable)?;
    for a in rows {
        let bytes = encode(a)?;
        t.insert(row_key(license, a).as_str(), bytes.as_slice())
            .map_err(unavailable)?;
    }
    Ok(())
}

/// Removes a license's history (the license was deleted).
pub(super) fn remove(txn: &redb::WriteTransaction, license: &str) -> Result<(), StoreError> {
    let mut t = txn.open_table(ACTIVATION_HISTORY).map_err(unavailable)?;
    let start = prefix(license);
    let end = format!("{license}\u{2}");
    let keys: Vec<String> = t
        .range(start.as_str()..end.as_str())
        .map_err(unavailable)?
        .map(|r| r.map(|(k, _)| k.value().to_owned()))
        .collect::<Result<_, _>>()
        .map_err(unavailable)?;
    for k in keys {
        t.remove(k.as_str()).map_err(unavailable)?;
    }
    Ok(())
}

/// One page of a license's history, newest first.
pub(super) fn page(
    db: &redb::Database,
    license: &str,
    page: u32,
    per_page: u32,
) -> Result<Vec<Activation>, StoreError> {
    let txn = db.begin_read().map_err(unavailable)?;
    let t = txn.open_table(ACTIVATION_HISTORY).map_err(unavailable)?;
    let start = prefix(license);
    let end = format!("{license}\u{2}");
    let skip = (page.max(1) as usize - 1) * per_page as usize;
    let mut out = Vec::new();
    for row in t
        .range(start.as_str()..end.as_str())
        .map_err(unavailable)?
        .rev()
        .skip(skip)
        .take(per_page as usize)
    {
        let (_, v) = row.map_err(unavailable)?;
        out.push(decode(v.value())?);
    }
    Ok(out)
}

/// Moves the history out of license records written before history had rows of
/// its own (once per file; a release that kept history inside the record wrote
/// them). Returns how many records were rewritten.
pub(super) fn migrate(txn: &redb::WriteTransaction) -> Result<usize, StoreError> {
    let mut meta = txn.open_table(META).map_err(unavailable)?;
    if meta
        .get("activation_history")
        .map_err(unavailable)?
        .is_some()
    {
        return Ok(0);
    }
    txn.open_table(ACTIVATION_HISTORY).map_err(unavailable)?;
    let mut licenses = txn.open_table(LICENSES).map_err(unavailable)?;
    let mut moved: Vec<SplitRecord> = Vec::new();
    for row in licenses.iter().map_err(unavailable)? {
        let (k, v) = row.map_err(unavailable)?;
        if !super::tables::is_license(k.value()) {
            continue;
        }
        let l: License = decode(v.value())?;
        if l.activations.iter().any(|a| !a.is_active()) {
            moved.push(SplitRecord {
                key: k.value().to_owned(),
                ..SplitRecord::of(&l)?
            });
        }
    }
    for r in &moved {
        licenses
            .insert(r.key.as_str(), r.bytes.as_slice())
            .map_err(unavailable)?;
        write(txn, &r.key, &r.history)?;
    }
    meta.insert("activation_history", 1).map_err(unavailable)?;
    Ok(moved.len())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::domain::{
        ActivationKind, ActivationLimit, ActivationStatus, Environment, Identifier, LicenseKey,
        LicenseStatus,
    };
    use crate::store::Store;
    use chrono::Utc;

    pub(crate) fn old_license() -> License {
        let now = Utc::now();
        let act = |name: &str, active: bool| {
            let mut a = Activation::new(
                Identifier::parse(name).unwrap(),
                ActivationKind::Hwid,
                now,
                None,
            );
            if !active {
                a.status = ActivationStatus::Deactivated;
                a.deactivated_at = Some(now);
            }
            a
        };
        License {
            key: LicenseKey::parse("OLD-REL-0001").unwrap(),
            environment: Environment::Production,
            product_id: uuid::Uuid::nil(),
            generator_id: None,
            customer_id: None,
            status: LicenseStatus::Active,
            activation_limit: ActivationLimit::new(5).unwrap(),
            expires_at: None,
            validity_days: None,
            feature_flags: Default::default(),
            metadata: Default::default(),
            ever_activated: true,
            flagged: false,
            abuse_case: None,
            version: 7,
            created_at: now,
            updated_at: now,
            activations: vec![
                act("gone-1", false),
                act("here", true),
                act("gone-2", false),
            ],
            eligibility: Default::default(),
        }
    }

    /// A data folder written by the previous release (history inside the license
    /// record, no history table) opens with the history moved out, once.
    #[actix_rt::test]
    async fn a_previous_release_data_folder_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = redb::Database::create(dir.path().join("production.redb")).unwrap();
            let txn = db.begin_write().unwrap();
            {
                let mut meta = txn.open_table(META).unwrap();
                meta.insert("format_version", 1).unwrap();
                meta.insert("audit_by_license", 1).unwrap();
                let mut t = txn.open_table(LICENSES).unwrap();
                let bytes = rmp_serde::to_vec_named(&old_license()).unwrap();
                t.insert("OLD-REL-0001", bytes.as_slice()).unwrap();
            }
            txn.commit().unwrap();
        }
        let store = crate::store::embedded::EmbeddedStore::open(dir.path(), 4).unwrap();
        let key = LicenseKey::parse("OLD-REL-0001").unwrap();
        let env = Environment::Production;
        let l = store.get_license(env, &key).await.unwrap().unwrap();
        assert_eq!(l.version, 7);
        let names: Vec<&str> = l
            .activations
            .iter()
            .map(|a| a.identifier.as_str())
            .collect();
        assert_eq!(names, ["here"]);
        let h = store.activation_history(env, &key, 1, 10).await.unwrap();
        assert_eq!(h.len(), 2);
        drop(store);
        // Opening again moves nothing twice.
        let store = crate::store::embedded::EmbeddedStore::open(dir.path(), 4).unwrap();
        assert_eq!(
            store
                .activation_history(env, &key, 1, 10)
                .await
                .unwrap()
                .len(),
            2
        );
    }
}
