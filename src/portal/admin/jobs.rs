//! Background Jobs (`templates/admin/jobs.html`): the list of bulk generations
//! with their progress, and retrying or removing one. Jobs are started from the
//! Generators page.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{chrome, redirect, render, AdminView, Chrome, ManageForm};
use crate::app::format;
use crate::app::jobs::JobState;
use crate::app::AppState;
use crate::domain::job::{Job, JobTask};
use crate::portal::PageError;

/// One job as the list shows it.
pub struct JobRow {
    pub id: String,
    pub title: String,
    pub state: &'static str,
    pub error: String,
    pub done: u32,
    pub total: u32,
    pub percent: u32,
    pub attempts: u32,
    pub who: String,
    pub created: String,
    pub finished: String,
    /// The node running it (its lease), or why none does.
    pub node: String,
    /// Items left as they were (a refused transition, a key taken meanwhile).
    pub skipped: u32,
    /// Where a draft is reviewed and confirmed (an import's preview).
    pub review: String,
}

impl JobRow {
    fn new(j: &Job, now: DateTime<Utc>) -> JobRow {
        let node = match (&j.state, &j.lease) {
            (JobState::Running, Some(l)) if l.until > now => l.node.clone(),
            (JobState::Running, _) => "waiting for a node".into(),
            _ => String::new(),
        };
        JobRow {
            id: j.id.to_string(),
            title: j.title.clone(),
            state: match j.state {
                // No node holds it: it waits for one (a node that died, or none free yet).
                JobState::Running if j.lease.as_ref().is_none_or(|l| l.until <= now) => "queued",
                JobState::Running => "running",
                JobState::Draft => "draft",
                JobState::Done => "done",
                JobState::Failed(_) => "failed",
            },
            error: match &j.state {
                JobState::Failed(e) => e.clone(),
                _ => String::new(),
            },
            done: j.done,
            total: j.total,
            skipped: j.skipped,
            review: match (&j.state, j.task) {
                (JobState::Draft, JobTask::Import { .. }) => {
                    format!("/admin/licenses/import/{}?env={}", j.id, j.env)
                }
                _ => String::new(),
            },
            percent: j.percent(),
            attempts: j.attempts,
            who: j.who.clone(),
            created: format::time(j.created_at),
            finished: j.finished_at.map(format::time).unwrap_or_default(),
            node,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/jobs.html")]
struct JobsPage {
    c: Chrome,
    rows: Vec<JobRow>,
    running: usize,
    queued: usize,
    failed: usize,
    /// This node's id, to tell which job runs here.
    node: String,
}

/// The Background Jobs page: the jobs of every node (rows in the store), newest first.
pub async fn jobs(
    AdminView { admin, req, env }: AdminView,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let now = Utc::now();
    let rows: Vec<JobRow> = state
        .services
        .jobs
        .list(state.store())
        .await?
        .iter()
        .map(|j| JobRow::new(j, now))
        .collect();
    let node = state.services.jobs.node().to_owned();
    render(
        &req,
        &JobsPage {
            c: chrome(&req, &admin, "Background Jobs", "jobs", env),
            running: rows.iter().filter(|r| r.state == "running").count(),
            queued: rows.iter().filter(|r| r.state == "queued").count(),
            failed: rows.iter().filter(|r| r.state == "failed").count(),
            rows,
            node,
        },
    )
}

fn job_id(raw: &str) -> Result<Uuid, PageError> {
    raw.parse()
        .map_err(|_| PageError::NotFound("no such job".into()))
}

/// Runs a failed job again for the keys it has not made yet.
pub async fn retry(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    ManageForm { env, .. }: ManageForm,
) -> Result<HttpResponse, PageError> {
    state
        .services
        .jobs
        .retry(state.store(), job_id(&path)?)
        .await?;
    Ok(redirect(
        &req,
        &format!("/admin/jobs?env={env}"),
        "ok",
        "Job restarted.",
    ))
}

/// Takes a finished job off the list (the keys it made stay).
pub async fn delete_job(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    ManageForm { env, .. }: ManageForm,
) -> Result<HttpResponse, PageError> {
    state
        .services
        .jobs
        .remove(state.store(), job_id(&path)?)
        .await?;
    Ok(redirect(
        &req,
        &format!("/admin/jobs?env={env}"),
        "ok",
        "Job removed from the list (its keys stay).",
    ))
}
