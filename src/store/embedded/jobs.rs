//! [`crate::store::JobRows`] on the embedded backend: job rows in the global
//! file keyed by id, each write one transaction that checks the stored version
//! first; step plans in their own table keyed by `{job id}/{step:010}`, so a
//! job's steps are one range and the job row never grows with its keys.

use async_trait::async_trait;
use redb::{ReadableTable, TableDefinition, WriteTransaction};
use uuid::Uuid;

use super::tables::{all, decode, decoded, encode, get_one, unavailable, Records};
use super::EmbeddedStore;
use crate::domain::job::{Job, JobStep};
use crate::store::jobs::{job_moved, newest_first};
use crate::store::{JobRows, StoreError};

/// Background jobs, one row each under the job's id (global file).
const JOBS: Records = TableDefinition::new("jobs");
/// The planned keys of each step of a job: `{job id}/{step:010}` → [`JobStep`].
const JOB_STEPS: Records = TableDefinition::new("job_steps");

/// Creates the job tables (at open, so reads find them in a new file).
pub(super) fn create_tables(txn: &redb::WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(JOBS).map_err(unavailable)?;
    txn.open_table(JOB_STEPS).map_err(unavailable)?;
    Ok(())
}

fn step_key(id: Uuid, step: u32) -> String {
    format!("{id}/{step:010}")
}

/// Writes `job` at the next version if the stored one matches `expected`
/// (`None` = no row yet); returns the job as stored.
fn put(txn: &WriteTransaction, job: &Job, expected: Option<u64>) -> Result<Job, StoreError> {
    let id = job.id.to_string();
    let mut stored = job.clone();
    stored.version = expected.map_or(1, |v| v + 1);
    let bytes = encode(&stored)?;
    let mut t = txn.open_table(JOBS).map_err(unavailable)?;
    let found: Option<Job> = decoded(&t, &id)?;
    if found.map(|f| f.version) != expected {
        return Err(job_moved(job.id));
    }
    t.insert(id.as_str(), bytes.as_slice())
        .map_err(unavailable)?;
    Ok(stored)
}

/// Deletes the job at version `expected` and every step row of it.
fn delete(txn: &WriteTransaction, id: Uuid, expected: u64) -> Result<(), StoreError> {
    let key = id.to_string();
    let mut t = txn.open_table(JOBS).map_err(unavailable)?;
    let found: Option<Job> = decoded(&t, &key)?;
    if found.map(|f| f.version) != Some(expected) {
        return Err(job_moved(id));
    }
    t.remove(key.as_str()).map_err(unavailable)?;
    let mut steps = txn.open_table(JOB_STEPS).map_err(unavailable)?;
    let (from, to) = (format!("{id}/"), format!("{id}0"));
    steps
        .retain_in(from.as_str()..to.as_str(), |_, _| false)
        .map_err(unavailable)?;
    Ok(())
}

/// Records `plan` under `key` unless a plan is there; returns the one kept.
fn plan(txn: &WriteTransaction, key: &str, plan: &JobStep) -> Result<JobStep, StoreError> {
    let bytes = encode(plan)?;
    let mut t = txn.open_table(JOB_STEPS).map_err(unavailable)?;
    if let Some(v) = t.get(key).map_err(unavailable)? {
        return decode(v.value());
    }
    t.insert(key, bytes.as_slice()).map_err(unavailable)?;
    Ok(plan.clone())
}

#[async_trait]
impl JobRows for EmbeddedStore {
    async fn insert_job(&self, job: &Job) -> Result<Job, StoreError> {
        let job = job.clone();
        self.write("insert_job", self.global_writer(), move |txn| {
            put(txn, &job, None)
        })
        .await
    }

    async fn get_job(&self, id: Uuid) -> Result<Option<Job>, StoreError> {
        self.record("get_job", self.global_db(), JOBS, id.to_string())
            .await
    }

    async fn list_jobs(&self, limit: usize) -> Result<Vec<Job>, StoreError> {
        self.run("list_jobs", self.global_db(), move |db| {
            Ok(newest_first(all(db, JOBS)?, limit))
        })
        .await
    }

    async fn update_job(&self, job: &Job) -> Result<Job, StoreError> {
        let job = job.clone();
        self.write("update_job", self.global_writer(), move |txn| {
            put(txn, &job, Some(job.version))
        })
        .await
    }

    async fn delete_job(&self, id: Uuid, expected_version: u64) -> Result<(), StoreError> {
        self.write("delete_job", self.global_writer(), move |txn| {
            delete(txn, id, expected_version)
        })
        .await
    }

    async fn plan_job_step(&self, id: Uuid, step: u32, p: &JobStep) -> Result<JobStep, StoreError> {
        let (key, p) = (step_key(id, step), p.clone());
        self.write("plan_job_step", self.global_writer(), move |txn| {
            plan(txn, &key, &p)
        })
        .await
    }

    async fn get_job_step(&self, id: Uuid, step: u32) -> Result<Option<JobStep>, StoreError> {
        let key = step_key(id, step);
        self.run("get_job_step", self.global_db(), move |db| {
            get_one(db, JOB_STEPS, &key)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};

    use super::*;
    use crate::domain::issuing::{fresh_keys, Overrides};
    use crate::domain::job::{GenerationSpec, JobState, Lease};
    use crate::domain::Environment;

    use crate::domain::issuing::test_generator as generator;

    fn job(node: &str, lease_secs: i64) -> Job {
        let now = Utc::now();
        Job::new(
            Environment::Production,
            "Generate".into(),
            "admin".into(),
            1000,
            GenerationSpec {
                generator: generator(),
                overrides: Overrides::default(),
            },
            Lease {
                node: node.into(),
                until: now + Duration::seconds(lease_secs),
            },
            now,
        )
    }

    fn store() -> (tempfile::TempDir, EmbeddedStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = EmbeddedStore::open(dir.path(), 8).unwrap();
        (dir, s)
    }

    #[tokio::test]
    async fn two_claims_of_an_expired_lease_one_wins() {
        let (_dir, s) = store();
        let j = s.insert_job(&job("a", 15)).await.unwrap();
        assert_eq!(j.version, 1);
        let lease = Duration::seconds(15);
        let now = Utc::now();
        assert_eq!(
            s.claim_job(j.id, "b", now, lease).await.unwrap(),
            None,
            "a's lease is live"
        );
        let later = now + Duration::seconds(16);
        // Both read version 1, then write: the second compare-and-set loses.
        let read = s.get_job(j.id).await.unwrap().unwrap();
        let by_b = read.claim("b", later, lease).unwrap();
        let by_c = read.claim("c", later, lease).unwrap();
        assert_eq!(s.update_job(&by_b).await.unwrap().version, 2);
        assert!(matches!(
            s.update_job(&by_c).await,
            Err(StoreError::Conflict(_))
        ));
        let stored = s.get_job(j.id).await.unwrap().unwrap();
        assert!(stored.held_by("b", later));
        assert_eq!(stored.attempts, 2);
    }

    #[tokio::test]
    async fn after_a_takeover_the_old_holder_cannot_write_progress() {
        let (_dir, s) = store();
        let held_by_a = s.insert_job(&job("a", -1)).await.unwrap();
        let lease = Duration::seconds(15);
        let b = s
            .claim_job(held_by_a.id, "b", Utc::now(), lease)
            .await
            .unwrap()
            .expect("an expired lease is free");
        let lost = s.update_job(&held_by_a.advanced(500)).await;
        assert!(matches!(lost, Err(StoreError::Conflict(_))), "{lost:?}");
        let saved = s.update_job(&b.advanced(500)).await.unwrap();
        assert_eq!((saved.done, saved.step, saved.version), (500, 1, 3));
        assert_eq!(s.get_job(b.id).await.unwrap().unwrap(), saved);
    }

    #[tokio::test]
    async fn the_first_plan_of_a_step_is_kept_and_deleting_a_job_drops_its_steps() {
        let (_dir, s) = store();
        let j = s.insert_job(&job("a", 15)).await.unwrap();
        let g = &j.spec.as_ref().unwrap().generator;
        let first = JobStep {
            at: Utc::now(),
            keys: fresh_keys(g, 5, &mut rand::rngs::OsRng),
            ..JobStep::default()
        };
        let second = JobStep {
            at: Utc::now(),
            keys: fresh_keys(g, 5, &mut rand::rngs::OsRng),
            ..JobStep::default()
        };
        assert_eq!(s.plan_job_step(j.id, 0, &first).await.unwrap(), first);
        assert_eq!(s.plan_job_step(j.id, 0, &second).await.unwrap(), first);
        assert_eq!(s.plan_job_step(j.id, 1, &second).await.unwrap(), second);
        assert!(matches!(s.delete_job(j.id, j.version).await, Ok(())));
        assert_eq!(s.get_job(j.id).await.unwrap(), None);
        assert_eq!(s.get_job_step(j.id, 0).await.unwrap(), None);
        assert_eq!(s.get_job_step(j.id, 1).await.unwrap(), None);
    }

    #[tokio::test]
    async fn jobs_list_newest_first_and_a_stale_delete_changes_nothing() {
        let (_dir, s) = store();
        let mut ids = Vec::new();
        for _ in 0..3 {
            ids.push(s.insert_job(&job("a", 15)).await.unwrap().id);
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        let listed: Vec<Uuid> = s.list_jobs(2).await.unwrap().iter().map(|j| j.id).collect();
        assert_eq!(listed, vec![ids[2], ids[1]]);
        let j = s.get_job(ids[0]).await.unwrap().unwrap();
        let done = s.update_job(&j.finished(Utc::now())).await.unwrap();
        assert_eq!(done.state, JobState::Done);
        assert!(
            s.delete_job(j.id, j.version).await.is_err(),
            "stale version"
        );
        assert!(s.get_job(j.id).await.unwrap().is_some());
        assert!(s.insert_job(&done).await.is_err(), "an id is taken once");
    }
}
