//! Background jobs as rows with a lease, so one node runs a job and another takes it over when that node dies (issue 12 item 2).

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::StoreError;
use crate::domain::job::{Job, JobStep};
use crate::domain::{Environment, LicenseKey};

/// Background jobs as rows with a lease: the part of [`super::Store`] that holds them.
/// Every write of a job row is conditional on its `version`, so a node that lost
/// the lease (another node claimed the job) cannot write progress any more.
#[async_trait]
pub trait JobRows: Send + Sync {
    /// Adds a new job; returns it as stored (version 1). A taken id is a `Conflict`.
    async fn insert_job(&self, job: &Job) -> Result<Job, StoreError>;
    /// One job by id.
    async fn get_job(&self, id: Uuid) -> Result<Option<Job>, StoreError>;
    /// The newest `limit` jobs, newest first (the Background Jobs page, the poller).
    async fn list_jobs(&self, limit: usize) -> Result<Vec<Job>, StoreError>;
    /// Replaces a job only if the stored version is `job.version` (compare and
    /// set); returns it as stored, with the next version. Otherwise `Conflict`.
    async fn update_job(&self, job: &Job) -> Result<Job, StoreError>;
    /// Deletes a job and its steps only if its stored version is `expected_version`.
    async fn delete_job(&self, id: Uuid, expected_version: u64) -> Result<(), StoreError>;
    /// Records the plan of step `step` of a job unless one is recorded; returns
    /// the plan kept (the first one written wins on every node).
    async fn plan_job_step(
        &self,
        id: Uuid,
        step: u32,
        plan: &JobStep,
    ) -> Result<JobStep, StoreError>;
    /// The recorded plan of one step, if any.
    async fn get_job_step(&self, id: Uuid, step: u32) -> Result<Option<JobStep>, StoreError>;

    /// Tells the other nodes that these licenses exist: a node taking a job over
    /// calls it for the keys the dead node inserted in its last step, whose
    /// news (change-log entries) may have been cut off with that node. A store
    /// with one node has nobody to tell.
    async fn announce_job_licenses(
        &self,
        _env: Environment,
        _keys: &[LicenseKey],
    ) -> Result<(), StoreError> {
        Ok(())
    }

    /// Takes the job for `node` if it is running and its lease is free or
    /// expired: `Some` with the job as stored when this node got it, `None`
    /// when it is gone, finished, held, or another node won the race.
    async fn claim_job(
        &self,
        id: Uuid,
        node: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<Job>, StoreError> {
        let Some(job) = self.get_job(id).await? else {
            return Ok(None);
        };
        let Ok(claimed) = job.claim(node, now, lease) else {
            return Ok(None);
        };
        match self.update_job(&claimed).await {
            Ok(j) => Ok(Some(j)),
            Err(StoreError::Conflict(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A job write that lost its compare-and-set, worded once for both backends.
pub(crate) fn job_moved(id: Uuid) -> StoreError {
    StoreError::Conflict(format!("job {id} changed meanwhile"))
}

/// Newest first, at most `limit`: the order both backends list in.
pub(crate) fn newest_first(mut jobs: Vec<Job>, limit: usize) -> Vec<Job> {
    jobs.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    jobs.truncate(limit);
    jobs
}
