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
    /// Moves on every write; every write is conditional on it.
    pub version: u64,
    pub lease: Option<Lease>,
}

/// The keys one step plans to make, recorded before it inserts any, so a node
/// taking the job over makes exactly these and no others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobStep {
    /// The creation time of every license of the step.
    pub at: DateTime<Utc>,
    pub keys: Vec<LicenseKey>,
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

/// Whether a stored license is one `step` of the job made: same generator and
/// the step's creation time (to the millisecond, the coarsest store). A key that
/// was taken by another license before the step is not counted.
pub fn made_by_step(l: &License, generator: Uuid, step: &JobStep) -> bool {
    l.generator_id == Some(generator)
        && l.created_at.timestamp_millis() == step.at.timestamp_millis()
}

#[cfg(test)]
mod tests;
