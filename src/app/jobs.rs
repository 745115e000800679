//! Background jobs of the admin portal: bulk key generation runs in chunks off
//! the request, with progress the Background Jobs page shows.
//!
//! Jobs live in this node's memory (the keys they made are in the store).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use parking_lot::RwLock;
use uuid::Uuid;

use crate::app::error::AppError;
use crate::app::licenses::{create_licenses, Overrides};
use crate::domain::{Environment, Generator};
use crate::engine::Engine;

/// Keys inserted per store call.
pub const CHUNK: usize = 500;
/// Jobs kept in the list.
const KEEP: usize = 200;

/// Where a job is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    Running,
    Done,
    Failed(String),
}

/// One bulk generation.
pub struct Job {
    pub id: Uuid,
    pub env: Environment,
    pub title: String,
    pub total: usize,
    pub done: AtomicUsize,
    pub state: RwLock<JobState>,
    pub attempts: AtomicUsize,
    pub who: String,
    pub created_at: DateTime<Utc>,
    pub finished_at: RwLock<Option<DateTime<Utc>>>,
    generator: Generator,
    overrides: Overrides,
}

impl Job {
    /// Progress for the bar (100 for an empty job).
    pub fn percent(&self) -> usize {
        (self.done.load(Ordering::Relaxed) * 100)
            .checked_div(self.total)
            .unwrap_or(100)
    }
}

/// What a bulk generation makes.
pub struct GenerationSpec {
    pub env: Environment,
    pub generator: Generator,
    pub overrides: Overrides,
    pub count: usize,
    pub title: String,
    pub who: String,
}

/// The node's jobs, newest first.
#[derive(Default)]
pub struct Jobs {
    list: RwLock<Vec<Arc<Job>>>,
}

impl Jobs {
    /// Every job kept, newest first, for the jobs list.
    pub fn all(&self) -> Vec<Arc<Job>> {
        self.list.read().clone()
    }

    /// One job, if still kept.
    pub fn get(&self, id: Uuid) -> Option<Arc<Job>> {
        self.list.read().iter().find(|j| j.id == id).cloned()
    }

    /// Removes a finished job from the list.
    pub fn remove(&self, id: Uuid) -> bool {
        let mut l = self.list.write();
        let before = l.len();
        l.retain(|j| j.id != id || *j.state.read() == JobState::Running);
        l.len() != before
    }

    /// Starts generating keys as described.
    pub fn start_generation(&self, engine: Arc<Engine>, spec: GenerationSpec) -> Arc<Job> {
        let GenerationSpec {
            env,
            generator,
            overrides,
            count,
            title,
            who,
        } = spec;
        let job = Arc::new(Job {
            id: Uuid::new_v4(),
            env,
            title,
            total: count,
            done: AtomicUsize::new(0),
            state: RwLock::new(JobState::Running),
            attempts: AtomicUsize::new(0),
            who,
            created_at: Utc::now(),
            finished_at: RwLock::new(None),
            generator,
            overrides,
        });
        {
            let mut l = self.list.write();
            l.insert(0, job.clone());
            l.truncate(KEEP);
        }
        run(engine, job.clone());
        job
    }

    /// Starts a bulk generation of `count` keys with `generator`, whose product
    /// must be active (an inactive product gets no new licenses); the title
    /// names the generator, the product and the environment for the jobs list.
    pub async fn start_bulk(
        &self,
        engine: Arc<Engine>,
        env: Environment,
        generator: Generator,
        count: usize,
        who: String,
    ) -> Result<Arc<Job>, AppError> {
        let product = engine
            .store()
            .get_product(env, generator.product_id)
            .await?
            .filter(|p| p.active)
            .ok_or_else(|| {
                AppError::Conflict(
                    "The generator's product is inactive: it gets no new licenses.".into(),
                )
            })?;
        let spec = GenerationSpec {
            env,
            title: format!(
                "Generate {count} keys with {} for {} ({env})",
                generator.name, product.name
            ),
            generator,
            overrides: Overrides::default(),
            count,
            who,
        };
        Ok(self.start_generation(engine, spec))
    }

    /// Runs a failed job again for the keys it has not made yet.
    pub fn retry(&self, engine: Arc<Engine>, id: Uuid) -> Option<Arc<Job>> {
        let job = self.get(id)?;
        {
            let mut st = job.state.write();
            if !matches!(*st, JobState::Failed(_)) {
                return None;
            }
            *st = JobState::Running;
        }
        *job.finished_at.write() = None;
        run(engine, job.clone());
        Some(job)
    }
}

fn run(engine: Arc<Engine>, job: Arc<Job>) {
    actix_web::rt::spawn(async move {
        job.attempts.fetch_add(1, Ordering::Relaxed);
        loop {
            let done = job.done.load(Ordering::Relaxed);
            if done >= job.total {
                *job.state.write() = JobState::Done;
                break;
            }
            let n = CHUNK.min(job.total - done);
            match create_licenses(
                &engine,
                job.env,
                &job.generator,
                &job.overrides,
                n,
                &job.who,
            )
            .await
            {
                Ok(made) => {
                    job.done.fetch_add(made.len(), Ordering::Relaxed);
                }
                Err(e) => {
                    tracing::warn!(job = %job.id, error = %e, "bulk generation failed");
                    *job.state.write() = JobState::Failed(e.to_string());
                    break;
                }
            }
            // Let validations and page views in between chunks.
            tokio::task::yield_now().await;
        }
        *job.finished_at.write() = Some(Utc::now());
    });
}
