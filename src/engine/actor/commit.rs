//! Writing a decided change to the store: compare and set on the license version,
//! and on a conflict (another node or an evicted twin wrote first) reload and
//! decide again, so a limit is never exceeded and a refused change changes nothing.

use std::sync::Arc;

use chrono::Utc;

use super::client::{added, removed};
use super::messages::{ActivationRequest, AdminRequest};
use crate::domain::verdict::{self, Decision};
use crate::domain::{Activation, Environment, License, Verdict};
use crate::engine::EngineError;
use crate::store::{LicenseWrite, Store, StoreError};

/// How often one change is re-decided after conflicts before the client is told to retry.
const MAX_ATTEMPTS: usize = 8;

/// How often an admin change is re-applied after conflicts before it answers busy.
const MAX_ADMIN_ATTEMPTS: usize = 5;

/// The license as the store holds it now; `NotFound` once it was deleted.
async fn reload(
    store: &dyn Store,
    env: Environment,
    license: &License,
) -> Result<License, EngineError> {
    store
        .get_license(env, &license.key)
        .await?
        .ok_or(EngineError::NotFound)
}

/// Decides and commits one client change, reloading on a version conflict.
pub(super) async fn commit_client_change(
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
        // activated elsewhere, an assignment) is checked against the store once.
        if !reloaded && may_be_stale(&decision) {
            reloaded = true;
            if let Some(fresh) = store.get_license(env, &license.key).await? {
                if fresh.version != license.version {
                    license = fresh;
                    continue;
                }
            }
        }
        let applied = match decision {
            Decision::Answer(v) => return Ok((license, v)),
            Decision::AddActivation => added(&license, &req, now)?,
            Decision::RemoveActivation => removed(&license, &req, now)?,
        };
        let write = LicenseWrite {
            license: &applied.next,
            expected_version: license.version,
            touched: std::slice::from_ref(&applied.touched),
            audit: &applied.audit,
        };
        match store.update_license(env, write).await {
            Ok(()) => {
                let v = (applied.answer)(&applied.next, now, grace);
                return Ok((applied.next, v));
            }
            Err(e) => {
                license = after_failed_write(store.as_ref(), env, &license, e, attempt).await?
            }
        }
    }
    Err(EngineError::Busy)
}

/// Whether a refusal may come from a stale copy (see [`commit_client_change`]):
/// any refusal of a change, since another node may have freed a slot, activated
/// the device, assigned, renewed or reinstated the license meanwhile. (Refusals
/// are rare; each is checked against the store once.)
fn may_be_stale(decision: &Decision) -> bool {
    matches!(decision, Decision::Answer(v) if !v.valid)
}

/// What to decide again from after a client change's write failed: the license
/// as committed meanwhile, or the error to answer.
async fn after_failed_write(
    store: &dyn Store,
    env: Environment,
    license: &License,
    error: StoreError,
    attempt: usize,
) -> Result<License, EngineError> {
    match error {
        StoreError::Conflict(_) => reload(store, env, license).await,
        // A contended conditional write can time out with its outcome unknown:
        // wait a moment, read what was committed and decide again (an activation
        // that did land is then answered as the idempotent re-activation it is).
        StoreError::Unavailable(e) if attempt < MAX_ATTEMPTS / 2 => {
            tracing::debug!(error = %e, "conditional write failed; re-reading");
            let pause = 20 + rand::random::<u64>() % 60;
            tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
            reload(store, env, license).await
        }
        e => Err(e.into()),
    }
}

/// Applies and commits one admin change (a delete removes the license),
/// re-applying it to the fresh license on a version conflict.
pub(super) async fn commit_admin_change(
    store: Arc<dyn Store>,
    env: Environment,
    mut current: License,
    AdminRequest { change, ip }: AdminRequest,
) -> Result<License, EngineError> {
    for _ in 0..MAX_ADMIN_ATTEMPTS {
        let (mut next, audit) = change.apply_to(&current, Utc::now())?;
        let audit = audit.from_ip(ip);
        // The record keeps active devices only; deactivated ones leave it
        // for the history rows, written in the same store call.
        let retired = next.retire_deactivated();
        let result = if change.is_delete() {
            store
                .delete_license(env, &current.key, &audit)
                .await
                .map(|_| ())
        } else {
            let touched = touched(&current, &next, retired);
            let write = LicenseWrite {
                license: &next,
                expected_version: current.version,
                touched: &touched,
                audit: &audit,
            };
            store.update_license(env, write).await
        };
        match result {
            Ok(()) => return Ok(next),
            Err(StoreError::Conflict(_)) => current = reload(store.as_ref(), env, &current).await?,
            Err(StoreError::NotFound(_)) => return Err(EngineError::NotFound),
            Err(e) => return Err(e.into()),
        }
    }
    Err(EngineError::Busy)
}

/// The activation rows a change writes: bindings new in `next`, and the ones it retired.
fn touched(current: &License, next: &License, retired: Vec<Activation>) -> Vec<Activation> {
    next.activations
        .iter()
        .filter(|a| !current.activations.contains(a))
        .cloned()
        .chain(retired)
        .collect()
}
