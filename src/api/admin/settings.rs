//! `/admin/api/v1/{env}/audit`, `/settings` and token rotation.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::{AdminToken, Body, Env};
use crate::app::AppState;
use crate::domain::EnvSettings;
use crate::error::ApiError;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    license: Option<String>,
    action: Option<String>,
    limit: Option<usize>,
}

#[utoipa::path(
    get,
    path = "/admin/api/v1/{env}/audit",
    tag = "audit",
    operation_id = "list_audit",
    summary = "Audit entries, newest first.",
    params(("env" = crate::domain::Environment, Path, description = "production or staging"), AuditParams),
    responses((status = 200, description = "the entries", body = Vec<crate::domain::AuditEntry>)),
    security(("bearer" = []))
)]
pub async fn audit(
    _: AdminToken,
    state: web::Data<AppState>,
    Env(env): Env,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = web::Query::<AuditParams>::from_query(req.query_string())
        .map_err(|e| ApiError::bad(format!("bad query string: {e}")))?;
    let (license, action) = (p.license.as_deref(), p.action.as_deref());
    let entries = crate::app::audit::list(
        state.store(),
        env,
        license.unwrap_or(""),
        action.unwrap_or(""),
        p.limit.unwrap_or(100),
    )
    .await?;
    Ok(HttpResponse::Ok().json(entries))
}

#[utoipa::path(
    get,
    path = "/admin/api/v1/{env}/settings",
    tag = "settings",
    operation_id = "get_settings",
    summary = "Grace period and the abuse rule.",
    params(("env" = crate::domain::Environment, Path, description = "production or staging")),
    responses((status = 200, description = "the settings", body = crate::domain::EnvSettings)),
    security(("bearer" = []))
)]
pub async fn get(
    _: AdminToken,
    state: web::Data<AppState>,
    Env(env): Env,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(crate::app::settings::get(&state.engine, env)))
}

#[utoipa::path(
    put,
    path = "/admin/api/v1/{env}/settings",
    tag = "settings",
    operation_id = "put_settings",
    summary = "Replace the settings.",
    params(("env" = crate::domain::Environment, Path, description = "production or staging")),
    request_body = crate::domain::EnvSettings,
    responses((status = 200, description = "the settings", body = crate::domain::EnvSettings)),
    security(("bearer" = []))
)]
pub async fn put(
    t: AdminToken,
    state: web::Data<AppState>,
    Env(env): Env,
    Body(s): Body<EnvSettings>,
) -> Result<HttpResponse, ApiError> {
    crate::app::settings::update(&state.engine, env, s.clone(), &t.actor()).await?;
    Ok(HttpResponse::Ok().json(s))
}

/// Replaces the admin API token; the new one is shown once, in this answer.
#[utoipa::path(
    post,
    path = "/admin/api/v1/token/rotate",
    tag = "settings",
    operation_id = "rotate_token",
    summary = "Replace the owner token (shown once, in this answer); the old one stops working.",
    responses((status = 200, description = "the new token", body = crate::api::openapi::schemas::NewToken)),
    security(("bearer" = []))
)]
pub async fn rotate_token(
    t: AdminToken,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let token =
        crate::app::tokens::rotate(state.store(), &state.admin_token_hash, &t.actor()).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "token": token })))
}

/// Makes a new current signing key for the environment; the old one keeps
/// verifying offline files until they expire (see `GET /v1/{env}/public-key`).
#[utoipa::path(
    post,
    path = "/admin/api/v1/{env}/signing-keys/rotate",
    tag = "settings",
    operation_id = "rotate_signing_key",
    summary = "Rotate the environment's Ed25519 signing key; the old key stays published until the offline files it signed expire.",
    params(("env" = crate::domain::Environment, Path, description = "production or staging")),
    responses((status = 200, description = "the new current key id", body = crate::api::openapi::schemas::RotatedKey)),
    security(("bearer" = []))
)]
pub async fn rotate_signing_key(
    t: AdminToken,
    state: web::Data<AppState>,
    Env(env): Env,
) -> Result<HttpResponse, ApiError> {
    let key_id =
        crate::app::secrets::rotate(state.store(), &state.signers, env, &t.actor()).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "key_id": key_id })))
}
