//! Portal sessions as rows with an expiry, so any node serves any signed-in request (issue 12 item 1).
//!
//! A row never holds the cookie value, only its SHA-256 (hex), so a copy of the
//! store opens no session. Rows are not in backups: a restore signs everyone out.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::StoreError;

/// Which portal a session belongs to: the two have separate cookies and separate sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Portal {
    Admin,
    Customer,
}

impl Portal {
    /// The name both backends key rows by (also a static metric-safe label).
    pub fn as_str(self) -> &'static str {
        match self {
            Portal::Admin => "admin",
            Portal::Customer => "customer",
        }
    }
}

/// One signed-in session as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRow {
    pub portal: Portal,
    /// Hex SHA-256 of the cookie value (the value itself is never stored).
    pub id_hash: String,
    /// The admin's or customer's id.
    pub subject: Uuid,
    /// The session's CSRF secret, compared in constant time by the app.
    pub csrf: String,
    /// When the password was last re-entered (the admin preview gate).
    pub reauth_at: Option<DateTime<Utc>>,
    pub created: DateTime<Utc>,
    /// The idle timeout's end; a row read after it is no session.
    pub expires_at: DateTime<Utc>,
}

impl SessionRow {
    /// Whether the session has ended by idling at `now`.
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at <= now
    }
}

/// Portal sessions as rows with an expiry: the part of [`super::Store`] that holds them.
#[async_trait]
pub trait SessionRows: Send + Sync {
    /// Stores a new session. Past `cap` live sessions of its subject (in its
    /// portal) the oldest end; answers the hashes of the sessions it ended.
    async fn create_session(&self, row: &SessionRow, cap: usize)
        -> Result<Vec<String>, StoreError>;

    /// The live session with this hash; an expired or deleted one is `None`.
    async fn get_session(
        &self,
        portal: Portal,
        id_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRow>, StoreError>;

    /// Writes `row`'s `expires_at` and `reauth_at` (idle refresh, re-entered
    /// password) if the session still exists; `false` when it ended meanwhile
    /// (never brings a deleted session back).
    async fn refresh_session(&self, row: &SessionRow) -> Result<bool, StoreError>;

    /// Ends one session (sign-out); ending an unknown one is no error.
    async fn delete_session(&self, portal: Portal, id_hash: &str) -> Result<(), StoreError>;

    /// Ends every session of `subject` but `keep` (a hash): a password change,
    /// an admin removed. Answers the hashes it ended.
    async fn delete_sessions_of(
        &self,
        portal: Portal,
        subject: Uuid,
        keep: Option<&str>,
    ) -> Result<Vec<String>, StoreError>;

    /// Removes rows that expired before `now`; answers how many. The CQL
    /// backend's rows expire by themselves (TTL), so it answers 0.
    async fn sweep_sessions(&self, now: DateTime<Utc>) -> Result<usize, StoreError>;
}
