//! The steps of planned jobs (an import, a bulk action over what a filter
//! matched): each step does what its plan row holds, nothing else, so a node
//! taking the job over does the same work. Both are idempotent: an imported
//! license already made by the step is found and counted, an action already
//! done is refused by the license's state and counted as skipped.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::LocalBoxFuture;
use uuid::Uuid;

use super::run::{complete, Stop};
use crate::app::bulk::{self, BulkAction};
use crate::app::error::AppError;
use crate::domain::issuing::give_to;
use crate::domain::job::{made_as_planned, Job, JobStep, JobTask};
use crate::domain::Environment;
use crate::engine::Engine;

/// Finds the customer an imported row names, or makes and invites one (the
/// accounts side, which the job runner cannot reach by itself).
pub type Owners =
    Arc<dyn Fn(String) -> LocalBoxFuture<'static, Result<Uuid, AppError>> + Send + Sync>;

/// Times a busy or unavailable license is tried again within one step.
const RETRIES: usize = 3;

/// What one step went through: items done (made, acted on, or skipped) and
/// how many of them were skipped.
pub(super) type Progress = (u32, u32);

/// Runs the next step of a planned job: its plan is read from the store (a
/// missing one while work is left fails the job rather than call it done).
pub(super) async fn planned_step(
    engine: Arc<Engine>,
    owners: Option<Owners>,
    job: Job,
) -> Result<Progress, Stop> {
    let remaining = job.total - job.done.min(job.total);
    let plan = match engine.store().get_job_step(job.id, job.step).await {
        Ok(Some(p)) => p,
        Ok(None) if remaining == 0 => return Ok((0, 0)),
        Ok(None) => {
            return Err(Stop::Failed(format!(
                "the plan of step {} is missing",
                job.step
            )))
        }
        Err(e) => return Err(Stop::Failed(e.to_string())),
    };
    match job.task {
        JobTask::Bulk { action } => act_on_keys(&engine, job.env, &plan, action, &job.who).await,
        _ => import_rows(&engine, owners, job.env, plan, &job.who).await,
    }
}

/// Makes the step's licenses (owners found or invited first); a key another
/// license took since the preview is skipped.
async fn import_rows(
    engine: &Engine,
    owners: Option<Owners>,
    env: Environment,
    plan: JobStep,
    who: &str,
) -> Result<Progress, Stop> {
    let rows = plan.rows.len() as u32;
    let mut known: HashMap<String, Uuid> = HashMap::new();
    let mut licenses = Vec::with_capacity(plan.rows.len());
    let mut skipped = 0;
    for row in plan.rows {
        let mut l = row.license;
        if let Some(email) = row.owner_email {
            let id = match (known.get(&email), &owners) {
                (Some(id), _) => *id,
                (None, Some(find)) => match find(email.clone()).await {
                    Ok(id) => id,
                    Err(e) if refusal(&e) => {
                        tracing::info!(line = row.line, error = %e, "import row skipped: no owner");
                        skipped += 1;
                        continue;
                    }
                    // Anything else (the store, the outbox): the job fails and
                    // a retry goes on from this step (the owner is found then).
                    Err(e) => return Err(Stop::Failed(e.to_string())),
                },
                (None, None) => return Err(Stop::Failed("no way to find customers here".into())),
            };
            known.insert(email, id);
            give_to(&mut l, id);
        }
        licenses.push(l);
    }
    let wanted = licenses.len() as u32;
    let made = complete(engine, env, licenses, who, made_as_planned).await?;
    Ok((rows, skipped + wanted.saturating_sub(made)))
}

/// Does `action` to each key of the step; a license it does not fit (revoked
/// meanwhile, deleted) is skipped.
async fn act_on_keys(
    engine: &Engine,
    env: Environment,
    plan: &JobStep,
    action: BulkAction,
    who: &str,
) -> Result<Progress, Stop> {
    let mut skipped = 0;
    for key in &plan.keys {
        let mut attempt = 0;
        loop {
            match bulk::one(engine, env, key, action, who).await {
                Ok(()) => {}
                Err(AppError::Unavailable(_)) if attempt < RETRIES => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100 * attempt as u64)).await;
                    continue;
                }
                Err(e) if refusal(&e) => skipped += 1,
                Err(e) => return Err(Stop::Failed(format!("{}: {e}", key.masked()))),
            }
            break;
        }
    }
    Ok((plan.keys.len() as u32, skipped))
}

/// Whether an error is the license's (or the row's) own refusal: the item is
/// skipped and the job goes on. Anything else stops the job for a retry.
fn refusal(e: &AppError) -> bool {
    matches!(
        e,
        AppError::Invalid(_)
            | AppError::NotFound(_)
            | AppError::Transition(_)
            | AppError::Conflict(_)
    )
}
