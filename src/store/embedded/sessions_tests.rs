//! The embedded backend's session calls on a real redb file in a temp folder.

use chrono::{Duration, Utc};
use uuid::Uuid;

use crate::store::embedded::EmbeddedStore;
use crate::store::{Portal, SessionRow, SessionRows};

fn row(portal: Portal, subject: Uuid, n: i64) -> SessionRow {
    let created = Utc::now() + Duration::milliseconds(n);
    SessionRow {
        portal,
        id_hash: format!("{:064x}", n),
        subject,
        csrf: format!("csrf-{n}"),
        reauth_at: None,
        created,
        expires_at: created + Duration::minutes(30),
    }
}

fn open() -> (tempfile::TempDir, EmbeddedStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path(), 8).unwrap();
    (dir, store)
}

#[tokio::test]
async fn create_get_refresh_and_delete() {
    let (_dir, s) = open();
    let now = Utc::now();
    // No session table yet: nothing found, no error.
    assert_eq!(s.get_session(Portal::Admin, "ab", now).await.unwrap(), None);
    let who = Uuid::new_v4();
    let mut r = row(Portal::Admin, who, 1);
    assert!(s.create_session(&r, 10).await.unwrap().is_empty());
    assert_eq!(
        s.get_session(Portal::Admin, &r.id_hash, now).await.unwrap(),
        Some(r.clone())
    );
    // The other portal's sessions are apart.
    let h = r.id_hash.clone();
    assert_eq!(
        s.get_session(Portal::Customer, &h, now).await.unwrap(),
        None
    );
    r.reauth_at = Some(now);
    r.expires_at += Duration::minutes(5);
    assert!(s.refresh_session(&r).await.unwrap());
    assert_eq!(
        s.get_session(Portal::Admin, &h, now).await.unwrap(),
        Some(r.clone())
    );
    s.delete_session(Portal::Admin, &h).await.unwrap();
    assert_eq!(s.get_session(Portal::Admin, &h, now).await.unwrap(), None);
    assert!(
        !s.refresh_session(&r).await.unwrap(),
        "a deleted session stays deleted"
    );
    assert_eq!(s.get_session(Portal::Admin, &h, now).await.unwrap(), None);
    s.delete_session(Portal::Admin, &h).await.unwrap();
}

#[tokio::test]
async fn the_cap_ends_the_oldest_and_a_subject_is_signed_out_everywhere() {
    let (_dir, s) = open();
    let now = Utc::now();
    let who = Uuid::new_v4();
    let other = row(Portal::Admin, Uuid::new_v4(), 100);
    let same_id_customer = row(Portal::Customer, who, 101);
    s.create_session(&other, 3).await.unwrap();
    s.create_session(&same_id_customer, 3).await.unwrap();
    let mine: Vec<SessionRow> = (0..5).map(|n| row(Portal::Admin, who, n)).collect();
    let mut ended = Vec::new();
    for r in &mine {
        ended.extend(s.create_session(r, 3).await.unwrap());
    }
    assert_eq!(
        ended,
        vec![mine[0].id_hash.clone(), mine[1].id_hash.clone()]
    );
    for (i, r) in mine.iter().enumerate() {
        let found = s.get_session(Portal::Admin, &r.id_hash, now).await.unwrap();
        assert_eq!(found.is_some(), i >= 2, "session {i}");
    }
    let keep = mine[3].id_hash.as_str();
    let ended = s
        .delete_sessions_of(Portal::Admin, who, Some(keep))
        .await
        .unwrap();
    assert_eq!(ended.len(), 2, "{ended:?}");
    let live = |h: String| {
        let s = &s;
        async move {
            s.get_session(Portal::Admin, &h, now)
                .await
                .unwrap()
                .is_some()
        }
    };
    assert!(live(mine[3].id_hash.clone()).await);
    assert!(!live(mine[4].id_hash.clone()).await);
    assert!(
        live(other.id_hash.clone()).await,
        "another account keeps its session"
    );
    let customer = s
        .get_session(Portal::Customer, &same_id_customer.id_hash, now)
        .await
        .unwrap();
    assert!(customer.is_some(), "the other portal keeps its session");
}

#[tokio::test]
async fn expired_rows_are_ignored_then_swept_and_do_not_count_against_the_cap() {
    let (_dir, s) = open();
    let who = Uuid::new_v4();
    let mut old = row(Portal::Customer, who, 0);
    let fresh = row(Portal::Customer, who, 1);
    s.create_session(&old, 5).await.unwrap();
    s.create_session(&fresh, 5).await.unwrap();
    // It idles out: its expiry passes.
    old.expires_at = Utc::now() - Duration::seconds(1);
    assert!(s.refresh_session(&old).await.unwrap());
    let now = Utc::now();
    assert_eq!(
        s.get_session(Portal::Customer, &old.id_hash, now)
            .await
            .unwrap(),
        None
    );
    assert_eq!(s.sweep_sessions(now).await.unwrap(), 1);
    assert_eq!(s.sweep_sessions(now).await.unwrap(), 0);
    assert!(s
        .get_session(Portal::Customer, &fresh.id_hash, now)
        .await
        .unwrap()
        .is_some());
    // An expired, unswept session is not one of the live ones the cap keeps.
    let mut idle = row(Portal::Customer, who, 2);
    s.create_session(&idle, 3).await.unwrap();
    idle.expires_at = Utc::now() - Duration::seconds(1);
    assert!(s.refresh_session(&idle).await.unwrap());
    let newest = row(Portal::Customer, who, 3);
    let ended = s.create_session(&newest, 2).await.unwrap();
    assert_eq!(ended, vec![idle.id_hash.clone()]);
    assert!(s
        .get_session(Portal::Customer, &fresh.id_hash, Utc::now())
        .await
        .unwrap()
        .is_some());
}
