//! The audit log on CQL: each entry is written twice, under its day and (when it
//! concerns one) under its license, so both listings are partition reads.

use chrono::{Duration, Utc};

use super::rows::{blobs, decode, encode};
use super::statements::EnvStatements;
use super::CqlStore;
use crate::domain::AuditEntry;
use crate::store::{AuditQuery, StoreError};

/// How many days back an unfiltered audit listing looks.
const AUDIT_DAYS: i64 = 60;
/// Most entries read from one partition.
const PARTITION_LIMIT: i32 = 10_000;

impl CqlStore {
    /// Writes one entry under its day and its license.
    pub(super) async fn write_audit(
        &self,
        st: &EnvStatements,
        e: &AuditEntry,
    ) -> Result<(), StoreError> {
        let b = encode(e)?;
        let day = e.at.format("%Y-%m-%d").to_string();
        self.exec(&st.audit_day_put, (day, e.at, e.id, &b)).await?;
        if let Some(k) = &e.license_key {
            self.exec(&st.audit_license_put, (k.as_str(), e.at, e.id, &b))
                .await?;
        }
        Ok(())
    }

    /// Entries matching `query`, newest first: one license's partition, or the
    /// day partitions back from today until enough are found.
    pub(super) async fn read_audit(
        &self,
        st: &EnvStatements,
        query: &AuditQuery,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let limit = query.wanted();
        let mut out: Vec<AuditEntry> = Vec::new();
        if let Some(k) = &query.license_key {
            let r = self
                .execute(&st.audit_license_get, (k.as_str(), PARTITION_LIMIT))
                .await?;
            keep_matching(blobs(r)?, query, &mut out)?;
        } else {
            let today = Utc::now();
            for d in 0..AUDIT_DAYS {
                let day = (today - Duration::days(d)).format("%Y-%m-%d").to_string();
                let r = self
                    .execute(&st.audit_day_get, (day, PARTITION_LIMIT))
                    .await?;
                keep_matching(blobs(r)?, query, &mut out)?;
                if out.len() >= limit {
                    break;
                }
            }
        }
        out.sort_by(|a, b| b.at.cmp(&a.at).then(b.id.cmp(&a.id)));
        out.truncate(limit);
        Ok(out)
    }
}

/// Decodes `blobs` and adds those the query keeps to `out`.
fn keep_matching(
    blobs: Vec<Vec<u8>>,
    query: &AuditQuery,
    out: &mut Vec<AuditEntry>,
) -> Result<(), StoreError> {
    for b in blobs {
        let e: AuditEntry = decode(&b)?;
        if query.keeps(&e) {
            out.push(e);
        }
    }
    Ok(())
}
