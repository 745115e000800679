//! One actor per resident license.
//!
//! Protocol:
//! - Validate and heartbeat never reach the actor: they read the license's
//!   published view ([`super::resident`]). The actor is started on the first change.
//! - `ClientChange` (activate/deactivate): decided from memory; a new or removed
//!   activation is committed to the store (compare and set on the license
//!   version) before the answer. The actor handles nothing else meanwhile.
//! - `AdminChange` (state actions, edits, assignment, device removal, delete):
//!   same durability rule; refused transitions change nothing.
//! - `Reload`: another node changed the license. `Stop`: sent by the registry on eviction.
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
use governor::Quota;

use super::abuse::AbuseWindow;
use super::heartbeats::HeartbeatBuffer;
use super::resident::Resident;
use super::{EngineError, SettingsCell};
use crate::domain::{Environment, License, Verdict};
use crate::store::Store;

pub use messages::{
    ActivationRequest, AdminChange, AdminRequest, ClientChange, LicenseEdit, Outcome, Reload, Stop,
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

/// Serialises one license's changes on this node; reads never reach it (they take
/// the [`Resident`]'s view), so it is started on the first change only.
pub struct LicenseActor {
    env: Environment,
    resident: Arc<Resident>,
    shared: Arc<ActorShared>,
    /// Allocated only once the license is refused for its limit.
    abuse: Option<Box<AbuseWindow>>,
}

impl LicenseActor {
    /// The actor of a resident license.
    pub fn new(resident: Arc<Resident>) -> Self {
        LicenseActor {
            env: resident.view().license.environment,
            shared: resident.shared().clone(),
            resident,
            abuse: None,
        }
    }

    /// The committed license with the latest heartbeats: what a change starts from.
    fn license(&self) -> License {
        self.resident.view().merged()
    }

    /// The committed license's version (what a compare-and-set expects).
    fn version(&self) -> u64 {
        self.resident.view().license.version
    }

    fn outcome(&self, verdict: Verdict) -> Outcome {
        super::resident::outcome(&self.resident.view(), verdict)
    }

    /// Takes a committed (or reloaded) license as the state reads see.
    fn replace(&mut self, license: License) {
        self.resident.publish(license);
    }

    /// The license is gone: reads answer NOT_FOUND and the actor stops.
    fn delete(&mut self, ctx: &mut Context<Self>) {
        self.resident.set_gone();
        ctx.stop();
    }

    #[inline]
    fn rate_limit(&self) -> Result<(), EngineError> {
        self.resident.rate_limit()
    }

    #[inline]
    fn gone(&self) -> Result<(), EngineError> {
        if self.resident.is_gone() {
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
        let (env, key) = (self.env, self.resident.view().license.key.clone());
        let fut = async move { store.get_license(env, &key).await };
        AtomicResponse::new(Box::pin(fut.into_actor(self).map(
            |res, act, ctx| match res {
                Ok(Some(fresh)) => act.replace(fresh),
                Ok(None) => act.delete(ctx),
                // Keep the copy we have; the next conflict or change reloads it.
                Err(e) => tracing::warn!(error = %e, "could not reload a changed license"),
            },
        )))
    }
}
