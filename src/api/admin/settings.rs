//! `/admin/api/v1/{env}/audit`, `/settings` and token rotation.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::{env, json_body, AdminToken, API_ACTOR};
use crate::app::AppState;
use crate::domain::EnvSettings;
use crate::error::ApiError;
use crate::store::AuditQuery;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    license: Option<String>,
    action: Option<String>,
    limit: Option<usize>,
}

pub async fn audit(
    _: AdminToken,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let env = env(&path)?;
    let p = web::Query::<AuditParams>::from_query(req.query_string())
        .map_err(|e| ApiError::bad(format!("bad query string: {e}")))?;
    let q = AuditQuery {
        license_key: p.license.clone().filter(|s| !s.is_empty()),
        action: p.action.clone().filter(|s| !s.is_empty()),
        limit: p.limit.unwrap_or(100).clamp(1, 1000),
    };
    Ok(HttpResponse::Ok().json(state.engine.store().list_audit(env, &q).await?))
}

pub async fn get(
    _: AdminToken,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let env = env(&path)?;
    Ok(HttpResponse::Ok().json(state.engine.settings().get(env)))
}

pub async fn put(
    _: AdminToken,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let env = env(&path)?;
    let s: EnvSettings = json_body(&state, &req, body).await?;
    state
        .engine
        .update_settings(env, s.clone(), API_ACTOR)
        .await?;
    Ok(HttpResponse::Ok().json(s))
}

/// Replaces the admin API token; the new one is shown once, in this answer.
pub async fn rotate_token(
    _: AdminToken,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let token = crate::app::tokens::rotate(&state, API_ACTOR).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "token": token })))
}
