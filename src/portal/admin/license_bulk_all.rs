//! "Every license matching these filters": one action (suspend, revoke,
//! assign) over all of them as a background job, chosen and confirmed on one
//! page that names the filters and the count.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::license_query::ListQuery;
use super::{chrome, redirect, render, AdminView, Chrome, ManageForm};
use crate::app::bulk;
use crate::app::error::AppError;
use crate::app::{format, AppState};
use crate::domain::Environment;
use crate::portal::PageError;

/// The License Keys filters an action over every match keeps.
const FILTERS: [&str; 6] = [
    "q",
    "product_id",
    "status",
    "expires_from",
    "expires_to",
    "created_within",
];

#[derive(Template)]
#[template(path = "admin/bulk_all.html")]
struct BulkAllPage {
    c: Chrome,
    total: u64,
    described: String,
    /// The filters as hidden fields (name, value), and as a link back.
    filters: Vec<(&'static str, String)>,
    back: String,
    max: usize,
}

/// The filters as the listing reads them, from a query string or a form.
fn query_of(get: impl Fn(&str) -> String) -> (ListQuery, Vec<(&'static str, String)>) {
    let kept: Vec<(&'static str, String)> = FILTERS
        .iter()
        .map(|f| (*f, get(f).trim().to_owned()))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let v = |name: &str| {
        kept.iter()
            .find(|(f, _)| *f == name)
            .map(|(_, v)| v.clone())
    };
    let q = ListQuery {
        q: v("q"),
        product_id: v("product_id"),
        status: v("status"),
        expires_from: v("expires_from"),
        expires_to: v("expires_to"),
        created_within: v("created_within"),
        ..ListQuery::default()
    };
    (q, kept)
}

/// The filters in words, for the page, the job's title and the audit log.
async fn describe(state: &AppState, env: Environment, kept: &[(&str, String)]) -> String {
    if kept.is_empty() {
        return "(every license, no filter)".into();
    }
    let mut parts = Vec::new();
    for (f, v) in kept {
        let text = match *f {
            "q" => format!("search “{v}”"),
            "product_id" => {
                let name = match v.parse() {
                    Ok(id) => crate::app::products::get(state.store(), env, id).await.ok(),
                    Err(_) => None,
                };
                format!(
                    "product {}",
                    name.map(|p| p.name).unwrap_or_else(|| v.clone())
                )
            }
            "status" => format!("status {v}"),
            "expires_from" => format!("expiring from {v}"),
            "expires_to" => format!("expiring until {v}"),
            _ => format!("created within {v} days"),
        };
        parts.push(text);
    }
    format!("matching {}", parts.join(", "))
}

/// The count, the filters in words, and the choice of action.
pub async fn page(
    AdminView { admin, req, env }: AdminView,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let pairs: HashMap<String, String> = serde_urlencoded::from_str(req.query_string())
        .map_err(|e| PageError::BadRequest(format!("bad query string: {e}")))?;
    let (lq, kept) = query_of(|f| pairs.get(f).cloned().unwrap_or_default());
    let total = bulk::matching_count(&state.engine, env, &lq.params()).await?;
    let described = describe(&state, env, &kept).await;
    let mut back_pairs: Vec<(&str, &str)> = vec![("env", env.as_str())];
    back_pairs.extend(kept.iter().map(|(f, v)| (*f, v.as_str())));
    let back = format!("/admin/licenses?{}", format::query(&back_pairs));
    render(
        &req,
        &BulkAllPage {
            c: chrome(&req, &admin, "Act on every match", "licenses", env),
            total,
            described,
            filters: kept,
            back,
            max: bulk::MAX_MATCHING,
        },
    )
}

/// Starts the job over every match and shows the jobs list.
pub async fn start(
    admin: super::Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    ManageForm { form, env }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let (lq, kept) = query_of(|f| form.get(f).to_owned());
    let action = super::license_bulk::action_of(&state, &form).await?;
    let described = describe(&state, env, &kept).await;
    let (engine, jobs) = (&state.engine, &state.services.jobs);
    let job = match bulk::start_matching(
        engine,
        jobs,
        env,
        &lq.params(),
        action,
        &described,
        &admin.who(),
    )
    .await
    {
        Ok(job) => job,
        Err(AppError::Invalid(e)) => {
            let back = format!("/admin/licenses?env={env}");
            return Ok(redirect(&req, &back, "error", &e.messages().join(" ")));
        }
        Err(e) => return Err(e.into()),
    };
    let text = format!("Job started: {}.", job.title);
    Ok(redirect(
        &req,
        &format!("/admin/jobs?env={env}"),
        "ok",
        &text,
    ))
}
