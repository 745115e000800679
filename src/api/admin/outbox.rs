//! `GET /admin/api/v1/outbox`: the outbox as the Outbox page lists it (bodies
//! masked, delivery status in words), newest first, for automation and tests.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::AdminToken;
use crate::app::AppState;
use crate::error::ApiError;

/// `?limit=` (default 200, at most 1000).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    limit: Option<usize>,
}

/// The newest mails with their delivery state.
#[utoipa::path(
    get,
    path = "/admin/api/v1/outbox",
    tag = "audit",
    operation_id = "list_outbox",
    summary = "The newest mails with their delivery state (tokens masked).",
    params(OutboxQuery),
    responses((status = 200, description = "the mails", body = Vec<crate::api::openapi::schemas::OutboxMail>)),
    security(("bearer" = []))
)]
pub async fn list(
    _: AdminToken,
    state: web::Data<AppState>,
    q: web::Query<OutboxQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = q.limit.unwrap_or(200).clamp(1, 1000);
    let now = chrono::Utc::now();
    let mails = state.services.outbox.list(limit).await?;
    let out: Vec<serde_json::Value> = mails
        .into_iter()
        .map(|m| {
            serde_json::json!({
                "id": m.id, "at": m.at, "to": m.to, "subject": m.subject, "body": m.body,
                "kind": m.kind, "tag": m.tag, "status": m.status, "attempts": m.attempts,
                "delivery": m.shown(now), "last_error": m.last_error, "sent_at": m.sent_at,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}
