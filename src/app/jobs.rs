//! Background jobs of the admin portal: bulk key generation runs in steps off
//! the request, with progress the Background Jobs page shows.
//!
//! A job is a row in the store (see `domain::job`), so every node lists the same
//! jobs. One node runs a job at a time while it holds the job's lease; each step
//! records its planned keys before inserting them (`run.rs`), so when a node dies
//! another one takes the job over once the lease runs out and finishes it without
//! making a key twice. Every node polls for such jobs every `jobs.poll_secs`.

pub mod planned;
pub mod revoke;
mod run;

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::app::error::AppError;
use crate::app::licenses::Overrides;
use crate::config::JobSettings;
use crate::domain::job::{GenerationSpec, Job, JobError, JobStep, Lease};
use crate::domain::{Environment, Generator};
use crate::engine::Engine;
use crate::store::{Store, StoreError};

pub use crate::domain::job::JobState;

/// Keys inserted per step (one store call, one progress write).
pub const CHUNK: u32 = 500;
/// Jobs kept in the list; finished ones beyond it are deleted when a job starts.
const KEEP: usize = 200;
/// Most jobs one node runs at once; others wait for a node with room.
const MAX_LOCAL: usize = 32;

/// What a bulk generation makes.
pub struct GenerationRequest {
    pub env: Environment,
    pub generator: Generator,
    pub overrides: Overrides,
    pub count: u32,
    pub title: String,
    pub who: String,
}

/// This node's part in running jobs: its id, the jobs it runs now, and the
/// wake-up line to its runner (which lives on the background thread).
pub struct Jobs {
    shared: Arc<Shared>,
}

struct Shared {
    /// Random per process: whose lease a job row names.
    node: String,
    settings: OnceLock<JobSettings>,
    /// How an import's step finds or invites the customers its rows name.
    owners: OnceLock<planned::Owners>,
    /// Jobs running on this node (bounded by `MAX_LOCAL`).
    running: Mutex<HashSet<Uuid>>,
    wake: mpsc::Sender<Uuid>,
    inbox: Mutex<Option<mpsc::Receiver<Uuid>>>,
}

impl Default for Jobs {
    fn default() -> Self {
        let (wake, inbox) = mpsc::channel(MAX_LOCAL);
        Jobs {
            shared: Arc::new(Shared {
                node: Uuid::new_v4().simple().to_string()[..12].to_owned(),
                settings: OnceLock::new(),
                owners: OnceLock::new(),
                running: Mutex::new(HashSet::new()),
                wake,
                inbox: Mutex::new(Some(inbox)),
            }),
        }
    }
}

impl Shared {
    fn settings(&self) -> JobSettings {
        self.settings.get().cloned().unwrap_or_default()
    }

    fn lease(&self) -> chrono::Duration {
        chrono::Duration::seconds(self.settings().lease_secs as i64)
    }
}

impl Jobs {
    /// This node's id, as job leases name it.
    pub fn node(&self) -> &str {
        &self.shared.node
    }

    /// Starts this node's job runner on the current (background) thread: it runs
    /// the jobs this node starts or retries, and every `poll_secs` (and now)
    /// takes over running jobs whose lease ran out. Call once, at start.
    pub fn start(&self, engine: Arc<Engine>, settings: &JobSettings, owners: planned::Owners) {
        let _ = self.shared.settings.set(settings.clone());
        let _ = self.shared.owners.set(owners);
        let Some(inbox) = self.shared.inbox.lock().take() else {
            return;
        };
        tracing::info!(node = %self.shared.node, "background jobs: this node's id");
        let every = Duration::from_secs(settings.poll_secs.max(1));
        actix_web::rt::spawn(run::dispatch(self.shared.clone(), engine, inbox, every));
    }

    /// Every job kept, newest first, for the jobs list (the same on every node).
    pub async fn list(&self, store: &dyn Store) -> Result<Vec<Job>, AppError> {
        Ok(store.list_jobs(KEEP).await?)
    }

    /// Starts a bulk generation of `count` keys with `generator`, whose product
    /// must be active (an inactive product gets no new licenses); the title
    /// names the generator, the product and the environment for the jobs list.
    pub async fn start_bulk(
        &self,
        store: &dyn Store,
        env: Environment,
        generator: Generator,
        count: usize,
        who: String,
    ) -> Result<Job, AppError> {
        crate::app::licenses::check_count(count)?;
        let product = store
            .get_product(env, generator.product_id)
            .await?
            .filter(|p| p.active)
            .ok_or_else(|| {
                AppError::Conflict(
                    "The generator's product is inactive: it gets no new licenses.".into(),
                )
            })?;
        let request = GenerationRequest {
            env,
            title: format!(
                "Generate {count} keys with {} for {} ({env})",
                generator.name, product.name
            ),
            generator,
            overrides: Overrides::default(),
            count: count as u32,
            who,
        };
        self.start_generation(store, request).await
    }

    /// Records a new job leased to this node, wakes this node's runner, and
    /// trims the list of finished jobs.
    pub async fn start_generation(
        &self,
        store: &dyn Store,
        r: GenerationRequest,
    ) -> Result<Job, AppError> {
        let now = Utc::now();
        let lease = Lease {
            node: self.shared.node.clone(),
            until: now + self.shared.lease(),
        };
        let spec = GenerationSpec {
            generator: r.generator,
            overrides: r.overrides,
        };
        let job = Job::new(r.env, r.title, r.who, r.count, spec, lease, now);
        self.launch(store, job).await
    }

    /// Records a kill-switch job over `total` licenses of `product_id`, leased to this node.
    pub async fn start_revoke(
        &self,
        store: &dyn Store,
        env: Environment,
        product_id: Uuid,
        title: String,
        total: u32,
        who: String,
    ) -> Result<Job, AppError> {
        let now = Utc::now();
        let lease = Lease {
            node: self.shared.node.clone(),
            until: now + self.shared.lease(),
        };
        let job = Job::revoking(env, product_id, title, who, total, lease, now);
        self.launch(store, job).await
    }

    /// Inserts a new job, wakes this node's runner, trims the list.
    async fn launch(&self, store: &dyn Store, job: Job) -> Result<Job, AppError> {
        let job = store.insert_job(&job).await?;
        self.wake(job.id);
        if let Err(e) = prune(store).await {
            tracing::warn!(error = %e, "could not trim the jobs list");
        }
        Ok(job)
    }

    /// Records a planned job that waits for confirmation, and its step plans
    /// (the store's: any node shows it and any node runs it once confirmed).
    /// The plans are written first: a draft that exists has all of them.
    pub async fn draft(
        &self,
        store: &dyn Store,
        job: Job,
        steps: Vec<JobStep>,
    ) -> Result<Job, AppError> {
        for (n, plan) in steps.iter().enumerate() {
            store.plan_job_step(job.id, n as u32, plan).await?;
        }
        let job = store.insert_job(&job).await?;
        if let Err(e) = prune(store).await {
            tracing::warn!(error = %e, "could not trim the jobs list");
        }
        Ok(job)
    }

    /// Starts a draft: it runs here first (any node takes it over after).
    pub async fn confirm(&self, store: &dyn Store, id: Uuid) -> Result<Job, AppError> {
        self.start_here(store, id, Job::confirmed).await
    }

    /// Runs a failed job again (on this node) for the keys it has not made yet.
    pub async fn retry(&self, store: &dyn Store, id: Uuid) -> Result<Job, AppError> {
        self.start_here(store, id, Job::retried).await
    }

    /// Moves a job to running on this node by `transition` (a compare-and-set:
    /// another node's change meanwhile is a conflict) and wakes its runner.
    async fn start_here(
        &self,
        store: &dyn Store,
        id: Uuid,
        transition: fn(&Job, &str, DateTime<Utc>, chrono::Duration) -> Result<Job, JobError>,
    ) -> Result<Job, AppError> {
        let job = store.get_job(id).await?.ok_or_else(no_such_job)?;
        let next = transition(&job, &self.shared.node, Utc::now(), self.shared.lease())
            .map_err(refusal)?;
        let job = store.update_job(&next).await.map_err(changed)?;
        self.wake(job.id);
        Ok(job)
    }

    /// Removes a finished job from the list (the keys it made stay).
    pub async fn remove(&self, store: &dyn Store, id: Uuid) -> Result<(), AppError> {
        let job = store.get_job(id).await?.ok_or_else(no_such_job)?;
        job.check_removable().map_err(refusal)?;
        store.delete_job(id, job.version).await.map_err(changed)
    }

    /// Hands a job this node holds to its runner; if the line is full, the
    /// poller picks the job up once its lease has run out.
    fn wake(&self, id: Uuid) {
        if self.shared.wake.try_send(id).is_err() {
            tracing::warn!(job = %id, "job runner busy: the job starts when its lease runs out");
        }
    }
}

/// Deletes finished jobs beyond the newest `KEEP`.
async fn prune(store: &dyn Store) -> Result<(), StoreError> {
    let listed = store.list_jobs(KEEP + 50).await?;
    for j in listed
        .iter()
        .skip(KEEP)
        .filter(|j| j.check_removable().is_ok())
    {
        match store.delete_job(j.id, j.version).await {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn no_such_job() -> AppError {
    AppError::NotFound("no such job".into())
}

fn refusal(e: JobError) -> AppError {
    match e {
        JobError::NotFailed => AppError::Conflict("Only a failed job can be retried.".into()),
        JobError::StillRunning => AppError::Conflict("A running job cannot be removed.".into()),
        JobError::NotDraft => {
            AppError::Conflict("This job was already confirmed or discarded.".into())
        }
        other => AppError::Conflict(other.to_string()),
    }
}

/// A lost compare-and-set: another node changed the job meanwhile.
fn changed(e: StoreError) -> AppError {
    match e {
        StoreError::Conflict(_) => {
            AppError::Conflict("The job changed meanwhile (on another node); reload.".into())
        }
        other => other.into(),
    }
}
