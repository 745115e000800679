//! [`crate::store::JobRows`] on the CQL backend (global keyspace): one row per
//! job, every write a lightweight transaction on its `version` (`INSERT … IF NOT
//! EXISTS`, `UPDATE … IF version = ?`, `DELETE … IF version = ?`), so a node that
//! lost the lease cannot write progress; step plans in `job_steps`, first writer
//! wins (`IF NOT EXISTS`). The statements are prepared here, once per store.

use async_trait::async_trait;
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use uuid::Uuid;

use super::rows::{applied, blobs, decode, encode};
use super::{corrupt, down, CqlStore};
use crate::domain::job::{Job, JobStep};
use crate::domain::{Environment, LicenseKey};
use crate::store::jobs::{job_moved, newest_first};
use crate::store::{JobRows, StoreError};

/// The prepared statements of the job tables.
pub struct JobStatements {
    all: PreparedStatement,
    get: PreparedStatement,
    insert: PreparedStatement,
    update: PreparedStatement,
    delete: PreparedStatement,
    steps_delete: PreparedStatement,
    step_insert: PreparedStatement,
    step_get: PreparedStatement,
}

impl JobStatements {
    /// Prepares every job statement on the `{prefix}_global` keyspace.
    pub async fn prepare(s: &Session, prefix: &str) -> Result<Self, StoreError> {
        let ks = format!("{prefix}_global");
        let p = |cql: String| async move {
            s.prepare(cql.clone())
                .await
                .map_err(|e| down(format!("preparing `{cql}`: {e}")))
        };
        Ok(JobStatements {
            all: p(format!("SELECT version, body FROM {ks}.jobs")).await?,
            get: p(format!("SELECT version, body FROM {ks}.jobs WHERE id = ?")).await?,
            insert: p(format!(
                "INSERT INTO {ks}.jobs (id, version, body) VALUES (?, ?, ?) IF NOT EXISTS"
            ))
            .await?,
            update: p(format!(
                "UPDATE {ks}.jobs SET version = ?, body = ? WHERE id = ? IF version = ?"
            ))
            .await?,
            delete: p(format!("DELETE FROM {ks}.jobs WHERE id = ? IF version = ?")).await?,
            steps_delete: p(format!("DELETE FROM {ks}.job_steps WHERE job_id = ?")).await?,
            step_insert: p(format!(
                "INSERT INTO {ks}.job_steps (job_id, step, body) VALUES (?, ?, ?) IF NOT EXISTS"
            ))
            .await?,
            step_get: p(format!(
                "SELECT body FROM {ks}.job_steps WHERE job_id = ? AND step = ?"
            ))
            .await?,
        })
    }
}

/// A job row: the version column is the truth, the body carries the rest.
fn job_of(version: Option<i64>, body: Option<Vec<u8>>) -> Result<Option<Job>, StoreError> {
    let Some(b) = body else {
        return Ok(None);
    };
    let mut j: Job = decode(&b)?;
    j.version = version.unwrap_or(0) as u64;
    Ok(Some(j))
}

impl CqlStore {
    async fn read_job(&self, id: Uuid) -> Result<Option<Job>, StoreError> {
        let rows = self.rows(&self.jobs.get, (id,)).await?;
        let row = rows
            .maybe_first_row::<(Option<i64>, Option<Vec<u8>>)>()
            .map_err(corrupt)?;
        match row {
            Some((v, b)) => job_of(v, b),
            None => Ok(None),
        }
    }

    async fn read_jobs(&self, limit: usize) -> Result<Vec<Job>, StoreError> {
        let rows = self.all_versioned(&self.jobs.all).await?;
        let jobs = rows
            .into_iter()
            .map(|(version, j)| Job { version, ..j })
            .collect();
        Ok(newest_first(jobs, limit))
    }

    async fn write_job(&self, job: &Job, expected: Option<u64>) -> Result<Job, StoreError> {
        let mut stored = job.clone();
        stored.version = expected.map_or(1, |v| v + 1);
        let body = encode(&stored)?;
        let version = stored.version as i64;
        let r = match expected {
            None => {
                self.execute(&self.jobs.insert, (job.id, version, body))
                    .await?
            }
            Some(v) => {
                self.execute(&self.jobs.update, (version, body, job.id, v as i64))
                    .await?
            }
        };
        if !applied(r)? {
            return Err(job_moved(job.id));
        }
        Ok(stored)
    }

    async fn remove_job(&self, id: Uuid, expected: u64) -> Result<(), StoreError> {
        let r = self
            .execute(&self.jobs.delete, (id, expected as i64))
            .await?;
        if !applied(r)? {
            return Err(job_moved(id));
        }
        self.exec(&self.jobs.steps_delete, (id,)).await
    }

    async fn read_step(&self, id: Uuid, step: u32) -> Result<Option<JobStep>, StoreError> {
        let r = self.execute(&self.jobs.step_get, (id, step as i32)).await?;
        blobs(r)?.first().map(|b| decode(b)).transpose()
    }

    async fn write_step(&self, id: Uuid, step: u32, plan: &JobStep) -> Result<JobStep, StoreError> {
        let r = self
            .execute(&self.jobs.step_insert, (id, step as i32, encode(plan)?))
            .await?;
        if applied(r)? {
            return Ok(plan.clone());
        }
        // Another node planned this step first: its plan is the one.
        self.read_step(id, step)
            .await?
            .ok_or_else(|| StoreError::Unavailable("a job step vanished while read".into()))
    }
}

#[async_trait]
impl JobRows for CqlStore {
    async fn insert_job(&self, job: &Job) -> Result<Job, StoreError> {
        self.timed("insert_job", self.write_job(job, None)).await
    }

    async fn get_job(&self, id: Uuid) -> Result<Option<Job>, StoreError> {
        self.timed("get_job", self.read_job(id)).await
    }

    async fn list_jobs(&self, limit: usize) -> Result<Vec<Job>, StoreError> {
        self.timed("list_jobs", self.read_jobs(limit)).await
    }

    async fn update_job(&self, job: &Job) -> Result<Job, StoreError> {
        self.timed("update_job", self.write_job(job, Some(job.version)))
            .await
    }

    async fn delete_job(&self, id: Uuid, expected_version: u64) -> Result<(), StoreError> {
        self.timed("delete_job", self.remove_job(id, expected_version))
            .await
    }

    async fn plan_job_step(
        &self,
        id: Uuid,
        step: u32,
        plan: &JobStep,
    ) -> Result<JobStep, StoreError> {
        self.timed("plan_job_step", self.write_step(id, step, plan))
            .await
    }

    async fn get_job_step(&self, id: Uuid, step: u32) -> Result<Option<JobStep>, StoreError> {
        self.timed("get_job_step", self.read_step(id, step)).await
    }

    async fn announce_job_licenses(
        &self,
        env: Environment,
        keys: &[LicenseKey],
    ) -> Result<(), StoreError> {
        let st = self.env(env);
        let work = super::fan_out(keys, |k| {
            self.log_change(st, k.as_str(), crate::store::ChangeKind::License)
        });
        self.timed("announce_job_licenses", work).await
    }
}
