//! The Webhooks page of an environment (issue 14 part 1): its endpoints with
//! their state and the events they want; full admins add one (the signing
//! secret is shown once). Each endpoint's own page (`webhook_detail`) edits it,
//! rotates its secret, sends a test event and shows its delivery log.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{chrome, render, render_invalid, Admin, AdminView, Chrome, ManageForm};
use crate::app::error::AppError;
use crate::app::format;
use crate::app::webhooks::NewEndpoint;
use crate::app::AppState;
use crate::domain::webhook::{Endpoint, EventType};
use crate::domain::Environment;
use crate::portal::forms::{FieldErrors, Form};
use crate::portal::PageError;

/// One endpoint in the list.
pub struct EndpointRow {
    pub id: String,
    pub url: String,
    pub description: String,
    pub events: String,
    /// enabled, failing or disabled (the badge's class too).
    pub state: &'static str,
    pub note: String,
    pub secret_hint: String,
    pub created: String,
}

impl EndpointRow {
    pub fn new(e: &Endpoint) -> Self {
        let (state, note) = match (e.enabled, e.failing_since) {
            (false, _) if e.disabled_reason.is_empty() => {
                ("disabled", "disabled by an admin".into())
            }
            (false, _) => ("disabled", e.disabled_reason.clone()),
            (true, Some(since)) => ("failing", format!("failing since {}", format::time(since))),
            (true, None) => ("enabled", String::new()),
        };
        let view = crate::app::webhooks::EndpointView::new(e);
        EndpointRow {
            id: e.id.to_string(),
            url: e.url.clone(),
            description: e.description.clone(),
            events: events_text(&e.events),
            state,
            note,
            secret_hint: view.secret_hint,
            created: format::date(e.created_at),
        }
    }
}

/// "All events" or the names, for a list cell.
pub fn events_text(events: &[EventType]) -> String {
    if events.is_empty() {
        "All events".into()
    } else {
        events
            .iter()
            .map(|e| e.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The endpoint form as typed (create and edit).
#[derive(Default)]
pub struct EndpointFields {
    pub url: String,
    pub description: String,
    pub events: Vec<&'static str>,
    pub enabled: bool,
}

impl EndpointFields {
    pub fn checked(&self, e: &&str) -> bool {
        self.events.contains(e)
    }

    /// What a posted form says (no event ticked: every event).
    pub fn from_form(form: &Form) -> Self {
        EndpointFields {
            url: form.get("url").trim().into(),
            description: form.get("description").into(),
            events: EventType::ALL
                .iter()
                .map(|e| e.as_str())
                .filter(|e| form.has(&format!("event:{e}")))
                .collect(),
            enabled: form.has("enabled"),
        }
    }

    pub fn of(e: &Endpoint) -> Self {
        EndpointFields {
            url: e.url.clone(),
            description: e.description.clone(),
            events: e.events.iter().map(|e| e.as_str()).collect(),
            enabled: e.enabled,
        }
    }

    /// The event names for the app (None: every event).
    pub fn event_names(&self) -> Vec<String> {
        self.events.iter().map(|e| e.to_string()).collect()
    }
}

/// Every event name, for the checkboxes.
pub fn all_events() -> Vec<&'static str> {
    EventType::ALL.iter().map(|e| e.as_str()).collect()
}

#[derive(Template)]
#[template(path = "admin/webhooks.html")]
struct WebhooksPage {
    c: Chrome,
    rows: Vec<EndpointRow>,
    all_events: Vec<&'static str>,
    v: EndpointFields,
    errors: FieldErrors,
    /// The new endpoint's secret, shown once.
    new_secret: String,
    new_id: String,
    allow_http: bool,
}

async fn page(
    req: &HttpRequest,
    admin: &Admin,
    state: &AppState,
    env: Environment,
    v: EndpointFields,
    errors: FieldErrors,
    new: Option<(String, String)>,
) -> Result<WebhooksPage, PageError> {
    let hooks = &state.services.webhooks;
    let rows = hooks
        .list(env)
        .await?
        .iter()
        .map(EndpointRow::new)
        .collect();
    let (new_id, new_secret) = new.unwrap_or_default();
    Ok(WebhooksPage {
        c: chrome(req, admin, "Webhooks", "webhooks", env),
        rows,
        all_events: all_events(),
        v,
        errors,
        new_secret,
        new_id,
        allow_http: hooks.allows_http(),
    })
}

pub async fn list(
    AdminView { admin, req, env }: AdminView,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let p = page(
        &req,
        &admin,
        &state,
        env,
        EndpointFields::default(),
        FieldErrors::default(),
        None,
    )
    .await?;
    render(&req, &p)
}

/// Adds an endpoint; the page then shows its signing secret once.
pub async fn create(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    ManageForm { form, env }: ManageForm,
) -> Result<HttpResponse, PageError> {
    let v = EndpointFields::from_form(&form);
    let n = NewEndpoint {
        url: v.url.clone(),
        events: Some(v.event_names()),
        description: Some(v.description.clone()),
    };
    match state.services.webhooks.create(env, n, &admin.who()).await {
        Ok(made) => {
            let new = Some((made.id.to_string(), made.secret.unwrap_or_default()));
            let p = page(
                &req,
                &admin,
                &state,
                env,
                EndpointFields::default(),
                FieldErrors::default(),
                new,
            )
            .await?;
            render(&req, &p)
        }
        Err(AppError::Invalid(errors)) => {
            render_invalid(&page(&req, &admin, &state, env, v, errors, None).await?)
        }
        Err(e) => Err(e.into()),
    }
}
