//! `/admin/api/v1/{env}/licenses`: create, bulk-create, list, export, get, edit,
//! assign, state actions and delete (devices: `license_devices.rs`).

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::views::{LicenseView, SummaryView};
use super::{AdminToken, Body, Env, LicenseAt};
use crate::app::AppState;
use crate::domain::fields::{json_object, MAX_FEATURE_FLAGS_BYTES, MAX_METADATA_BYTES};
use crate::domain::{Action, ActivationLimit};
use crate::engine::LicenseEdit;
use crate::error::ApiError;

use crate::app::licenses::{self, NewLicense, Owner};
use crate::app::listing::{self, ListParams};
use crate::domain::api_key::Caller;

/// The JSON body a request sends (unknown fields refused).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLicenseBody {
    product_id: Option<Uuid>,
    generator_id: Option<Uuid>,
    customer_id: Option<Uuid>,
    activation_limit: Option<i64>,
    expires_at: Option<String>,
    feature_flags: Option<Value>,
    metadata: Option<Value>,
    count: Option<usize>,
}

fn parse_time(field: &'static str, s: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| ApiError::field(field, format!("{field} must be an RFC 3339 time: {e}")))
}

fn flags(v: Option<&Value>) -> Result<Map<String, Value>, ApiError> {
    json_object("feature_flags", v, MAX_FEATURE_FLAGS_BYTES)
        .map_err(|e| ApiError::field(e.field, e.to_string()))
}

fn meta(v: Option<&Value>) -> Result<Map<String, Value>, ApiError> {
    json_object("metadata", v, MAX_METADATA_BYTES)
        .map_err(|e| ApiError::field(e.field, e.to_string()))
}

fn limit(v: Option<i64>) -> Result<Option<ActivationLimit>, ApiError> {
    v.map(ActivationLimit::new)
        .transpose()
        .map_err(|e| ApiError::field("activation_limit", format!("activation_limit {e}")))
}

/// Decodes a create request into the app's terms.
fn decode_new(n: &NewLicenseBody) -> Result<NewLicense, ApiError> {
    Ok(NewLicense {
        product_id: n.product_id,
        generator_id: n.generator_id,
        customer_id: n.customer_id,
        activation_limit: limit(n.activation_limit)?,
        expires_at: n
            .expires_at
            .as_deref()
            .map(|s| parse_time("expires_at", s))
            .transpose()?,
        feature_flags: n
            .feature_flags
            .as_ref()
            .map(|v| flags(Some(v)))
            .transpose()?,
        metadata: meta(n.metadata.as_ref())?,
    })
}

#[utoipa::path(
    post,
    path = "/admin/api/v1/{env}/licenses",
    tag = "licenses",
    operation_id = "create_license",
    summary = "Create one license (assigned when customer_id is given).",
    params(("env" = crate::domain::Environment, Path, description = "production or staging")),
    request_body = NewLicenseBody,
    responses((status = 201, description = "the license", body = crate::app::views::LicenseView)),
    security(("bearer" = []))
)]
pub async fn create(
    t: AdminToken,
    state: web::Data<AppState>,
    Env(env): Env,
    Body(n): Body<NewLicenseBody>,
) -> Result<HttpResponse, ApiError> {
    if n.count.is_some() {
        return Err(ApiError::field(
            "count",
            "use POST …/licenses/bulk to create several",
        ));
    }
    let made = create_as(&t, &state, env, &decode_new(&n)?, 1).await?;
    super::license_mail::mail_new_owner(&state, env, None, &made[0], &t.actor()).await;
    Ok(HttpResponse::Created().json(LicenseView::new(&made[0], true)))
}

/// Licenses made for the caller: an API key's contract for the product counts them.
async fn create_as(
    t: &AdminToken,
    state: &AppState,
    env: crate::domain::Environment,
    n: &NewLicense,
    count: usize,
) -> Result<Vec<crate::domain::License>, ApiError> {
    let who = t.actor();
    Ok(match &t.caller {
        Caller::Key(k) => {
            crate::app::contracts::create_licenses_as(&state.engine, env, n, count, k, &who).await?
        }
        Caller::Owner => licenses::create(&state.engine, env, n, count, &who).await?,
    })
}

#[utoipa::path(
    post,
    path = "/admin/api/v1/{env}/licenses/bulk",
    tag = "licenses",
    operation_id = "bulk_create_licenses",
    summary = "Create `count` licenses at once.",
    params(("env" = crate::domain::Environment, Path, description = "production or staging")),
    request_body = NewLicenseBody,
    responses((status = 201, description = "the keys made", body = crate::api::openapi::schemas::BulkCreated)),
    security(("bearer" = []))
)]
pub async fn bulk(
    t: AdminToken,
    state: web::Data<AppState>,
    Env(env): Env,
    Body(n): Body<NewLicenseBody>,
) -> Result<HttpResponse, ApiError> {
    let count = n
        .count
        .ok_or_else(|| ApiError::field("count", "count is required"))?;
    let made = create_as(&t, &state, env, &decode_new(&n)?, count).await?;
    let keys: Vec<&str> = made.iter().map(|l| l.key.as_str()).collect();
    Ok(HttpResponse::Created().json(serde_json::json!({ "count": keys.len(), "keys": keys })))
}

fn query_params(req: &HttpRequest) -> Result<ListParams, ApiError> {
    web::Query::<ListParams>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| ApiError::bad(format!("bad query string: {e}")))
}

#[utoipa::path(
    get,
    path = "/admin/api/v1/{env}/licenses",
    tag = "licenses",
    operation_id = "list_licenses",
    summary = "Search, filter, sort and page the licenses.",
    params(("env" = crate::domain::Environment, Path, description = "production or staging"), crate::app::listing::ListParams),
    responses((status = 200, description = "one page", body = crate::api::openapi::schemas::LicensePage)),
    security(("bearer" = []))
)]
pub async fn list(
    _: AdminToken,
    state: web::Data<AppState>,
    Env(env): Env,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let q = query_params(&req)?.to_query()?;
    let page = listing::page(&state.engine, env, q).await?.page;
    let items: Vec<SummaryView> = page.items.iter().map(SummaryView::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "items": items, "total": page.total, "page": page.page, "per_page": page.per_page,
    })))
}

/// Writes the filtered list (every page) as CSV or JSON.
#[utoipa::path(
    get,
    path = "/admin/api/v1/{env}/licenses/export",
    tag = "licenses",
    operation_id = "export_licenses",
    summary = "Every license the filters match, as CSV (default) or JSON (`format=json`).",
    params(("env" = crate::domain::Environment, Path, description = "production or staging"), crate::app::listing::ListParams),
    responses((status = 200, description = "the export", content((String = "text/csv"), (Vec<crate::app::views::LicenseView> = "application/json")))),
    security(("bearer" = []))
)]
pub async fn export(
    _: AdminToken,
    state: web::Data<AppState>,
    Env(env): Env,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params = query_params(&req)?;
    Ok(listing::export(&state.engine, env, &params)
        .await?
        .into_response())
}

#[utoipa::path(
    get,
    path = "/admin/api/v1/{env}/licenses/{key}",
    tag = "licenses",
    operation_id = "get_license",
    summary = "One license with its activations.",
    params(("env" = crate::domain::Environment, Path, description = "production or staging"), ("key" = String, Path, description = "the license key")),
    responses((status = 200, description = "the license", body = crate::app::views::LicenseView)),
    security(("bearer" = []))
)]
pub async fn get(
    _: AdminToken,
    state: web::Data<AppState>,
    LicenseAt { env, key }: LicenseAt,
) -> Result<HttpResponse, ApiError> {
    let l = licenses::get_with_history(&state.engine, env, &key).await?;
    Ok(HttpResponse::Ok().json(LicenseView::new(&l, true)))
}

/// The JSON body a request sends (unknown fields refused).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditBody {
    activation_limit: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    expires_at: Option<Option<String>>,
    feature_flags: Option<Value>,
    metadata: Option<Value>,
    /// `{"kind": "all"}`, `{"kind": "up_to_version", "version": "2.4"}` or
    /// `{"kind": "released_until", "date": "2026-06-30"}`.
    eligibility: Option<crate::domain::Eligibility>,
    // Immutable fields are named so the error can say so.
    key: Option<Value>,
    product_id: Option<Value>,
    environment: Option<Value>,
}

/// Distinguishes an absent field from an explicit `null` (null = lifetime).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[utoipa::path(
    patch,
    path = "/admin/api/v1/{env}/licenses/{key}",
    tag = "licenses",
    operation_id = "edit_license",
    summary = "Change limit, expiry (null: lifetime), flags, metadata or eligibility.",
    params(("env" = crate::domain::Environment, Path, description = "production or staging"), ("key" = String, Path, description = "the license key")),
    request_body = EditBody,
    responses((status = 200, description = "the license", body = crate::app::views::LicenseView)),
    security(("bearer" = []))
)]
pub async fn edit(
    t: AdminToken,
    state: web::Data<AppState>,
    LicenseAt { env, key }: LicenseAt,
    Body(b): Body<EditBody>,
) -> Result<HttpResponse, ApiError> {
    for (field, v) in [
        ("key", &b.key),
        ("product_id", &b.product_id),
        ("environment", &b.environment),
    ] {
        if v.is_some() {
            return Err(ApiError::field(field, format!("{field} cannot be changed")));
        }
    }
    let edit = LicenseEdit {
        activation_limit: limit(b.activation_limit)?,
        expires_at: b
            .expires_at
            .map(|o| o.map(|s| parse_time("expires_at", &s)).transpose())
            .transpose()?,
        feature_flags: b
            .feature_flags
            .as_ref()
            .map(|v| flags(Some(v)))
            .transpose()?,
        metadata: b.metadata.as_ref().map(|v| meta(Some(v))).transpose()?,
        eligibility: b.eligibility,
    };
    let l = licenses::update(&state.engine, env, &key, Owner::Keep, edit, &t.actor()).await?;
    Ok(HttpResponse::Ok().json(LicenseView::new(&l, true)))
}

#[utoipa::path(
    delete,
    path = "/admin/api/v1/{env}/licenses/{key}",
    tag = "licenses",
    operation_id = "delete_license",
    summary = "Delete a license (its key answers NOT_FOUND from now on).",
    params(("env" = crate::domain::Environment, Path, description = "production or staging"), ("key" = String, Path, description = "the license key")),
    responses((status = 204, description = "deleted")),
    security(("bearer" = []))
)]
pub async fn delete(
    t: AdminToken,
    state: web::Data<AppState>,
    LicenseAt { env, key }: LicenseAt,
) -> Result<HttpResponse, ApiError> {
    licenses::delete(&state.engine, env, &key, &t.actor()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The JSON body a request sends (unknown fields refused).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    customer_id: Option<Uuid>,
    /// Instead of `customer_id`: the customer with this email, made and mailed
    /// an invitation when there is none.
    customer_email: Option<String>,
}

#[utoipa::path(
    post,
    path = "/admin/api/v1/{env}/licenses/{key}/assign",
    tag = "licenses",
    operation_id = "assign_license",
    summary = "Give the license to a customer (or another one).",
    params(("env" = crate::domain::Environment, Path, description = "production or staging"), ("key" = String, Path, description = "the license key")),
    request_body = AssignBody,
    responses((status = 200, description = "the license", body = crate::app::views::LicenseView)),
    security(("bearer" = []))
)]
pub async fn assign(
    t: AdminToken,
    state: web::Data<AppState>,
    LicenseAt { env, key }: LicenseAt,
    Body(b): Body<AssignBody>,
) -> Result<HttpResponse, ApiError> {
    let email = match (&b.customer_id, &b.customer_email) {
        (Some(_), Some(_)) => {
            return Err(ApiError::field(
                "customer_email",
                "give customer_id or customer_email, not both",
            ))
        }
        (None, None) => {
            return Err(ApiError::field(
                "customer_id",
                "customer_id (or customer_email) is required",
            ))
        }
        (_, Some(e)) => Some(crate::app::customer_invites::check_email(
            e,
            "customer_email",
        )?),
        (Some(_), None) => None,
    };
    let before = licenses::get(&state.engine, env, &key).await?.customer_id;
    let customer_id = match (b.customer_id, email) {
        (Some(id), _) => id,
        (None, Some(email)) => super::license_mail::customer_for(&state, &email).await?,
        (None, None) => {
            return Err(ApiError::field(
                "customer_id",
                "customer_id (or customer_email) is required",
            ))
        }
    };
    let l = licenses::assign(&state.engine, env, &key, customer_id, &t.actor()).await?;
    super::license_mail::mail_new_owner(&state, env, before, &l, &t.actor()).await;
    Ok(HttpResponse::Ok().json(LicenseView::new(&l, true)))
}

#[utoipa::path(
    post,
    path = "/admin/api/v1/{env}/licenses/{key}/actions/{action}",
    tag = "licenses",
    operation_id = "license_action",
    summary = "Suspend, unsuspend, inactivate, reactivate or revoke.",
    params(("env" = crate::domain::Environment, Path, description = "production or staging"), ("key" = String, Path, description = "the license key"), ("action" = String, Path, description = "suspend, unsuspend, inactivate, reactivate or revoke")),
    responses((status = 200, description = "the license", body = crate::app::views::LicenseView)),
    security(("bearer" = []))
)]
pub async fn action(
    t: AdminToken,
    state: web::Data<AppState>,
    LicenseAt { env, key }: LicenseAt,
    a: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let a = &a.2;
    let action = Action::parse_admin(a).ok_or_else(|| {
        ApiError::field(
            "action",
            format!(
                "unknown action '{}': use suspend, unsuspend, inactivate, reactivate or revoke",
                crate::telemetry::truncate_for_message(a)
            ),
        )
    })?;
    let l = licenses::act(&state.engine, env, &key, action, &t.actor()).await?;
    Ok(HttpResponse::Ok().json(LicenseView::new(&l, true)))
}
