//! `GET /admin/api/v1/backup`: a consistent logical backup, taken while the server runs.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use chrono::Utc;

use super::AdminToken;
use crate::app::AppState;
use crate::error::ApiError;

pub async fn download(_: AdminToken, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let b = crate::backup::take(state.store()).await?;
    let bytes = rmp_serde::to_vec_named(&b).map_err(|e| ApiError::Internal(e.to_string()))?;
    let stamp = Utc::now().format("%Y%m%d-%H%M%S");
    tracing::info!(bytes = bytes.len(), "backup taken");
    Ok(HttpResponse::Ok()
        .content_type("application/msgpack")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"keywarden-{stamp}.kwbackup\""),
        ))
        .body(bytes))
}
