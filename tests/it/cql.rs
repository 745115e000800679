//! The CQL node of the test run: found through `KEYWARDEN_TEST_CQL` (HOST:PORT),
//! which `scripts/test` sets after starting a real Cassandra node. Keyspaces are
//! created once per test process; tests use their own licenses and customers.

use std::sync::Arc;

use keywarden::config::CqlSettings;
use keywarden::store::cql::CqlStore;
use tokio::sync::OnceCell;

/// The node's address; a clear failure (never a skip) when it is missing.
pub fn node() -> String {
    std::env::var("KEYWARDEN_TEST_CQL").unwrap_or_else(|_| {
        panic!(
            "KEYWARDEN_TEST_CQL is not set: run the tests with scripts/test, which starts a \
             local Cassandra node (scripts/cql-node start) and sets it to HOST:PORT"
        )
    })
}

static PREFIX: OnceCell<String> = OnceCell::const_new();

/// Settings for this process's keyspaces.
pub fn settings(prefix: &str) -> CqlSettings {
    CqlSettings {
        nodes: vec![node()],
        keyspace_prefix: prefix.into(),
        ..CqlSettings::default()
    }
}

/// The keyspace prefix of this test process, migrated once.
pub async fn prefix() -> String {
    PREFIX.get_or_init(fresh_prefix).await.clone()
}

/// A keyspace prefix of its own, migrated now, for a test whose servers must not
/// see the data other tests write under [`prefix`] at the same time.
pub async fn fresh_prefix() -> String {
    let prefix = format!("kwt{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let cfg = settings(&prefix);
    let session = keywarden::store::cql::connect(&cfg)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the CQL node at {}: {e}", node()));
    keywarden::store::cql::migrate(&session, &prefix, &cfg.replication)
        .await
        .expect("schema applies");
    prefix
}

pub async fn cql_store() -> Arc<dyn keywarden::store::Store> {
    let prefix = prefix().await;
    Arc::new(
        CqlStore::open(&settings(&prefix))
            .await
            .expect("CQL store opens"),
    )
}
