//! What admins do with endpoints, through the admin API and the Webhooks page:
//! create (the secret shown once), change, delete, rotate the secret, send a
//! test event, read the delivery log and retry a delivery. Each change is audited.

use chrono::Utc;
use rand::RngCore;
use uuid::Uuid;

use super::payload::{DeliveryView, EndpointView};
use super::{Direct, Webhooks};
use crate::app::error::{AppError, FieldErrors};
use crate::domain::webhook::sign::format_secret;
use crate::domain::webhook::target::check_url;
use crate::domain::webhook::{DeliveryStatus, Endpoint, EventType, Secret};
use crate::domain::Environment;
use crate::store::StoreError;

/// Endpoints per environment.
pub const MAX_ENDPOINTS: usize = 50;
/// Longest description.
const MAX_DESCRIPTION: usize = 500;

/// A new endpoint as asked for.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    pub url: String,
    #[serde(default)]
    pub events: Option<Vec<String>>,
    #[serde(default)]
    pub description: Option<String>,
}

/// A change to an endpoint (absent fields stay).
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

fn new_secret() -> String {
    let mut bytes = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut bytes);
    format_secret(&bytes)
}

/// Parses event names; every unknown one is named.
fn events_of(names: &[String]) -> Result<Vec<EventType>, String> {
    let mut out = Vec::new();
    for n in names {
        let e = EventType::parse(n.trim()).ok_or_else(|| {
            format!(
                "unknown event \"{n}\"; known: {}",
                EventType::ALL.map(|e| e.as_str()).join(", ")
            )
        })?;
        if !out.contains(&e) {
            out.push(e);
        }
    }
    Ok(out)
}

fn moved(e: StoreError) -> AppError {
    match e {
        StoreError::Conflict(_) => {
            AppError::Conflict("the endpoint was changed meanwhile; reload and try again".into())
        }
        other => other.into(),
    }
}

impl Webhooks {
    fn check(
        &self,
        url: &str,
        events: Option<&[String]>,
        description: Option<&str>,
    ) -> Result<(String, Option<Vec<EventType>>), AppError> {
        let mut errors = FieldErrors::default();
        let url = match check_url(url, self.settings.allow_http) {
            Ok(u) => u.to_string(),
            Err(why) => {
                errors.add("url", why);
                String::new()
            }
        };
        let events = match events.map(events_of).transpose() {
            Ok(e) => e,
            Err(why) => {
                errors.add("events", why);
                None
            }
        };
        if description.is_some_and(|d| d.chars().count() > MAX_DESCRIPTION) {
            errors.add(
                "description",
                format!("at most {MAX_DESCRIPTION} characters"),
            );
        }
        errors.into_result()?;
        Ok((url, events))
    }

    /// Every endpoint of `env`, oldest first.
    pub async fn list(&self, env: Environment) -> Result<Vec<Endpoint>, AppError> {
        let mut all: Vec<Endpoint> = self
            .refresh()
            .await?
            .iter()
            .filter(|e| e.environment == env)
            .cloned()
            .collect();
        all.sort_by_key(|e| e.created_at);
        Ok(all)
    }

    /// One endpoint of `env`.
    pub async fn get(&self, env: Environment, id: Uuid) -> Result<Endpoint, AppError> {
        self.list(env)
            .await?
            .into_iter()
            .find(|e| e.id == id)
            .ok_or_else(|| {
                AppError::NotFound("no such webhook endpoint in this environment".into())
            })
    }

    /// Makes an endpoint; the answer shows its secret, once.
    pub async fn create(
        &self,
        env: Environment,
        n: NewEndpoint,
        by: &str,
    ) -> Result<EndpointView, AppError> {
        let (url, events) = self.check(&n.url, n.events.as_deref(), n.description.as_deref())?;
        if self.list(env).await?.len() >= MAX_ENDPOINTS {
            return Err(AppError::Conflict(format!(
                "an environment has at most {MAX_ENDPOINTS} webhook endpoints"
            )));
        }
        let now = Utc::now();
        let e = Endpoint {
            id: Uuid::new_v4(),
            environment: env,
            url,
            description: n.description.unwrap_or_default().trim().to_owned(),
            events: events.unwrap_or_default(),
            enabled: true,
            secrets: vec![Secret {
                secret: new_secret(),
                until: None,
            }],
            failing_since: None,
            disabled_reason: String::new(),
            created_at: now,
            updated_at: now,
            version: 0,
        };
        let stored = self.store.put_webhook(&e, None).await?;
        self.audit(env, by, "webhook.created", &stored).await?;
        self.refresh().await?;
        Ok(EndpointView::with_secret(&stored))
    }

    /// Changes an endpoint; enabling it again clears its run of failures.
    pub async fn update(
        &self,
        env: Environment,
        id: Uuid,
        p: EndpointPatch,
        by: &str,
    ) -> Result<Endpoint, AppError> {
        let mut e = self.get(env, id).await?;
        let url = p.url.as_deref().unwrap_or(&e.url).to_owned();
        let (url, events) = self.check(&url, p.events.as_deref(), p.description.as_deref())?;
        e.url = url;
        if let Some(ev) = events {
            e.events = ev;
        }
        if let Some(d) = p.description {
            e.description = d.trim().to_owned();
        }
        if let Some(on) = p.enabled {
            if on && !e.enabled {
                e.failing_since = None;
                e.disabled_reason.clear();
            }
            e.enabled = on;
        }
        e.updated_at = Utc::now();
        let stored = self
            .store
            .put_webhook(&e, Some(e.version))
            .await
            .map_err(moved)?;
        self.audit(env, by, "webhook.updated", &stored).await?;
        self.refresh().await?;
        Ok(stored)
    }

    /// Deletes an endpoint (its pending deliveries fail as "deleted").
    pub async fn delete(&self, env: Environment, id: Uuid, by: &str) -> Result<(), AppError> {
        let e = self.get(env, id).await?;
        self.store.delete_webhook(id).await?;
        self.audit(env, by, "webhook.deleted", &e).await?;
        self.refresh().await?;
        Ok(())
    }

    /// A new secret; the old one keeps signing for the overlap. Shown once.
    pub async fn rotate(
        &self,
        env: Environment,
        id: Uuid,
        by: &str,
    ) -> Result<EndpointView, AppError> {
        let mut e = self.get(env, id).await?;
        let now = Utc::now();
        let overlap = chrono::Duration::hours(self.settings.rotation_overlap_hours as i64);
        e.rotate(new_secret(), now, overlap);
        e.updated_at = now;
        let stored = self
            .store
            .put_webhook(&e, Some(e.version))
            .await
            .map_err(moved)?;
        self.audit(env, by, "webhook.secret_rotated", &stored)
            .await?;
        self.refresh().await?;
        Ok(EndpointView::with_secret(&stored))
    }

    /// Writes a `webhook.test` event for this endpoint alone (409 when it is disabled).
    pub async fn send_test(&self, env: Environment, id: Uuid, by: &str) -> Result<(), AppError> {
        let e = self.get(env, id).await?;
        if !e.enabled {
            return Err(AppError::Conflict(
                "the endpoint is disabled: enable it to send a test event".into(),
            ));
        }
        let data = serde_json::json!({"message": "A test event from Keywarden.", "endpoint_id": e.id, "sent_by": by});
        let d = Direct {
            env: Some(env),
            event: EventType::WebhookTest,
            data,
            only: Some(e.id),
        };
        Ok(self.write_now(&d, std::slice::from_ref(&e)).await?)
    }

    /// An endpoint's deliveries, newest first.
    pub async fn deliveries(
        &self,
        env: Environment,
        id: Uuid,
        limit: usize,
    ) -> Result<Vec<DeliveryView>, AppError> {
        self.get(env, id).await?;
        let ds = self.store.list_deliveries(id, limit.clamp(1, 500)).await?;
        Ok(ds.iter().map(DeliveryView::new).collect())
    }

    /// Sends a delivery again now (any status), with a fresh retry schedule.
    pub async fn retry(
        &self,
        env: Environment,
        id: Uuid,
        delivery: Uuid,
        by: &str,
    ) -> Result<DeliveryView, AppError> {
        self.get(env, id).await?;
        let ds = self.store.list_deliveries(id, 500).await?;
        let d = ds.into_iter().find(|d| d.id == delivery).ok_or_else(|| {
            AppError::NotFound(
                "no such delivery of this endpoint (the log keeps 500 per endpoint here)".into(),
            )
        })?;
        let pending = self
            .store
            .pending_deliveries()
            .await?
            .into_iter()
            .find(|p| p.id == d.id);
        let (base, expected) = match &pending {
            Some(p) => (p, Some(p.version)),
            None => (&d, None),
        };
        if base.status == DeliveryStatus::Pending
            && base.claim_until.is_some_and(|c| c > Utc::now())
        {
            return Err(AppError::Conflict(
                "this delivery is being sent right now".into(),
            ));
        }
        let stored = self
            .store
            .put_delivery(&base.retried(Utc::now()), expected)
            .await
            .map_err(moved)?;
        let entry =
            crate::engine::origin::entry(by, "webhook.delivery_retried", None, Utc::now()).detail(
                format!("delivery {} ({}) to {}", d.id, d.event.as_str(), id),
            );
        self.store.append_audit(env, &entry).await?;
        self.wake.notify_one();
        Ok(DeliveryView::new(&stored))
    }

    async fn audit(
        &self,
        env: Environment,
        by: &str,
        action: &str,
        e: &Endpoint,
    ) -> Result<(), AppError> {
        let events = if e.events.is_empty() {
            "all events".to_owned()
        } else {
            e.events
                .iter()
                .map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let state = if e.enabled { "enabled" } else { "disabled" };
        let entry = crate::engine::origin::entry(by, action, None, Utc::now())
            .detail(format!("webhook {} → {} ({events}; {state})", e.id, e.url));
        self.store.append_audit(env, &entry).await?;
        Ok(())
    }
}
