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
    /// One license key, exactly.
    license: Option<String>,
    /// An action, or a family ending in `.` (`customer.`).
    action: Option<String>,
    /// Part of who did it (`admin:ann@example.com`, `api-key:…`, `system`).
    actor: Option<String>,
    /// First day (UTC, `YYYY-MM-DD`), inclusive.
    from: Option<String>,
    /// Last day (UTC, `YYYY-MM-DD`), inclusive.
    to: Option<String>,
    /// Where the previous page stopped: its `X-Next-Before` header.
    before: Option<String>,
    /// Entries per page (1–999, default 100).
    limit: Option<usize>,
}

#[utoipa::path(
    get,
    path = "/admin/api/v1/{env}/audit",
    tag = "audit",
    operation_id = "list_audit",
    summary = "Audit entries, newest first; when there are older ones, `X-Next-Before` names the next page's `before`.",
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
    use crate::app::audit::{cursor_text, page, parse_cursor, AuditFilter};
    let p = web::Query::<AuditParams>::from_query(req.query_string())
        .map_err(|e| ApiError::bad(format!("bad query string: {e}")))?
        .into_inner();
    let day = |field: &'static str, v: Option<String>| match v.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| ApiError::field(field, format!("{field} must be a date (YYYY-MM-DD)"))),
    };
    let f = AuditFilter {
        license: p.license.unwrap_or_default(),
        action: p.action.unwrap_or_default(),
        actor: p.actor.unwrap_or_default(),
        from: day("from", p.from)?,
        to: day("to", p.to)?,
    };
    let before =
        match p.before.filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(parse_cursor(&s).ok_or_else(|| {
                ApiError::field("before", "before must be an X-Next-Before value")
            })?),
        };
    let (entries, next) = page(state.store(), env, &f, before, p.limit.unwrap_or(100)).await?;
    let mut resp = HttpResponse::Ok();
    if let Some(c) = next {
        resp.insert_header(("X-Next-Before", cursor_text(&c)));
    }
    Ok(resp.json(entries))
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
