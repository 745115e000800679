//! `GET /admin/api/v1/backup`: a consistent logical backup, taken while the server runs.
//! The document comes first; product files' bytes follow as chunk frames, read
//! from the store while the answer streams (never the whole backup in memory).

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use bytes::Bytes;
use chrono::Utc;
use futures_util::StreamExt;

use super::AdminToken;
use crate::app::AppState;
use crate::error::ApiError;
use crate::store::StoreError;

#[utoipa::path(
    get,
    path = "/admin/api/v1/backup",
    tag = "settings",
    operation_id = "download_backup",
    summary = "A consistent backup of the whole store (owner token only), for `keywarden restore`.",
    responses((status = 200, description = "the backup", content_type = "application/msgpack", body = Vec<u8>)),
    security(("bearer" = []))
)]
pub async fn download(_: AdminToken, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let b = crate::backup::take(state.store()).await?;
    let bytes = rmp_serde::to_vec_named(&b).map_err(|e| ApiError::Internal(e.to_string()))?;
    let stamp = Utc::now().format("%Y%m%d-%H%M%S");
    tracing::info!(bytes = bytes.len(), files = b.files.len(), "backup taken");
    let files = crate::backup::files_mail::frames(Arc::clone(state.engine.store()), &b.files);
    let body = futures_util::stream::once(async move { Ok::<_, StoreError>(Bytes::from(bytes)) })
        .chain(files);
    Ok(HttpResponse::Ok()
        .content_type("application/msgpack")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"keywarden-{stamp}.kwbackup\""),
        ))
        .streaming(body))
}
