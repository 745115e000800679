//! Webhooks (issue 14 part 1): endpoints per environment, events taken from
//! the audit log (written in the same step as the change) by the feed
//! (`feed.rs`), delivered at least once by every node's sender (`sender.rs`),
//! signed per Standard Webhooks. This file holds the service and what admins
//! do with endpoints (create, change, rotate, test, retry).

mod feed;
mod manage;
mod payload;
mod sender;

use std::sync::Arc;

use parking_lot::RwLock;
use tokio::sync::{mpsc, Notify};

use crate::config::WebhookSettings;
use crate::domain::webhook::{Endpoint, EventType, RetrySchedule};
use crate::domain::Environment;
use crate::store::Store;

pub use manage::{EndpointPatch, NewEndpoint};
pub use payload::{DeliveryView, EndpointView};

/// Direct events (not from the audit log) waiting to be written.
const DIRECT_QUEUE: usize = 1000;

/// An event that does not come from the audit log: a refused activation, a
/// new customer, a test.
pub(crate) struct Direct {
    env: Option<Environment>,
    event: EventType,
    data: serde_json::Value,
    only: Option<uuid::Uuid>,
}

/// The webhook service of this node (shared by every handler).
pub struct Webhooks {
    store: Arc<dyn Store>,
    settings: WebhookSettings,
    node: String,
    /// The endpoints as last read (refreshed every feed round and on every change).
    endpoints: RwLock<Arc<Vec<Endpoint>>>,
    direct: mpsc::Sender<Direct>,
    direct_rx: parking_lot::Mutex<Option<mpsc::Receiver<Direct>>>,
    /// Wakes the sender when deliveries were written.
    wake: Notify,
    /// Mails the admins when an endpoint is disabled (set at start).
    outbox: std::sync::OnceLock<Arc<crate::app::mail::Outbox>>,
}

impl Webhooks {
    pub fn new(store: Arc<dyn Store>, settings: &WebhookSettings) -> Arc<Webhooks> {
        let (tx, rx) = mpsc::channel(DIRECT_QUEUE);
        Arc::new(Webhooks {
            store,
            settings: settings.clone(),
            node: format!("node-{}", uuid::Uuid::new_v4().simple()),
            endpoints: RwLock::new(Arc::new(Vec::new())),
            direct: tx,
            direct_rx: parking_lot::Mutex::new(Some(rx)),
            wake: Notify::new(),
            outbox: std::sync::OnceLock::new(),
        })
    }

    fn schedule(&self) -> RetrySchedule {
        RetrySchedule(self.settings.retry_schedule_secs.clone())
    }

    /// Endpoints as last read.
    fn cached(&self) -> Arc<Vec<Endpoint>> {
        self.endpoints.read().clone()
    }

    /// Re-reads the endpoints from the store.
    async fn refresh(&self) -> Result<Arc<Vec<Endpoint>>, crate::store::StoreError> {
        let all = Arc::new(self.store.list_webhooks().await?);
        *self.endpoints.write() = all.clone();
        Ok(all)
    }

    /// Whether any enabled endpoint of `env` wants `event` (cheap: the cache).
    pub fn wanted(&self, env: Environment, event: EventType) -> bool {
        self.cached()
            .iter()
            .any(|e| e.enabled && e.environment == env && e.wants(event))
    }

    /// Queues an event that is not in the audit log; dropped (with a warning)
    /// when nobody wants it or the queue is full, never blocking the caller.
    pub fn emit(&self, env: Option<Environment>, event: EventType, data: serde_json::Value) {
        let wanted = match env {
            Some(e) => self.wanted(e, event),
            None => Environment::ALL.iter().any(|e| self.wanted(*e, event)),
        };
        if !wanted {
            return;
        }
        let d = Direct {
            env,
            event,
            data,
            only: None,
        };
        if self.direct.try_send(d).is_err() {
            tracing::warn!(
                event = event.as_str(),
                "webhook event queue full; event dropped"
            );
        }
    }

    /// A refused activation (`activation.failed`), with why.
    pub fn activation_failed(&self, env: Environment, key: &str, identifier: &str, code: &str) {
        if !self.wanted(env, EventType::ActivationFailed) {
            return;
        }
        let data = serde_json::json!({"license_key": key, "identifier": identifier, "code": code});
        self.emit(Some(env), EventType::ActivationFailed, data);
    }

    /// Whether plain-http URLs may be saved (`webhooks.allow_http`), for forms' hints.
    pub fn allows_http(&self) -> bool {
        self.settings.allow_http
    }

    /// A new customer (`customer.created`, to endpoints of both environments),
    /// written before the answer goes out: the customer row is not in an audit log.
    pub async fn customer_created(&self, c: &crate::domain::Customer) {
        let d = Direct {
            env: None,
            event: EventType::CustomerCreated,
            data: serde_json::json!({"customer": crate::app::views::CustomerView::from(c)}),
            only: None,
        };
        if let Err(e) = self.write_now(&d, &self.cached()).await {
            tracing::warn!(error = %e, "customer.created webhook event not written");
        }
    }

    /// Writes a direct event's deliveries to `endpoints` now (not through the queue).
    async fn write_now(
        &self,
        d: &Direct,
        endpoints: &[Endpoint],
    ) -> Result<(), crate::store::StoreError> {
        let deliveries = feed::direct_deliveries(d, chrono::Utc::now(), endpoints);
        if !deliveries.is_empty() {
            self.store.insert_deliveries(&deliveries).await?;
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Starts this node's feed and sender (every node runs both: the store
    /// decides which node writes a delivery and which sends it).
    pub fn start(
        self: &Arc<Self>,
        engine: Arc<crate::engine::Engine>,
        outbox: Arc<crate::app::mail::Outbox>,
    ) {
        let _ = self.outbox.set(outbox);
        if let Some(rx) = self.direct_rx.lock().take() {
            tokio::spawn(self.clone().direct_loop(rx));
        }
        tokio::spawn(self.clone().feed_loop(engine));
        tokio::spawn(self.clone().send_loop());
    }
}
