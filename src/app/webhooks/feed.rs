//! The feed: turns audit entries (written in the same step as the change
//! they record) into deliveries, one per endpoint that wants the event. Every
//! node runs it; the cursor moves by compare-and-set and a delivery's id is
//! derived from the endpoint and the entry, so racing nodes write each
//! delivery once. Entries are read a few seconds behind the clock, so a write
//! that committed late (or a node whose clock is a little behind) is not passed.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::payload::body;
use super::{Direct, Webhooks};
use crate::domain::webhook::{Delivery, Endpoint, EventType};
use crate::domain::{AuditEntry, Environment, LicenseKey};
use crate::store::StoreError;

/// Entries read per round and environment.
const ROUND: usize = 1000;
/// How often the feed looks for new entries.
const EVERY: Duration = Duration::from_secs(1);

impl Webhooks {
    /// How far behind the clock the feed reads: longer when nodes share the
    /// store (their clocks and writes are not this node's).
    fn lag(&self) -> chrono::Duration {
        if self.store.shared_by_nodes() {
            chrono::Duration::seconds(5)
        } else {
            chrono::Duration::seconds(2)
        }
    }

    pub(super) async fn feed_loop(self: Arc<Self>, engine: Arc<crate::engine::Engine>) {
        let _ = engine; // kept for symmetry with the other loops; the store is enough
        let mut tick = tokio::time::interval(EVERY);
        loop {
            tick.tick().await;
            if let Err(e) = self.feed_round().await {
                tracing::warn!(error = %e, "webhook feed: could not read or write; trying again");
            }
        }
    }

    /// One round over both environments.
    pub(super) async fn feed_round(&self) -> Result<usize, StoreError> {
        let endpoints = self.refresh().await?;
        let until = Utc::now() - self.lag();
        let mut made = 0;
        for env in Environment::ALL {
            made += self.feed_env(env, &endpoints, until).await?;
        }
        if made > 0 {
            self.wake.notify_one();
        }
        Ok(made)
    }

    async fn feed_env(
        &self,
        env: Environment,
        endpoints: &[Endpoint],
        until: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let Some((after, version)) = self.store.webhook_cursor(env).await? else {
            // First run: events start now, not with the whole history.
            return self.move_cursor(env, until, None).await.map(|_| 0);
        };
        if after >= until {
            return Ok(0);
        }
        let live: Vec<&Endpoint> = endpoints
            .iter()
            .filter(|e| e.enabled && e.environment == env)
            .collect();
        if live.is_empty() {
            return self.move_cursor(env, until, Some(version)).await.map(|_| 0);
        }
        let entries = self.store.audit_between(env, after, until, ROUND).await?;
        let full = entries.len() == ROUND;
        let mut deliveries = Vec::new();
        for entry in &entries {
            deliveries.extend(self.deliveries_of(env, entry, &live).await?);
        }
        let made = self.store.insert_deliveries(&deliveries).await?;
        // A full round stops just before its last instant: entries sharing it are
        // read again next round (their deliveries are written once: same ids).
        let to = match entries.last() {
            Some(last) if full => last.at - chrono::Duration::nanoseconds(1),
            _ => until,
        };
        self.move_cursor(env, to.max(after), Some(version)).await?;
        Ok(made)
    }

    async fn move_cursor(
        &self,
        env: Environment,
        to: DateTime<Utc>,
        version: Option<u64>,
    ) -> Result<(), StoreError> {
        match self.store.put_webhook_cursor(env, to, version).await {
            // Another node moved it: its round covered the same entries.
            Ok(()) | Err(StoreError::Conflict(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The deliveries one audit entry makes (none when nobody wants its events).
    async fn deliveries_of(
        &self,
        env: Environment,
        entry: &AuditEntry,
        live: &[&Endpoint],
    ) -> Result<Vec<Delivery>, StoreError> {
        let mut out = Vec::new();
        for event in EventType::from_audit(&entry.action) {
            let wanting: Vec<&&Endpoint> = live
                .iter()
                .filter(|e| e.wants(*event) && e.created_at <= entry.at)
                .collect();
            if wanting.is_empty() {
                continue;
            }
            let data = self.data_of(env, *event, entry).await?;
            let payload = body(*event, entry.at, env, data);
            for e in wanting {
                out.push(Delivery::new(
                    e.id,
                    env,
                    *event,
                    entry.id,
                    payload.clone(),
                    entry.at,
                ));
            }
        }
        Ok(out)
    }

    /// `data` of an event: the license as the admin API shows it now (keys in
    /// full: the receiver is the vendor), with who did it and what changed.
    async fn data_of(
        &self,
        env: Environment,
        event: EventType,
        entry: &AuditEntry,
    ) -> Result<Value, StoreError> {
        let mut data = json!({
            "actor": entry.actor,
            "action": entry.action,
            "before": entry.before,
            "after": entry.after,
            "detail": entry.detail,
        });
        if event == EventType::ProductCreated {
            let products = self.store.list_products(env).await?;
            let p = products
                .iter()
                .filter(|p| p.name == entry.detail && p.created_at <= entry.at)
                .max_by_key(|p| p.created_at);
            data["product"] = p.map_or(json!({"name": entry.detail}), |p| json!(p));
        }
        if let Some(key) = &entry.license_key {
            let license = match LicenseKey::parse(key) {
                Ok(k) => self.store.get_license(env, &k).await?,
                Err(_) => None,
            };
            data["license"] = match license {
                Some(l) => json!(crate::app::views::LicenseView::new(&l, false)),
                None => json!({"key": key, "environment": env}),
            };
        }
        Ok(data)
    }

    /// Writes queued direct events (refused activations) as they come, in batches.
    pub(super) async fn direct_loop(self: Arc<Self>, mut rx: mpsc::Receiver<Direct>) {
        let mut batch = Vec::new();
        while rx.recv_many(&mut batch, 256).await > 0 {
            let now = Utc::now();
            let endpoints = self.cached();
            let deliveries: Vec<Delivery> = batch
                .drain(..)
                .flat_map(|d| direct_deliveries(&d, now, &endpoints))
                .collect();
            match self.store.insert_deliveries(&deliveries).await {
                Ok(_) => self.wake.notify_one(),
                Err(e) => {
                    tracing::warn!(error = %e, count = deliveries.len(), "webhook events not written")
                }
            }
        }
    }
}

/// The deliveries of one direct event: one per enabled endpoint that wants it.
pub(super) fn direct_deliveries(
    d: &Direct,
    now: DateTime<Utc>,
    endpoints: &[Endpoint],
) -> Vec<Delivery> {
    let event_id = uuid::Uuid::new_v4();
    endpoints
        .iter()
        .filter(|e| {
            e.enabled
                && d.env.is_none_or(|env| env == e.environment)
                && d.only.is_none_or(|id| id == e.id)
                && e.wants(d.event)
        })
        .map(|e| {
            let payload = body(d.event, now, e.environment, d.data.clone());
            Delivery::new(e.id, e.environment, d.event, event_id, payload, now)
        })
        .collect()
}
