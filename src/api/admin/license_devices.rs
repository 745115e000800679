//! `/admin/api/v1/{env}/licenses/{key}/…` about devices: the activation
//! history, freeing a device, and a device's signed offline file.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::views::LicenseView;
use super::{AdminToken, Body, LicenseAt};
use crate::app::licenses;
use crate::app::offline::offline_file;
use crate::app::AppState;
use crate::domain::Identifier;
use crate::error::ApiError;

/// Page of `GET …/licenses/{key}/activations`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// A license's past (deactivated) activations, newest first, a page at a time.
#[utoipa::path(
    get,
    path = "/admin/api/v1/{env}/licenses/{key}/activations",
    tag = "licenses",
    operation_id = "license_activation_history",
    summary = "A license's past (deactivated) activations, newest first.",
    params(("env" = crate::domain::Environment, Path, description = "production or staging"), ("key" = String, Path, description = "the license key"), HistoryParams),
    responses((status = 200, description = "one page", body = crate::api::openapi::schemas::HistoryPage)),
    security(("bearer" = []))
)]
pub async fn activation_history(
    _: AdminToken,
    state: web::Data<AppState>,
    LicenseAt { env, key }: LicenseAt,
    params: web::Query<HistoryParams>,
) -> Result<HttpResponse, ApiError> {
    let page = params.page.unwrap_or(1).max(1);
    let per_page = params.per_page.unwrap_or(100).clamp(1, 500);
    let items = licenses::history(&state.engine, env, &key, page, per_page).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "items": items, "page": page, "per_page": per_page,
    })))
}

/// The JSON body a request sends (unknown fields refused).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceBody {
    identifier: Option<String>,
}

#[utoipa::path(
    post,
    path = "/admin/api/v1/{env}/licenses/{key}/deactivate",
    tag = "licenses",
    operation_id = "deactivate_device",
    summary = "Free a device's slot.",
    params(("env" = crate::domain::Environment, Path, description = "production or staging"), ("key" = String, Path, description = "the license key")),
    request_body = DeviceBody,
    responses((status = 200, description = "the license", body = crate::app::views::LicenseView)),
    security(("bearer" = []))
)]
pub async fn deactivate(
    t: AdminToken,
    state: web::Data<AppState>,
    LicenseAt { env, key }: LicenseAt,
    Body(b): Body<DeviceBody>,
) -> Result<HttpResponse, ApiError> {
    let identifier = b
        .identifier
        .ok_or_else(|| ApiError::field("identifier", "identifier is required"))?;
    let identifier =
        Identifier::existing(&identifier).map_err(|e| ApiError::field("identifier", e))?;
    let l = licenses::deactivate(&state.engine, env, &key, identifier, &t.actor()).await?;
    Ok(HttpResponse::Ok().json(LicenseView::new(&l, true)))
}

/// The JSON body a request sends (unknown fields refused).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OfflineParams {
    identifier: Option<String>,
}

/// The signed offline file as a download, for air-gapped customers.
#[utoipa::path(
    get,
    path = "/admin/api/v1/{env}/licenses/{key}/offline",
    tag = "licenses",
    operation_id = "license_offline_file",
    summary = "The signed offline file of one device, as a download.",
    params(("env" = crate::domain::Environment, Path, description = "production or staging"), ("key" = String, Path, description = "the license key"), OfflineParams),
    responses((status = 200, description = "the signed file", body = Object)),
    security(("bearer" = []))
)]
pub async fn offline(
    _: AdminToken,
    state: web::Data<AppState>,
    LicenseAt { env, key }: LicenseAt,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = web::Query::<OfflineParams>::from_query(req.query_string())
        .map_err(|e| ApiError::bad(format!("bad query string: {e}")))?;
    let identifier = p
        .identifier
        .clone()
        .ok_or_else(|| ApiError::field("identifier", "identifier is required"))?;
    let identifier =
        Identifier::existing(&identifier).map_err(|e| ApiError::field("identifier", e))?;
    let (v, file) =
        offline_file(&state.engine, &state.signers, env, &key, &identifier, None).await?;
    match file {
        Some(f) => Ok(HttpResponse::Ok()
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}-offline.json\"", key.as_str()),
            ))
            .json(f)),
        None if v.code == crate::domain::VerdictCode::NotFound => {
            Err(ApiError::NotFound("license not found".into()))
        }
        None => Err(ApiError::Conflict(format!(
            "no offline file: {} ({})",
            v.detail,
            v.code.as_str()
        ))),
    }
}
