//! Bulk actions on the licenses an admin selected on the License Keys page:
//! suspend, revoke or assign each through its actor (each audited as if done
//! one by one). A license the action does not fit is skipped with the reason;
//! the others go ahead.

use chrono::Utc;

use super::error::AppError;
use super::jobs::Jobs;
use super::licenses;
use super::listing::{self, ListParams};
use crate::domain::job::planned::bulk_steps;
pub use crate::domain::job::BulkAction;
use crate::domain::job::{Job, JobTask};
use crate::domain::{Action, Environment, LicenseKey};
use crate::engine::Engine;

/// Most licenses one bulk action takes (a page of the table is at most 100).
pub const MAX_SELECTED: usize = 500;

/// Most licenses one action over every match takes (a job of 200 steps).
pub const MAX_MATCHING: usize = 100_000;

/// What a bulk action did.
#[derive(Debug, Default)]
pub struct BulkOutcome {
    pub done: usize,
    /// (key, why) of each license left as it was.
    pub skipped: Vec<(String, String)>,
}

/// Parses the selection: at least one key, at most [`MAX_SELECTED`], each a
/// well-formed key (a bad one refuses the whole request: nothing is done).
pub fn selection(raw: &[String]) -> Result<Vec<LicenseKey>, AppError> {
    if raw.is_empty() {
        return Err(AppError::field("keys", "Select at least one license."));
    }
    if raw.len() > MAX_SELECTED {
        return Err(AppError::field(
            "keys",
            format!("Select at most {MAX_SELECTED} licenses at once."),
        ));
    }
    raw.iter()
        .map(|k| {
            LicenseKey::parse(k).map_err(|e| AppError::field("keys", format!("license key: {e}")))
        })
        .collect()
}

/// Applies `action` to every key, one after another.
pub async fn run(
    engine: &Engine,
    env: Environment,
    keys: &[LicenseKey],
    action: BulkAction,
    who: &str,
) -> Result<BulkOutcome, AppError> {
    let mut out = BulkOutcome::default();
    for key in keys {
        match one(engine, env, key, action, who).await {
            Ok(()) => out.done += 1,
            Err(AppError::Unavailable(e)) => return Err(AppError::Unavailable(e)),
            Err(e) => out.skipped.push((key.as_str().to_owned(), e.to_string())),
        }
    }
    Ok(out)
}

/// Applies `action` to one license (through its actor; audited there).
pub async fn one(
    engine: &Engine,
    env: Environment,
    key: &LicenseKey,
    action: BulkAction,
    who: &str,
) -> Result<(), AppError> {
    match action {
        BulkAction::Suspend => licenses::act(engine, env, key, Action::Suspend, who).await,
        BulkAction::Revoke => licenses::act(engine, env, key, Action::Revoke, who).await,
        BulkAction::Assign(c) => licenses::assign(engine, env, key, c, who).await,
    }
    .map(|_| ())
}

/// Starts `action` over every license the filters match now, as a job: the
/// keys are fixed when it starts (written as its plan), so a license that
/// matches later is not taken and one that stops matching still is.
/// `described` says what the filters were, for the jobs list and the audit.
pub async fn start_matching(
    engine: &Engine,
    jobs: &Jobs,
    env: Environment,
    params: &ListParams,
    action: BulkAction,
    described: &str,
    who: &str,
) -> Result<Job, AppError> {
    let keys = matching_keys(engine, env, params).await?;
    if keys.is_empty() {
        return Err(AppError::field(
            "filters",
            "No license matches these filters.",
        ));
    }
    if keys.len() > MAX_MATCHING {
        return Err(AppError::field(
            "filters",
            format!("More than {MAX_MATCHING} licenses match: narrow the filters."),
        ));
    }
    let store = engine.store().as_ref();
    let now = Utc::now();
    let n = keys.len();
    let title = format!("{} {n} licenses {described} ({env})", action.verb());
    let job = Job::draft(
        env,
        JobTask::Bulk { action },
        title,
        who.into(),
        n as u32,
        now,
    );
    let job = jobs.draft(store, job, bulk_steps(now, &keys)).await?;
    let detail = format!("{} (job {})", job.title, job.id);
    let audit = crate::engine::origin::entry(who, "license.bulk", None, now).detail(detail);
    store.append_audit(env, &audit).await?;
    jobs.confirm(store, job.id).await
}

/// How many licenses the filters match now (this node's catalog).
pub async fn matching_count(
    engine: &Engine,
    env: Environment,
    params: &ListParams,
) -> Result<u64, AppError> {
    let mut q = params.to_query()?;
    q.page = 1;
    q.per_page = 1;
    Ok(listing::page_now(engine, env, q).await?.page.total)
}

/// Every key the filters match (at most one more than [`MAX_MATCHING`]), in
/// key order: a stable walk, whatever order the page showed.
async fn matching_keys(
    engine: &Engine,
    env: Environment,
    params: &ListParams,
) -> Result<Vec<LicenseKey>, AppError> {
    let mut q = params.to_query()?;
    q.sort = crate::store::SortField::Key;
    q.descending = false;
    let (all, _, _) = listing::every_match(engine, env, q, MAX_MATCHING + 1).await?;
    Ok(all.into_iter().map(|s| s.key).collect())
}
