//! [`crate::store::SessionRows`] on the CQL backend (global keyspace): `sessions`
//! by portal and hash, and `sessions_by_subject` (each account's sessions, oldest
//! first), both written `USING TTL` = the time left to the idle timeout, so rows
//! expire by themselves. Refreshing and deleting a session are lightweight
//! transactions (`IF EXISTS`): a refresh racing a sign-out on another node can
//! never bring the session back. The per-account cap is counted after the insert,
//! so sign-ins racing on two nodes may briefly hold one or two over it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use scylla::value::MaybeUnset;
use uuid::Uuid;

use super::rows::applied;
use super::{corrupt, down, CqlStore};
use crate::store::{Portal, SessionRow, SessionRows, StoreError};

/// The prepared statements of the two session tables.
pub(super) struct SessionStatements {
    insert: PreparedStatement,
    get: PreparedStatement,
    refresh: PreparedStatement,
    delete: PreparedStatement,
    index_put: PreparedStatement,
    index_of: PreparedStatement,
    index_delete: PreparedStatement,
}

impl SessionStatements {
    /// Prepares them on the global keyspace of `prefix`.
    pub(super) async fn prepare(s: &Session, prefix: &str) -> Result<Self, StoreError> {
        let ks = format!("{prefix}_global");
        let prep = |cql: String| async move {
            s.prepare(cql.clone())
                .await
                .map_err(|e| down(format!("preparing `{cql}`: {e}")))
        };
        Ok(SessionStatements {
            insert: prep(format!(
                "INSERT INTO {ks}.sessions (portal, id_hash, subject, csrf, reauth_at, created, expires_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?) USING TTL ?"
            ))
            .await?,
            get: prep(format!(
                "SELECT subject, csrf, reauth_at, created, expires_at FROM {ks}.sessions \
                 WHERE portal = ? AND id_hash = ?"
            ))
            .await?,
            refresh: prep(format!(
                "UPDATE {ks}.sessions USING TTL ? SET subject = ?, csrf = ?, reauth_at = ?, \
                 created = ?, expires_at = ? WHERE portal = ? AND id_hash = ? IF EXISTS"
            ))
            .await?,
            delete: prep(format!(
                "DELETE FROM {ks}.sessions WHERE portal = ? AND id_hash = ? IF EXISTS"
            ))
            .await?,
            index_put: prep(format!(
                "INSERT INTO {ks}.sessions_by_subject (portal, subject, created, id_hash) \
                 VALUES (?, ?, ?, ?) USING TTL ?"
            ))
            .await?,
            index_of: prep(format!(
                "SELECT created, id_hash FROM {ks}.sessions_by_subject WHERE portal = ? AND subject = ?"
            ))
            .await?,
            index_delete: prep(format!(
                "DELETE FROM {ks}.sessions_by_subject WHERE portal = ? AND subject = ? \
                 AND created = ? AND id_hash = ?"
            ))
            .await?,
        })
    }
}

/// Seconds from now to `expires_at`, at least 1 (a TTL of 0 would mean "forever").
fn ttl(expires_at: DateTime<Utc>) -> i32 {
    let secs = (expires_at - Utc::now()).num_seconds();
    secs.clamp(1, i64::from(i32::MAX)) as i32
}

/// One entry of an account's index: when the session started, and its hash.
type IndexEntry = (DateTime<Utc>, String);

type Columns = (
    Option<Uuid>,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

impl CqlStore {
    async fn put_index(&self, row: &SessionRow) -> Result<(), StoreError> {
        let st = &self.session_statements.index_put;
        let values = (
            row.portal.as_str(),
            row.subject,
            row.created,
            row.id_hash.as_str(),
            ttl(row.expires_at),
        );
        self.exec(st, values).await
    }

    async fn index_of(&self, portal: Portal, subject: Uuid) -> Result<Vec<IndexEntry>, StoreError> {
        let st = self.session_statements.index_of.clone();
        let pager = self
            .session
            .execute_iter(st, (portal.as_str(), subject))
            .await
            .map_err(down)?;
        let mut stream = pager.rows_stream::<IndexEntry>().map_err(corrupt)?;
        let mut out = Vec::new();
        while let Some(e) = stream.try_next().await.map_err(down)? {
            out.push(e);
        }
        Ok(out)
    }

    /// Ends the sessions of these index entries (row, then index entry); answers their hashes.
    async fn end_entries(
        &self,
        portal: Portal,
        subject: Uuid,
        entries: &[IndexEntry],
    ) -> Result<Vec<String>, StoreError> {
        let st = &self.session_statements;
        for (created, hash) in entries {
            self.execute(&st.delete, (portal.as_str(), hash.as_str()))
                .await?;
            let key = (portal.as_str(), subject, *created, hash.as_str());
            self.exec(&st.index_delete, key).await?;
        }
        Ok(entries.iter().map(|(_, h)| h.clone()).collect())
    }

    async fn insert_session(
        &self,
        row: &SessionRow,
        cap: usize,
    ) -> Result<Vec<String>, StoreError> {
        let values = (
            row.portal.as_str(),
            row.id_hash.as_str(),
            row.subject,
            row.csrf.as_str(),
            row.reauth_at,
            row.created,
            row.expires_at,
            ttl(row.expires_at),
        );
        self.exec(&self.session_statements.insert, values).await?;
        self.put_index(row).await?;
        let entries = self.index_of(row.portal, row.subject).await?;
        let over = entries.len().saturating_sub(cap.max(1));
        self.end_entries(row.portal, row.subject, &entries[..over])
            .await
    }

    async fn read_session(
        &self,
        portal: Portal,
        hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRow>, StoreError> {
        let rows = self
            .rows(&self.session_statements.get, (portal.as_str(), hash))
            .await?;
        let found: Option<Columns> = rows.maybe_first_row().map_err(corrupt)?;
        let Some((Some(subject), Some(csrf), reauth_at, Some(created), Some(expires_at))) = found
        else {
            return Ok(None);
        };
        let row = SessionRow {
            portal,
            id_hash: hash.to_owned(),
            subject,
            csrf,
            reauth_at,
            created,
            expires_at,
        };
        Ok(Some(row).filter(|r| !r.expired(now)))
    }

    async fn update_session(&self, row: &SessionRow) -> Result<bool, StoreError> {
        let reauth = match row.reauth_at {
            Some(t) => MaybeUnset::Set(t),
            None => MaybeUnset::Unset,
        };
        let values = (
            ttl(row.expires_at),
            row.subject,
            row.csrf.as_str(),
            reauth,
            row.created,
            row.expires_at,
            row.portal.as_str(),
            row.id_hash.as_str(),
        );
        let r = self
            .execute(&self.session_statements.refresh, values)
            .await?;
        if !applied(r)? {
            return Ok(false);
        }
        // The index entry lives as long as the row (only when the row still exists).
        self.put_index(row).await?;
        Ok(true)
    }

    async fn remove_session(&self, portal: Portal, hash: &str) -> Result<(), StoreError> {
        let Some(row) = self
            .read_session(portal, hash, DateTime::<Utc>::MIN_UTC)
            .await?
        else {
            return Ok(());
        };
        let entry = (row.created, row.id_hash.clone());
        self.end_entries(portal, row.subject, &[entry]).await?;
        Ok(())
    }

    async fn remove_sessions_of(
        &self,
        portal: Portal,
        subject: Uuid,
        keep: Option<&str>,
    ) -> Result<Vec<String>, StoreError> {
        let entries: Vec<IndexEntry> = self
            .index_of(portal, subject)
            .await?
            .into_iter()
            .filter(|(_, h)| Some(h.as_str()) != keep)
            .collect();
        self.end_entries(portal, subject, &entries).await
    }
}

#[async_trait]
impl SessionRows for CqlStore {
    async fn create_session(
        &self,
        row: &SessionRow,
        cap: usize,
    ) -> Result<Vec<String>, StoreError> {
        self.timed("create_session", self.insert_session(row, cap))
            .await
    }

    async fn get_session(
        &self,
        portal: Portal,
        id_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRow>, StoreError> {
        self.timed("get_session", self.read_session(portal, id_hash, now))
            .await
    }

    async fn refresh_session(&self, row: &SessionRow) -> Result<bool, StoreError> {
        self.timed("refresh_session", self.update_session(row))
            .await
    }

    async fn delete_session(&self, portal: Portal, id_hash: &str) -> Result<(), StoreError> {
        self.timed("delete_session", self.remove_session(portal, id_hash))
            .await
    }

    async fn delete_sessions_of(
        &self,
        portal: Portal,
        subject: Uuid,
        keep: Option<&str>,
    ) -> Result<Vec<String>, StoreError> {
        let work = self.remove_sessions_of(portal, subject, keep);
        self.timed("delete_sessions_of", work).await
    }

    async fn sweep_sessions(&self, _now: DateTime<Utc>) -> Result<usize, StoreError> {
        // Rows carry their TTL: the nodes expire them.
        Ok(0)
    }
}
