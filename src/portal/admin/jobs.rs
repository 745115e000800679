//! Background Jobs (`templates/admin/jobs.html`): the list of bulk generations
//! with their progress, and retrying or removing one. Jobs are started from the
//! Generators page.

use std::sync::atomic::Ordering;

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use uuid::Uuid;

use super::{chrome, redirect, render, AdminView, Chrome, ManageForm};
use crate::app::format;
use crate::app::jobs::{Job, JobState};
use crate::app::AppState;
use crate::portal::PageError;

/// One job as the list shows it.
pub struct JobRow {
    pub id: String,
    pub title: String,
    pub state: &'static str,
    pub error: String,
    pub done: usize,
    pub total: usize,
    pub percent: usize,
    pub attempts: usize,
    pub who: String,
    pub created: String,
    pub finished: String,
}

impl JobRow {
    fn new(j: &Job) -> JobRow {
        let st = j.state.read().clone();
        JobRow {
            id: j.id.to_string(),
            title: j.title.clone(),
            state: match st {
                JobState::Running => "running",
                JobState::Done => "done",
                JobState::Failed(_) => "failed",
            },
            error: match st {
                JobState::Failed(e) => e,
                _ => String::new(),
            },
            done: j.done.load(Ordering::Relaxed),
            total: j.total,
            percent: j.percent(),
            attempts: j.attempts.load(Ordering::Relaxed),
            who: j.who.clone(),
            created: format::time(j.created_at),
            finished: j.finished_at.read().map(format::time).unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/jobs.html")]
struct JobsPage {
    c: Chrome,
    rows: Vec<JobRow>,
    running: usize,
    failed: usize,
}

/// The Background Jobs page: this node's jobs, newest first.
pub async fn jobs(
    AdminView { admin, req, env }: AdminView,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let rows: Vec<JobRow> = state
        .services
        .jobs
        .all()
        .iter()
        .map(|j| JobRow::new(j))
        .collect();
    render(
        &req,
        &JobsPage {
            c: chrome(&req, &admin, "Background Jobs", "jobs", env),
            running: rows.iter().filter(|r| r.state == "running").count(),
            failed: rows.iter().filter(|r| r.state == "failed").count(),
            rows,
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
        .retry(state.engine.clone(), job_id(&path)?)
        .ok_or_else(|| PageError::Conflict("Only a failed job can be retried.".into()))?;
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
    if !state.services.jobs.remove(job_id(&path)?) {
        return Err(PageError::Conflict(
            "A running job cannot be removed.".into(),
        ));
    }
    Ok(redirect(
        &req,
        &format!("/admin/jobs?env={env}"),
        "ok",
        "Job removed from the list (its keys stay).",
    ))
}
