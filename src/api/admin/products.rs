//! `/admin/api/v1/{env}/products` and `/generators`.

use crate::app::products::{self, create_product, GeneratorInput, ProductInput};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::{uuid, AdminToken, Body, Env};
use crate::app::AppState;
use crate::domain::features::FeatureDef;
use crate::domain::fields::{json_object, MAX_FEATURE_FLAGS_BYTES};
use crate::domain::key::KeyFormat;
use crate::domain::ActivationLimit;
use crate::error::ApiError;

/// The JSON body a request sends (unknown fields refused).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    name: Option<String>,
    description: Option<String>,
    active: Option<bool>,
    /// Feature definitions; on an update the whole list replaces the old one.
    features: Option<Vec<FeatureDef>>,
    /// Where owners renew an expiring or expired license (`https://…`, or "" for none).
    renew_url: Option<String>,
    /// Where owners buy a new one when there is no renewal page.
    buy_url: Option<String>,
}

#[utoipa::path(
    post,
    path = "/admin/api/v1/{env}/products",
    tag = "products",
    operation_id = "create_product",
    summary = "Create a product.",
    params(("env" = crate::domain::Environment, Path, description = "production or staging")),
    request_body = NewProduct,
    responses((status = 201, description = "the product", body = crate::domain::Product)),
    security(("bearer" = []))
)]
pub async fn create(
    t: AdminToken,
    state: web::Data<AppState>,
    Env(env): Env,
    Body(n): Body<NewProduct>,
) -> Result<HttpResponse, ApiError> {
    let input = ProductInput {
        name: n
            .name
            .ok_or_else(|| ApiError::field("name", "name is required"))?,
        description: n.description.unwrap_or_default(),
        active: n.active.unwrap_or(true),
        features: n.features.unwrap_or_default(),
        renew_url: n.renew_url.unwrap_or_default(),
        buy_url: n.buy_url.unwrap_or_default(),
    };
    let p = create_product(state.store(), env, &input, &t.actor()).await?;
    Ok(HttpResponse::Created().json(p))
}

#[utoipa::path(
    patch,
    path = "/admin/api/v1/{env}/products/{id}",
    tag = "products",
    operation_id = "update_product",
    summary = "Change a product: name, description, status, feature definitions (fields left out stay).",
    params(("env" = crate::domain::Environment, Path, description = "production or staging"), ("id" = uuid::Uuid, Path, description = "product id")),
    request_body = NewProduct,
    responses((status = 200, description = "the product", body = crate::domain::Product)),
    security(("bearer" = []))
)]
pub async fn update(
    t: AdminToken,
    state: web::Data<AppState>,
    Env(env): Env,
    ProductAt(id): ProductAt,
    Body(n): Body<NewProduct>,
) -> Result<HttpResponse, ApiError> {
    let p = products::get(state.store(), env, id).await?;
    let input = ProductInput {
        name: n.name.unwrap_or(p.name),
        description: n.description.unwrap_or(p.description),
        active: n.active.unwrap_or(p.active),
        features: n.features.unwrap_or(p.features),
        renew_url: n.renew_url.unwrap_or(p.renew_url),
        buy_url: n.buy_url.unwrap_or(p.buy_url),
    };
    let p = products::update_product(state.store(), env, id, &input, &t.actor()).await?;
    Ok(HttpResponse::Ok().json(p))
}

/// The `{id}` of a product route, a UUID (else a 400 naming the field).
pub struct ProductAt(pub Uuid);

impl actix_web::FromRequest for ProductAt {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &actix_web::HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(
            uuid("id", req.match_info().get("id").unwrap_or_default()).map(ProductAt),
        )
    }
}

#[utoipa::path(
    get,
    path = "/admin/api/v1/{env}/products",
    tag = "products",
    operation_id = "list_products",
    summary = "The environment's products.",
    params(("env" = crate::domain::Environment, Path, description = "production or staging")),
    responses((status = 200, description = "the products", body = Vec<crate::domain::Product>)),
    security(("bearer" = []))
)]
pub async fn list(
    _: AdminToken,
    state: web::Data<AppState>,
    Env(env): Env,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(products::list(state.store(), env).await?))
}

#[utoipa::path(
    get,
    path = "/admin/api/v1/{env}/products/{id}",
    tag = "products",
    operation_id = "get_product",
    summary = "One product.",
    params(("env" = crate::domain::Environment, Path, description = "production or staging"), ("id" = uuid::Uuid, Path, description = "product id")),
    responses((status = 200, description = "the product", body = crate::domain::Product)),
    security(("bearer" = []))
)]
pub async fn get(
    _: AdminToken,
    state: web::Data<AppState>,
    Env(env): Env,
    ProductAt(id): ProductAt,
) -> Result<HttpResponse, ApiError> {
    let p = products::get(state.store(), env, id).await?;
    Ok(HttpResponse::Ok().json(p))
}

/// The JSON body a request sends (unknown fields refused).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGenerator {
    product_id: Option<Uuid>,
    name: Option<String>,
    format: Option<Value>,
    activation_limit: Option<i64>,
    validity_days: Option<u32>,
    feature_flags: Option<Value>,
}

#[utoipa::path(
    post,
    path = "/admin/api/v1/{env}/generators",
    tag = "products",
    operation_id = "create_generator",
    summary = "Create a generator (key format and defaults of new licenses).",
    params(("env" = crate::domain::Environment, Path, description = "production or staging")),
    request_body = NewGenerator,
    responses((status = 201, description = "the generator", body = crate::domain::Generator)),
    security(("bearer" = []))
)]
pub async fn create_generator(
    t: AdminToken,
    state: web::Data<AppState>,
    Env(env): Env,
    Body(n): Body<NewGenerator>,
) -> Result<HttpResponse, ApiError> {
    let format: Option<KeyFormat> = n
        .format
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| ApiError::field("format", format!("format: {e}")))?;
    let activation_limit = ActivationLimit::new(n.activation_limit.unwrap_or(5))
        .map_err(|e| ApiError::field("activation_limit", format!("activation_limit {e}")))?;
    let feature_flags = json_object(
        "feature_flags",
        n.feature_flags.as_ref(),
        MAX_FEATURE_FLAGS_BYTES,
    )
    .map_err(|e| ApiError::field(e.field, e.to_string()))?;
    let input = GeneratorInput {
        id: None,
        product_id: n.product_id,
        name: n.name.unwrap_or_default(),
        format,
        activation_limit,
        validity_days: n.validity_days,
        feature_flags,
        who: t.actor(),
    };
    let g = products::save_generator(state.store(), env, input).await?;
    Ok(HttpResponse::Created().json(g))
}

#[utoipa::path(
    get,
    path = "/admin/api/v1/{env}/generators",
    tag = "products",
    operation_id = "list_generators",
    summary = "The environment's generators.",
    params(("env" = crate::domain::Environment, Path, description = "production or staging")),
    responses((status = 200, description = "the generators", body = Vec<crate::domain::Generator>)),
    security(("bearer" = []))
)]
pub async fn list_generators(
    _: AdminToken,
    state: web::Data<AppState>,
    Env(env): Env,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(products::list_generators(state.store(), env).await?))
}

/// The kill switch's body: the product's name, typed to confirm.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeAll {
    confirm: Option<String>,
}

#[utoipa::path(
    post,
    path = "/admin/api/v1/{env}/products/{id}/revoke-all",
    tag = "products",
    operation_id = "revoke_all_licenses",
    summary = "Kill switch: make the product inactive and revoke every one of its licenses in a background job. `confirm` must be the product's name.",
    params(("env" = crate::domain::Environment, Path, description = "production or staging"), ("id" = uuid::Uuid, Path, description = "product id")),
    request_body = RevokeAll,
    responses((status = 202, description = "the job started", body = crate::api::openapi::schemas::JobStarted)),
    security(("bearer" = []))
)]
pub async fn revoke_all(
    t: AdminToken,
    state: web::Data<AppState>,
    Env(env): Env,
    ProductAt(id): ProductAt,
    Body(b): Body<RevokeAll>,
) -> Result<HttpResponse, ApiError> {
    let confirm = b.confirm.unwrap_or_default();
    let job = crate::app::kill_switch::revoke_all(
        &state.engine,
        &state.services.jobs,
        env,
        id,
        &confirm,
        &t.actor(),
    )
    .await?;
    Ok(HttpResponse::Accepted().json(serde_json::json!({
        "job_id": job.id,
        "title": job.title,
        "total": job.total,
    })))
}
