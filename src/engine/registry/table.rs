//! The resident licenses of one environment: a sharded map read on every
//! client request, with its own idle and capacity eviction.
//!
//! Why not moka here (it was, until issue 13): a hit must cost a hash, a shard
//! read lock and an `Arc` clone. moka records every read for its access-order
//! queue and frequency sketch; under `wrk-ab` that was 12–17 % of the server's
//! CPU per validation, and its entry bookkeeping ~200 B per resident license.
//! Here a hit only moves the resident's coarse "last used" second (when it
//! changed); a sweep drops what idled past `registry_idle_secs` and, over
//! `registry_capacity`, the least recently used. Loads are coalesced in
//! `registry.rs` (one store read and one resident per license).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use dashmap::DashMap;

use super::super::actor::Stop;
use super::super::resident::Resident;
use crate::domain::LicenseKey;

/// One environment's resident licenses.
#[derive(Default)]
pub struct Table {
    /// foldhash instead of SipHash: hashed on every client request, and only keys
    /// of licenses that exist get in (loaded from the store), so callers cannot
    /// choose colliding keys; the per-process random seed covers the rest.
    map: DashMap<LicenseKey, Arc<Resident>, foldhash::fast::RandomState>,
    len: AtomicUsize,
}

impl Table {
    /// The resident license, marked as used at `now` (seconds of the registry clock).
    pub fn get(&self, key: &LicenseKey, now: u32) -> Option<Arc<Resident>> {
        let r = self.map.get(key)?.value().clone();
        r.touch(now);
        Some(r)
    }

    /// Makes `r` the resident license of `key` (a fresh load).
    pub fn insert(&self, key: LicenseKey, r: Arc<Resident>, now: u32) {
        r.touch(now);
        match self.map.insert(key, r) {
            Some(old) => retire(&old),
            None => {
                self.len.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Drops `key` if it still maps to `r` (not a newer load), stopping its actor.
    pub fn remove_if_same(&self, key: &LicenseKey, r: &Arc<Resident>) {
        if let Some((_, old)) = self.map.remove_if(key, |_, v| Arc::ptr_eq(v, r)) {
            self.len.fetch_sub(1, Ordering::Relaxed);
            retire(&old);
        }
    }

    /// Drops `key` whatever it maps to, stopping its actor.
    pub fn remove(&self, key: &LicenseKey) -> Option<Arc<Resident>> {
        let (_, old) = self.map.remove(key)?;
        self.len.fetch_sub(1, Ordering::Relaxed);
        retire(&old);
        Some(old)
    }

    /// How many licenses are resident.
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// Drops everything (shutdown and tests).
    pub fn clear(&self) {
        self.map.retain(|_, r| {
            retire(r);
            self.len.fetch_sub(1, Ordering::Relaxed);
            false
        });
    }

    /// Drops what was last used before `idle_before`, then, while more than
    /// `capacity` stay, the least recently used. Returns how many left.
    pub fn sweep(&self, idle_before: u32, capacity: usize) -> usize {
        let mut dropped = self.drop_where(|last| last < idle_before);
        let over = self.len().saturating_sub(capacity);
        if over > 0 {
            let mut used: Vec<u32> = self.map.iter().map(|e| e.value().last_used()).collect();
            if used.is_empty() {
                return dropped;
            }
            let cut = (over - 1).min(used.len() - 1);
            let (_, nth, _) = used.select_nth_unstable(cut);
            let cutoff = *nth;
            // The `over` least recently used go, and whatever shares their last second.
            dropped += self.drop_where(|last| last <= cutoff);
        }
        dropped
    }

    fn drop_where(&self, old: impl Fn(u32) -> bool) -> usize {
        let mut dropped = 0;
        self.map.retain(|_, r| {
            let keep = !old(r.last_used());
            if !keep {
                retire(r);
                dropped += 1;
            }
            keep
        });
        self.len.fetch_sub(dropped, Ordering::Relaxed);
        dropped
    }
}

/// A resident leaving memory: its actor (if one was started) stops.
fn retire(r: &Arc<Resident>) {
    if let Some(addr) = r.started_actor() {
        addr.do_send(Stop);
    }
}
