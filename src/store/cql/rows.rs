//! Records in and out of CQL rows: MessagePack blobs, the license partition
//! (static license columns plus one clustering row per activation) rebuilt into
//! a `License`, and the answer of a conditional write.

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use scylla::response::query_result::QueryResult;
use scylla::serialize::row::SerializeRow;
use scylla::statement::prepared::PreparedStatement;
use scylla::value::{CqlValue, Row};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{corrupt, down, CqlStore};
use crate::domain::{Activation, License};
use crate::store::StoreError;

pub(super) fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, StoreError> {
    rmp_serde::to_vec_named(v).map_err(corrupt)
}

pub(super) fn decode<T: DeserializeOwned>(b: &[u8]) -> Result<T, StoreError> {
    rmp_serde::from_slice(b).map_err(corrupt)
}

/// The license fields without activations (those are clustering rows).
pub(super) fn body(l: &License) -> Result<Vec<u8>, StoreError> {
    let mut head = l.clone();
    head.activations = Vec::new();
    encode(&head)
}

/// Whether a conditional statement or batch was applied.
pub(super) fn applied(result: QueryResult) -> Result<bool, StoreError> {
    let rows = result.into_rows_result().map_err(corrupt)?;
    let row: Option<Row> = rows.maybe_first_row::<Row>().map_err(corrupt)?;
    Ok(matches!(
        row.and_then(|r| r.columns.into_iter().next()).flatten(),
        Some(CqlValue::Boolean(true))
    ))
}

/// The non-null blobs of a one-column answer.
pub(super) fn blobs(result: QueryResult) -> Result<Vec<Vec<u8>>, StoreError> {
    let rows = result.into_rows_result().map_err(corrupt)?;
    let mut out = Vec::new();
    for r in rows.rows::<(Option<Vec<u8>>,)>().map_err(corrupt)? {
        if let (Some(b),) = r.map_err(corrupt)? {
            out.push(b);
        }
    }
    Ok(out)
}

/// One row of a license partition: version and body (static), activation and its last_seen.
pub(super) type LicenseRow = (
    Option<i64>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<DateTime<Utc>>,
);

/// Rebuilds a license from its partition's rows.
pub(super) fn assemble(rows: Vec<LicenseRow>) -> Result<Option<License>, StoreError> {
    let Some(head) = rows.iter().find_map(|r| r.1.as_ref()) else {
        return Ok(None);
    };
    let mut license: License = decode(head)?;
    if let Some(v) = rows.iter().find_map(|r| r.0) {
        license.version = v as u64;
    }
    for (_, _, act, seen) in &rows {
        if let Some(a) = act {
            let mut a: Activation = decode(a)?;
            if !a.is_active() {
                // History lives in activation_history (a row `migrate` has not moved yet).
                continue;
            }
            if let Some(s) = seen {
                if a.last_seen.is_none_or(|prev| prev < *s) {
                    a.last_seen = Some(*s);
                }
            }
            license.activations.push(a);
        }
    }
    license.activations.sort_by_key(|a| (a.activated_at, a.id));
    Ok(Some(license))
}

impl CqlStore {
    /// The record in the first row's blob column, if any (one-row lookups).
    pub(super) async fn one_blob<T: DeserializeOwned>(
        &self,
        op: &'static str,
        stmt: &PreparedStatement,
        values: impl SerializeRow,
    ) -> Result<Option<T>, StoreError> {
        self.timed(op, async {
            let r = self.execute(stmt, values).await?;
            blobs(r)?.first().map(|b| decode(b)).transpose()
        })
        .await
    }

    /// Every record of a blob column, paged from the driver.
    pub(super) async fn all_blobs<T: DeserializeOwned>(
        &self,
        stmt: &PreparedStatement,
        values: impl SerializeRow,
    ) -> Result<Vec<T>, StoreError> {
        let pager = self
            .session
            .execute_iter(stmt.clone(), values)
            .await
            .map_err(down)?;
        let mut stream = pager.rows_stream::<(Option<Vec<u8>>,)>().map_err(corrupt)?;
        let mut out = Vec::new();
        while let Some((b,)) = stream.try_next().await.map_err(down)? {
            if let Some(b) = b {
                out.push(decode(&b)?);
            }
        }
        Ok(out)
    }

    /// Every record of a `(version, body)` table (rows written conditionally on
    /// their version: admins, jobs, pending mails) with its version.
    pub(super) async fn all_versioned<T: DeserializeOwned>(
        &self,
        stmt: &PreparedStatement,
    ) -> Result<Vec<(u64, T)>, StoreError> {
        let pager = self
            .session
            .execute_iter(stmt.clone(), ())
            .await
            .map_err(down)?;
        let mut stream = pager
            .rows_stream::<(Option<i64>, Option<Vec<u8>>)>()
            .map_err(corrupt)?;
        let mut out = Vec::new();
        while let Some((version, body)) = stream.try_next().await.map_err(down)? {
            if let Some(b) = body {
                out.push((version.unwrap_or(0) as u64, decode(&b)?));
            }
        }
        Ok(out)
    }

    /// Every record of a blob column in the order the listing shows, timed as `op`.
    pub(super) async fn listed<T: DeserializeOwned>(
        &self,
        op: &'static str,
        stmt: &PreparedStatement,
        values: impl SerializeRow,
        order: fn(Vec<T>) -> Vec<T>,
    ) -> Result<Vec<T>, StoreError> {
        self.timed(op, async { Ok(order(self.all_blobs(stmt, values).await?)) })
            .await
    }
}
