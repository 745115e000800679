//! A license held in memory on this node. Reads (validate, heartbeat, the
//! portals' copies) take its published view without a message; every change goes
//! through its actor, started on the first change only, which publishes the
//! committed license as the next view before it answers.
//!
//! Why this keeps the actor model's guarantees: a view is an immutable copy
//! of a committed license (or of the store's row at load), swapped in as a
//! whole, so a read sees one committed state, never a half-applied change; and
//! the actor publishes before it answers, so a read that starts after a change
//! was answered sees it. Writes stay serialised by the one actor. The only thing
//! a read writes is a device's `last_seen`, a per-activation atomic the actor
//! folds into the license it commits or hands out.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use actix::{Actor, Addr};
use chrono::{DateTime, Utc};
use governor::{DefaultDirectRateLimiter, RateLimiter};
use parking_lot::RwLock;
use serde_json::{Map, Value};

use super::actor::{ActorShared, LicenseActor, Outcome};
use super::EngineError;
use crate::domain::verdict::{self, Decision, Op};
use crate::domain::{Identifier, License, Verdict};
use crate::metrics::metrics;

/// One committed state of a license, as reads see it.
pub struct View {
    pub license: License,
    pub features: Arc<Map<String, Value>>,
    /// Milliseconds of the newest heartbeat per activation (same order), 0 = none.
    seen: Box<[AtomicI64]>,
    /// Milliseconds of the last time written to the store per activation.
    written: Box<[AtomicI64]>,
}

impl View {
    fn new(license: License, features: Arc<Map<String, Value>>) -> Self {
        let seen = license
            .activations
            .iter()
            .map(|_| AtomicI64::new(0))
            .collect();
        let written = (license.activations.iter())
            .map(|a| AtomicI64::new(a.last_seen.map_or(0, |t| t.timestamp_millis())))
            .collect();
        View {
            license,
            features,
            seen,
            written,
        }
    }

    /// The license with the heartbeats recorded on this view folded in.
    pub fn merged(&self) -> License {
        let mut l = self.license.clone();
        for (a, s) in l.activations.iter_mut().zip(self.seen.iter()) {
            fold(&mut a.last_seen, s.load(Ordering::Relaxed));
        }
        l
    }

    /// The newest `last_seen` this view knows for an activation id.
    fn seen_of(&self, id: uuid::Uuid) -> Option<DateTime<Utc>> {
        let i = self.license.activations.iter().position(|a| a.id == id)?;
        let mut at = self.license.activations[i].last_seen;
        fold(&mut at, self.seen[i].load(Ordering::Relaxed));
        at
    }
}

fn fold(at: &mut Option<DateTime<Utc>>, millis: i64) {
    if millis == 0 {
        return;
    }
    if let Some(t) = DateTime::from_timestamp_millis(millis) {
        if at.is_none_or(|prev| prev < t) {
            *at = Some(t);
        }
    }
}

/// A resident license: its current view, its rate limiter and (once something
/// changed it here) its actor.
pub struct Resident {
    view: RwLock<Arc<View>>,
    limiter: DefaultDirectRateLimiter,
    actor: OnceLock<Addr<LicenseActor>>,
    gone: AtomicBool,
    /// Queued for the heartbeat flusher since its last pass.
    dirty: AtomicBool,
    /// The registry clock's second of the last lookup (idle and LRU eviction).
    last_used: AtomicU32,
    shared: Arc<ActorShared>,
}

impl Resident {
    /// A license just read from the store.
    pub fn new(license: License, shared: Arc<ActorShared>) -> Arc<Self> {
        metrics().resident_licenses.inc();
        let features = Arc::new(license.feature_flags.clone());
        Arc::new(Resident {
            view: RwLock::new(Arc::new(View::new(license, features))),
            limiter: RateLimiter::direct_with_clock(shared.quota, &shared.clock),
            actor: OnceLock::new(),
            gone: AtomicBool::new(false),
            dirty: AtomicBool::new(false),
            last_used: AtomicU32::new(0),
            shared,
        })
    }

    /// The current view (a cheap handle; the license is not copied).
    pub fn view(&self) -> Arc<View> {
        self.view.read().clone()
    }

    /// Marks the license used at `now` (written only when the second changed,
    /// so a hot license does not bounce its cache line between cores).
    pub fn touch(&self, now: u32) {
        if self.last_used.load(Ordering::Relaxed) != now {
            self.last_used.store(now, Ordering::Relaxed);
        }
    }

    /// The registry clock's second of the last lookup.
    pub fn last_used(&self) -> u32 {
        self.last_used.load(Ordering::Relaxed)
    }

    /// Whether the license was deleted (or vanished from the store) meanwhile.
    pub fn is_gone(&self) -> bool {
        self.gone.load(Ordering::Acquire)
    }

    /// The license's actor, started here on first use (changes only).
    pub fn actor(self: &Arc<Self>) -> Addr<LicenseActor> {
        self.actor
            .get_or_init(|| LicenseActor::new(self.clone()).start())
            .clone()
    }

    /// The actor, when one was started.
    pub fn started_actor(&self) -> Option<&Addr<LicenseActor>> {
        self.actor.get()
    }

    /// What every actor on the node shares.
    pub fn shared(&self) -> &Arc<ActorShared> {
        &self.shared
    }

    /// Takes one request from the license's budget.
    pub fn rate_limit(&self) -> Result<(), EngineError> {
        self.limiter.check().map_err(|not_until| {
            let now = governor::clock::Clock::now(&self.shared.clock);
            metrics().rate_limited.with_label_values(&["license"]).inc();
            EngineError::RateLimited {
                retry_after_secs: not_until.wait_time_from(now).as_secs().max(1),
            }
        })
    }

    /// Validate or heartbeat, answered from the view: no message, no store.
    pub fn check(
        self: &Arc<Self>,
        identifier: &Identifier,
        heartbeat: bool,
    ) -> Result<Outcome, EngineError> {
        if self.is_gone() {
            return Err(EngineError::NotFound);
        }
        self.rate_limit()?;
        let now = Utc::now();
        let op = if heartbeat {
            Op::Heartbeat
        } else {
            Op::Validate
        };
        let view = self.view.read();
        let l = &view.license;
        let grace = self.shared.settings.grace(l.environment);
        let verdict = match verdict::decide(l, op, identifier, now, grace) {
            Decision::Answer(v) => v,
            // Validate and heartbeat never change anything.
            _ => Verdict::not_found(),
        };
        if heartbeat && verdict.valid {
            let active = l.activations.iter().enumerate();
            if let Some((i, _)) = active
                .filter(|(_, a)| a.is_active())
                .find(|(_, a)| &a.identifier == identifier)
            {
                view.seen[i].fetch_max(now.timestamp_millis(), Ordering::Relaxed);
                if !self.dirty.load(Ordering::Relaxed) && self.mark_dirty() {
                    self.shared.heartbeats.mark(self.clone());
                }
            }
        }
        Ok(outcome(&view, verdict))
    }

    /// Publishes a committed (or reloaded) license: the next read sees it.
    /// Heartbeats recorded on the old view are carried over by activation id.
    pub(super) fn publish(&self, mut license: License) {
        let mut slot = self.view.write();
        let old = slot.clone();
        for a in license.activations.iter_mut() {
            if let Some(t) = old.seen_of(a.id) {
                fold(&mut a.last_seen, t.timestamp_millis());
            }
        }
        let features = if license.feature_flags == *old.features {
            old.features.clone()
        } else {
            Arc::new(license.feature_flags.clone())
        };
        self.shared.catalog.upsert(&license);
        *slot = Arc::new(View::new(license, features));
    }

    /// The flusher took this license: the next heartbeat queues it again.
    pub(super) fn clear_dirty(&self) {
        self.dirty.store(false, Ordering::Release);
    }

    /// Sets the dirty flag; true when this call set it (the caller queues it).
    pub(super) fn mark_dirty(&self) -> bool {
        !self.dirty.swap(true, Ordering::AcqRel)
    }

    /// The newest `last_seen` of each active device that moved at least
    /// `precision_ms` past its last written time (now counted as written), and
    /// whether a newer time was held back.
    pub(super) fn seen_at(&self, precision_ms: i64) -> (Vec<crate::store::SeenAt>, bool) {
        let view = self.view();
        let l = &view.license;
        let mut held = false;
        let mut due = Vec::new();
        for (i, a) in l
            .activations
            .iter()
            .enumerate()
            .filter(|(_, a)| a.is_active())
        {
            let mut at = a.last_seen;
            fold(&mut at, view.seen[i].load(Ordering::Relaxed));
            let Some(at) = at else { continue };
            let ms = at.timestamp_millis();
            let written = view.written[i].load(Ordering::Relaxed);
            if ms <= written {
                continue;
            }
            if ms - written < precision_ms && written > 0 {
                held = true;
                continue;
            }
            view.written[i].store(ms, Ordering::Relaxed);
            due.push(crate::store::SeenAt {
                key: l.key.clone(),
                identifier: a.identifier.clone(),
                at,
            });
        }
        (due, held)
    }

    /// Marks the license deleted: reads answer NOT_FOUND from now on.
    pub(super) fn set_gone(&self) {
        self.gone.store(true, Ordering::Release);
    }
}

impl Drop for Resident {
    fn drop(&mut self) {
        metrics().resident_licenses.dec();
    }
}

/// The answer's facts from one view.
pub(super) fn outcome(view: &View, verdict: Verdict) -> Outcome {
    let l = &view.license;
    Outcome {
        verdict,
        status: l.status,
        expires_at: l.expires_at,
        activation_limit: l.activation_limit.get(),
        activations: l.active_count(),
        features: view.features.clone(),
    }
}
