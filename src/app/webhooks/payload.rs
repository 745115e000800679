//! What receivers and admins see: an event's body (`{"type", "timestamp",
//! "environment", "data"}`) and the JSON shapes of endpoints and deliveries.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::domain::webhook::{Attempt, Delivery, DeliveryStatus, Endpoint, EventType};
use crate::domain::Environment;

/// An event's body, as signed and sent.
pub(super) fn body(event: EventType, at: DateTime<Utc>, env: Environment, data: Value) -> String {
    json!({
        "type": event.as_str(),
        "timestamp": at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "environment": env.as_str(),
        "data": data,
    })
    .to_string()
}

/// An endpoint as the admin API shows it (its secrets never; a hint of the current one).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndpointView {
    pub id: Uuid,
    pub environment: Environment,
    pub url: String,
    pub description: String,
    /// Empty: every event.
    pub events: Vec<EventType>,
    pub enabled: bool,
    pub secret_hint: String,
    /// Secrets signing now (2 during a rotation's overlap).
    pub signing_secrets: usize,
    pub failing_since: Option<DateTime<Utc>>,
    pub disabled_reason: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Only in the answer that made it (create, rotate): shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl EndpointView {
    pub fn new(e: &Endpoint) -> Self {
        let current = e.secrets.first().map(|s| s.secret.as_str()).unwrap_or("");
        let tail: String = current
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        EndpointView {
            id: e.id,
            environment: e.environment,
            url: e.url.clone(),
            description: e.description.clone(),
            events: e.events.clone(),
            enabled: e.enabled,
            secret_hint: format!("whsec_…{tail}"),
            signing_secrets: e.signing_secrets(Utc::now()).len(),
            failing_since: e.failing_since,
            disabled_reason: e.disabled_reason.clone(),
            created_at: e.created_at,
            updated_at: e.updated_at,
            secret: None,
        }
    }

    /// With the secret shown once.
    pub fn with_secret(e: &Endpoint) -> Self {
        EndpointView {
            secret: e.secrets.first().map(|s| s.secret.clone()),
            ..EndpointView::new(e)
        }
    }
}

/// A delivery as the delivery log shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    pub id: Uuid,
    pub message_id: String,
    pub endpoint_id: Uuid,
    pub event: EventType,
    pub status: DeliveryStatus,
    pub created_at: DateTime<Utc>,
    pub attempt_count: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Newest last.
    pub attempts: Vec<Attempt>,
    pub payload: Value,
}

impl DeliveryView {
    pub fn new(d: &Delivery) -> Self {
        DeliveryView {
            id: d.id,
            message_id: d.message_id(),
            endpoint_id: d.endpoint_id,
            event: d.event,
            status: d.status,
            created_at: d.created_at,
            attempt_count: d.attempt_count,
            next_attempt_at: d.next_attempt_at,
            attempts: d.attempts.clone(),
            payload: serde_json::from_str(&d.payload).unwrap_or(Value::Null),
        }
    }
}
