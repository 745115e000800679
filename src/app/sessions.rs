//! Server-side portal sessions: an opaque random id (32 bytes) in an HttpOnly,
//! SameSite cookie, a per-session CSRF token (32 bytes, compared in constant
//! time), an idle timeout, and a per-account cap.
//!
//! Sessions are rows in the store ([`crate::store::SessionRows`]), keyed by the
//! SHA-256 of the cookie value, so any node serves any signed-in request (no
//! sticky sessions). Each node keeps a short cache in front of them:
//! - a page view reads the store only when this node has not looked the session
//!   up within [`CACHE_FOR`] (5 s); unknown cookies are remembered as long, so
//!   guessing does not become a store read per request;
//! - the idle timeout ([`IDLE`]) is written back at most once per
//!   [`REFRESH_EVERY`] (a minute), so a page view is not a store write;
//! - **bound**: sign-out, a password change, a new sign-in past the cap or an
//!   admin's removal end the session at once on the node that did it, and on
//!   every other node within [`CACHE_FOR`] (the life of their cached copy);
//! - the re-entered password ([`REAUTH_FOR`]) is in the row: a node whose copy
//!   shows none reads the row again before it shows the password gate;
//! - a store outage on a cache miss is an error (the page's 503), never a sign-out.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::error::AppError;
use crate::store::{Portal, SessionRow, SessionRows, Store, StoreError};

/// Sessions end after this long without a request ("lock after 30 minutes idle").
pub const IDLE: Duration = Duration::from_secs(30 * 60);

/// How long a re-entered password unlocks license previews.
pub const REAUTH_FOR: Duration = Duration::from_secs(5 * 60);

/// How long a node trusts its copy of a session (or of "no such session")
/// before it reads the store again: the bound within which an ended session
/// stops working on every node.
pub const CACHE_FOR: Duration = Duration::from_secs(5);

/// A session's idle timeout is written back to the store at most this often,
/// so the timeout in effect is between `IDLE - REFRESH_EVERY` and `IDLE`.
pub const REFRESH_EVERY: Duration = Duration::from_secs(60);

/// Most sessions (and unknown cookies) one node's cache holds per portal.
const CACHE_CAPACITY: u64 = 100_000;

/// How often the embedded store's expired rows are removed.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// One signed-in person, as this node holds them.
pub struct Session {
    /// The cookie value (only in memory; the store keeps its hash).
    pub id: String,
    pub subject: Uuid,
    pub csrf: String,
    /// The row as this node last read or wrote it (expiry, reauth time).
    row: Mutex<SessionRow>,
}

/// Without the cookie value or CSRF token, so a log line never holds them.
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Constant-time check of a form's CSRF token.
    pub fn csrf_matches(&self, presented: &str) -> bool {
        crate::crypto::ct_eq(self.csrf.as_bytes(), presented.as_bytes())
    }

    fn hash(&self) -> String {
        self.row.lock().id_hash.clone()
    }

    /// Whether this node's copy says the password was re-entered recently.
    fn reauth_recent(&self, now: DateTime<Utc>) -> bool {
        self.row.lock().reauth_at.is_some_and(|t| within(t, now))
    }
}

/// Whether `at` is less than [`REAUTH_FOR`] before `now`.
fn within(at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - at < chrono(REAUTH_FOR)
}

/// 32 random bytes, URL-safe.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// What the store keys a session by: the hex SHA-256 of its cookie value.
pub fn hash_id(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

/// Whether a cookie value can be a session id ([`random_token`]'s shape), so
/// anything else is refused without a lookup.
fn well_formed(id: &str) -> bool {
    id.len() == 43
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether a session whose row expires at `expires_at` was last written back
/// [`REFRESH_EVERY`] or more before `now`.
fn refresh_due(expires_at: DateTime<Utc>, now: DateTime<Utc>, idle: chrono::Duration) -> bool {
    let refreshed = expires_at - idle;
    now - refreshed >= chrono(REFRESH_EVERY)
}

fn chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Every session of one portal, as this node sees them.
pub struct Sessions {
    portal: Portal,
    /// Hash → the session, or `None` for a cookie the store does not know.
    cache: moka::future::Cache<String, Option<Arc<Session>>>,
    idle: chrono::Duration,
    per_account: usize,
}

impl Sessions {
    /// `idle` is the idle timeout; each account holds at most `per_account`
    /// sessions, so one person signing in again and again cannot grow the table.
    pub fn new(portal: Portal, idle: Duration, per_account: usize) -> Sessions {
        Sessions::build(portal, idle, per_account, CACHE_FOR)
    }

    fn build(portal: Portal, idle: Duration, per_account: usize, cache_for: Duration) -> Sessions {
        Sessions {
            portal,
            cache: moka::future::Cache::builder()
                .time_to_live(cache_for)
                .max_capacity(CACHE_CAPACITY)
                .build(),
            idle: chrono(idle),
            per_account: per_account.max(1),
        }
    }

    /// A new session for `subject`; past the account's cap its oldest session
    /// ends (security item 9).
    pub async fn start(
        &self,
        store: &dyn SessionRows,
        subject: Uuid,
    ) -> Result<Arc<Session>, AppError> {
        let id = random_token();
        let now = Utc::now();
        let row = SessionRow {
            portal: self.portal,
            id_hash: hash_id(&id),
            subject,
            csrf: random_token(),
            reauth_at: None,
            created: now,
            expires_at: now + self.idle,
        };
        for ended in store.create_session(&row, self.per_account).await? {
            self.cache.invalidate(&ended).await;
        }
        let hash = row.id_hash.clone();
        let session = Arc::new(Session {
            id,
            subject,
            csrf: row.csrf.clone(),
            row: Mutex::new(row),
        });
        self.cache.insert(hash, Some(session.clone())).await;
        Ok(session)
    }

    /// The live session of a cookie value: from this node's cache, else the
    /// store. Its idle timeout is written back when due.
    pub async fn get(
        &self,
        store: &dyn SessionRows,
        id: &str,
    ) -> Result<Option<Arc<Session>>, AppError> {
        if !well_formed(id) {
            return Ok(None);
        }
        let hash = hash_id(id);
        let now = Utc::now();
        let load = async {
            let row = store.get_session(self.portal, &hash, now).await?;
            Ok::<_, StoreError>(row.map(|row| {
                Arc::new(Session {
                    id: id.to_owned(),
                    subject: row.subject,
                    csrf: row.csrf.clone(),
                    row: Mutex::new(row),
                })
            }))
        };
        let found = self
            .cache
            .try_get_with(hash.clone(), load)
            .await
            .map_err(|e| AppError::from((*e).clone()))?;
        let Some(session) = found else {
            return Ok(None);
        };
        if self.keep_alive(store, &session, now).await {
            Ok(Some(session))
        } else {
            self.cache.invalidate(&hash).await;
            Ok(None)
        }
    }

    /// Whether `session` is still live at `now`; writes its idle timeout back
    /// when due. A failed write is logged and retried on a later request.
    async fn keep_alive(
        &self,
        store: &dyn SessionRows,
        session: &Session,
        now: DateTime<Utc>,
    ) -> bool {
        let (before, row) = {
            let mut r = session.row.lock();
            if r.expired(now) {
                return false;
            }
            if !refresh_due(r.expires_at, now, self.idle) {
                return true;
            }
            let before = r.expires_at;
            r.expires_at = now + self.idle;
            (before, r.clone())
        };
        match store.refresh_session(&row).await {
            Ok(still) => still,
            Err(e) => {
                tracing::warn!(error = %e, "could not refresh a session's idle timeout");
                let mut r = session.row.lock();
                if r.expires_at == row.expires_at {
                    r.expires_at = before;
                }
                true
            }
        }
    }

    /// Ends one session (sign-out): at once here, within [`CACHE_FOR`] elsewhere.
    pub async fn end(&self, store: &dyn SessionRows, id: &str) -> Result<(), AppError> {
        if !well_formed(id) {
            return Ok(());
        }
        let hash = hash_id(id);
        store.delete_session(self.portal, &hash).await?;
        self.cache.invalidate(&hash).await;
        Ok(())
    }

    /// Ends every session of `subject` except `keep` (a cookie value): password
    /// changed, rights reduced, account removed.
    pub async fn end_all_of(
        &self,
        store: &dyn SessionRows,
        subject: Uuid,
        keep: Option<&str>,
    ) -> Result<(), AppError> {
        let keep = keep.map(hash_id);
        let ended = store
            .delete_sessions_of(self.portal, subject, keep.as_deref())
            .await?;
        for hash in ended {
            self.cache.invalidate(&hash).await;
        }
        Ok(())
    }

    /// Records that the password was just re-entered (every node sees it in the row).
    pub async fn mark_reauthenticated(
        &self,
        store: &dyn SessionRows,
        session: &Session,
    ) -> Result<(), AppError> {
        let now = Utc::now();
        let (before, row) = {
            let mut r = session.row.lock();
            let before = (r.reauth_at, r.expires_at);
            r.reauth_at = Some(now);
            r.expires_at = now + self.idle;
            (before, r.clone())
        };
        match store.refresh_session(&row).await {
            Ok(true) => Ok(()),
            Ok(false) => {
                // Ended meanwhile: the next page asks to sign in.
                self.cache.invalidate(&row.id_hash).await;
                Ok(())
            }
            Err(e) => {
                let mut r = session.row.lock();
                (r.reauth_at, r.expires_at) = before;
                Err(e.into())
            }
        }
    }

    /// Whether the password was re-entered within [`REAUTH_FOR`], on any node:
    /// when this node's copy shows nothing recent, the row is read again.
    pub async fn recently_reauthenticated(
        &self,
        store: &dyn SessionRows,
        session: &Session,
    ) -> Result<bool, AppError> {
        let now = Utc::now();
        if session.reauth_recent(now) {
            return Ok(true);
        }
        let Some(fresh) = store.get_session(self.portal, &session.hash(), now).await? else {
            return Ok(false);
        };
        let mut r = session.row.lock();
        r.reauth_at = fresh.reauth_at;
        r.expires_at = r.expires_at.max(fresh.expires_at);
        Ok(fresh.reauth_at.is_some_and(|t| within(t, now)))
    }
}

/// Removes expired session rows every [`SWEEP_EVERY`] (the embedded store; CQL
/// rows expire by their TTL). Expired rows are ignored when read meanwhile.
pub fn spawn_sweeper(store: Arc<dyn Store>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tick.tick().await;
            match store.sweep_sessions(Utc::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(removed = n, "expired sessions removed"),
                Err(e) => tracing::warn!(error = %e, "could not remove expired sessions"),
            }
        }
    });
}

#[cfg(test)]
mod tests;
