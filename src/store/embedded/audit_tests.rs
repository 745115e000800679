//! Format 1 → 2: a data folder written by the previous release (audit index in
//! a table of its own) opens with its index beside the licenses, counted, once.

use chrono::{Duration, Utc};
use redb::TableDefinition;

use super::{index_key, row};
use crate::domain::{AuditEntry, Environment, License};
use crate::store::{AuditQuery, LicenseSink, Store};

use super::super::tables::{AUDIT, AUDIT_BY_LICENSE, LICENSES, META};

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

fn license(key: &str) -> License {
    let mut l = super::super::history::tests::old_license();
    l.key = crate::domain::LicenseKey::parse(key).unwrap();
    l.activations.clear();
    l
}

#[actix_rt::test]
async fn a_format_one_audit_index_moves_beside_the_licenses() {
    let dir = tempfile::tempdir().unwrap();
    let keys = ["OLD-AUD-0001", "OLD-AUD-00010"];
    let t0 = Utc::now() - Duration::hours(1);
    {
        let db = redb::Database::create(dir.path().join("production.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut meta = txn.open_table(META).unwrap();
            meta.insert("format_version", 1).unwrap();
            meta.insert("audit_by_license", 1).unwrap();
            meta.insert("activation_history", 1).unwrap();
            let mut t = txn.open_table(LICENSES).unwrap();
            let mut log = txn.open_table(AUDIT).unwrap();
            let ix_def: TableDefinition<&str, ()> = AUDIT_BY_LICENSE;
            let mut ix = txn.open_table(ix_def).unwrap();
            for (i, k) in keys.iter().enumerate() {
                let bytes = rmp_serde::to_vec_named(&license(k)).unwrap();
                t.insert(*k, bytes.as_slice()).unwrap();
                for n in 0..2 {
                    let at = t0 + Duration::seconds((i * 10 + n) as i64);
                    let e = AuditEntry::new("admin", format!("edit.{n}"), Some(k), at);
                    let r = row(&e).unwrap();
                    log.insert(r.key.as_str(), r.bytes.as_slice()).unwrap();
                    ix.insert(index_key(k, &r.key).as_str(), ()).unwrap();
                }
            }
        }
        txn.commit().unwrap();
    }
    for _ in 0..2 {
        // Opening twice moves nothing twice.
        let store = crate::store::embedded::EmbeddedStore::open(dir.path(), 4).unwrap();
        let env = Environment::Production;
        let mut seen = Seen::default();
        store.scan_licenses(env, &mut seen).await.unwrap();
        assert_eq!(seen.total, Some(2), "licenses counted, not index rows");
        assert_eq!(seen.keys, keys);
        let q = AuditQuery {
            license_key: Some(keys[0].into()),
            ..Default::default()
        };
        let actions: Vec<String> = store
            .list_audit(env, &q)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(
            actions,
            ["edit.1", "edit.0"],
            "only that license's, newest first"
        );
        let all = store.list_licenses(env, &Default::default()).await.unwrap();
        assert_eq!(all.total, 2);
        drop(store);
    }
    let db = redb::Database::create(dir.path().join("production.redb")).unwrap();
    let txn = db.begin_read().unwrap();
    let meta = txn.open_table(META).unwrap();
    assert_eq!(meta.get("format_version").unwrap().unwrap().value(), 2);
    let gone = txn.open_table(AUDIT_BY_LICENSE);
    assert!(gone.is_err(), "the format-1 index table is removed");
}
