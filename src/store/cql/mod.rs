//! The ScyllaDB store (also runs on Apache Cassandra 5): the tables of `schema.cql`,
//! prepared statements only, token-aware routing (the driver's default), LOCAL_QUORUM
//! reads and writes and SERIAL for conditional writes (configurable).
//!
//! A license and its activations are one partition: license fields are static
//! columns, each activation a clustering row. Every license change is one
//! conditional batch on that partition guarded by `version`, so an activation
//! limit holds across nodes. Index tables, audit and the change log are written
//! after the conditional batch commits.

mod admins;
mod audit;
mod changes;
mod contracts;
mod counts;
mod customers;
mod files;
mod history;
mod idempotency;
mod indexes;
mod jobs;
mod last_seen;
mod license_writes;
mod licenses;
mod mail;
mod migrate;
mod ops;
mod rows;
mod secrets;
mod sessions;
mod statements;
mod webhooks;

pub use migrate::{migrate, SCHEMA_VERSION};

use std::sync::Arc;
use std::time::{Duration, Instant};

use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::response::query_result::{QueryResult, QueryRowsResult};
use scylla::serialize::row::SerializeRow;
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::{Consistency, SerialConsistency};

use futures_util::future::join_all;

use super::StoreError;
use crate::config::CqlSettings;
use crate::domain::Environment;
use statements::EnvStatements;

/// Parallel requests for multi-partition work (bulk inserts, flushes).
const FANOUT: usize = 32;

/// Runs `f` on every item, `FANOUT` at a time; stops after the first chunk with
/// an error and returns the first error of that chunk.
async fn fan_out<'a, T, F, Fut>(items: &'a [T], f: F) -> Result<(), StoreError>
where
    F: Fn(&'a T) -> Fut,
    Fut: std::future::Future<Output = Result<(), StoreError>>,
{
    for chunk in items.chunks(FANOUT) {
        let done = join_all(chunk.iter().map(&f)).await;
        done.into_iter().collect::<Result<Vec<()>, StoreError>>()?;
    }
    Ok(())
}

/// `Store` on the `scylla` driver.
pub struct CqlStore {
    session: Arc<Session>,
    global: statements::GlobalStatements,
    production: EnvStatements,
    staging: EnvStatements,
    /// The portal sessions' statements (global keyspace).
    session_statements: sessions::SessionStatements,
    /// Product files (issue 12 item 3).
    files: files::FileStatements,
    /// The outbox (issue 12 item 3).
    mail: mail::MailStatements,
    /// Statements of the background job tables (`jobs.rs`).
    jobs: jobs::JobStatements,
    /// `Idempotency-Key` records (issue 14 part 3).
    idempotency: idempotency::IdempotencyStatements,
    /// Contracts (issue 14 part 3).
    contracts: contracts::ContractStatements,
    webhooks: webhooks::WebhookStatements,
    /// Daily counts (issue 15 item 8).
    counts: counts::CountStatements,
    /// This process's id in the change log, so it skips its own changes.
    pub node_id: String,
}

/// Maps any driver error to `Unavailable` (the caller answers 503 and may retry).
pub(crate) fn down(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("CQL: {e}"))
}

pub(crate) fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("CQL row: {e}"))
}

/// Opens a session with the configured consistency, timeouts and credentials.
pub async fn connect(cfg: &CqlSettings) -> Result<Session, StoreError> {
    let consistency = match cfg.consistency.as_str() {
        "one" => Consistency::One,
        "quorum" => Consistency::Quorum,
        "local_one" => Consistency::LocalOne,
        "all" => Consistency::All,
        _ => Consistency::LocalQuorum,
    };
    let serial = match cfg.serial_consistency.as_str() {
        "local_serial" => SerialConsistency::LocalSerial,
        _ => SerialConsistency::Serial,
    };
    let profile = ExecutionProfile::builder()
        .consistency(consistency)
        .serial_consistency(Some(serial))
        .request_timeout(Some(Duration::from_millis(cfg.request_timeout_ms)))
        .build();
    let mut builder = SessionBuilder::new()
        .known_nodes(&cfg.nodes)
        .connection_timeout(Duration::from_millis(cfg.connect_timeout_ms))
        .default_execution_profile_handle(profile.into_handle());
    if !cfg.username.is_empty() {
        builder = builder.user(cfg.username.clone(), cfg.password.clone());
    }
    if cfg.tls {
        builder = builder.tls_context(Some(tls_context(cfg)?));
    }
    builder.build().await.map_err(|e| {
        StoreError::Unavailable(format!(
            "cannot connect to the CQL nodes {}: {e}",
            cfg.nodes.join(", ")
        ))
    })
}

/// The OpenSSL context for `store.cql.tls`; a bad CA file is a clear start-up error.
fn tls_context(cfg: &CqlSettings) -> Result<openssl::ssl::SslContext, StoreError> {
    use openssl::ssl::{SslContextBuilder, SslMethod, SslVerifyMode};
    let bad =
        |e: openssl::error::ErrorStack| StoreError::Unavailable(format!("store.cql TLS: {e}"));
    let mut b = SslContextBuilder::new(SslMethod::tls()).map_err(bad)?;
    if cfg.tls_ca_file.is_empty() {
        b.set_default_verify_paths().map_err(bad)?;
    } else {
        if !std::path::Path::new(&cfg.tls_ca_file).is_file() {
            return Err(StoreError::Unavailable(format!(
                "store.cql.tls_ca_file: no such file {}",
                cfg.tls_ca_file
            )));
        }
        b.set_ca_file(&cfg.tls_ca_file).map_err(|e| {
            StoreError::Unavailable(format!("store.cql.tls_ca_file {}: {e}", cfg.tls_ca_file))
        })?;
    }
    b.set_verify(if cfg.tls_verify {
        SslVerifyMode::PEER
    } else {
        SslVerifyMode::NONE
    });
    Ok(b.build())
}

impl CqlStore {
    /// Connects, checks the schema version and prepares every statement.
    pub async fn open(cfg: &CqlSettings) -> Result<CqlStore, StoreError> {
        let session = Arc::new(connect(cfg).await?);
        migrate::check_version(&session, &cfg.keyspace_prefix).await?;
        let prefix = &cfg.keyspace_prefix;
        Ok(CqlStore {
            global: statements::GlobalStatements::prepare(&session, prefix).await?,
            production: EnvStatements::prepare(&session, prefix, Environment::Production).await?,
            staging: EnvStatements::prepare(&session, prefix, Environment::Staging).await?,
            session_statements: sessions::SessionStatements::prepare(&session, prefix).await?,
            files: files::FileStatements::prepare(&session, prefix).await?,
            mail: mail::MailStatements::prepare(&session, prefix).await?,
            idempotency: idempotency::IdempotencyStatements::prepare(&session, prefix).await?,
            contracts: contracts::ContractStatements::prepare(&session, prefix).await?,
            webhooks: webhooks::WebhookStatements::prepare(&session, prefix).await?,
            counts: counts::CountStatements::prepare(&session, prefix).await?,
            jobs: jobs::JobStatements::prepare(&session, prefix).await?,
            session,
            node_id: uuid::Uuid::new_v4().to_string(),
        })
    }

    pub(super) fn env(&self, env: Environment) -> &EnvStatements {
        match env {
            Environment::Production => &self.production,
            Environment::Staging => &self.staging,
        }
    }

    /// Times a store call and keeps the up/down gauge and error counter true.
    async fn timed<T>(
        &self,
        op: &'static str,
        f: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let result = f.await;
        super::observe("cql", op, started, &result);
        result
    }

    /// Runs one prepared statement; a driver error is `Unavailable`.
    async fn execute(
        &self,
        stmt: &PreparedStatement,
        values: impl SerializeRow,
    ) -> Result<QueryResult, StoreError> {
        self.session
            .execute_unpaged(stmt, values)
            .await
            .map_err(down)
    }

    /// Runs one statement whose answer holds nothing to read (plain writes).
    async fn exec(
        &self,
        stmt: &PreparedStatement,
        values: impl SerializeRow,
    ) -> Result<(), StoreError> {
        self.execute(stmt, values).await.map(drop)
    }

    /// Runs one statement and returns its rows.
    async fn rows(
        &self,
        stmt: &PreparedStatement,
        values: impl SerializeRow,
    ) -> Result<QueryRowsResult, StoreError> {
        let result = self.execute(stmt, values).await?;
        result.into_rows_result().map_err(corrupt)
    }
}
