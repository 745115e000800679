//! Running jobs on this node: the dispatcher (wake-ups and the poller for jobs
//! whose lease ran out), and the step loop of one job under its lease.
//!
//! A step is idempotent: its keys are planned and recorded first (the first plan
//! recorded wins on every node), then inserted. A node that finds a step planned
//! (a takeover, a retry) checks which of the planned keys the store has, counts
//! those the step made, and inserts only the missing ones, with the same keys.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{Shared, CHUNK, KEEP, MAX_LOCAL};
use crate::app::error::AppError;
use crate::domain::issuing::{fresh_keys, licenses_from_keys};
use futures_util::future::{FutureExt, LocalBoxFuture};

use super::planned::{planned_step, Progress};
use super::revoke::revoke_step;
use crate::domain::job::{made_as_planned, GenerationSpec, Job, JobState, JobStep, JobTask};
use crate::domain::{Environment, License, LicenseKey};
use crate::engine::{Engine, EngineError};
use crate::store::{Store, StoreError};

/// Store reads in flight while a resumed step checks its planned keys.
const CHECKS_AT_ONCE: usize = 32;

/// Why a step did not finish.
pub(super) enum Stop {
    /// Another node holds the job now (or this node cannot tell): leave it.
    LeaseLost,
    /// The step cannot be done: the job fails with this message.
    Failed(String),
}

/// The runner of this node: starts the jobs it is woken for and, every `every`
/// (first at once), takes over running jobs whose lease ran out.
pub(super) async fn dispatch(
    shared: Arc<Shared>,
    engine: Arc<Engine>,
    mut inbox: mpsc::Receiver<Uuid>,
    every: Duration,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            id = inbox.recv() => match id {
                Some(id) => take(&shared, &engine, id).await,
                None => return,
            },
            _ = tick.tick() => poll(&shared, &engine).await,
        }
    }
}

/// Looks for running jobs nobody holds and takes them.
async fn poll(shared: &Arc<Shared>, engine: &Arc<Engine>) {
    let jobs = match engine.store().list_jobs(KEEP).await {
        Ok(j) => j,
        Err(e) => {
            tracing::debug!(error = %e, "job poller: cannot list jobs");
            return;
        }
    };
    let now = Utc::now();
    for j in jobs {
        let mine = j.held_by(&shared.node, now) && j.state == JobState::Running;
        if (j.claimable(now) || mine) && !shared.running.lock().contains(&j.id) {
            take(shared, engine, j.id).await;
        }
    }
}

/// Runs job `id` here if this node holds it or can claim it, and has room.
async fn take(shared: &Arc<Shared>, engine: &Arc<Engine>, id: Uuid) {
    {
        let mut running = shared.running.lock();
        if running.len() >= MAX_LOCAL || !running.insert(id) {
            return;
        }
    }
    match own(shared, engine.store().as_ref(), id).await {
        Ok(Some(job)) => {
            tracing::info!(job = %id, node = %shared.node, done = job.done, "running job");
            actix_web::rt::spawn(run_job(shared.clone(), engine.clone(), job));
        }
        Ok(None) => {
            shared.running.lock().remove(&id);
        }
        Err(e) => {
            tracing::warn!(job = %id, error = %e, "could not take a job");
            shared.running.lock().remove(&id);
        }
    }
}

/// The job as this node holds it: already leased to it, or claimed now.
async fn own(shared: &Shared, store: &dyn Store, id: Uuid) -> Result<Option<Job>, StoreError> {
    let now = Utc::now();
    match store.get_job(id).await? {
        Some(j) if j.state == JobState::Running && j.held_by(&shared.node, now) => Ok(Some(j)),
        Some(j) if j.claimable(now) => store.claim_job(id, &shared.node, now, shared.lease()).await,
        _ => Ok(None),
    }
}

/// Runs steps until the job is done, fails, or another node holds it.
async fn run_job(shared: Arc<Shared>, engine: Arc<Engine>, mut job: Job) {
    let id = job.id;
    let store = engine.store().clone();
    loop {
        let Some(n) = job.next_step_size(CHUNK) else {
            if let Err(e) = store.update_job(&job.finished(Utc::now())).await {
                tracing::warn!(job = %id, error = %e, "could not mark the job done");
            }
            break;
        };
        match leased_step(&shared, &engine, &mut job, n).await {
            Ok((done, skipped)) => {
                let next = job.advanced_past(done, skipped).renewed(
                    &shared.node,
                    Utc::now(),
                    shared.lease(),
                );
                match store.update_job(&next).await {
                    Ok(saved) => job = saved,
                    Err(e) => {
                        tracing::info!(job = %id, error = %e, "job progress not saved: leaving it");
                        break;
                    }
                }
            }
            Err(Stop::LeaseLost) => {
                tracing::info!(job = %id, "job lease lost: another node runs it");
                break;
            }
            Err(Stop::Failed(why)) => {
                tracing::warn!(job = %id, error = %why, "background job failed");
                if let Err(e) = store.update_job(&job.failed(why, Utc::now())).await {
                    tracing::warn!(job = %id, error = %e, "could not mark the job failed");
                }
                break;
            }
        }
        // Let other work on this thread in between steps.
        tokio::task::yield_now().await;
    }
    shared.running.lock().remove(&id);
}

/// Runs one step while renewing the lease every third of it; a renewal that
/// loses (another node claimed the job) drops the step where it is.
async fn leased_step(
    shared: &Shared,
    engine: &Arc<Engine>,
    job: &mut Job,
    n: u32,
) -> Result<Progress, Stop> {
    let remaining = job.total - job.done.min(job.total);
    let (env, who) = (job.env, job.who.clone());
    let made_only = |made: Result<u32, Stop>| made.map(|m| (m, 0));
    let work: LocalBoxFuture<'static, Result<Progress, Stop>> = match (job.task, job.spec.clone()) {
        (JobTask::RevokeProduct { product_id }, _) => {
            revoke_step(engine.clone(), env, product_id, who, n, remaining)
                .map(made_only)
                .boxed_local()
        }
        (JobTask::Generate, Some(spec)) => {
            step(engine.clone(), job.id, job.step, env, spec, who, n)
                .map(made_only)
                .boxed_local()
        }
        (JobTask::Generate, None) => {
            return Err(Stop::Failed("the job has no keys to make".into()))
        }
        (JobTask::Import { .. } | JobTask::Bulk { .. }, _) => {
            planned_step(engine.clone(), shared.owners.get().cloned(), job.clone()).boxed_local()
        }
    };
    tokio::pin!(work);
    let third = shared.settings().lease_secs.max(3) * 1000 / 3;
    let mut tick = tokio::time::interval(Duration::from_millis(third));
    tick.tick().await;
    loop {
        tokio::select! {
            made = &mut work => return made,
            _ = tick.tick() => {
                let renewed = job.renewed(&shared.node, Utc::now(), shared.lease());
                match engine.store().update_job(&renewed).await {
                    Ok(saved) => *job = saved,
                    Err(StoreError::Conflict(_)) => return Err(Stop::LeaseLost),
                    Err(e) => tracing::warn!(job = %job.id, error = %e, "could not renew a job lease"),
                }
            }
        }
    }
}

/// One step: plan (or find the plan of) step `number`, then make its keys.
/// Returns how many keys of the plan the step made.
async fn step(
    engine: Arc<Engine>,
    id: Uuid,
    number: u32,
    env: Environment,
    spec: GenerationSpec,
    who: String,
    n: u32,
) -> Result<u32, Stop> {
    let store = engine.store();
    let (plan, fresh) = match store.get_job_step(id, number).await.map_err(store_failed)? {
        Some(p) => (p, false),
        None => {
            let mine = JobStep {
                at: Utc::now(),
                keys: fresh_keys(&spec.generator, n as usize, &mut rand::rngs::OsRng),
                ..JobStep::default()
            };
            let kept = store
                .plan_job_step(id, number, &mine)
                .await
                .map_err(store_failed)?;
            let fresh = kept == mine;
            (kept, fresh)
        }
    };
    let g = &spec.generator;
    let licenses = licenses_from_keys(env, g, &spec.overrides, &plan.keys, plan.at);
    if fresh {
        match engine.create_licenses(env, &licenses, &who).await {
            Ok(()) => return Ok(licenses.len() as u32),
            // A planned key is taken: see below which ones.
            Err(EngineError::Store(StoreError::Conflict(_))) => {}
            Err(e) => return Err(failed(e.into())),
        }
    }
    complete(&engine, env, licenses, &who, made_as_planned).await
}

/// Makes the planned licenses the store does not have yet; counts those the
/// step made (a key another license had before is skipped: the next step makes
/// up for it).
pub(super) async fn complete(
    engine: &Engine,
    env: Environment,
    licenses: Vec<License>,
    who: &str,
    made_by_step: fn(&License, &License) -> bool,
) -> Result<u32, Stop> {
    for _ in 0..3 {
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for chunk in licenses.chunks(CHECKS_AT_ONCE) {
            let reads = chunk
                .iter()
                .map(|l| engine.store().get_license(env, &l.key));
            let stored = futures_util::future::join_all(reads).await;
            for (l, f) in chunk.iter().zip(stored) {
                match f.map_err(store_failed)? {
                    Some(s) if made_by_step(&s, l) => found.push(l.key.clone()),
                    Some(_) => {}
                    None => missing.push(l.clone()),
                }
            }
        }
        tracing::info!(
            found = found.len(),
            missing = missing.len(),
            "checked the planned licenses of a job step"
        );
        let made = found.len() as u32;
        announce(engine, env, found).await;
        if missing.is_empty() {
            return Ok(made);
        }
        match engine.create_licenses(env, &missing, who).await {
            Ok(()) => return Ok(made + missing.len() as u32),
            Err(EngineError::Store(StoreError::Conflict(_))) => continue,
            Err(e) => return Err(failed(e.into())),
        }
    }
    Err(Stop::Failed(
        "the planned keys kept colliding with other licenses".into(),
    ))
}

/// Makes licenses an earlier run of the step inserted known to this node's
/// catalog and, through the store, to the other nodes: the node that inserted
/// them may have died before it told anyone.
async fn announce(engine: &Engine, env: Environment, keys: Vec<LicenseKey>) {
    if keys.is_empty() {
        return;
    }
    if let Err(e) = engine.store().announce_job_licenses(env, &keys).await {
        tracing::warn!(error = %e, "could not announce the licenses of a resumed job step");
    }
    for k in keys {
        engine.refresh(env, k).await;
    }
}

/// A store error while planning or checking: the job fails (an admin may retry).
fn store_failed(e: StoreError) -> Stop {
    failed(e.into())
}

fn failed(e: AppError) -> Stop {
    Stop::Failed(e.to_string())
}
