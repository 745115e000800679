//! HTTP routes: the client API, the admin API, metrics and health.

pub mod admin;
pub mod client;
pub mod codec;
pub mod openapi;
mod timestamp;

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::HeaderValue;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::domain::verdict::Op;
use crate::domain::Environment;

use crate::error::ApiError;
use crate::metrics::metrics;
use crate::telemetry::mask_path;

/// The client API as static paths per environment: matching them needs no regex,
/// which measurably shortens the hot path (see BENCHMARKS.md).
fn client_routes(cfg: &mut web::ServiceConfig) {
    type S = web::Data<crate::app::AppState>;
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

/// Mounts the client API, the admin API, metrics and health (startup mounts the portals after it).
pub fn configure(cfg: &mut web::ServiceConfig) {
    client_routes(cfg);
    cfg.route("/admin/api/v1/openapi.json", web::get().to(openapi::json))
        .route("/admin/api/docs", web::get().to(openapi::docs))
        .configure(admin::configure)
        .route("/metrics", web::get().to(metrics_text))
        .route("/", web::get().to(home))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .default_service(web::to(not_found));
}

async fn metrics_text(state: web::Data<crate::app::AppState>) -> HttpResponse {
    let m = metrics();
    let now = chrono::Utc::now();
    for env in Environment::ALL {
        // One pass over the catalog, off the worker threads that answer validations.
        let Ok(st) = state.engine.catalog().stats_off_thread(env, now).await else {
            continue;
        };
        for status in crate::domain::LicenseStatus::ALL {
            m.licenses
                .with_label_values(&[env.as_str(), status.as_str()])
                .set(st.by_status.get(&status).copied().unwrap_or(0) as i64);
        }
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(metrics().render())
}

/// A person who opens the bare address (or an error page's fallback link) lands
/// on the customer portal; admins use /admin.
async fn home() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, "/portal"))
        .finish()
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// Ready when the store answers (its schema was checked at start): 200, else 503.
async fn readyz(state: web::Data<crate::app::AppState>) -> HttpResponse {
    let (backend, answer) = crate::app::secrets::readiness(state.store()).await;
    match answer {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({"status": "ready", "store": backend})),
        Err(e) => HttpResponse::ServiceUnavailable().json(serde_json::json!({
            "status": "unready", "store": backend, "code": "STORE_UNAVAILABLE", "detail": e.to_string(),
        })),
    }
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such route".into()))
}

/// Every static client path (the label a matched client request is counted under).
const CLIENT_PATHS: [&str; 12] = [
    "/v1/production/licenses/validate",
    "/v1/production/licenses/heartbeat",
    "/v1/production/licenses/activate",
    "/v1/production/licenses/deactivate",
    "/v1/production/licenses/offline",
    "/v1/production/public-key",
    "/v1/staging/licenses/validate",
    "/v1/staging/licenses/heartbeat",
    "/v1/staging/licenses/activate",
    "/v1/staging/licenses/deactivate",
    "/v1/staging/licenses/offline",
    "/v1/staging/public-key",
];

/// The metric label of a client API path, when it is one of the static routes.
fn client_label(path: &str) -> Option<&'static str> {
    if !path.starts_with("/v1/") {
        return None;
    }
    CLIENT_PATHS.iter().find(|p| **p == path).copied()
}

/// Header carrying the request id: taken from the caller when well-formed, else made here.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// A process-unique request id: a random per-process prefix and a counter (no
/// syscall, no formatting machinery: this runs on every request).
fn new_request_id() -> HeaderValue {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::LazyLock;
    static PREFIX: LazyLock<u32> = LazyLock::new(rand::random);
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let mut buf = [0u8; 8 + 1 + 16];
    let mut len = hex_into(&mut buf, u64::from(*PREFIX), 8);
    buf[len] = b'-';
    len += 1;
    len += hex_into(&mut buf[len..], NEXT.fetch_add(1, Ordering::Relaxed), 1);
    HeaderValue::from_bytes(&buf[..len]).unwrap_or_else(|_| HeaderValue::from_static("-"))
}

/// Writes `n` in lower-case hex, at least `min_digits` long; returns the length.
fn hex_into(out: &mut [u8], n: u64, min_digits: usize) -> usize {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digits = (16 - n.leading_zeros() as usize / 4)
        .max(min_digits)
        .min(16);
    for (i, slot) in out[..digits].iter_mut().enumerate() {
        let shift = 4 * (digits - 1 - i);
        *slot = DIGITS[((n >> shift) & 0xf) as usize];
    }
    digits
}

/// The caller's request id, when well-formed (shared with the request: no copy).
fn incoming_request_id(req: &ServiceRequest) -> Option<HeaderValue> {
    let v = req.headers().get(REQUEST_ID_HEADER)?;
    let b = v.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 64
        && b.iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_' || *b == b'.');
    ok.then(|| v.clone())
}

/// Records every request by route pattern (never the raw path), gives it a request id
/// (echoed in `X-Request-Id`; admin requests log inside a span carrying it) and logs
/// admin calls with keys masked.
pub async fn observe<B: MessageBody>(
    req: ServiceRequest,
    next: actix_web::middleware::Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let started = Instant::now();
    // The client API's static paths are their own labels: no walk of the route tree.
    let route: std::borrow::Cow<'static, str> = match client_label(req.path()) {
        Some(label) => label.into(),
        None => req
            .match_pattern()
            .unwrap_or_else(|| "unmatched".into())
            .into(),
    };
    let method_label = crate::metrics::method_label(req.method());
    let request_id = incoming_request_id(&req).unwrap_or_else(new_request_id);
    let admin = route.starts_with("/admin");
    let mut res = if admin || route.starts_with("/portal") {
        // Admin and portal requests: audit entries made while serving them take
        // the client address (the client API's hot path is left as it is).
        let ip = req
            .app_data::<actix_web::web::Data<crate::app::AppState>>()
            .and_then(|s| s.client_ip(req.request()));
        let path = mask_path(req.path());
        let span = tracing::info_span!("request", request_id = request_id.to_str().unwrap_or("-"));
        let call = crate::engine::origin::scope(ip, next.call(req));
        let res = tracing::Instrument::instrument(call, span.clone()).await?;
        if admin {
            span.in_scope(|| {
                tracing::info!(method = method_label, path = %path, status = res.status().as_u16(), micros = started.elapsed().as_micros() as u64, "admin request");
            });
        }
        res
    } else {
        next.call(req).await?
    };
    metrics().observe_http(
        &route,
        method_label,
        res.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    res.headers_mut().insert(
        actix_web::http::header::HeaderName::from_static(REQUEST_ID_HEADER),
        request_id,
    );
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every static client route is counted under its own path, anything else is not.
    #[test]
    fn client_labels_are_the_client_routes() {
        for env in Environment::ALL {
            for op in ["activate", "validate", "heartbeat", "deactivate", "offline"] {
                let path = format!("/v1/{env}/licenses/{op}");
                assert_eq!(client_label(&path), Some(path.as_str()));
            }
            let key = format!("/v1/{env}/public-key");
            assert_eq!(client_label(&key), Some(key.as_str()));
        }
        for other in [
            "/v1/dev/licenses/validate",
            "/v1/production/licenses/x",
            "/admin",
            "/",
        ] {
            assert_eq!(client_label(other), None, "{other}");
        }
    }

    /// Request ids: the prefix always 8 hex digits, the counter without padding.
    #[test]
    fn request_ids_are_hex_prefix_and_counter() {
        let mut buf = [0u8; 16];
        for (n, min, want) in [
            (0u64, 1, "0"),
            (0xab, 8, "000000ab"),
            (0xdead_beef, 8, "deadbeef"),
            (0x1234, 1, "1234"),
            (u64::MAX, 1, "ffffffffffffffff"),
        ] {
            let len = hex_into(&mut buf, n, min);
            assert_eq!(&buf[..len], want.as_bytes());
        }
        let (a, b) = (new_request_id(), new_request_id());
        assert_ne!(a, b);
        let a = a.to_str().unwrap();
        assert!(a.len() >= 10, "{a}");
        assert_eq!(a.as_bytes()[8], b'-');
    }
}
