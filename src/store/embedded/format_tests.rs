//! Format 2 → 3: a data folder as format 2 kept it (the licenses table keyed
//! by `&str`) opens with every row moved to the byte-compared table, once, and
//! answers as before; the key type orders exactly as `&str` did.

use std::cmp::Ordering;
use std::path::Path;

use chrono::Utc;
use redb::{Key, ReadableTable, ReadableTableMetadata, TableHandle};

use super::super::tables::{TextKey, LICENSES, LICENSES_BEFORE_3, META};
use super::super::EmbeddedStore;
use crate::domain::{AuditEntry, Environment, License, LicenseKey};
use crate::store::{AuditQuery, LicenseSink, LicenseWrite, Store};

#[derive(Default)]
struct Seen {
    total: Option<u64>,
    keys: Vec<String>,
}

impl LicenseSink for Seen {
    fn expect(&mut self, total: u64) {
        self.total = Some(total);
    }
    fn batch(&mut self, licenses: Vec<License>) {
        self.keys
            .extend(licenses.into_iter().map(|l| l.key.as_str().to_owned()));
    }
}

/// Puts a file back the way format 2 kept it: the same rows (as this build's
/// write path encodes them, which format 3 did not change) under the `&str`
/// table, `format_version` 2. Returns how many rows.
fn back_to_format_2(path: &Path) -> u64 {
    let db = redb::Database::create(path).unwrap();
    let txn = db.begin_write().unwrap();
    let mut rows = 0;
    {
        let new = txn.open_table(LICENSES).unwrap();
        let mut old = txn.open_table(LICENSES_BEFORE_3).unwrap();
        for row in new.iter().unwrap() {
            let (k, v) = row.unwrap();
            old.insert(k.value(), v.value()).unwrap();
            rows += 1;
        }
        let mut meta = txn.open_table(META).unwrap();
        meta.insert("format_version", 2).unwrap();
    }
    txn.delete_table(LICENSES).unwrap();
    txn.commit().unwrap();
    rows
}

/// The tables of a file and its format version.
fn tables_and_version(path: &Path) -> (Vec<String>, u64, u64) {
    let db = redb::Database::create(path).unwrap();
    let txn = db.begin_read().unwrap();
    let names = txn.list_tables().unwrap().map(|t| t.name().to_owned());
    let meta = txn.open_table(META).unwrap();
    let version = meta.get("format_version").unwrap().unwrap().value();
    let rows = txn.open_table(LICENSES).map_or(0, |t| t.len().unwrap());
    (names.collect(), version, rows)
}

fn license(i: usize) -> License {
    let mut l = super::super::history::tests::old_license();
    l.key = LicenseKey::parse(&format!("FMT3-{i:05}")).unwrap();
    l
}

#[actix_rt::test]
async fn a_format_two_folder_moves_to_byte_compared_keys_once() {
    let dir = tempfile::tempdir().unwrap();
    let env = Environment::Production;
    let licenses: Vec<License> = (0..300).map(license).collect();
    {
        let store = EmbeddedStore::open(dir.path(), 4).unwrap();
        let created: Vec<AuditEntry> = (licenses.iter())
            .map(|l| AuditEntry::new("admin", "license.create", Some(l.key.as_str()), Utc::now()))
            .collect();
        store
            .insert_licenses(env, &licenses, &created)
            .await
            .unwrap();
        // A second audit row for one license, through the compare-and-set path.
        let mut changed = licenses[7].clone();
        changed.version += 1;
        let edit = AuditEntry::new(
            "admin",
            "license.edit",
            Some(changed.key.as_str()),
            Utc::now(),
        );
        let write = LicenseWrite {
            license: &changed,
            expected_version: licenses[7].version,
            touched: &[],
            audit: &edit,
        };
        store.update_license(env, write).await.unwrap();
        Store::close(&store).await;
    }
    let file = dir.path().join("production.redb");
    let rows = back_to_format_2(&file);
    assert!(rows > 300, "licenses and their audit index rows: {rows}");

    for _ in 0..2 {
        // Opening twice moves nothing twice.
        let store = EmbeddedStore::open(dir.path(), 4).unwrap();
        for l in licenses.iter().step_by(13) {
            let got = store.get_license(env, &l.key).await.unwrap().unwrap();
            assert_eq!(got.key, l.key);
        }
        let seven = store.get_license(env, &licenses[7].key).await.unwrap();
        assert_eq!(seven.unwrap().version, licenses[7].version + 1);
        let unknown = LicenseKey::parse("FMT3-99999").unwrap();
        assert!(store.get_license(env, &unknown).await.unwrap().is_none());
        let mut seen = Seen::default();
        store.scan_licenses(env, &mut seen).await.unwrap();
        assert_eq!(seen.total, Some(300), "licenses counted, not index rows");
        let keys: Vec<String> = licenses.iter().map(|l| l.key.as_str().into()).collect();
        assert_eq!(seen.keys, keys, "every license, in key order");
        let q = AuditQuery {
            license_key: Some(licenses[7].key.as_str().into()),
            ..Default::default()
        };
        let actions: Vec<String> = (store.list_audit(env, &q).await.unwrap())
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(actions, ["license.edit", "license.create"]);
        Store::close(&store).await;
        drop(store);
        let (tables, version, moved) = tables_and_version(&file);
        assert_eq!(version, super::super::FORMAT_VERSION);
        assert!(!tables.contains(&"licenses".to_owned()), "{tables:?}");
        assert_eq!(moved, rows, "every row moved, none twice");
    }
}

/// Byte order is `&str` order for any UTF-8 (so format 3 sorts the rows, and
/// answers ranges, exactly as format 2 did).
#[test]
fn text_keys_order_like_str() {
    let words = [
        "",
        "A",
        "AB",
        "B",
        "FMT3-00001",
        "FMT3-00001\u{1}x",
        "FMT3-00001\u{2}",
        "FMT3-0001",
        "a",
        "é",
        "ß",
        "\u{10FFFF}",
        "日本",
    ];
    for a in words {
        for b in words {
            let want: Ordering = a.cmp(b);
            assert_eq!(
                TextKey::compare(a.as_bytes(), b.as_bytes()),
                want,
                "{a:?} {b:?}"
            );
        }
    }
}
