//! `/admin/api/v1/{env}/webhooks`: endpoints (the secret only in the answers
//! of create and rotate), their delivery log, retries and test events
//! (`webhooks:manage`, see `access`).

use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use futures_util::future::{ready, Ready};
use uuid::Uuid;

use super::{env, uuid, AdminToken, Body, Env};
use crate::app::webhooks::{DeliveryView, EndpointPatch, EndpointView, NewEndpoint};
use crate::app::AppState;
use crate::error::ApiError;

/// The endpoint a route names: `{env}` and `{id}`, both parsed.
pub struct EndpointAt {
    env: crate::domain::Environment,
    id: Uuid,
}

impl FromRequest for EndpointAt {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let info = req.match_info();
        ready((|| {
            Ok(EndpointAt {
                env: env(info.get("env").unwrap_or(""))?,
                id: uuid("id", info.get("id").unwrap_or(""))?,
            })
        })())
    }
}

/// The query of the delivery log.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    limit: Option<usize>,
}

#[utoipa::path(
    post,
    path = "/admin/api/v1/{env}/webhooks",
    tag = "webhooks",
    operation_id = "create_webhook",
    summary = "Add an endpoint; its signing secret is in this answer only.",
    params(("env" = crate::domain::Environment, Path, description = "production or staging")),
    request_body = crate::app::webhooks::NewEndpoint,
    responses((status = 201, description = "the endpoint with its secret", body = crate::app::webhooks::EndpointView)),
    security(("bearer" = []))
)]
pub async fn create(
    t: AdminToken,
    state: web::Data<AppState>,
    Env(env): Env,
    Body(n): Body<NewEndpoint>,
) -> Result<HttpResponse, ApiError> {
    let view = state.services.webhooks.create(env, n, &t.actor()).await?;
    Ok(HttpResponse::Created().json(view))
}

#[utoipa::path(
    get,
    path = "/admin/api/v1/{env}/webhooks",
    tag = "webhooks",
    operation_id = "list_webhooks",
    summary = "The environment's endpoints, oldest first.",
    params(("env" = crate::domain::Environment, Path, description = "production or staging")),
    responses((status = 200, description = "the endpoints", body = Vec<crate::app::webhooks::EndpointView>)),
    security(("bearer" = []))
)]
pub async fn list(
    _: AdminToken,
    state: web::Data<AppState>,
    Env(env): Env,
) -> Result<HttpResponse, ApiError> {
    let all = state.services.webhooks.list(env).await?;
    Ok(HttpResponse::Ok().json(all.iter().map(EndpointView::new).collect::<Vec<_>>()))
}

#[utoipa::path(
    get,
    path = "/admin/api/v1/{env}/webhooks/{id}",
    tag = "webhooks",
    operation_id = "get_webhook",
    summary = "One endpoint.",
    params(("env" = crate::domain::Environment, Path, description = "production or staging"), ("id" = uuid::Uuid, Path, description = "endpoint id")),
    responses((status = 200, description = "the endpoint", body = crate::app::webhooks::EndpointView)),
    security(("bearer" = []))
)]
pub async fn get(
    _: AdminToken,
    state: web::Data<AppState>,
    EndpointAt { env, id }: EndpointAt,
) -> Result<HttpResponse, ApiError> {
    let ep = state.services.webhooks.get(env, id).await?;
    Ok(HttpResponse::Ok().json(EndpointView::new(&ep)))
}

#[utoipa::path(
    patch,
    path = "/admin/api/v1/{env}/webhooks/{id}",
    tag = "webhooks",
    operation_id = "update_webhook",
    summary = "Change URL, events, description or enabled.",
    params(("env" = crate::domain::Environment, Path, description = "production or staging"), ("id" = uuid::Uuid, Path, description = "endpoint id")),
    request_body = crate::app::webhooks::EndpointPatch,
    responses((status = 200, description = "the endpoint", body = crate::app::webhooks::EndpointView)),
    security(("bearer" = []))
)]
pub async fn update(
    t: AdminToken,
    state: web::Data<AppState>,
    EndpointAt { env, id }: EndpointAt,
    Body(p): Body<EndpointPatch>,
) -> Result<HttpResponse, ApiError> {
    let hooks = &state.services.webhooks;
    let ep = hooks.update(env, id, p, &t.actor()).await?;
    Ok(HttpResponse::Ok().json(EndpointView::new(&ep)))
}

#[utoipa::path(
    delete,
    path = "/admin/api/v1/{env}/webhooks/{id}",
    tag = "webhooks",
    operation_id = "delete_webhook",
    summary = "Delete an endpoint; nothing more is sent to it.",
    params(("env" = crate::domain::Environment, Path, description = "production or staging"), ("id" = uuid::Uuid, Path, description = "endpoint id")),
    responses((status = 204, description = "deleted")),
    security(("bearer" = []))
)]
pub async fn delete(
    t: AdminToken,
    state: web::Data<AppState>,
    EndpointAt { env, id }: EndpointAt,
) -> Result<HttpResponse, ApiError> {
    let hooks = &state.services.webhooks;
    hooks.delete(env, id, &t.actor()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    post,
    path = "/admin/api/v1/{env}/webhooks/{id}/rotate-secret",
    tag = "webhooks",
    operation_id = "rotate_webhook_secret",
    summary = "A new signing secret (in this answer only); the old one signs beside it for the overlap.",
    params(("env" = crate::domain::Environment, Path, description = "production or staging"), ("id" = uuid::Uuid, Path, description = "endpoint id")),
    responses((status = 200, description = "the endpoint with its new secret", body = crate::app::webhooks::EndpointView)),
    security(("bearer" = []))
)]
pub async fn rotate(
    t: AdminToken,
    state: web::Data<AppState>,
    EndpointAt { env, id }: EndpointAt,
) -> Result<HttpResponse, ApiError> {
    let hooks = &state.services.webhooks;
    let view = hooks.rotate(env, id, &t.actor()).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(
    post,
    path = "/admin/api/v1/{env}/webhooks/{id}/test",
    tag = "webhooks",
    operation_id = "send_webhook_test",
    summary = "Queue a webhook.test event for this endpoint.",
    params(("env" = crate::domain::Environment, Path, description = "production or staging"), ("id" = uuid::Uuid, Path, description = "endpoint id")),
    responses((status = 202, description = "queued", body = crate::api::openapi::schemas::Queued)),
    security(("bearer" = []))
)]
pub async fn test(
    t: AdminToken,
    state: web::Data<AppState>,
    EndpointAt { env, id }: EndpointAt,
) -> Result<HttpResponse, ApiError> {
    let hooks = &state.services.webhooks;
    hooks.send_test(env, id, &t.actor()).await?;
    Ok(HttpResponse::Accepted().json(serde_json::json!({"queued": "webhook.test"})))
}

#[utoipa::path(
    get,
    path = "/admin/api/v1/{env}/webhooks/{id}/deliveries",
    tag = "webhooks",
    operation_id = "list_webhook_deliveries",
    summary = "The delivery log, newest first.",
    params(("env" = crate::domain::Environment, Path, description = "production or staging"), ("id" = uuid::Uuid, Path, description = "endpoint id"), LogQuery),
    responses((status = 200, description = "the deliveries", body = Vec<crate::app::webhooks::DeliveryView>)),
    security(("bearer" = []))
)]
pub async fn deliveries(
    _: AdminToken,
    state: web::Data<AppState>,
    EndpointAt { env, id }: EndpointAt,
    q: web::Query<LogQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = q.limit.unwrap_or(100);
    let ds: Vec<DeliveryView> = state.services.webhooks.deliveries(env, id, limit).await?;
    Ok(HttpResponse::Ok().json(ds))
}

#[utoipa::path(
    post,
    path = "/admin/api/v1/{env}/webhooks/{id}/deliveries/{delivery_id}/retry",
    tag = "webhooks",
    operation_id = "retry_webhook_delivery",
    summary = "Send a delivery again now, with a fresh schedule.",
    params(("env" = crate::domain::Environment, Path, description = "production or staging"), ("id" = uuid::Uuid, Path, description = "endpoint id"), ("delivery_id" = uuid::Uuid, Path, description = "delivery id")),
    responses((status = 202, description = "the delivery, due now", body = crate::app::webhooks::DeliveryView)),
    security(("bearer" = []))
)]
pub async fn retry(
    t: AdminToken,
    state: web::Data<AppState>,
    EndpointAt { env, id }: EndpointAt,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let delivery = uuid("delivery_id", &path.2)?;
    let hooks = &state.services.webhooks;
    let d = hooks.retry(env, id, delivery, &t.actor()).await?;
    Ok(HttpResponse::Accepted().json(d))
}
