//! The audit log on CQL: each entry is written twice, under its day and (when it
//! concerns one) under its license, so both listings are partition reads.

use std::collections::HashSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::rows::{blobs, decode, encode};
use super::statements::EnvStatements;
use super::CqlStore;
use crate::domain::AuditEntry;
use crate::store::{AuditQuery, StoreError};

/// How many days back from its end a listing without a start date looks
/// (the next page starts where this one stopped).
const AUDIT_DAYS: i64 = 60;
/// The same with a start date (the range's own start stops it sooner).
const AUDIT_DAYS_RANGED: i64 = 800;
/// Rows read from a day partition at a time.
const DAY_CHUNK: i32 = 2000;
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
    /// day partitions back from the query's end (today, a date, where the last
    /// page stopped) to its start (or [`AUDIT_DAYS`] back) until enough are found.
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
            // Without an end: from tomorrow (a node's clock may run ahead).
            let end = query
                .before
                .map_or_else(|| Utc::now() + Duration::days(1), |c| c.at);
            let first = query.from.map(|f| f.date_naive());
            let days = if first.is_some() {
                AUDIT_DAYS_RANGED
            } else {
                AUDIT_DAYS
            };
            for d in 0..days {
                let date = (end - Duration::days(d)).date_naive();
                if first.is_some_and(|f| date < f) {
                    break;
                }
                let until = match query.before {
                    Some(c) => c.at,
                    None => end_of(date),
                };
                self.read_day(st, date, until, query, &mut out).await?;
                if out.len() >= limit {
                    break;
                }
            }
        }
        out.sort_by(|a, b| b.at.cmp(&a.at).then(b.id.cmp(&a.id)));
        out.truncate(limit);
        Ok(out)
    }

    /// One day's entries at or before `until`, newest first, read in chunks
    /// until the day ends or enough are found.
    async fn read_day(
        &self,
        st: &EnvStatements,
        date: NaiveDate,
        until: DateTime<Utc>,
        query: &AuditQuery,
        out: &mut Vec<AuditEntry>,
    ) -> Result<(), StoreError> {
        let day = date.format("%Y-%m-%d").to_string();
        let mut until = until;
        let mut seen = HashSet::new();
        loop {
            let r = self
                .execute(&st.audit_day_until, (day.as_str(), until, DAY_CHUNK))
                .await?;
            let rows = blobs(r)?;
            let read = rows.len();
            let mut oldest = until;
            for b in rows {
                let e: AuditEntry = decode(&b)?;
                oldest = oldest.min(e.at);
                if seen.insert(e.id) && query.keeps(&e) {
                    out.push(e);
                }
            }
            if read < DAY_CHUNK as usize || out.len() >= query.wanted() {
                return Ok(());
            }
            // Rows share milliseconds: read from the oldest again (seen ones are
            // skipped), or past it when a whole chunk had that one millisecond.
            until = if oldest.timestamp_millis() == until.timestamp_millis() {
                oldest - Duration::milliseconds(1)
            } else {
                oldest
            };
        }
    }
}

/// The last instant of `date`.
fn end_of(date: NaiveDate) -> DateTime<Utc> {
    let next = date.succ_opt().unwrap_or(date);
    next.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc() - Duration::milliseconds(1)
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
