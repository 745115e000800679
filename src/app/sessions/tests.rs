//! The cache and refresh rules of portal sessions, against an in-memory fake
//! of the store's session rows that counts reads and writes (the real backends
//! are tested in `store::embedded::sessions` and the integration tests).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;

use super::*;

#[derive(Default)]
struct Fake {
    rows: Mutex<HashMap<String, SessionRow>>,
    reads: AtomicUsize,
    writes: AtomicUsize,
    down: AtomicBool,
}

impl Fake {
    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("fake outage".into()));
        }
        Ok(())
    }
    fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
    fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl SessionRows for Fake {
    async fn create_session(
        &self,
        row: &SessionRow,
        cap: usize,
    ) -> Result<Vec<String>, StoreError> {
        self.check()?;
        self.writes.fetch_add(1, Ordering::SeqCst);
        let mut rows = self.rows.lock();
        rows.insert(row.id_hash.clone(), row.clone());
        let mut mine: Vec<SessionRow> = rows
            .values()
            .filter(|r| r.subject == row.subject && r.portal == row.portal)
            .cloned()
            .collect();
        mine.sort_by_key(|r| r.created);
        let over = mine.len().saturating_sub(cap);
        let ended: Vec<String> = mine[..over].iter().map(|r| r.id_hash.clone()).collect();
        for h in &ended {
            rows.remove(h);
        }
        Ok(ended)
    }
    async fn get_session(
        &self,
        _: Portal,
        id_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRow>, StoreError> {
        self.check()?;
        self.reads.fetch_add(1, Ordering::SeqCst);
        let rows = self.rows.lock();
        Ok(rows.get(id_hash).filter(|r| !r.expired(now)).cloned())
    }
    async fn refresh_session(&self, row: &SessionRow) -> Result<bool, StoreError> {
        self.check()?;
        self.writes.fetch_add(1, Ordering::SeqCst);
        let mut rows = self.rows.lock();
        match rows.get_mut(&row.id_hash) {
            Some(r) => {
                r.expires_at = row.expires_at;
                r.reauth_at = row.reauth_at;
                Ok(true)
            }
            None => Ok(false),
        }
    }
    async fn delete_session(&self, _: Portal, id_hash: &str) -> Result<(), StoreError> {
        self.check()?;
        self.rows.lock().remove(id_hash);
        Ok(())
    }
    async fn delete_sessions_of(
        &self,
        _: Portal,
        subject: Uuid,
        keep: Option<&str>,
    ) -> Result<Vec<String>, StoreError> {
        self.check()?;
        let mut rows = self.rows.lock();
        let gone: Vec<String> = rows
            .values()
            .filter(|r| r.subject == subject && Some(r.id_hash.as_str()) != keep)
            .map(|r| r.id_hash.clone())
            .collect();
        for h in &gone {
            rows.remove(h);
        }
        Ok(gone)
    }
    async fn sweep_sessions(&self, _: DateTime<Utc>) -> Result<usize, StoreError> {
        Ok(0)
    }
}

/// A node: its own cache over the shared fake store.
fn node(cache_for: Duration) -> Sessions {
    Sessions::build(Portal::Admin, IDLE, 10, cache_for)
}

#[tokio::test]
async fn a_page_view_costs_no_store_read_or_write_in_the_common_case() {
    let store = Fake::default();
    let a = node(CACHE_FOR);
    let s = a.start(&store, Uuid::new_v4()).await.unwrap();
    assert_eq!(
        (store.reads(), store.writes()),
        (0, 1),
        "one write to sign in"
    );
    for _ in 0..50 {
        let got = a.get(&store, &s.id).await.unwrap().expect("signed in");
        assert_eq!(got.subject, s.subject);
    }
    assert_eq!((store.reads(), store.writes()), (0, 1));
    // Another node reads the row once, then serves from its own cache.
    let b = node(CACHE_FOR);
    for _ in 0..50 {
        let got = b.get(&store, &s.id).await.unwrap().expect("signed in on B");
        assert_eq!(got.csrf, s.csrf, "the same CSRF token on every node");
    }
    assert_eq!((store.reads(), store.writes()), (1, 1));
}

#[tokio::test]
async fn unknown_and_malformed_cookies_are_refused_and_remembered() {
    let store = Fake::default();
    let a = node(CACHE_FOR);
    for bad in ["", "forged", &"x".repeat(44), &"%".repeat(43)] {
        assert!(a.get(&store, bad).await.unwrap().is_none());
    }
    assert_eq!(store.reads(), 0, "malformed values need no lookup");
    let unknown = random_token();
    for _ in 0..10 {
        assert!(a.get(&store, &unknown).await.unwrap().is_none());
    }
    assert_eq!(
        store.reads(),
        1,
        "an unknown id is looked up once per cache period"
    );
}

#[tokio::test]
async fn sign_out_ends_here_at_once_and_elsewhere_within_the_cache_period() {
    let store = Fake::default();
    let short = Duration::from_millis(200);
    let (a, b) = (node(short), node(short));
    let s = a.start(&store, Uuid::new_v4()).await.unwrap();
    assert!(b.get(&store, &s.id).await.unwrap().is_some());
    b.end(&store, &s.id).await.unwrap();
    assert!(
        b.get(&store, &s.id).await.unwrap().is_none(),
        "at once on B"
    );
    tokio::time::sleep(short + Duration::from_millis(100)).await;
    assert!(
        a.get(&store, &s.id).await.unwrap().is_none(),
        "on A after the bound"
    );
}

#[tokio::test]
async fn other_sessions_of_an_account_end_and_the_cap_ends_the_oldest() {
    let store = Fake::default();
    let a = Sessions::build(Portal::Admin, IDLE, 3, CACHE_FOR);
    let who = Uuid::new_v4();
    let mine: Vec<Arc<Session>> = {
        let mut v = Vec::new();
        for _ in 0..5 {
            v.push(a.start(&store, who).await.unwrap());
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        v
    };
    for (i, s) in mine.iter().enumerate() {
        let live = a.get(&store, &s.id).await.unwrap().is_some();
        assert_eq!(live, i >= 2, "session {i}: the cap ends the oldest at once");
    }
    a.end_all_of(&store, who, Some(&mine[4].id)).await.unwrap();
    assert!(a.get(&store, &mine[3].id).await.unwrap().is_none());
    assert!(
        a.get(&store, &mine[4].id).await.unwrap().is_some(),
        "the kept one"
    );
}

#[tokio::test]
async fn the_idle_timeout_is_written_back_at_most_once_a_minute() {
    let store = Fake::default();
    let a = node(CACHE_FOR);
    let s = a.start(&store, Uuid::new_v4()).await.unwrap();
    // As if the last write-back was 61 s ago.
    let old = Utc::now() + a.idle - chrono::Duration::seconds(61);
    s.row.lock().expires_at = old;
    store
        .rows
        .lock()
        .get_mut(&hash_id(&s.id))
        .unwrap()
        .expires_at = old;
    for _ in 0..20 {
        assert!(a.get(&store, &s.id).await.unwrap().is_some());
    }
    assert_eq!(
        store.writes(),
        2,
        "sign-in, then one refresh for twenty views"
    );
    let stored = store.rows.lock()[&hash_id(&s.id)].expires_at;
    assert!(stored > old + chrono::Duration::seconds(60), "moved on");
    // A session deleted on another node is refused when the refresh finds it gone.
    s.row.lock().expires_at = old;
    store.rows.lock().clear();
    assert!(a.get(&store, &s.id).await.unwrap().is_none());
}

#[test]
fn refresh_is_due_a_minute_after_the_last_write_back() {
    let idle = chrono(IDLE);
    let now = Utc::now();
    let s = chrono::Duration::seconds;
    for (last_written_ago, due) in [
        (0, false),
        (30, false),
        (59, false),
        (60, true),
        (600, true),
    ] {
        let expires_at = now - s(last_written_ago) + idle;
        assert_eq!(
            refresh_due(expires_at, now, idle),
            due,
            "{last_written_ago} s"
        );
    }
}

#[tokio::test]
async fn the_reauth_window_is_seen_on_every_node() {
    let store = Fake::default();
    let (a, b) = (node(CACHE_FOR), node(CACHE_FOR));
    let s = a.start(&store, Uuid::new_v4()).await.unwrap();
    let on_b = b.get(&store, &s.id).await.unwrap().unwrap();
    assert!(!b.recently_reauthenticated(&store, &on_b).await.unwrap());
    a.mark_reauthenticated(&store, &s).await.unwrap();
    assert!(a.recently_reauthenticated(&store, &s).await.unwrap());
    let reads = store.reads();
    assert!(
        b.recently_reauthenticated(&store, &on_b).await.unwrap(),
        "B's cached copy is older, so B reads the row"
    );
    assert!(b.recently_reauthenticated(&store, &on_b).await.unwrap());
    assert_eq!(store.reads(), reads + 1, "then B knows");
    // Past the window it is over.
    let long_ago = Utc::now() - chrono(REAUTH_FOR) - chrono::Duration::seconds(1);
    on_b.row.lock().reauth_at = Some(long_ago);
    store
        .rows
        .lock()
        .get_mut(&hash_id(&s.id))
        .unwrap()
        .reauth_at = Some(long_ago);
    assert!(!b.recently_reauthenticated(&store, &on_b).await.unwrap());
}

#[tokio::test]
async fn a_store_outage_is_an_error_not_a_sign_out() {
    let store = Fake::default();
    let (a, b) = (node(CACHE_FOR), node(CACHE_FOR));
    let s = a.start(&store, Uuid::new_v4()).await.unwrap();
    store.down.store(true, Ordering::SeqCst);
    let err = b.get(&store, &s.id).await.unwrap_err();
    assert!(matches!(err, AppError::Unavailable(_)), "{err:?}");
    assert!(a.get(&store, &s.id).await.unwrap().is_some(), "cached on A");
    assert!(
        a.end(&store, &s.id).await.is_err(),
        "sign-out says it failed"
    );
    assert!(a.mark_reauthenticated(&store, &s).await.is_err());
    assert!(
        !s.reauth_recent(Utc::now()),
        "nothing recorded in memory either"
    );
    store.down.store(false, Ordering::SeqCst);
    assert!(
        b.get(&store, &s.id).await.unwrap().is_some(),
        "still signed in"
    );
}

#[test]
fn tokens_are_32_random_bytes_and_csrf_is_compared_exactly() {
    let (x, y) = (random_token(), random_token());
    assert_eq!(x.len(), 43);
    assert!(well_formed(&x) && x != y);
    assert_eq!(hash_id(&x).len(), 64);
    assert_ne!(hash_id(&x), x);
    let row = SessionRow {
        portal: Portal::Customer,
        id_hash: hash_id(&x),
        subject: Uuid::new_v4(),
        csrf: y.clone(),
        reauth_at: None,
        created: Utc::now(),
        expires_at: Utc::now(),
    };
    let s = Session {
        id: x.clone(),
        subject: row.subject,
        csrf: y.clone(),
        row: Mutex::new(row),
    };
    assert!(s.csrf_matches(&y));
    assert!(!s.csrf_matches(&x));
    assert!(!s.csrf_matches(""));
    assert!(
        !format!("{s:?}").contains(&x),
        "Debug hides the cookie value"
    );
}
