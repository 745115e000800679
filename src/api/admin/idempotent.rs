//! The admin API's `Idempotency-Key` middleware (issue 14 part 3): a POST
//! carrying the header runs once per (caller, key); a repeat with the same
//! request gets the first answer again (`Idempotent-Replayed: true`), the same
//! key with another request 422 `IDEMPOTENCY_KEY_REUSED`, a repeat while the
//! first runs waits for it, then 409. The caller is identified before the
//! body is read; a request from nobody goes on untouched (the route refuses it).

use actix_web::body::{to_bytes, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};

use crate::api::codec;
use crate::app::idempotency::{self, Decision};
use crate::app::AppState;
use crate::domain::api_key::Caller;
use crate::domain::idempotency::StoredAnswer;
use crate::error::ApiError;

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// Set on a replayed answer.
pub const REPLAYED: &str = "idempotent-replayed";

pub async fn idempotent(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let presented = req.headers().get(HEADER).cloned();
    let Some(raw) = presented.filter(|_| req.method() == Method::POST) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal("no app state".into()))?;
    let key = raw
        .to_str()
        .map_err(|_| ApiError::field("Idempotency-Key", "Idempotency-Key must be visible ASCII"))?
        .to_owned();
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    let caller = match bearer {
        Some(t) => super::identify(&state, &t).await?,
        None => None,
    };
    let Some(caller) = caller else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let who = match &caller {
        Caller::Owner => "owner".to_owned(),
        Caller::Key(k) => format!("key:{}", k.id),
    };
    let limit = state.config.server.body_limit_bytes;
    codec::check_length(req.request(), limit)?;
    let payload = req.extract::<web::Payload>().await?;
    let body = codec::read_body(payload, limit).await?;
    let fp = idempotency::fingerprint(req.method().as_str(), req.path(), req.query_string(), &body);
    let decision = idempotency::begin(state.store(), &who, &key, &fp)
        .await
        .map_err(ApiError::from)?;
    let record = match decision {
        Decision::Run { record } => record,
        Decision::Replay(a) => {
            let resp =
                HttpResponse::build(StatusCode::from_u16(a.status).unwrap_or(StatusCode::OK))
                    .content_type(a.content_type)
                    .insert_header((REPLAYED, "true"))
                    .body(a.body);
            return Ok(req.into_response(resp));
        }
        Decision::Mismatch => return Err(ApiError::KeyReused.into()),
        Decision::StillRunning => {
            return Err(ApiError::Conflict(
                "a request with this Idempotency-Key is still running; retry shortly".into(),
            )
            .into())
        }
    };
    req.set_payload(actix_web::dev::Payload::from(body));
    let res = next.call(req).await?;
    let (http_req, res) = res.into_parts();
    let status = res.status();
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_owned();
    let (res, body) = res.into_parts();
    let bytes = to_bytes(body)
        .await
        .map_err(|_| ApiError::Internal("could not read the answer".into()))?;
    let answer = StoredAnswer {
        status: status.as_u16(),
        content_type,
        body: bytes.to_vec(),
    };
    if let Err(e) = idempotency::finish(state.store(), &record, &fp, answer).await {
        // The change is made; only its replay is lost (a repeat runs again).
        tracing::warn!(error = %e, "could not keep an idempotent answer");
    }
    Ok(ServiceResponse::new(
        http_req,
        res.set_body(BoxBody::new(bytes)),
    ))
}
