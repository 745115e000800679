//! The audit log as both front doors read it. Entries are written where the
//! change is made (the engine for licenses and settings, `app` for products,
//! customers and tokens), each in one place. Here: filters, paging by cursor
//! and the CSV export, streamed page by page.

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::Stream;
use std::sync::Arc;
use uuid::Uuid;

use super::error::AppError;
use crate::domain::audit::{actor_kind, level, resource};
use crate::domain::{AuditEntry, Environment};
use crate::engine::Engine;
use crate::store::{AuditCursor, AuditQuery, Store};

/// Most entries one read returns.
pub const MAX_LIMIT: usize = 1000;

/// The newest entries of an environment, optionally for one license key and/or
/// one action; empty filters mean all.
pub async fn list(
    store: &dyn Store,
    env: Environment,
    license: &str,
    action: &str,
    limit: usize,
) -> Result<Vec<AuditEntry>, AppError> {
    let f = AuditFilter {
        license: license.to_owned(),
        action: action.to_owned(),
        ..AuditFilter::default()
    };
    Ok(store.list_audit(env, &f.query(None, limit)).await?)
}

/// Writes an entry about something both environments share (customers,
/// admins) to both environments' logs, so either log shows it.
pub async fn record_global(store: &dyn Store, entry: &AuditEntry) -> Result<(), AppError> {
    for env in Environment::ALL {
        store.append_audit(env, entry).await?;
    }
    Ok(())
}

/// What an admin filters the log by (as typed; empty means any).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// A license key, exactly.
    pub license: String,
    /// An action, or a family ending in `.`.
    pub action: String,
    /// Part of who did it.
    pub actor: String,
    /// First and last day (UTC), inclusive.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl AuditFilter {
    /// The store query for one page ending before `before` (or the range's end).
    pub fn query(&self, before: Option<AuditCursor>, limit: usize) -> AuditQuery {
        let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let end = self
            .to
            .and_then(|d| d.succ_opt())
            .map(|d| AuditCursor::at(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()));
        AuditQuery {
            license_key: some(&self.license),
            action: some(&self.action),
            actor: some(&self.actor),
            from: self
                .from
                .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()),
            before: match (before, end) {
                (Some(b), Some(e)) => Some(b.min(e)),
                (b, e) => b.or(e),
            },
            limit: limit.clamp(1, MAX_LIMIT),
        }
    }
}

/// One page of the log and where the next (older) one starts, if there is one.
pub async fn page(
    store: &dyn Store,
    env: Environment,
    f: &AuditFilter,
    before: Option<AuditCursor>,
    per_page: usize,
) -> Result<(Vec<AuditEntry>, Option<AuditCursor>), AppError> {
    let per_page = per_page.clamp(1, MAX_LIMIT - 1);
    let mut entries = store
        .list_audit(env, &f.query(before, per_page + 1))
        .await?;
    let more = entries.len() > per_page;
    entries.truncate(per_page);
    let next = more.then(|| entries.last().map(AuditCursor::of)).flatten();
    Ok((entries, next))
}

/// A cursor as it travels in a URL: `<unix nanos>-<uuid>`.
pub fn cursor_text(c: &AuditCursor) -> String {
    format!(
        "{}-{}",
        c.at.timestamp_nanos_opt().unwrap_or_default(),
        c.id
    )
}

/// Reads [`cursor_text`] back; None when it is not one.
pub fn parse_cursor(s: &str) -> Option<AuditCursor> {
    let (nanos, id) = s.split_once('-')?;
    Some(AuditCursor {
        at: DateTime::<Utc>::from_timestamp_nanos(nanos.parse().ok()?),
        id: id.parse::<Uuid>().ok()?,
    })
}

/// The export's columns.
const CSV_HEADER: [&str; 11] = [
    "time", "level", "action", "resource", "who_kind", "who", "ip", "before", "after", "details",
    "id",
];

/// One entry as a CSV row.
fn csv_row(e: &AuditEntry) -> [String; 11] {
    let (kind, who) = actor_kind(&e.actor);
    [
        e.at.to_rfc3339(),
        level(&e.action).to_owned(),
        e.action.clone(),
        resource(e),
        kind.to_owned(),
        who.to_owned(),
        e.ip.clone().unwrap_or_default(),
        e.before.clone().unwrap_or_default(),
        e.after.clone().unwrap_or_default(),
        e.detail.clone(),
        e.id.to_string(),
    ]
}

/// Entries read per chunk of the export.
const EXPORT_PAGE: usize = 500;

/// Every entry the filter keeps as CSV, newest first, read and sent a page at
/// a time (memory stays one page whatever the log's size).
pub fn export_csv(
    engine: &Engine,
    env: Environment,
    f: AuditFilter,
) -> impl Stream<Item = Result<Bytes, AppError>> {
    let store: Arc<dyn Store> = engine.store().clone();
    let start = (store, f, None::<AuditCursor>, true, false);
    futures_util::stream::unfold(start, move |(store, f, before, first, done)| async move {
        if done {
            return None;
        }
        let mut w = crate::csv_out::CsvOut::new();
        let header = if first { w.row(CSV_HEADER) } else { Ok(()) };
        let read = store.list_audit(env, &f.query(before, EXPORT_PAGE)).await;
        let chunk = header
            .map_err(|e| AppError::Internal(e.to_string()))
            .and_then(|()| read.map_err(AppError::from))
            .and_then(|entries| {
                for e in &entries {
                    w.row(csv_row(e))
                        .map_err(|e| AppError::Internal(e.to_string()))?;
                }
                let next = entries.last().map(AuditCursor::of);
                let body = w.finish().map_err(|e| AppError::Internal(e.to_string()))?;
                Ok((Bytes::from(body), next, entries.len() < EXPORT_PAGE))
            });
        match chunk {
            Ok((bytes, next, last)) => Some((Ok(bytes), (store, f, next, false, last))),
            Err(e) => Some((Err(e), (store, f, before, false, true))),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_travel_in_urls_and_date_ranges_are_whole_days() {
        let c = AuditCursor {
            at: Utc::now(),
            id: Uuid::new_v4(),
        };
        assert_eq!(parse_cursor(&cursor_text(&c)), Some(c));
        for bad in ["", "x-y", "12", "12-not-a-uuid"] {
            assert_eq!(parse_cursor(bad), None, "{bad}");
        }
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        let f = AuditFilter {
            from: day("2026-03-01"),
            to: day("2026-03-02"),
            action: " license. ".into(),
            ..AuditFilter::default()
        };
        let q = f.query(None, 50);
        assert_eq!(q.from.unwrap().to_rfc3339(), "2026-03-01T00:00:00+00:00");
        assert_eq!(
            q.before.unwrap().at.to_rfc3339(),
            "2026-03-03T00:00:00+00:00"
        );
        assert_eq!(q.action.as_deref(), Some("license."));
        assert_eq!(q.license_key, None);
        // A page cursor inside the range wins; one after it does not.
        let inside = AuditCursor::at(q.from.unwrap() + chrono::Duration::hours(5));
        assert_eq!(f.query(Some(inside), 50).before, Some(inside));
        let after = AuditCursor::at(q.before.unwrap().at + chrono::Duration::days(9));
        assert_eq!(f.query(Some(after), 50).before, q.before);
    }
}
