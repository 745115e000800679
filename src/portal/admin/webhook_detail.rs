//! One webhook endpoint's page: edit it (URL, description, events, enabled),
//! enable or disable it, rotate its secret (the new one shown once; the old one
//! keeps signing for the overlap), send a test event, delete it, and read its
//! delivery log (event, attempts, status code, latency, the first 1 KB of the
//! answer, next retry) with a retry button per delivery.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use uuid::Uuid;

use super::webhooks::{all_events, EndpointFields, EndpointRow};
use super::{chrome, redirect, render, render_invalid, Admin, AdminView, Chrome, ManageForm};
use crate::app::error::AppError;
use crate::app::format;
use crate::app::webhooks::{DeliveryView, EndpointPatch};
use crate::app::AppState;
use crate::domain::webhook::DeliveryStatus;
use crate::domain::Environment;
use crate::portal::forms::FieldErrors;
use crate::portal::PageError;

/// Deliveries the page lists.
const SHOWN: usize = 100;

/// One delivery in the log.
pub struct DeliveryRow {
    pub id: String,
    pub message_id: String,
    pub event: &'static str,
    pub created: String,
    pub status: &'static str,
    pub attempts: u32,
    /// The last attempt's HTTP status, or what happened instead.
    pub code: String,
    pub latency: String,
    pub response: String,
    pub next_retry: String,
    pub sending: bool,
}

impl DeliveryRow {
    fn new(d: &DeliveryView) -> Self {
        let last = d.attempts.last();
        let status = match d.status {
            DeliveryStatus::Pending if d.attempt_count == 0 => "queued",
            DeliveryStatus::Pending => "retrying",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        };
        DeliveryRow {
            id: d.id.to_string(),
            message_id: d.message_id.clone(),
            event: d.event.as_str(),
            created: format::time(d.created_at),
            status,
            attempts: d.attempt_count,
            code: match last {
                Some(a) => a.status_code.map_or("no answer".into(), |c| c.to_string()),
                None => "—".into(),
            },
            latency: last.map_or("—".into(), |a| format!("{} ms", a.latency_ms)),
            response: last.map(|a| a.response.clone()).unwrap_or_default(),
            next_retry: match (d.status, d.next_attempt_at) {
                (DeliveryStatus::Pending, Some(t)) => format::time(t),
                _ => "—".into(),
            },
            sending: d.status == DeliveryStatus::Pending && d.attempt_count == 0,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/webhook_detail.html")]
struct DetailPage {
    c: Chrome,
    e: EndpointRow,
    signing_secrets: usize,
    all_events: Vec<&'static str>,
    v: EndpointFields,
    errors: FieldErrors,
    deliveries: Vec<DeliveryRow>,
    /// The rotated-in secret, shown once.
    new_secret: String,
}

fn endpoint_id(raw: &str) -> Result<Uuid, PageError> {
    raw.parse()
        .map_err(|_| PageError::NotFound("no such webhook endpoint".into()))
}

async fn page(
    req: &HttpRequest,
    admin: &Admin,
    state: &AppState,
    env: Environment,
    id: Uuid,
    form: Option<(EndpointFields, FieldErrors)>,
    new_secret: String,
) -> Result<DetailPage, PageError> {
    let hooks = &state.services.webhooks;
    let e = hooks.get(env, id).await?;
    let deliveries = hooks
        .deliveries(env, id, SHOWN)
        .await?
        .iter()
        .map(DeliveryRow::new)
        .collect();
    let (v, errors) = form.unwrap_or_else(|| (EndpointFields::of(&e), FieldErrors::default()));
    Ok(DetailPage {
        c: chrome(req, admin, "Webhook endpoint", "webhooks", env),
        signing_secrets: e.signing_secrets(chrono::Utc::now()).len(),
        e: EndpointRow::new(&e),
        all_events: all_events(),
        v,
        errors,
        deliveries,
        new_secret,
    })
}

fn back(env: Environment, id: Uuid) -> String {
    format!("/admin/webhooks/{id}?env={env}")
}

pub async fn detail(
    AdminView { admin, req, env }: AdminView,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = endpoint_id(&path)?;
    render(
        &req,
        &page(&req, &admin, &state, env, id, None, String::new()).await?,
    )
}

/// Saves the edit form.
pub async fn edit(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    ManageForm { form, env }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let id = endpoint_id(&path)?;
    let v = EndpointFields::from_form(&form);
    let patch = EndpointPatch {
        url: Some(v.url.clone()),
        events: Some(v.event_names()),
        description: Some(v.description.clone()),
        enabled: Some(v.enabled),
    };
    match state
        .services
        .webhooks
        .update(env, id, patch, &admin.who())
        .await
    {
        Ok(_) => Ok(redirect(&req, &back(env, id), "ok", "Endpoint saved.")),
        Err(AppError::Invalid(errors)) => render_invalid(
            &page(
                &req,
                &admin,
                &state,
                env,
                id,
                Some((v, errors)),
                String::new(),
            )
            .await?,
        ),
        Err(e) => Err(e.into()),
    }
}

/// Enables or disables the endpoint (the form says which).
pub async fn toggle(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    ManageForm { form, env }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let id = endpoint_id(&path)?;
    let on = form.get("enabled") == "true";
    let patch = EndpointPatch {
        enabled: Some(on),
        ..EndpointPatch::default()
    };
    state
        .services
        .webhooks
        .update(env, id, patch, &admin.who())
        .await?;
    let text = if on {
        "Endpoint enabled: new events are delivered to it again."
    } else {
        "Endpoint disabled: no events are sent to it until it is enabled."
    };
    Ok(redirect(&req, &back(env, id), "ok", text))
}

/// A new signing secret, shown once on the page that answers.
pub async fn rotate(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    ManageForm { env, .. }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let id = endpoint_id(&path)?;
    let made = state
        .services
        .webhooks
        .rotate(env, id, &admin.who())
        .await?;
    let secret = made.secret.unwrap_or_default();
    render(
        &req,
        &page(&req, &admin, &state, env, id, None, secret).await?,
    )
}

/// Queues a `webhook.test` event for this endpoint.
pub async fn test(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    ManageForm { env, .. }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let id = endpoint_id(&path)?;
    state
        .services
        .webhooks
        .send_test(env, id, &admin.who())
        .await?;
    Ok(redirect(
        &req,
        &back(env, id),
        "ok",
        "Test event queued: it appears in the delivery log below within seconds.",
    ))
}

pub async fn delete(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    ManageForm { env, .. }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let id = endpoint_id(&path)?;
    let hooks = &state.services.webhooks;
    let e = hooks.get(env, id).await?;
    hooks.delete(env, id, &admin.who()).await?;
    Ok(redirect(
        &req,
        &format!("/admin/webhooks?env={env}"),
        "ok",
        &format!("Endpoint {} deleted; nothing more is sent to it.", e.url),
    ))
}

/// Sends one delivery again now.
pub async fn retry(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    ManageForm { env, .. }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let (id, delivery) = path.into_inner();
    let id = endpoint_id(&id)?;
    let delivery: Uuid = delivery
        .parse()
        .map_err(|_| PageError::NotFound("no such delivery".into()))?;
    let d = state
        .services
        .webhooks
        .retry(env, id, delivery, &admin.who())
        .await?;
    Ok(redirect(
        &req,
        &back(env, id),
        "ok",
        &format!("Delivery of {} queued again.", d.event.as_str()),
    ))
}
