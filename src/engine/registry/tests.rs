//! The table's eviction and the resident's heartbeat bookkeeping.

use std::sync::Arc;

use super::table::Table;
use crate::domain::license::fixtures::license;
use crate::domain::{Identifier, LicenseKey, LicenseStatus};
use crate::engine::actor::ActorShared;
use crate::engine::resident::Resident;

fn shared(dir: &std::path::Path) -> Arc<ActorShared> {
    let store = crate::store::embedded::EmbeddedStore::open(dir, 8).unwrap();
    Arc::new(ActorShared {
        store: Arc::new(store),
        quota: governor::Quota::per_second(std::num::NonZeroU32::new(1000).unwrap()),
        catalog: Default::default(),
        clock: Default::default(),
        heartbeats: Default::default(),
        settings: Arc::new(crate::engine::SettingsCell::new(env(), env())),
    })
}

fn env() -> crate::domain::EnvSettings {
    crate::domain::EnvSettings {
        grace_period_days: 7,
        abuse: Default::default(),
        reauth_preview: false,
        mail_key_on_assign: true,
        security_alerts_mandatory: false,
        admin_two_factor_required: false,
    }
}

fn key(i: usize) -> LicenseKey {
    LicenseKey::parse(&format!("KEY-{i}")).unwrap()
}

/// Fills a table with one resident per `used` second (key i used at `used[i]`).
fn table(shared: &Arc<ActorShared>, used: &[u32]) -> Table {
    let t = Table::default();
    for (i, at) in used.iter().enumerate() {
        let r = Resident::new(
            license(LicenseStatus::Active, 5, &["dev-0"]),
            shared.clone(),
        );
        t.insert(key(i), r, *at);
    }
    t
}

#[test]
fn idle_licenses_leave_and_used_ones_stay() {
    let dir = tempfile::tempdir().unwrap();
    let s = shared(dir.path());
    let t = table(&s, &[0, 5, 10, 20]);
    assert_eq!(t.sweep(6, usize::MAX), 2);
    assert_eq!(t.len(), 2);
    assert!(t.get(&key(0), 30).is_none());
    assert!(t.get(&key(2), 30).is_some());
    // Looked up at 30: key 2 is no longer idle at 25, key 3 is.
    assert_eq!(t.sweep(25, usize::MAX), 1);
    assert!(t.get(&key(2), 31).is_some());
}

#[test]
fn over_capacity_the_least_recently_used_leave() {
    let dir = tempfile::tempdir().unwrap();
    let s = shared(dir.path());
    let t = table(&s, &[4, 1, 5, 2, 3]);
    assert_eq!(t.sweep(0, 3), 2);
    assert_eq!(t.len(), 3);
    assert!(t.get(&key(1), 9).is_none() && t.get(&key(3), 9).is_none());
    for kept in [0, 2, 4] {
        assert!(t.get(&key(kept), 9).is_some(), "key {kept}");
    }
    assert_eq!(t.sweep(0, 3), 0, "at capacity nothing more leaves");
}

#[test]
fn a_newer_load_is_not_removed_for_an_older_one() {
    let dir = tempfile::tempdir().unwrap();
    let s = shared(dir.path());
    let t = table(&s, &[1]);
    let old = t.get(&key(0), 1).unwrap();
    let newer = Resident::new(license(LicenseStatus::Active, 5, &[]), s.clone());
    t.insert(key(0), newer.clone(), 2);
    t.remove_if_same(&key(0), &old);
    assert!(Arc::ptr_eq(&t.get(&key(0), 3).unwrap(), &newer));
    assert_eq!(t.len(), 1);
    t.clear();
    assert_eq!(t.len(), 0);
}

#[test]
fn heartbeats_mark_once_and_survive_a_published_change() {
    let dir = tempfile::tempdir().unwrap();
    let s = shared(dir.path());
    let r = Resident::new(license(LicenseStatus::Active, 5, &["dev-0"]), s.clone());
    let dev = Identifier::parse("dev-0").unwrap();
    assert!(r.check(&dev, true).unwrap().verdict.valid);
    assert!(r.check(&dev, true).unwrap().verdict.valid);
    let (seen, held) = r.seen_at(0);
    assert_eq!(seen.len(), 1, "one entry per device");
    assert!(!held);
    let at = seen[0].at;
    assert!(r.seen_at(0).0.is_empty(), "written once");
    assert!(r.view().merged().activations[0].last_seen >= Some(at));
    // A committed change (here: the same license, version bumped) keeps the heartbeat.
    let mut next = r.view().license.clone();
    next.version += 1;
    r.publish(next);
    assert_eq!(r.view().license.activations[0].last_seen, Some(at));
    // A validation does not count as a heartbeat.
    r.check(&dev, false).unwrap();
    assert!(r.seen_at(0).0.is_empty());
}

#[test]
fn a_time_is_written_again_only_once_it_moved_past_the_precision() {
    let dir = tempfile::tempdir().unwrap();
    let s = shared(dir.path());
    let r = Resident::new(license(LicenseStatus::Active, 5, &["dev-0"]), s.clone());
    let dev = Identifier::parse("dev-0").unwrap();
    r.check(&dev, true).unwrap();
    assert_eq!(r.seen_at(60_000).0.len(), 1, "never written: written now");
    std::thread::sleep(std::time::Duration::from_millis(5));
    r.check(&dev, true).unwrap();
    let (due, held) = r.seen_at(60_000);
    assert!(due.is_empty() && held, "5 ms later: held back");
    let (due, held) = r.seen_at(0);
    assert_eq!((due.len(), held), (1, false), "shutdown writes it");
}
