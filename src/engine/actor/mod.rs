//! One actor per resident license.
//!
//! Protocol:
//! - `Check` (validate/heartbeat, from client handlers): answered from memory; a
//!   valid heartbeat moves `last_seen` in memory and queues it for the flusher.
//! - `ClientChange` (activate/deactivate): decided from memory; a new or removed
//!   activation is committed to the store (compare and set on the license
//!   version) before the answer. The actor handles nothing else meanwhile.
//! - `AdminChange` (state actions, edits, assignment, device removal, delete):
//!   same durability rule; refused transitions change nothing.
//! - `Snapshot`: a copy of the license. `Stop`: sent by the registry on eviction.
//!
//! On a version conflict (another node or an evicted twin wrote first) the actor
//! reloads the license from the store and decides again, so a limit is never exceeded.
//!
//! This file holds the actor's state and life cycle; the rest is by concept:
//! [`messages`] (what it is sent), `client` (client requests and the abuse rule),
//! `admin` (admin changes) and `commit` (writing a decided change to the store).

mod admin;
mod client;
mod commit;
/// Messages are public: the engine and the registry send them.
pub mod messages;

use std::sync::Arc;

use actix::prelude::*;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::{Map, Value};

use super::abuse::AbuseWindow;
use super::heartbeats::HeartbeatBuffer;
use super::{EngineError, SettingsCell};
use crate::domain::{Environment, License, Verdict};
use crate::metrics::metrics;
use crate::store::Store;

pub use messages::{
    ActivationRequest, AdminChange, Check, ClientChange, LicenseEdit, Outcome, Reload, Snapshot,
    Stop,
};

/// What every license actor on a node shares (one allocation, not one per actor).
pub struct ActorShared {
    pub store: Arc<dyn Store>,
    pub quota: Quota,
    /// Every committed change is mirrored here for admin listings.
    pub catalog: Arc<super::catalog::Catalog>,
    /// One calibrated clock for every limiter: building a clock per actor costs a CPUID probe.
    pub clock: governor::clock::DefaultClock,
    pub heartbeats: Arc<HeartbeatBuffer>,
    pub settings: Arc<SettingsCell>,
}

/// Owns one license's state, its activation set and its rate limiter.
///
/// Kept small: a node holds a million of these.
pub struct LicenseActor {
    env: Environment,
    deleted: bool,
    license: License,
    features: Arc<Map<String, Value>>,
    shared: Arc<ActorShared>,
    limiter: DefaultDirectRateLimiter,
    /// Allocated only once the license is refused for its limit.
    abuse: Option<Box<AbuseWindow>>,
}

impl LicenseActor {
    /// An actor holding `license`, loaded by the registry.
    pub fn new(license: License, shared: Arc<ActorShared>) -> Self {
        LicenseActor {
            env: license.environment,
            deleted: false,
            features: Arc::new(license.feature_flags.clone()),
            license,
            limiter: RateLimiter::direct_with_clock(shared.quota, &shared.clock),
            shared,
            abuse: None,
        }
    }

    #[inline]
    fn outcome(&self, verdict: Verdict) -> Outcome {
        Outcome {
            verdict,
            status: self.license.status,
            expires_at: self.license.expires_at,
            activation_limit: self.license.activation_limit.get(),
            activations: self.license.active_count(),
            features: self.features.clone(),
        }
    }

    /// Takes a committed (or reloaded) license as the actor's state.
    fn replace(&mut self, license: License) {
        if license.feature_flags != *self.features {
            self.features = Arc::new(license.feature_flags.clone());
        }
        self.shared.catalog.upsert(&license);
        self.license = license;
    }

    #[inline]
    fn rate_limit(&self) -> Result<(), EngineError> {
        self.limiter.check().map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&self.shared.clock));
            metrics().rate_limited.with_label_values(&["license"]).inc();
            EngineError::RateLimited {
                retry_after_secs: wait.as_secs().max(1),
            }
        })
    }

    #[inline]
    fn gone(&self) -> Result<(), EngineError> {
        if self.deleted {
            Err(EngineError::NotFound)
        } else {
            Ok(())
        }
    }
}

impl Actor for LicenseActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(256);
        metrics().resident_licenses.inc();
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        metrics().resident_licenses.dec();
    }
}

impl Handler<Stop> for LicenseActor {
    type Result = ();
    fn handle(&mut self, _: Stop, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

impl Handler<Reload> for LicenseActor {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, _: Reload, _: &mut Self::Context) -> Self::Result {
        let store = self.shared.store.clone();
        let (env, key) = (self.env, self.license.key.clone());
        let fut = async move { store.get_license(env, &key).await };
        AtomicResponse::new(Box::pin(fut.into_actor(self).map(
            |res, act, ctx| match res {
                Ok(Some(fresh)) => act.replace(fresh),
                Ok(None) => {
                    act.deleted = true;
                    ctx.stop();
                }
                // Keep the copy we have; the next conflict or change reloads it.
                Err(e) => tracing::warn!(error = %e, "could not reload a changed license"),
            },
        )))
    }
}

impl Handler<Snapshot> for LicenseActor {
    type Result = MessageResult<Snapshot>;
    fn handle(&mut self, _: Snapshot, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.license.clone())
    }
}
