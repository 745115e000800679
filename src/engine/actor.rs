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

use std::sync::Arc;

use actix::prelude::*;
use chrono::{DateTime, Utc};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::abuse::AbuseWindow;
use super::heartbeats::HeartbeatBuffer;
use super::{EngineError, SettingsCell};
use crate::domain::verdict::{self, Decision, Op};
use crate::domain::{
    Action, Activation, ActivationKind, ActivationLimit, ActivationStatus, AuditEntry, Environment,
    Identifier, License, LicenseStatus, Verdict, VerdictCode,
};
use crate::metrics::metrics;
use crate::store::{LicenseWrite, Store, StoreError};

/// A verdict plus the license facts a client answer carries.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub verdict: Verdict,
    pub status: LicenseStatus,
    pub expires_at: Option<DateTime<Utc>>,
    pub activation_limit: i32,
    pub activations: usize,
    pub features: Arc<Map<String, Value>>,
}

/// Validate (or heartbeat when `heartbeat`).
#[derive(Message, Clone)]
#[rtype(result = "Result<Outcome, EngineError>")]
pub struct Check {
    pub identifier: Identifier,
    pub heartbeat: bool,
}

/// What a client asked to change.
#[derive(Debug, Clone)]
pub struct ActivationRequest {
    pub op: Op,
    pub identifier: Identifier,
    pub kind: ActivationKind,
    pub ip: Option<String>,
}

/// Activate or deactivate from the client API.
#[derive(Message, Clone)]
#[rtype(result = "Result<Outcome, EngineError>")]
pub struct ClientChange(pub ActivationRequest);

/// The editable fields of a license; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct LicenseEdit {
    pub activation_limit: Option<ActivationLimit>,
    /// `Some(None)` makes the license lifetime.
    pub expires_at: Option<Option<DateTime<Utc>>>,
    pub feature_flags: Option<Map<String, Value>>,
    pub metadata: Option<Map<String, Value>>,
    /// Which releases the owner may download.
    pub eligibility: Option<crate::domain::Eligibility>,
}

/// Changes made by an admin (or the system) through the license's actor.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<License, EngineError>")]
pub enum AdminChange {
    Action { action: Action, who: String },
    Edit { edit: LicenseEdit, who: String },
    Assign { customer_id: Uuid, who: String },
    Deactivate { identifier: Identifier, who: String },
    Delete { who: String },
}

/// A copy of the license as the actor holds it.
#[derive(Message, Clone)]
#[rtype(result = "License")]
pub struct Snapshot;

/// Sent by the change-log reader: another node changed this license. Queued behind
/// the messages already waiting, so none of them is dropped.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Reload;

/// Sent by the registry when the license leaves memory.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Stop;

/// Self-message: the abuse rule fired for this license.
#[derive(Message)]
#[rtype(result = "()")]
struct AbuseTriggered {
    distinct: usize,
}

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

    fn rate_limit(&self) -> Result<(), EngineError> {
        self.limiter.check().map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&self.shared.clock));
            metrics().rate_limited.with_label_values(&["license"]).inc();
            EngineError::RateLimited {
                retry_after_secs: wait.as_secs().max(1),
            }
        })
    }

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

impl Handler<Check> for LicenseActor {
    type Result = Result<Outcome, EngineError>;

    fn handle(&mut self, msg: Check, _: &mut Self::Context) -> Self::Result {
        self.gone()?;
        self.rate_limit()?;
        let now = Utc::now();
        let op = if msg.heartbeat {
            Op::Heartbeat
        } else {
            Op::Validate
        };
        let grace = self.shared.settings.grace(self.env);
        let verdict = match verdict::decide(&self.license, op, &msg.identifier, now, grace) {
            Decision::Answer(v) => v,
            // Validate and heartbeat never change anything.
            _ => Verdict::not_found(),
        };
        if msg.heartbeat && verdict.valid {
            if let Some(a) = self
                .license
                .activations
                .iter_mut()
                .find(|a| a.is_active() && a.identifier == msg.identifier)
            {
                a.last_seen = Some(now);
            }
            self.shared
                .heartbeats
                .record(self.env, &self.license.key, &msg.identifier, now);
        }
        Ok(self.outcome(verdict))
    }
}

/// Builds the answer once a change is committed.
type AnswerFn = fn(&License, DateTime<Utc>, chrono::Duration) -> Verdict;

/// Decides and commits one client change, reloading on a version conflict.
async fn commit_client_change(
    store: Arc<dyn Store>,
    env: Environment,
    mut license: License,
    req: ActivationRequest,
    grace: chrono::Duration,
) -> Result<(License, Verdict), EngineError> {
    let mut reloaded = false;
    for attempt in 0..MAX_ATTEMPTS {
        let now = Utc::now();
        let decision = verdict::decide(&license, req.op, &req.identifier, now, grace);
        // A refusal that another node's change may have lifted (a freed slot, a device
        // activated elsewhere) is checked against the store once before it is answered.
        if let Decision::Answer(v) = &decision {
            let maybe_stale = matches!(
                v.code,
                VerdictCode::LimitReached | VerdictCode::NotActivated
            );
            if maybe_stale && !reloaded {
                reloaded = true;
                if let Some(fresh) = store.get_license(env, &license.key).await? {
                    if fresh.version != license.version {
                        license = fresh;
                        continue;
                    }
                }
            }
        }
        let mut next = license.clone();
        let (touched, audit, answer): (Activation, AuditEntry, AnswerFn) = match decision {
            Decision::Answer(v) => return Ok((license, v)),
            Decision::AddActivation => {
                let a = Activation::new(req.identifier.clone(), req.kind, now, req.ip.clone());
                next.activations.push(a.clone());
                if next.status == LicenseStatus::Assigned {
                    next.apply(Action::Activate, now)?;
                } else {
                    next.ever_activated = true;
                    next.touch(now);
                }
                let audit =
                    AuditEntry::new("client", "activation.created", Some(next.key.as_str()), now)
                        .change(license.status, next.status)
                        .detail(format!(
                            "{} ({})",
                            req.identifier,
                            verdict::usage(&next, next.active_count())
                        ));
                (a, audit, verdict::activated)
            }
            Decision::RemoveActivation => {
                let a = next
                    .activations
                    .iter_mut()
                    .find(|a| a.is_active() && a.identifier == req.identifier)
                    .ok_or(EngineError::NotFound)?;
                a.status = ActivationStatus::Deactivated;
                a.deactivated_at = Some(now);
                let a = a.clone();
                // The record keeps active devices only; the store writes `a` as history.
                next.retire_deactivated();
                next.touch(now);
                let audit = AuditEntry::new(
                    "client",
                    "activation.deactivated",
                    Some(next.key.as_str()),
                    now,
                )
                .detail(req.identifier.to_string());
                (a, audit, |l, _, _| verdict::deactivated(l))
            }
        };
        let write = LicenseWrite {
            license: &next,
            expected_version: license.version,
            touched: std::slice::from_ref(&touched),
            audit: &audit,
        };
        match store.update_license(env, write).await {
            Ok(()) => {
                let v = answer(&next, now, grace);
                return Ok((next, v));
            }
            Err(StoreError::Conflict(_)) => {
                license = store
                    .get_license(env, &license.key)
                    .await?
                    .ok_or(EngineError::NotFound)?;
            }
            // A contended conditional write can time out with its outcome unknown:
            // wait a moment, read what was committed and decide again (an activation
            // that did land is then answered as the idempotent re-activation it is).
            Err(StoreError::Unavailable(e)) if attempt < MAX_ATTEMPTS / 2 => {
                tracing::debug!(error = %e, "conditional write failed; re-reading");
                let pause = 20 + rand::random::<u64>() % 60;
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                license = store
                    .get_license(env, &license.key)
                    .await?
                    .ok_or(EngineError::NotFound)?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(EngineError::Busy)
}

/// How often one change is re-decided after conflicts before the client is told to retry.
const MAX_ATTEMPTS: usize = 8;

impl Handler<ClientChange> for LicenseActor {
    type Result = AtomicResponse<Self, Result<Outcome, EngineError>>;

    fn handle(&mut self, msg: ClientChange, _: &mut Self::Context) -> Self::Result {
        if let Err(e) = self.gone().and_then(|_| self.rate_limit()) {
            return AtomicResponse::new(Box::pin(fut::ready(Err(e))));
        }
        let grace = self.shared.settings.grace(self.env);
        let op = msg.0.op;
        let identifier = msg.0.identifier.clone();
        let fut = commit_client_change(
            self.shared.store.clone(),
            self.env,
            self.license.clone(),
            msg.0,
            grace,
        );
        AtomicResponse::new(Box::pin(fut.into_actor(self).map(
            move |result, act, ctx| {
                let (license, verdict) = result?;
                act.replace(license);
                if op == Op::Activate && verdict.code == VerdictCode::LimitReached {
                    let rule = act.shared.settings.get(act.env).abuse;
                    let window = act.abuse.get_or_insert_with(Box::default);
                    if let Some(distinct) = window.refused(identifier, Utc::now(), &rule) {
                        if !act.license.flagged && act.license.status != LicenseStatus::Suspended {
                            ctx.notify(AbuseTriggered { distinct });
                        }
                    }
                }
                Ok(act.outcome(verdict))
            },
        )))
    }
}

impl Handler<AbuseTriggered> for LicenseActor {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, msg: AbuseTriggered, _: &mut Self::Context) -> Self::Result {
        let rule = self.shared.settings.get(self.env).abuse;
        let now = Utc::now();
        let mut next = self.license.clone();
        let before = next.status;
        let (action, outcome) = if rule.auto_suspend && next.apply(Action::Suspend, now).is_ok() {
            ("license.auto_suspended", "suspended")
        } else {
            next.flagged = true;
            next.touch(now);
            ("license.abuse_flagged", "flagged")
        };
        let audit = AuditEntry::new("system", action, Some(next.key.as_str()), now)
            .change(before, next.status)
            .detail(format!(
                "{} distinct devices refused for the activation limit within {} s (threshold {})",
                msg.distinct, rule.window_secs, rule.threshold
            ));
        let store = self.shared.store.clone();
        let env = self.env;
        let expected = self.license.version;
        let fut = async move {
            let write = LicenseWrite {
                license: &next,
                expected_version: expected,
                touched: &[],
                audit: &audit,
            };
            store.update_license(env, write).await.map(|_| next)
        };
        AtomicResponse::new(Box::pin(fut.into_actor(self).map(
            move |res, act, _| match res {
                Ok(next) => {
                    metrics().abuse_events.with_label_values(&[outcome]).inc();
                    tracing::warn!(key = %act.license.key.masked(), outcome, "abuse rule fired");
                    act.replace(next);
                    act.abuse = None;
                }
                Err(e) => tracing::warn!(error = %e, "could not record an abuse flag"),
            },
        )))
    }
}

/// Applies an admin change to a copy; the caller commits it.
fn apply_admin(
    license: &License,
    change: &AdminChange,
    now: DateTime<Utc>,
) -> Result<(License, AuditEntry), EngineError> {
    let mut next = license.clone();
    let key = Some(license.key.as_str());
    let entry = match change {
        AdminChange::Action { action, who } => {
            next.apply(*action, now)?;
            AuditEntry::new(who.as_str(), format!("license.{action}"), key, now)
                .change(license.status, next.status)
        }
        AdminChange::Assign { customer_id, who } => {
            next.apply(Action::Assign, now)?;
            next.customer_id = Some(*customer_id);
            AuditEntry::new(who.as_str(), "license.assign", key, now).change(
                license
                    .customer_id
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
                customer_id,
            )
        }
        AdminChange::Edit { edit, who } => {
            if license.status == LicenseStatus::Revoked {
                return Err(EngineError::Invalid {
                    field: "status",
                    detail: "a revoked license cannot be edited".into(),
                });
            }
            if let Some(limit) = edit.activation_limit {
                next.activation_limit = limit;
            }
            if let Some(flags) = &edit.feature_flags {
                next.feature_flags = flags.clone();
            }
            if let Some(meta) = &edit.metadata {
                next.metadata = meta.clone();
            }
            if let Some(e) = &edit.eligibility {
                next.eligibility = e.clone();
            }
            if let Some(exp) = edit.expires_at {
                next.expires_at = exp;
                let renewing =
                    license.status == LicenseStatus::Expired && exp.is_none_or(|e| e > now);
                if renewing {
                    next.apply(Action::Renew, now)?;
                }
            }
            next.touch(now);
            AuditEntry::new(who.as_str(), "license.edited", key, now)
                .change(summary(license), summary(&next))
        }
        AdminChange::Deactivate { identifier, who } => {
            let a = next
                .activations
                .iter_mut()
                .find(|a| a.is_active() && &a.identifier == identifier)
                .ok_or_else(|| EngineError::Invalid {
                    field: "identifier",
                    detail: format!("no active activation for {identifier}"),
                })?;
            a.status = ActivationStatus::Deactivated;
            a.deactivated_at = Some(now);
            next.touch(now);
            AuditEntry::new(who.as_str(), "activation.deactivated", key, now)
                .detail(identifier.to_string())
        }
        AdminChange::Delete { who } => AuditEntry::new(who.as_str(), "license.deleted", key, now)
            .change(license.status, "deleted"),
    };
    Ok((next, entry))
}

fn summary(l: &License) -> String {
    serde_json::json!({
        "status": l.status,
        "activation_limit": l.activation_limit,
        "expires_at": l.expires_at,
        "feature_flags": l.feature_flags,
        "metadata_bytes": serde_json::to_vec(&l.metadata).map(|v| v.len()).unwrap_or(0),
    })
    .to_string()
}

impl Handler<AdminChange> for LicenseActor {
    type Result = AtomicResponse<Self, Result<License, EngineError>>;

    fn handle(&mut self, msg: AdminChange, _: &mut Self::Context) -> Self::Result {
        if let Err(e) = self.gone() {
            return AtomicResponse::new(Box::pin(fut::ready(Err(e))));
        }
        let store = self.shared.store.clone();
        let env = self.env;
        let current = self.license.clone();
        let deleting = matches!(msg, AdminChange::Delete { .. });
        let fut = async move {
            let mut current = current;
            for _ in 0..5 {
                let now = Utc::now();
                let (mut next, audit) = apply_admin(&current, &msg, now)?;
                // The record keeps active devices only; deactivated ones leave it
                // for the history rows, written in the same store call.
                let retired = next.retire_deactivated();
                let result = if deleting {
                    store
                        .delete_license(env, &current.key, &audit)
                        .await
                        .map(|_| ())
                } else {
                    let touched: Vec<Activation> = next
                        .activations
                        .iter()
                        .filter(|a| !current.activations.contains(a))
                        .cloned()
                        .chain(retired)
                        .collect();
                    store
                        .update_license(
                            env,
                            LicenseWrite {
                                license: &next,
                                expected_version: current.version,
                                touched: &touched,
                                audit: &audit,
                            },
                        )
                        .await
                };
                match result {
                    Ok(()) => return Ok(next),
                    Err(StoreError::Conflict(_)) => {
                        current = store
                            .get_license(env, &current.key)
                            .await?
                            .ok_or(EngineError::NotFound)?;
                    }
                    Err(StoreError::NotFound(_)) => return Err(EngineError::NotFound),
                    Err(e) => return Err(e.into()),
                }
            }
            Err(EngineError::Busy)
        };
        AtomicResponse::new(Box::pin(fut.into_actor(self).map(move |res, act, ctx| {
            match &res {
                Ok(next) if deleting => {
                    act.deleted = true;
                    ctx.stop();
                    return Ok(next.clone());
                }
                Ok(next) => act.replace(next.clone()),
                Err(_) => {}
            }
            res
        })))
    }
}
