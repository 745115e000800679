//! `/admin/api/v1/{env}/products` and `/generators`.

use crate::app::products::create_product;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::{env, json_body, AdminToken, API_ACTOR};
use crate::app::AppState;
use crate::domain::fields::{json_object, MAX_FEATURE_FLAGS_BYTES};
use crate::domain::key::KeyFormat;
use crate::domain::product::check_name;
use crate::domain::{ActivationLimit, Generator};
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewProduct {
    name: Option<String>,
    description: Option<String>,
    active: Option<bool>,
}

pub async fn create(
    _: AdminToken,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let env = env(&path)?;
    let n: NewProduct = json_body(&state, &req, body).await?;
    let name = n
        .name
        .ok_or_else(|| ApiError::field("name", "name is required"))?;
    let p = create_product(
        state.engine.store().as_ref(),
        env,
        &name,
        n.description.as_deref().unwrap_or(""),
        n.active.unwrap_or(true),
        API_ACTOR,
    )
    .await?;
    Ok(HttpResponse::Created().json(p))
}

pub async fn list(
    _: AdminToken,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let env = env(&path)?;
    Ok(HttpResponse::Ok().json(state.engine.store().list_products(env).await?))
}

pub async fn get(
    _: AdminToken,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (e, id) = path.into_inner();
    let env = env(&e)?;
    let id: Uuid = id
        .parse()
        .map_err(|_| ApiError::field("id", "id must be a UUID"))?;
    let p = state
        .engine
        .store()
        .get_product(env, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("product not found".into()))?;
    Ok(HttpResponse::Ok().json(p))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewGenerator {
    product_id: Option<Uuid>,
    name: Option<String>,
    format: Option<Value>,
    activation_limit: Option<i64>,
    validity_days: Option<u32>,
    feature_flags: Option<Value>,
}

pub async fn create_generator(
    _: AdminToken,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let env = env(&path)?;
    let n: NewGenerator = json_body(&state, &req, body).await?;
    let store = state.engine.store().as_ref();
    let product_id = n
        .product_id
        .ok_or_else(|| ApiError::field("product_id", "product_id is required"))?;
    let product = store
        .get_product(env, product_id)
        .await?
        .ok_or_else(|| ApiError::field("product_id", "no such product in this environment"))?;
    if !product.active {
        return Err(ApiError::field("product_id", "product is inactive"));
    }
    let name = check_name(n.name.as_deref().unwrap_or(""), 3)
        .map_err(|e| ApiError::field("name", format!("name {e}")))?;
    if store
        .list_generators(env)
        .await?
        .iter()
        .any(|g| g.product_id == product_id && g.name.eq_ignore_ascii_case(&name))
    {
        return Err(ApiError::field(
            "name",
            "a generator with this name exists for the product",
        ));
    }
    let format: KeyFormat = match n.format {
        None => KeyFormat::default(),
        Some(v) => serde_json::from_value(v)
            .map_err(|e| ApiError::field("format", format!("format: {e}")))?,
    };
    format
        .validate()
        .map_err(|e| ApiError::field("format", e))?;
    let activation_limit = ActivationLimit::new(n.activation_limit.unwrap_or(5))
        .map_err(|e| ApiError::field("activation_limit", format!("activation_limit {e}")))?;
    if n.validity_days == Some(0) || n.validity_days.is_some_and(|d| d > 36_500) {
        return Err(ApiError::field(
            "validity_days",
            "validity_days must be 1 to 36500 (omit for lifetime)",
        ));
    }
    let feature_flags = json_object(
        "feature_flags",
        n.feature_flags.as_ref(),
        MAX_FEATURE_FLAGS_BYTES,
    )
    .map_err(|e| ApiError::field(e.field, e.to_string()))?;
    let g = Generator {
        id: Uuid::new_v4(),
        environment: env,
        product_id,
        name,
        format,
        activation_limit,
        validity_days: n.validity_days,
        feature_flags,
        created_at: Utc::now(),
    };
    store.put_generator(env, &g).await?;
    Ok(HttpResponse::Created().json(g))
}

pub async fn list_generators(
    _: AdminToken,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let env = env(&path)?;
    Ok(HttpResponse::Ok().json(state.engine.store().list_generators(env).await?))
}
