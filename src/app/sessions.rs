//! Server-side portal sessions: an opaque random id in an HttpOnly, SameSite
//! cookie, a per-session CSRF token, and an idle timeout. Signing out removes
//! the session, so its cookie is worthless afterwards.
//!
//! Sessions live in this node's memory: behind a load balancer, portal traffic
//! needs sticky sessions (noted in docs/OPERATIONS.md).

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use parking_lot::Mutex;
use rand::RngCore;
use uuid::Uuid;

/// Sessions end after this long without a request ("lock after 30 minutes idle").
pub const IDLE: Duration = Duration::from_secs(30 * 60);

/// How long a re-entered password unlocks license previews.
pub const REAUTH_FOR: Duration = Duration::from_secs(5 * 60);

/// One signed-in person.
#[derive(Debug)]
pub struct Session {
    pub id: String,
    pub subject: Uuid,
    pub csrf: String,
    reauth_at: Mutex<Option<Instant>>,
}

impl Session {
    /// Constant-time check of a form's CSRF token.
    pub fn csrf_matches(&self, presented: &str) -> bool {
        crate::crypto::ct_eq(self.csrf.as_bytes(), presented.as_bytes())
    }

    pub fn mark_reauthenticated(&self) {
        *self.reauth_at.lock() = Some(Instant::now());
    }

    pub fn recently_reauthenticated(&self) -> bool {
        self.reauth_at
            .lock()
            .is_some_and(|t| t.elapsed() < REAUTH_FOR)
    }
}

/// 32 random bytes, URL-safe.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// Every live session of one portal.
pub struct Sessions {
    cache: moka::sync::Cache<String, Arc<Session>>,
    /// Each account's session ids, oldest first (bounded like the sessions).
    by_subject: moka::sync::Cache<Uuid, Arc<Mutex<std::collections::VecDeque<String>>>>,
    per_account: usize,
}

/// Most sessions one portal keeps. Each account holds at most `per_account`, so
/// one person signing in again and again cannot push out other people's sessions.
const CAPACITY: u64 = 1_000_000;

impl Sessions {
    pub fn new(idle: Duration, per_account: usize) -> Sessions {
        Sessions {
            cache: moka::sync::Cache::builder()
                .time_to_idle(idle)
                .max_capacity(CAPACITY)
                .build(),
            by_subject: moka::sync::Cache::builder()
                .time_to_idle(idle)
                .max_capacity(CAPACITY)
                .build(),
            per_account: per_account.max(1),
        }
    }

    /// A new session for `subject`; past the account's cap its oldest session ends
    /// (security item 9).
    pub fn start(&self, subject: Uuid) -> Arc<Session> {
        let s = Arc::new(Session {
            id: random_token(),
            subject,
            csrf: random_token(),
            reauth_at: Mutex::new(None),
        });
        self.cache.insert(s.id.clone(), s.clone());
        let ids = self.by_subject.get_with(subject, Default::default);
        let mut ids = ids.lock();
        ids.retain(|id| self.cache.contains_key(id));
        ids.push_back(s.id.clone());
        while ids.len() > self.per_account {
            if let Some(oldest) = ids.pop_front() {
                self.cache.invalidate(&oldest);
            }
        }
        s
    }

    pub fn get(&self, id: &str) -> Option<Arc<Session>> {
        self.cache.get(id)
    }

    pub fn end(&self, id: &str) {
        self.cache.invalidate(id);
    }

    /// Ends every session of `subject` except `keep` (password changed, account removed).
    pub fn end_all_of(&self, subject: Uuid, keep: Option<&str>) {
        let ids: Vec<String> = self
            .cache
            .iter()
            .filter(|(id, s)| s.subject == subject && Some(id.as_str()) != keep)
            .map(|(id, _)| (*id).clone())
            .collect();
        for id in ids {
            self.cache.invalidate(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_end_and_csrf_is_checked() {
        let s = Sessions::new(IDLE, 10);
        let who = Uuid::new_v4();
        let a = s.start(who);
        let b = s.start(who);
        assert!(a.csrf_matches(&a.csrf.clone()));
        assert!(!a.csrf_matches(&b.csrf));
        assert!(!a.csrf_matches(""));
        s.end_all_of(who, Some(&a.id));
        assert!(s.get(&a.id).is_some());
        assert!(s.get(&b.id).is_none());
        s.end(&a.id);
        assert!(s.get(&a.id).is_none());
    }

    /// Security item 9: an account's sessions are capped, oldest ending first,
    /// and other accounts' sessions are untouched.
    #[test]
    fn sessions_per_account_are_capped() {
        let s = Sessions::new(IDLE, 3);
        let other = s.start(Uuid::new_v4());
        let who = Uuid::new_v4();
        let mine: Vec<_> = (0..10).map(|_| s.start(who)).collect();
        assert!(s.get(&mine[0].id).is_none(), "the oldest ended");
        assert!(s.get(&mine[6].id).is_none());
        for m in &mine[7..] {
            assert!(s.get(&m.id).is_some(), "the newest three live");
        }
        assert!(
            s.get(&other.id).is_some(),
            "another account keeps its session"
        );
    }

    #[test]
    fn idle_sessions_expire() {
        let s = Sessions::new(Duration::from_millis(50), 10);
        let a = s.start(Uuid::new_v4());
        std::thread::sleep(Duration::from_millis(120));
        assert!(s.get(&a.id).is_none());
    }
}
