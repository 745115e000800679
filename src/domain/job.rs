//! Background jobs (bulk key generation) as records any node can run: the rules
//! of the lease (one node at a time, taken over when it runs out), of steps
//! (how many keys the next one makes, what counts as made) and of the states a
//! job moves through. Pure: callers bring the clock and the node id.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::issuing::Overrides;
use super::{Environment, Generator, License, LicenseKey};

/// Where a job is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobState {
    /// Planned and waiting for an admin's confirmation (an import's preview);
    /// no node runs it until it is confirmed.
    Draft,
    Running,
    Done,
    /// Stopped on an error (the message); an admin may retry it.
    Failed(String),
}

/// Which node runs a job, and until when nobody else may take it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub node: String,
    pub until: DateTime<Utc>,
}

/// What a bulk generation makes: the generator as it was when the job started,
/// and what the request overrides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationSpec {
    pub generator: Generator,
    #[serde(default)]
    pub overrides: Overrides,
}

/// What a job does. Rows written before kill switches existed read as `Generate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum JobTask {
    /// Bulk key generation from `spec`.
    #[default]
    Generate,
    /// The kill switch: revoke every license of a product, step by step.
    RevokeProduct { product_id: Uuid },
    /// A CSV import: each step creates the rows its plan holds. `rows` is how
    /// many data rows the file had, `problems` how many of them were refused.
    Import { rows: u32, problems: u32 },
    /// One action over licenses chosen before the job started (every license a
    /// filter matched): each step acts on the keys its plan holds.
    Bulk { action: BulkAction },
}

/// One job's row. Its size does not grow with the keys it makes: the keys of
/// each step are their own record ([`JobStep`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: Uuid,
    pub env: Environment,
    pub title: String,
    pub who: String,
    pub created_at: DateTime<Utc>,
    pub total: u32,
    /// Keys made so far by the finished steps.
    pub done: u32,
    /// The next step to run (steps are numbered from 0).
    pub step: u32,
    pub state: JobState,
    /// How many times a node began running it (start, takeover, retry).
    pub attempts: u32,
    pub finished_at: Option<DateTime<Utc>>,
    /// What a generation makes (None for other tasks).
    #[serde(default)]
    pub spec: Option<GenerationSpec>,
    #[serde(default)]
    pub task: JobTask,
    /// Of `done`, how many were left as they were (a refused transition, a key
    /// taken meanwhile).
    #[serde(default)]
    pub skipped: u32,
    /// Moves on every write; every write is conditional on it.
    pub version: u64,
    pub lease: Option<Lease>,
}

/// The keys one step plans to make, recorded before it inserts any, so a node
/// taking the job over makes exactly these and no others.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobStep {
    /// The creation time of every license of the step.
    pub at: DateTime<Utc>,
    pub keys: Vec<LicenseKey>,
    /// An import's checked rows (see [`planned`]).
    #[serde(default)]
    pub rows: Vec<ImportRow>,
    /// The rows an import's check refused (kept on its first step only).
    #[serde(default)]
    pub problems: Vec<RowProblem>,
}

/// What every new job is started with, whatever its task.
struct JobHead {
    env: Environment,
    title: String,
    who: String,
    total: u32,
    lease: Lease,
    now: DateTime<Utc>,
}

impl JobHead {
    /// A running job leased to the node that starts it.
    fn running(self, task: JobTask, spec: Option<GenerationSpec>) -> Job {
        Job {
            id: Uuid::new_v4(),
            env: self.env,
            title: self.title,
            who: self.who,
            created_at: self.now,
            total: self.total,
            done: 0,
            step: 0,
            state: JobState::Running,
            attempts: 1,
            finished_at: None,
            spec,
            task,
            skipped: 0,
            version: 0,
            lease: Some(self.lease),
        }
    }
}

/// Why a job cannot do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    #[error("the job is run by node {0} right now")]
    Held(String),
    #[error("the job is not running")]
    NotRunning,
    #[error("only a failed job can be retried")]
    NotFailed,
    #[error("a running job cannot be removed")]
    StillRunning,
    #[error("the job is not waiting for confirmation")]
    NotDraft,
}

impl Job {
    /// A new running job, leased to `node` (the node that starts it runs it).
    pub fn new(
        env: Environment,
        title: String,
        who: String,
        total: u32,
        spec: GenerationSpec,
        lease: Lease,
        now: DateTime<Utc>,
    ) -> Job {
        let head = JobHead {
            env,
            title,
            who,
            total,
            lease,
            now,
        };
        head.running(JobTask::Generate, Some(spec))
    }

    /// A new running kill-switch job over the `total` revocable licenses of `product_id`.
    pub fn revoking(
        env: Environment,
        product_id: Uuid,
        title: String,
        who: String,
        total: u32,
        lease: Lease,
        now: DateTime<Utc>,
    ) -> Job {
        let head = JobHead {
            env,
            title,
            who,
            total,
            lease,
            now,
        };
        head.running(JobTask::RevokeProduct { product_id }, None)
    }

    /// A planned job (an import, a bulk action) that waits for confirmation:
    /// nobody runs it until [`Job::confirmed`].
    pub fn draft(
        env: Environment,
        task: JobTask,
        title: String,
        who: String,
        total: u32,
        now: DateTime<Utc>,
    ) -> Job {
        Job {
            id: Uuid::new_v4(),
            env,
            title,
            who,
            created_at: now,
            total,
            done: 0,
            step: 0,
            state: JobState::Draft,
            attempts: 0,
            finished_at: None,
            spec: None,
            task,
            skipped: 0,
            version: 0,
            lease: None,
        }
    }

    /// The draft confirmed: running, leased to `node` (which runs it first).
    pub fn confirmed(
        &self,
        node: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Job, JobError> {
        if self.state != JobState::Draft {
            return Err(JobError::NotDraft);
        }
        let running = Job {
            state: JobState::Running,
            lease: None,
            ..self.clone()
        };
        running.claim(node, now, lease)
    }

    /// Progress for the bar (100 for an empty job).
    pub fn percent(&self) -> u32 {
        (self.done.min(self.total) * 100)
            .checked_div(self.total)
            .unwrap_or(100)
    }

    /// Whether a node may take the job: it is running and nobody holds a live lease.
    pub fn claimable(&self, now: DateTime<Utc>) -> bool {
        self.state == JobState::Running && self.lease.as_ref().is_none_or(|l| l.until <= now)
    }

    /// Whether `node` holds a live lease on the job.
    pub fn held_by(&self, node: &str, now: DateTime<Utc>) -> bool {
        self.lease
            .as_ref()
            .is_some_and(|l| l.node == node && l.until > now)
    }

    /// The job taken by `node` for `lease`, counted as a new attempt.
    pub fn claim(&self, node: &str, now: DateTime<Utc>, lease: Duration) -> Result<Job, JobError> {
        if self.state != JobState::Running {
            return Err(JobError::NotRunning);
        }
        if !self.claimable(now) {
            let holder = self.lease.as_ref().map(|l| l.node.clone());
            return Err(JobError::Held(holder.unwrap_or_default()));
        }
        let mut j = self.renewed(node, now, lease);
        j.attempts += 1;
        Ok(j)
    }

    /// The same job with `node`'s lease running `lease` from `now`.
    pub fn renewed(&self, node: &str, now: DateTime<Utc>, lease: Duration) -> Job {
        Job {
            lease: Some(Lease {
                node: node.to_owned(),
                until: now + lease,
            }),
            ..self.clone()
        }
    }

    /// How many keys the next step makes, or None when there is nothing left.
    pub fn next_step_size(&self, chunk: u32) -> Option<u32> {
        (self.state == JobState::Running && self.done < self.total)
            .then(|| chunk.max(1).min(self.total - self.done))
    }

    /// The job after a step that made `made` keys: the next step is due.
    pub fn advanced(&self, made: u32) -> Job {
        Job {
            done: self.done.saturating_add(made).min(self.total),
            step: self.step + 1,
            ..self.clone()
        }
    }

    /// The job after a step that went through `done` items and left `skipped`
    /// of them as they were.
    pub fn advanced_past(&self, done: u32, skipped: u32) -> Job {
        Job {
            skipped: self.skipped.saturating_add(skipped),
            ..self.advanced(done)
        }
    }

    /// The job done: nobody holds it any more.
    pub fn finished(&self, now: DateTime<Utc>) -> Job {
        Job {
            state: JobState::Done,
            finished_at: Some(now),
            lease: None,
            ..self.clone()
        }
    }

    /// The job stopped by `error`.
    pub fn failed(&self, error: String, now: DateTime<Utc>) -> Job {
        Job {
            state: JobState::Failed(error),
            finished_at: Some(now),
            lease: None,
            ..self.clone()
        }
    }

    /// A failed job running again on `node`, from the step it stopped at.
    pub fn retried(
        &self,
        node: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Job, JobError> {
        if !matches!(self.state, JobState::Failed(_)) {
            return Err(JobError::NotFailed);
        }
        let running = Job {
            state: JobState::Running,
            finished_at: None,
            lease: None,
            ..self.clone()
        };
        running.claim(node, now, lease)
    }

    /// A job may leave the list once it no longer runs.
    pub fn check_removable(&self) -> Result<(), JobError> {
        match self.state {
            JobState::Running => Err(JobError::StillRunning),
            _ => Ok(()),
        }
    }
}

/// Whether a stored license is the one a step planned (an import's row): same
/// generator and creation time (to the millisecond, the coarsest store).
pub fn made_as_planned(stored: &License, planned: &License) -> bool {
    stored.generator_id == planned.generator_id
        && stored.created_at.timestamp_millis() == planned.created_at.timestamp_millis()
}

pub mod planned;
pub use planned::{BulkAction, ImportRow, RowProblem};

#[cfg(test)]
mod tests;
