//! `keywarden migrate`: applies `schema.cql` idempotently and records its version;
//! `serve` refuses a keyspace whose schema version this build does not know.

use scylla::client::session::Session;

use super::down;
use crate::domain::Environment;
use crate::store::StoreError;

/// The schema this build reads and writes.
/// Version 2 added `activation_history` (activation history out of the license partition).
/// Version 3 added `admins` (one row per admin account, written with lightweight
/// transactions; the old `portal.admins` secret is copied into it at start).
/// Version 4 added portal sessions, jobs, file chunks and the outbox (any node
/// serves any request).
/// Version 5 added idempotency records and contracts; version 6 the webhook
/// tables; version 7 the daily counts.
pub const SCHEMA_VERSION: i32 = 7;

const SCHEMA: &str = include_str!("../../../schema.cql");

/// The statements of `schema.cql` with placeholders filled, `{env}` ones once per environment.
pub fn statements(prefix: &str, replication: &str) -> Vec<String> {
    let without_comments: String = SCHEMA
        .lines()
        .map(|l| l.split("--").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = Vec::new();
    for stmt in without_comments.split(';') {
        let stmt = stmt.trim();
        if stmt.is_empty() {
            continue;
        }
        let stmt = stmt
            .replace("{prefix}", prefix)
            .replace("{replication}", replication);
        if stmt.contains("{env}") {
            for env in Environment::ALL {
                out.push(stmt.replace("{env}", env.as_str()));
            }
        } else {
            out.push(stmt);
        }
    }
    out
}

/// Applies the schema (safe to run again) and records its version.
pub async fn migrate(
    session: &Session,
    prefix: &str,
    replication: &str,
) -> Result<usize, StoreError> {
    check_prefix(prefix)?;
    let stmts = statements(prefix, replication);
    for s in &stmts {
        session.query_unpaged(s.as_str(), ()).await.map_err(|e| {
            down(format!(
                "applying `{}`: {e}",
                s.lines().next().unwrap_or("")
            ))
        })?;
    }
    add_jobs_version(session, prefix).await?;
    let moved = super::history::move_history(session, prefix).await?;
    if moved > 0 {
        tracing::info!(
            rows = moved,
            "moved activation history out of the license partitions"
        );
    }
    session
        .query_unpaged(
            format!("INSERT INTO {prefix}_global.schema_version (id, version, applied_at) VALUES ('schema', ?, toTimestamp(now()))"),
            (SCHEMA_VERSION,),
        )
        .await
        .map_err(down)?;
    Ok(stmts.len())
}

/// Schema 4 writes `jobs` on a `version` column; keyspaces of earlier releases
/// have the table without it (CREATE TABLE IF NOT EXISTS leaves them as they
/// are), so it is added once (jobs were in memory then: the table is empty).
async fn add_jobs_version(session: &Session, prefix: &str) -> Result<(), StoreError> {
    let found = session
        .query_unpaged(
            "SELECT column_name FROM system_schema.columns WHERE keyspace_name = ? AND table_name = 'jobs' AND column_name = 'version'",
            (format!("{prefix}_global"),),
        )
        .await
        .map_err(down)?
        .into_rows_result()
        .map_err(super::corrupt)?
        .rows_num();
    if found == 0 {
        session
            .query_unpaged(
                format!("ALTER TABLE {prefix}_global.jobs ADD version bigint"),
                (),
            )
            .await
            .map_err(|e| down(format!("adding jobs.version: {e}")))?;
        tracing::info!("added the version column of jobs (schema 4)");
    }
    Ok(())
}

/// Keyspace names are identifiers: letters, digits and underscores.
pub fn check_prefix(prefix: &str) -> Result<(), StoreError> {
    let ok = !prefix.is_empty()
        && prefix.len() <= 32
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        && prefix.starts_with(|c: char| c.is_ascii_alphabetic());
    if ok {
        Ok(())
    } else {
        Err(StoreError::Corrupt(format!(
            "keyspace prefix '{prefix}' must be 1-32 letters, digits or '_', starting with a letter"
        )))
    }
}

/// Refuses to serve a keyspace without a schema, or with one this build does not know.
pub async fn check_version(session: &Session, prefix: &str) -> Result<(), StoreError> {
    check_prefix(prefix)?;
    let missing = || {
        StoreError::Corrupt(format!(
            "keyspace {prefix}_global holds no Keywarden schema: run `keywarden migrate` first"
        ))
    };
    let result = session
        .query_unpaged(
            format!("SELECT version FROM {prefix}_global.schema_version WHERE id = 'schema'"),
            (),
        )
        .await;
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            let msg = e.to_string();
            if msg.contains("does not exist")
                || msg.contains("unconfigured table")
                || msg.contains("Keyspace")
            {
                return Err(missing());
            }
            return Err(down(msg));
        }
    };
    let rows = result.into_rows_result().map_err(super::corrupt)?;
    let version = rows
        .maybe_first_row::<(Option<i32>,)>()
        .map_err(super::corrupt)?
        .and_then(|r| r.0)
        .ok_or_else(missing)?;
    if version != SCHEMA_VERSION {
        return Err(StoreError::Corrupt(format!(
            "keyspace {prefix}_global has schema version {version}; this build knows only version {SCHEMA_VERSION}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_expands_per_environment_without_comments() {
        let s = statements("kw", "{'class': 'SimpleStrategy', 'replication_factor': 1}");
        assert!(s
            .iter()
            .any(|x| x.starts_with("CREATE TABLE IF NOT EXISTS kw_production.licenses")));
        assert!(s
            .iter()
            .any(|x| x.starts_with("CREATE TABLE IF NOT EXISTS kw_staging.licenses")));
        assert!(s
            .iter()
            .all(|x| !x.contains("--") && !x.contains('{') || x.contains("'class'")));
        assert!(s.iter().all(|x| !x.contains("ALLOW FILTERING")));
    }

    #[test]
    fn prefixes_must_be_identifiers() {
        assert!(check_prefix("keywarden").is_ok());
        assert!(check_prefix("kw_test_1").is_ok());
        for bad in ["", "1kw", "kw-test", "kw;drop", &"k".repeat(33)] {
            assert!(check_prefix(bad).is_err(), "{bad}");
        }
    }
}
