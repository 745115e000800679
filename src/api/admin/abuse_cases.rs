//! `/admin/api/v1/{env}/abuse-cases` and a license's case review: what the
//! Abuse Cases page does, for automation.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::{AdminToken, Body, Env, LicenseAt};
use crate::app::abuse_cases;
use crate::app::views::LicenseView;
use crate::app::AppState;
use crate::domain::abuse_case::Decision;
use crate::error::ApiError;

#[utoipa::path(
    get,
    path = "/admin/api/v1/{env}/abuse-cases",
    tag = "licenses",
    operation_id = "list_abuse_cases",
    summary = "Licenses whose abuse case waits for review, newest first (at most 100; `X-Total-Count` says how many).",
    params(("env" = crate::domain::Environment, Path, description = "production or staging")),
    responses((status = 200, description = "the licenses, each with its `abuse_case`", body = Vec<crate::app::views::LicenseView>)),
    security(("bearer" = []))
)]
pub async fn list(
    _: AdminToken,
    state: web::Data<AppState>,
    Env(env): Env,
) -> Result<HttpResponse, ApiError> {
    let (licenses, total) = abuse_cases::open(&state.engine, env).await?;
    let views: Vec<LicenseView> = licenses
        .iter()
        .map(|l| LicenseView::new(l, false))
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header(("X-Total-Count", total.to_string()))
        .json(views))
}

/// A review (unknown fields refused).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Review {
    /// `confirm`, `confirm_suspend`, `confirm_revoke` or `dismiss`.
    decision: String,
    /// Why (kept on the case and in the audit log; at most 1000 characters).
    note: Option<String>,
}

#[utoipa::path(
    post,
    path = "/admin/api/v1/{env}/licenses/{key}/abuse-case/review",
    tag = "licenses",
    operation_id = "review_abuse_case",
    summary = "Confirm (optionally suspending or revoking) or dismiss the license's open abuse case.",
    params(("env" = crate::domain::Environment, Path, description = "production or staging"), ("key" = String, Path, description = "the license key")),
    request_body = Review,
    responses((status = 200, description = "the license", body = crate::app::views::LicenseView)),
    security(("bearer" = []))
)]
pub async fn review(
    t: AdminToken,
    state: web::Data<AppState>,
    LicenseAt { env, key }: LicenseAt,
    Body(r): Body<Review>,
) -> Result<HttpResponse, ApiError> {
    let decision = Decision::parse(&r.decision).ok_or_else(|| {
        ApiError::field(
            "decision",
            "decision must be confirm, confirm_suspend, confirm_revoke or dismiss",
        )
    })?;
    let note = r.note.unwrap_or_default();
    let l = abuse_cases::review(&state.engine, env, &key, decision, &note, &t.actor()).await?;
    Ok(HttpResponse::Ok().json(LicenseView::new(&l, false)))
}
