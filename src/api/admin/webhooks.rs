//! `/admin/api/v1/{env}/webhooks`: endpoints (the secret only in the answers
//! of create and rotate), their delivery log, retries and test events
//! (`webhooks:manage`, see `access`).

use actix_web::{web, HttpResponse};
use uuid::Uuid;

use super::{env, AdminToken, Body};
use crate::app::webhooks::{DeliveryView, EndpointPatch, EndpointView, NewEndpoint};
use crate::app::AppState;
use crate::error::ApiError;

fn uuid(field: &'static str, raw: &str) -> Result<Uuid, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::field(field, format!("{field} must be a UUID")))
}

/// The query of the delivery log.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    limit: Option<usize>,
}

pub async fn create(
    t: AdminToken,
    state: web::Data<AppState>,
    e: web::Path<String>,
    Body(n): Body<NewEndpoint>,
) -> Result<HttpResponse, ApiError> {
    let view = state
        .services
        .webhooks
        .create(env(&e)?, n, &t.actor())
        .await?;
    Ok(HttpResponse::Created().json(view))
}

pub async fn list(
    _: AdminToken,
    state: web::Data<AppState>,
    e: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let all = state.services.webhooks.list(env(&e)?).await?;
    Ok(HttpResponse::Ok().json(all.iter().map(EndpointView::new).collect::<Vec<_>>()))
}

pub async fn get(
    _: AdminToken,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (e, id) = path.into_inner();
    let ep = state
        .services
        .webhooks
        .get(env(&e)?, uuid("id", &id)?)
        .await?;
    Ok(HttpResponse::Ok().json(EndpointView::new(&ep)))
}

pub async fn update(
    t: AdminToken,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    Body(p): Body<EndpointPatch>,
) -> Result<HttpResponse, ApiError> {
    let (e, id) = path.into_inner();
    let hooks = &state.services.webhooks;
    let ep = hooks
        .update(env(&e)?, uuid("id", &id)?, p, &t.actor())
        .await?;
    Ok(HttpResponse::Ok().json(EndpointView::new(&ep)))
}

pub async fn delete(
    t: AdminToken,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (e, id) = path.into_inner();
    let hooks = &state.services.webhooks;
    hooks.delete(env(&e)?, uuid("id", &id)?, &t.actor()).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn rotate(
    t: AdminToken,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (e, id) = path.into_inner();
    let hooks = &state.services.webhooks;
    let view = hooks.rotate(env(&e)?, uuid("id", &id)?, &t.actor()).await?;
    Ok(HttpResponse::Ok().json(view))
}

pub async fn test(
    t: AdminToken,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (e, id) = path.into_inner();
    let hooks = &state.services.webhooks;
    hooks
        .send_test(env(&e)?, uuid("id", &id)?, &t.actor())
        .await?;
    Ok(HttpResponse::Accepted().json(serde_json::json!({"queued": "webhook.test"})))
}

pub async fn deliveries(
    _: AdminToken,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    q: web::Query<LogQuery>,
) -> Result<HttpResponse, ApiError> {
    let (e, id) = path.into_inner();
    let limit = q.limit.unwrap_or(100);
    let ds: Vec<DeliveryView> = state
        .services
        .webhooks
        .deliveries(env(&e)?, uuid("id", &id)?, limit)
        .await?;
    Ok(HttpResponse::Ok().json(ds))
}

pub async fn retry(
    t: AdminToken,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (e, id, delivery) = path.into_inner();
    let (id, delivery) = (uuid("id", &id)?, uuid("delivery_id", &delivery)?);
    let hooks = &state.services.webhooks;
    let d = hooks.retry(env(&e)?, id, delivery, &t.actor()).await?;
    Ok(HttpResponse::Accepted().json(d))
}
