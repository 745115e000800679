//! `/admin/api/v1/api-keys`: create (the token is in that answer only), list
//! and revoke admin API keys. Owner token only (see `access`).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AdminToken, Body};
use crate::app::api_keys::{self, NewApiKey};
use crate::app::AppState;
use crate::domain::api_key::{ApiKey, Permission};
use crate::domain::Environment;
use crate::error::ApiError;

/// The JSON body of a new key (unknown fields refused).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeyBody {
    name: Option<String>,
    environment: Option<String>,
    permissions: Option<Vec<String>>,
    expires_at: Option<String>,
}

/// A key as the API shows it (never its token or hash).
#[derive(Serialize, utoipa::ToSchema)]
pub struct KeyView {
    id: Uuid,
    name: String,
    environment: Option<Environment>,
    permissions: Vec<Permission>,
    prefix: String,
    status: &'static str,
    created_at: DateTime<Utc>,
    created_by: String,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
    last_used_ip: Option<String>,
}

impl KeyView {
    fn of(k: &ApiKey, now: DateTime<Utc>) -> KeyView {
        KeyView {
            id: k.id,
            name: k.name.clone(),
            environment: k.environment,
            permissions: k.permissions.clone(),
            prefix: k.prefix.clone(),
            status: k.status(now),
            created_at: k.created_at,
            created_by: k.created_by.clone(),
            expires_at: k.expires_at,
            revoked_at: k.revoked_at,
            last_used_at: k.last_used_at,
            last_used_ip: k.last_used_ip.clone(),
        }
    }
}

/// The new key's fields, checked for shape (rules: `app::api_keys::check`).
fn decode(b: NewKeyBody) -> Result<NewApiKey, ApiError> {
    let environment = match b.environment.as_deref() {
        None | Some("") | Some("all") => None,
        Some(e) => Some(e.parse::<Environment>().map_err(|_| {
            ApiError::field(
                "environment",
                "environment must be production, staging or absent (all)",
            )
        })?),
    };
    let permissions = b
        .permissions
        .ok_or_else(|| ApiError::field("permissions", "permissions is required"))?
        .iter()
        .map(|p| {
            Permission::parse(p)
                .ok_or_else(|| ApiError::field("permissions", format!("unknown permission {p:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let expires_at = b
        .expires_at
        .map(|s| {
            DateTime::parse_from_rfc3339(&s)
                .map(|d| d.with_timezone(&Utc))
                .map_err(|_| ApiError::field("expires_at", "expires_at must be an RFC 3339 time"))
        })
        .transpose()?;
    Ok(NewApiKey {
        name: b
            .name
            .ok_or_else(|| ApiError::field("name", "name is required"))?,
        environment,
        permissions,
        expires_at,
    })
}

#[utoipa::path(
    post,
    path = "/admin/api/v1/api-keys",
    tag = "api-keys",
    operation_id = "create_api_key",
    summary = "Make an API key (owner token only); the token is in this answer only.",
    request_body = NewKeyBody,
    responses((status = 201, description = "the key with its token", body = crate::api::openapi::schemas::NewApiKey)),
    security(("bearer" = []))
)]
pub async fn create(
    t: AdminToken,
    state: web::Data<AppState>,
    Body(b): Body<NewKeyBody>,
) -> Result<HttpResponse, ApiError> {
    let n = decode(b)?;
    let (key, token) = api_keys::create(state.store(), n, &t.actor()).await?;
    let mut v = serde_json::to_value(KeyView::of(&key, Utc::now()))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    v["token"] = serde_json::Value::String(token);
    Ok(HttpResponse::Created().json(v))
}

#[utoipa::path(
    get,
    path = "/admin/api/v1/api-keys",
    tag = "api-keys",
    operation_id = "list_api_keys",
    summary = "Every key, newest first, without tokens.",
    responses((status = 200, description = "the keys", body = Vec<KeyView>)),
    security(("bearer" = []))
)]
pub async fn list(_: AdminToken, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let now = Utc::now();
    let keys = api_keys::list(state.store()).await?;
    let views: Vec<KeyView> = keys.iter().map(|k| KeyView::of(k, now)).collect();
    Ok(HttpResponse::Ok().json(views))
}

#[utoipa::path(
    delete,
    path = "/admin/api/v1/api-keys/{id}",
    tag = "api-keys",
    operation_id = "revoke_api_key",
    summary = "Revoke a key (it stays listed).",
    params(("id" = uuid::Uuid, Path, description = "API key id")),
    responses((status = 200, description = "the key, revoked", body = KeyView)),
    security(("bearer" = []))
)]
pub async fn revoke(
    t: AdminToken,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id: Uuid = id
        .parse()
        .map_err(|_| ApiError::field("id", "id must be a UUID"))?;
    let key = api_keys::revoke(state.store(), id, &t.actor()).await?;
    Ok(HttpResponse::Ok().json(KeyView::of(&key, Utc::now())))
}
