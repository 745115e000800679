//! [`crate::store::SessionRows`] on the embedded backend: two tables of the
//! global file, the session rows by hash and each account's sessions in
//! creation order (the per-account cap, signing an account out everywhere).
//! Every call is one transaction; expired rows are ignored when read and
//! removed by [`SessionRows::sweep_sessions`], which the app runs on a timer.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redb::{Database, ReadableTable, TableDefinition, TableError, WriteTransaction};
use uuid::Uuid;

use super::tables::{decode, decoded, encode, unavailable, Records};
use super::EmbeddedStore;
use crate::store::{Portal, SessionRow, SessionRows, StoreError};

/// Session rows under `"{portal}\u{1}{hash}"` (global file).
const SESSIONS: Records = TableDefinition::new("sessions");
/// Each account's sessions: `"{portal}\u{1}{subject}\u{1}{created nanos:020}\u{1}{hash}"` → nothing,
/// so an account's sessions are one range read, oldest first.
const SESSIONS_BY_SUBJECT: TableDefinition<&str, ()> = TableDefinition::new("sessions_by_subject");

fn row_key(portal: Portal, hash: &str) -> String {
    format!("{}\u{1}{hash}", portal.as_str())
}

/// The prefix every index key of one account starts with.
fn subject_prefix(portal: Portal, subject: Uuid) -> String {
    format!("{}\u{1}{subject}\u{1}", portal.as_str())
}

fn index_key(row: &SessionRow) -> String {
    let nanos = row.created.timestamp_nanos_opt().unwrap_or(0).max(0);
    format!(
        "{}{nanos:020}\u{1}{}",
        subject_prefix(row.portal, row.subject),
        row.id_hash
    )
}

/// The hash at the end of an index key.
fn hash_of(index_key: &str) -> &str {
    index_key.rsplit('\u{1}').next().unwrap_or("")
}

/// The index keys of one account, oldest first.
fn keys_of(txn: &WriteTransaction, prefix: &str) -> Result<Vec<String>, StoreError> {
    let t = txn.open_table(SESSIONS_BY_SUBJECT).map_err(unavailable)?;
    // Every key of the account is above the prefix and below it with its last
    // separator raised by one.
    let end = format!("{}\u{2}", prefix.trim_end_matches('\u{1}'));
    let mut out = Vec::new();
    for entry in t.range(prefix..end.as_str()).map_err(unavailable)? {
        let (k, _) = entry.map_err(unavailable)?;
        out.push(k.value().to_owned());
    }
    Ok(out)
}

/// Removes sessions by their index keys (rows and index entries); answers their hashes.
fn remove(
    txn: &WriteTransaction,
    portal: Portal,
    index_keys: &[String],
) -> Result<Vec<String>, StoreError> {
    let mut rows = txn.open_table(SESSIONS).map_err(unavailable)?;
    let mut index = txn.open_table(SESSIONS_BY_SUBJECT).map_err(unavailable)?;
    let mut ended = Vec::with_capacity(index_keys.len());
    for k in index_keys {
        let hash = hash_of(k);
        rows.remove(row_key(portal, hash).as_str())
            .map_err(unavailable)?;
        index.remove(k.as_str()).map_err(unavailable)?;
        ended.push(hash.to_owned());
    }
    Ok(ended)
}

fn create(txn: &WriteTransaction, row: &SessionRow, cap: usize) -> Result<Vec<String>, StoreError> {
    let bytes = encode(row)?;
    {
        let mut rows = txn.open_table(SESSIONS).map_err(unavailable)?;
        let key = row_key(row.portal, &row.id_hash);
        rows.insert(key.as_str(), bytes.as_slice())
            .map_err(unavailable)?;
        let mut index = txn.open_table(SESSIONS_BY_SUBJECT).map_err(unavailable)?;
        index
            .insert(index_key(row).as_str(), ())
            .map_err(unavailable)?;
    }
    let keys = keys_of(txn, &subject_prefix(row.portal, row.subject))?;
    let (live, dead) = split_live(txn, row.portal, keys, row.created)?;
    let over = live.len().saturating_sub(cap.max(1));
    // Expired rows not swept yet do not count against the cap; they go now.
    let mut ended = remove(txn, row.portal, &dead)?;
    ended.extend(remove(txn, row.portal, &live[..over])?);
    Ok(ended)
}

/// Index keys whose session is live at `now`, and the others (expired or gone).
fn split_live(
    txn: &WriteTransaction,
    portal: Portal,
    keys: Vec<String>,
    now: DateTime<Utc>,
) -> Result<(Vec<String>, Vec<String>), StoreError> {
    let rows = txn.open_table(SESSIONS).map_err(unavailable)?;
    let (mut live, mut dead) = (Vec::new(), Vec::new());
    for k in keys {
        let found: Option<SessionRow> = decoded(&rows, &row_key(portal, hash_of(&k)))?;
        match found {
            Some(r) if !r.expired(now) => live.push(k),
            _ => dead.push(k),
        }
    }
    Ok((live, dead))
}

fn get(
    db: &Database,
    portal: Portal,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<SessionRow>, StoreError> {
    let txn = db.begin_read().map_err(unavailable)?;
    let t = match txn.open_table(SESSIONS) {
        Ok(t) => t,
        // No session was ever written to this file.
        Err(TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(unavailable(e)),
    };
    let found: Option<SessionRow> = decoded(&t, &row_key(portal, hash))?;
    Ok(found.filter(|r| !r.expired(now)))
}

fn refresh(txn: &WriteTransaction, row: &SessionRow) -> Result<bool, StoreError> {
    let mut rows = txn.open_table(SESSIONS).map_err(unavailable)?;
    let key = row_key(row.portal, &row.id_hash);
    let Some(mut stored) = decoded::<SessionRow>(&rows, &key)? else {
        return Ok(false);
    };
    stored.expires_at = row.expires_at;
    stored.reauth_at = row.reauth_at;
    let bytes = encode(&stored)?;
    rows.insert(key.as_str(), bytes.as_slice())
        .map_err(unavailable)?;
    Ok(true)
}

fn delete_one(txn: &WriteTransaction, portal: Portal, hash: &str) -> Result<(), StoreError> {
    let key = row_key(portal, hash);
    let found: Option<SessionRow> = {
        let rows = txn.open_table(SESSIONS).map_err(unavailable)?;
        decoded(&rows, &key)?
    };
    if let Some(row) = found {
        remove(txn, portal, &[index_key(&row)])?;
    }
    Ok(())
}

fn delete_of(
    txn: &WriteTransaction,
    portal: Portal,
    subject: Uuid,
    keep: Option<&str>,
) -> Result<Vec<String>, StoreError> {
    let keys: Vec<String> = keys_of(txn, &subject_prefix(portal, subject))?
        .into_iter()
        .filter(|k| Some(hash_of(k)) != keep)
        .collect();
    remove(txn, portal, &keys)
}

fn sweep(txn: &WriteTransaction, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let expired: Vec<SessionRow> = {
        let rows = txn.open_table(SESSIONS).map_err(unavailable)?;
        let mut out = Vec::new();
        for entry in rows.iter().map_err(unavailable)? {
            let (_, v) = entry.map_err(unavailable)?;
            let row: SessionRow = decode(v.value())?;
            if row.expired(now) {
                out.push(row);
            }
        }
        out
    };
    for row in &expired {
        remove(txn, row.portal, &[index_key(row)])?;
    }
    Ok(expired.len())
}

#[async_trait]
impl SessionRows for EmbeddedStore {
    async fn create_session(
        &self,
        row: &SessionRow,
        cap: usize,
    ) -> Result<Vec<String>, StoreError> {
        let row = row.clone();
        self.write("create_session", self.global_writer(), move |txn| {
            create(txn, &row, cap)
        })
        .await
    }

    async fn get_session(
        &self,
        portal: Portal,
        id_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRow>, StoreError> {
        let hash = id_hash.to_owned();
        self.run("get_session", self.global_db(), move |db| {
            get(db, portal, &hash, now)
        })
        .await
    }

    async fn refresh_session(&self, row: &SessionRow) -> Result<bool, StoreError> {
        let row = row.clone();
        self.write("refresh_session", self.global_writer(), move |txn| {
            refresh(txn, &row)
        })
        .await
    }

    async fn delete_session(&self, portal: Portal, id_hash: &str) -> Result<(), StoreError> {
        let hash = id_hash.to_owned();
        self.write("delete_session", self.global_writer(), move |txn| {
            delete_one(txn, portal, &hash)
        })
        .await
    }

    async fn delete_sessions_of(
        &self,
        portal: Portal,
        subject: Uuid,
        keep: Option<&str>,
    ) -> Result<Vec<String>, StoreError> {
        let keep = keep.map(str::to_owned);
        self.write("delete_sessions_of", self.global_writer(), move |txn| {
            delete_of(txn, portal, subject, keep.as_deref())
        })
        .await
    }

    async fn sweep_sessions(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        self.write("sweep_sessions", self.global_writer(), move |txn| {
            sweep(txn, now)
        })
        .await
    }
}

#[cfg(test)]
#[path = "sessions_tests.rs"]
mod tests;
