//! HTTP routes: the client API, the admin API, metrics and health.

pub mod admin;
pub mod client;
pub mod codec;
pub mod state;

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{web, HttpRequest, HttpResponse};

use crate::domain::verdict::Op;
use crate::domain::Environment;

use crate::error::ApiError;
use crate::metrics::metrics;
use crate::telemetry::mask_path;

/// The client API as static paths per environment: matching them needs no regex,
/// which measurably shortens the hot path (see BENCHMARKS.md).
fn client_routes(cfg: &mut web::ServiceConfig) {
    type S = web::Data<state::AppState>;
    for env in Environment::ALL {
        let base = format!("/v1/{env}");
        for op in [Op::Activate, Op::Validate, Op::Heartbeat, Op::Deactivate] {
            cfg.route(
                &format!("{base}/licenses/{}", op.as_str()),
                web::post().to(move |s: S, r: HttpRequest, b: web::Payload| {
                    client::handle(s, r, env, b, op)
                }),
            );
        }
        cfg.route(
            &format!("{base}/licenses/offline"),
            web::post()
                .to(move |s: S, r: HttpRequest, b: web::Payload| client::offline(s, r, env, b)),
        );
        cfg.route(
            &format!("{base}/public-key"),
            web::get().to(move |s: S| client::public_key(s, env)),
        );
    }
    // Anything else under /v1/: an unknown environment (400) or operation (404).
    cfg.route("/v1/{env}/licenses/{op}", web::to(client::unknown_env));
    cfg.route("/v1/{env}/{rest}", web::to(client::unknown_env));
}

/// Mounts every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    client_routes(cfg);
    cfg.configure(admin::configure)
        .route("/metrics", web::get().to(metrics_text))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .default_service(web::to(not_found));
}

async fn metrics_text() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(metrics().render())
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// Ready when the store answers (its schema was checked at start): 200, else 503.
async fn readyz(state: web::Data<state::AppState>) -> HttpResponse {
    let store = &state.engine.store;
    match store.get_secret("signing_key.production").await {
        Ok(_) => HttpResponse::Ok().json(serde_json::json!({"status": "ready", "store": store.backend()})),
        Err(e) => HttpResponse::ServiceUnavailable().json(serde_json::json!({
            "status": "unready", "store": store.backend(), "code": "STORE_UNAVAILABLE", "detail": e.to_string(),
        })),
    }
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such route".into()))
}

/// Records every request by route pattern (never the raw path) and logs admin calls with keys masked.
pub async fn observe<B: MessageBody>(
    req: ServiceRequest,
    next: actix_web::middleware::Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let started = Instant::now();
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let method = req.method().clone();
    let admin = route.starts_with("/admin");
    let path = if admin {
        Some(mask_path(req.path()))
    } else {
        None
    };
    let res = next.call(req).await?;
    let status = res.status();
    metrics().observe_http(
        &route,
        method.as_str(),
        status.as_u16(),
        started.elapsed().as_secs_f64(),
    );
    if let Some(path) = path {
        tracing::info!(method = %method, path = %path, status = status.as_u16(), micros = started.elapsed().as_micros() as u64, "admin request");
    }
    Ok(res)
}
