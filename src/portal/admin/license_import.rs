//! License Keys → Import CSV: the upload page, the dry-run preview of a draft
//! import (every refused row with its line and why; a sample of what would be
//! made), and its confirmation (a background job) or discarding.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use uuid::Uuid;

use super::upload::{self, UploadError};
use super::{chrome, redirect, render, Admin, AdminView, Chrome, ManageForm};
use crate::app::error::AppError;
use crate::app::import::{self, MAX_FILE_BYTES, MAX_ROWS};
use crate::app::{format, AppState};
use crate::domain::job::{JobState, JobTask};
use crate::domain::Environment;
use crate::portal::forms::Form;
use crate::portal::PageError;

/// Planned rows the preview lists.
const SAMPLE: usize = 20;

#[derive(Template)]
#[template(path = "admin/import.html")]
struct ImportPage {
    c: Chrome,
    error: String,
    max_rows: usize,
    max_mb: usize,
}

/// One planned row as the preview lists it.
struct SampleRow {
    line: u32,
    key: String,
    product: String,
    owner: String,
    limit: String,
    expires: String,
}

#[derive(Template)]
#[template(path = "admin/import_preview.html")]
struct PreviewPage {
    c: Chrome,
    id: String,
    title: String,
    state: &'static str,
    rows_in_file: u32,
    valid: u32,
    problem_count: u32,
    problems: Vec<(u32, String)>,
    sample: Vec<SampleRow>,
    can_confirm: bool,
}

fn page(req: &HttpRequest, admin: &Admin, env: Environment, error: String) -> ImportPage {
    ImportPage {
        c: chrome(req, admin, "Import licenses", "licenses", env),
        error,
        max_rows: MAX_ROWS,
        max_mb: MAX_FILE_BYTES / (1024 * 1024),
    }
}

/// The upload form and what the file may hold.
pub async fn form(AdminView { admin, req, env }: AdminView) -> Result<HttpResponse, PageError> {
    render(&req, &page(&req, &admin, env, String::new()))
}

/// Reads and checks the file, records the draft and shows its preview; a file
/// that cannot be read comes back with why (400, or 413 when too large).
pub async fn upload(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: actix_multipart::Multipart,
) -> Result<HttpResponse, PageError> {
    let read = upload::read(&admin, payload, "file", MAX_FILE_BYTES).await;
    let refuse = |env, status: actix_web::http::StatusCode, text: String| {
        let html = page(&req, &admin, env, text).render()?;
        Ok(HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(html))
    };
    let env_of = |fields: &std::collections::HashMap<String, String>| {
        let field = fields.get("env").cloned().unwrap_or_default();
        super::form_env(&Form::from_pairs(vec![("env".into(), field)]))
    };
    let up = match read {
        Ok(u) => u,
        Err(UploadError::TooBig(fields)) => {
            let text = format!(
                "The file is larger than {} MB: split it.",
                MAX_FILE_BYTES >> 20
            );
            let too_large = actix_web::http::StatusCode::PAYLOAD_TOO_LARGE;
            return refuse(env_of(&fields)?, too_large, text);
        }
        Err(UploadError::Refused(e)) => return Err(e),
    };
    let env = env_of(&up.fields)?;
    let Some(file) = up.file else {
        let bad = actix_web::http::StatusCode::BAD_REQUEST;
        return refuse(env, bad, "Choose a CSV file to import.".into());
    };
    let (engine, jobs) = (&state.engine, &state.services.jobs);
    match import::plan(engine, jobs, env, file.bytes, &file.filename, &admin.who()).await {
        Ok(job) => {
            let text = "File checked: nothing is made until you confirm.";
            Ok(redirect(&req, &preview_url(job.id, env), "ok", text))
        }
        Err(AppError::Invalid(e)) => {
            let text = e.messages().join(" ");
            refuse(env, actix_web::http::StatusCode::BAD_REQUEST, text)
        }
        Err(e) => Err(e.into()),
    }
}

fn preview_url(id: Uuid, env: Environment) -> String {
    format!("/admin/licenses/import/{id}?env={env}")
}

/// The dry run: what the file would make and every row refused.
pub async fn preview(
    AdminView { admin, req, env }: AdminView,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, PageError> {
    let store = state.engine.store().as_ref();
    let p = import::preview(store, env, *id).await?;
    let sample = p
        .first
        .rows
        .iter()
        .take(SAMPLE)
        .map(|r| SampleRow {
            line: r.line,
            key: r.license.key.as_str().to_owned(),
            product: p
                .products
                .get(&r.license.product_id)
                .cloned()
                .unwrap_or_default(),
            owner: r.owner_email.clone().unwrap_or_default(),
            limit: r.license.activation_limit.to_string(),
            expires: r
                .license
                .expires_at
                .map(format::date)
                .unwrap_or_else(|| "lifetime".into()),
        })
        .collect();
    let (rows_in_file, problem_count) = match p.job.task {
        JobTask::Import { rows, problems } => (rows, problems),
        _ => (0, 0),
    };
    let state_word = match p.job.state {
        JobState::Draft => "draft",
        JobState::Running => "running",
        JobState::Done => "done",
        JobState::Failed(_) => "failed",
    };
    render(
        &req,
        &PreviewPage {
            c: chrome(&req, &admin, "Import preview", "licenses", env),
            id: p.job.id.to_string(),
            title: p.job.title.clone(),
            state: state_word,
            rows_in_file,
            valid: p.job.total,
            problem_count,
            problems: p
                .first
                .problems
                .iter()
                .map(|x| (x.line, x.message.clone()))
                .collect(),
            sample,
            can_confirm: p.job.state == JobState::Draft && p.job.total > 0,
        },
    )
}

/// Starts the import's job; the Background Jobs page shows its progress.
pub async fn confirm(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    ManageForm { env, .. }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let (engine, jobs) = (&state.engine, &state.services.jobs);
    let job = import::confirm(engine, jobs, env, *id, &admin.who()).await?;
    let text = format!("Import started: {}.", job.title);
    Ok(redirect(
        &req,
        &format!("/admin/jobs?env={env}"),
        "ok",
        &text,
    ))
}

/// Drops a draft import (nothing was made).
pub async fn discard(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    ManageForm { env, .. }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let store = state.engine.store().as_ref();
    let p = import::preview(store, env, *id).await?;
    if p.job.state != JobState::Draft {
        return Err(AppError::Conflict("This import was already confirmed.".into()).into());
    }
    state.services.jobs.remove(store, *id).await?;
    let back = format!("/admin/licenses/import?env={env}");
    Ok(redirect(
        &req,
        &back,
        "ok",
        "Import discarded: nothing was made.",
    ))
}
