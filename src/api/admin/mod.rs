//! The admin REST API: everything the admin portal does, as JSON, behind a bearer token.

pub mod abuse_cases;
pub mod access;
pub mod api_keys;
pub mod backup;
pub mod contracts;
pub mod customers;
pub mod idempotent;
pub mod license_devices;
pub mod license_mail;
pub mod licenses;
pub mod outbox;
pub mod products;
pub mod settings;
pub mod webhooks;
pub use crate::app::views;

use std::future::{ready, Ready};

use crate::app::api_keys as key_store;
use crate::domain::api_key::Caller;

use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use super::codec;
use crate::app::AppState;
use crate::domain::{Environment, LicenseKey};
use crate::error::ApiError;

/// Proof that the request carried the owner token, or an API key that may use
/// this route (see [`access`]). Handlers take it first; writes name its actor.
pub struct AdminToken {
    pub caller: Caller,
}

impl AdminToken {
    /// Who acted, for audit entries (`admin-api`, or `api-key:<name> (<prefix>)`).
    pub fn actor(&self) -> String {
        self.caller.actor()
    }
}

impl FromRequest for AdminToken {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { check_token(&req).await })
    }
}

/// The bearer check: a wrong, revoked or expired token is charged to the
/// client IP like a failed sign-in (security item 13), and a locked IP is
/// refused before any compare. A key without the route's right gets 403.
async fn check_token(req: &HttpRequest) -> Result<AdminToken, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or(ApiError::Unauthorized)?;
    let presented = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(ApiError::Unauthorized)?;
    let ip = state
        .client_ip(req)
        .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    let limited = |l: crate::attempts::Locked| ApiError::RateLimited {
        retry_after_secs: l.0,
    };
    let attempts = &state.token_attempts;
    attempts.refuse_if_locked(ip, None).map_err(limited)?;
    let Some(caller) = identify(state, presented).await? else {
        attempts.charge_failure(ip, None).map_err(limited)?;
        return Err(ApiError::Unauthorized);
    };
    let need = access::need(req.method(), req.match_pattern().as_deref());
    let env = req.match_info().get("env").and_then(|e| e.parse().ok());
    let now = chrono::Utc::now();
    if let Err(denied) = caller.may(need, env, now) {
        if denied.is_unusable() {
            attempts.charge_failure(ip, None).map_err(limited)?;
            return Err(ApiError::Unauthorized);
        }
        return Err(ApiError::Forbidden(denied.to_string()));
    }
    if let Caller::Key(k) = &caller {
        state.services.key_uses.note(state, k, ip, now);
    }
    Ok(AdminToken { caller })
}

/// Who a presented bearer token is: the owner, a stored key (usable or not:
/// the caller decides), or nobody.
pub async fn identify(state: &AppState, presented: &str) -> Result<Option<Caller>, ApiError> {
    if state.admin_token_matches(presented) {
        return Ok(Some(Caller::Owner));
    }
    Ok(key_store::find(state.store(), presented)
        .await?
        .map(|k| Caller::Key(Box::new(k))))
}

/// Reads and decodes a JSON body with the configured size limit.
pub async fn json_body<T: DeserializeOwned>(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<T, ApiError> {
    if codec::request_format(req)? != codec::Format::Json {
        return Err(ApiError::bad("the admin API takes application/json"));
    }
    let limit = state.config.server.body_limit_bytes;
    codec::check_length(req, limit)?;
    let body = codec::read_body(payload, limit).await?;
    codec::decode(codec::Format::Json, &body)
}

/// A path segment that must be a UUID (a 400 naming `field` otherwise).
pub fn uuid(field: &'static str, raw: &str) -> Result<uuid::Uuid, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::field(field, format!("{field} must be a UUID")))
}

/// Parses the `{env}` path segment.
pub fn env(raw: &str) -> Result<Environment, ApiError> {
    raw.parse().map_err(ApiError::bad)
}

/// The `{env}` of the route, parsed (a handler taking it never sees a bad one).
pub struct Env(pub Environment);

impl FromRequest for Env {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(env(req.match_info().get("env").unwrap_or("")).map(Env))
    }
}

/// The license a route names: `{env}` and `{key}`, both parsed.
pub struct LicenseAt {
    pub env: Environment,
    pub key: LicenseKey,
}

impl FromRequest for LicenseAt {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let info = req.match_info();
        ready((|| {
            Ok(LicenseAt {
                env: env(info.get("env").unwrap_or(""))?,
                key: LicenseKey::parse(info.get("key").unwrap_or(""))
                    .map_err(|e| ApiError::field("key", e))?,
            })
        })())
    }
}

/// A JSON body decoded with the configured size limit. Extract it after
/// [`AdminToken`]: extractors run in order, so a request without the token is
/// refused before its body is read.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        let payload = web::Payload::from_request(&req, payload);
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| ApiError::Internal("no app state".into()))?;
            let payload = payload
                .await
                .map_err(|e| ApiError::bad(format!("body: {e}")))?;
            Ok(Body(json_body(&state, &req, payload).await?))
        })
    }
}

/// Mounts `/admin/api/v1/…`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin/api/v1")
            .wrap(actix_web::middleware::from_fn(idempotent::idempotent))
            // A query string that does not decode is a JSON 400 like every other refusal.
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|e, _| ApiError::bad(format!("bad query string: {e}")).into()),
            )
            .route("/customers", web::post().to(customers::create))
            .route("/customers", web::get().to(customers::list))
            .route("/customers/{id}", web::get().to(customers::get))
            .route("/customers/{id}", web::patch().to(customers::update))
            .route("/customers/{id}", web::delete().to(customers::delete))
            .route("/token/rotate", web::post().to(settings::rotate_token))
            .route(
                "/{env}/signing-keys/rotate",
                web::post().to(settings::rotate_signing_key),
            )
            .route("/api-keys", web::get().to(api_keys::list))
            .route("/api-keys", web::post().to(api_keys::create))
            .route("/api-keys/{id}", web::delete().to(api_keys::revoke))
            .route("/contracts", web::get().to(contracts::list))
            .route("/contracts", web::post().to(contracts::create))
            .route("/contracts/{id}", web::delete().to(contracts::delete))
            .route("/backup", web::get().to(backup::download))
            .route("/outbox", web::get().to(outbox::list))
            .route("/{env}/webhooks", web::post().to(webhooks::create))
            .route("/{env}/webhooks", web::get().to(webhooks::list))
            .route("/{env}/webhooks/{id}", web::get().to(webhooks::get))
            .route("/{env}/webhooks/{id}", web::patch().to(webhooks::update))
            .route("/{env}/webhooks/{id}", web::delete().to(webhooks::delete))
            .route(
                "/{env}/webhooks/{id}/rotate-secret",
                web::post().to(webhooks::rotate),
            )
            .route("/{env}/webhooks/{id}/test", web::post().to(webhooks::test))
            .route(
                "/{env}/webhooks/{id}/deliveries",
                web::get().to(webhooks::deliveries),
            )
            .route(
                "/{env}/webhooks/{id}/deliveries/{delivery_id}/retry",
                web::post().to(webhooks::retry),
            )
            .route("/{env}/products", web::post().to(products::create))
            .route("/{env}/products", web::get().to(products::list))
            .route("/{env}/products/{id}", web::get().to(products::get))
            .route("/{env}/products/{id}", web::patch().to(products::update))
            .route(
                "/{env}/products/{id}/revoke-all",
                web::post().to(products::revoke_all),
            )
            .route(
                "/{env}/generators",
                web::post().to(products::create_generator),
            )
            .route(
                "/{env}/generators",
                web::get().to(products::list_generators),
            )
            .route("/{env}/licenses", web::post().to(licenses::create))
            .route("/{env}/licenses", web::get().to(licenses::list))
            .route("/{env}/licenses/bulk", web::post().to(licenses::bulk))
            .route("/{env}/licenses/export", web::get().to(licenses::export))
            .route("/{env}/licenses/{key}", web::get().to(licenses::get))
            .route("/{env}/licenses/{key}", web::patch().to(licenses::edit))
            .route("/{env}/licenses/{key}", web::delete().to(licenses::delete))
            .route(
                "/{env}/licenses/{key}/activations",
                web::get().to(license_devices::activation_history),
            )
            .route(
                "/{env}/licenses/{key}/assign",
                web::post().to(licenses::assign),
            )
            .route(
                "/{env}/licenses/{key}/resend-key",
                web::post().to(license_mail::resend_key),
            )
            .route(
                "/{env}/licenses/{key}/actions/{action}",
                web::post().to(licenses::action),
            )
            .route(
                "/{env}/licenses/{key}/deactivate",
                web::post().to(license_devices::deactivate),
            )
            .route(
                "/{env}/licenses/{key}/offline",
                web::get().to(license_devices::offline),
            )
            .route("/{env}/abuse-cases", web::get().to(abuse_cases::list))
            .route(
                "/{env}/licenses/{key}/abuse-case/review",
                web::post().to(abuse_cases::review),
            )
            .route("/{env}/audit", web::get().to(settings::audit))
            .route("/{env}/settings", web::get().to(settings::get))
            .route("/{env}/settings", web::put().to(settings::put)),
    );
}
