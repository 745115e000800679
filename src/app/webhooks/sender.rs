//! The sender every node runs: claims due deliveries (a conditional write, so
//! one node sends each), posts them signed, and records the attempt. Requests
//! run on the blocking pool, a few at a time, with a time limit and no
//! redirects; the host is resolved here and every address it resolves to is
//! checked before connecting (unless private targets are allowed), and the
//! connection goes to exactly those addresses.

use std::io::Read;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use rand::Rng;
use tokio::sync::Semaphore;

use super::Webhooks;
use crate::domain::webhook::sign::signature_header;
use crate::domain::webhook::target::forbidden;
use crate::domain::webhook::{Attempt, Delivery, Endpoint};
use crate::store::StoreError;

/// Requests in flight per node.
const PARALLEL: usize = 8;
/// The longest the sender sleeps when nothing wakes it.
const IDLE: Duration = Duration::from_secs(1);

impl Webhooks {
    pub(super) async fn send_loop(self: Arc<Self>) {
        let permits = Arc::new(Semaphore::new(PARALLEL));
        loop {
            let _ = tokio::time::timeout(IDLE, self.wake.notified()).await;
            if let Err(e) = self.send_round(&permits).await {
                tracing::warn!(error = %e, "webhook sender: could not read pending deliveries");
            }
        }
    }

    /// Starts an attempt for every due delivery this node can claim.
    async fn send_round(self: &Arc<Self>, permits: &Arc<Semaphore>) -> Result<(), StoreError> {
        let now = Utc::now();
        let mut due: Vec<Delivery> = self
            .store
            .pending_deliveries()
            .await?
            .into_iter()
            .filter(|d| d.is_due(now))
            .collect();
        due.sort_by_key(|d| d.next_attempt_at);
        for d in due {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return Ok(());
            };
            let claimed = match self
                .store
                .put_delivery(&d.claimed(&self.node, Utc::now()), Some(d.version))
                .await
            {
                Ok(c) => c,
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            };
            let me = self.clone();
            tokio::spawn(async move {
                me.attempt(claimed).await;
                drop(permit);
            });
        }
        Ok(())
    }

    /// Sends one claimed delivery and writes what happened.
    async fn attempt(&self, claimed: Delivery) {
        let endpoint = self
            .cached()
            .iter()
            .find(|e| e.id == claimed.endpoint_id)
            .cloned();
        let next = match &endpoint {
            Some(e) if e.enabled => {
                let result = self.post(e, &claimed).await;
                let jitter = rand::thread_rng().gen_range(-1.0..=1.0);
                claimed.after_attempt(result, &self.schedule(), jitter)
            }
            Some(_) => claimed.abandoned(gone("not sent: the endpoint is disabled")),
            None => claimed.abandoned(gone("not sent: the endpoint was deleted")),
        };
        let ok = next.status == crate::domain::webhook::DeliveryStatus::Delivered;
        if let Err(e) = self.store.put_delivery(&next, Some(claimed.version)).await {
            tracing::warn!(error = %e, "could not record a webhook attempt; it is tried again when its claim runs out");
            return;
        }
        if let Some(e) = endpoint.filter(|e| e.enabled) {
            self.note_outcome(e, ok).await;
        }
    }

    /// POSTs the signed body on the blocking pool.
    async fn post(&self, e: &Endpoint, d: &Delivery) -> Attempt {
        let now = Utc::now();
        let ts = now.timestamp();
        let msg_id = d.message_id();
        let signature =
            signature_header(&e.signing_secrets(now), &msg_id, ts, d.payload.as_bytes());
        let (url, body) = (e.url.clone(), d.payload.clone());
        let allow_private = self.settings.allow_private_targets;
        let timeout = Duration::from_secs(self.settings.timeout_secs);
        let started = Instant::now();
        let sent = tokio::task::spawn_blocking(move || {
            let agent = agent(allow_private, timeout)?;
            let answer = agent
                .post(&url)
                .set("content-type", "application/json")
                .set("user-agent", "Keywarden-Webhooks/1")
                .set("webhook-id", &msg_id)
                .set("webhook-timestamp", &ts.to_string())
                .set("webhook-signature", &signature)
                .send_string(&body);
            let r = match answer {
                Ok(r) | Err(ureq::Error::Status(_, r)) => r,
                Err(ureq::Error::Transport(t)) => return Err(transport(&t)),
            };
            let code = r.status();
            let mut text = Vec::new();
            let _ = r.into_reader().take(1024).read_to_end(&mut text);
            Ok((code, String::from_utf8_lossy(&text).into_owned()))
        })
        .await
        .unwrap_or_else(|e| Err(format!("the request task failed: {e}")));
        let latency_ms = started.elapsed().as_millis() as u64;
        match sent {
            Ok((code, response)) => Attempt {
                number: 0,
                at: now,
                status_code: Some(code),
                latency_ms,
                response,
            },
            Err(why) => Attempt {
                number: 0,
                at: now,
                status_code: None,
                latency_ms,
                response: why,
            },
        }
    }

    /// Tracks an endpoint's run of failures; disables it (and mails the admins)
    /// once every delivery failed for `disable_after_hours`.
    async fn note_outcome(&self, mut e: Endpoint, ok: bool) {
        let before = (e.failing_since, e.enabled);
        let window = chrono::Duration::hours(self.settings.disable_after_hours as i64);
        let disabled = e.after_delivery(ok, Utc::now(), window);
        if (e.failing_since, e.enabled) == before {
            return;
        }
        e.updated_at = Utc::now();
        let version = e.version;
        match self.store.put_webhook(&e, Some(version)).await {
            Ok(stored) => {
                let _ = self.refresh().await;
                if disabled {
                    self.mail_admins(&stored).await;
                }
            }
            // Another node recorded it first (or an admin changed it): theirs stands.
            Err(StoreError::Conflict(_)) => {}
            Err(err) => {
                tracing::warn!(error = %err, "could not record a webhook endpoint's failures")
            }
        }
    }

    async fn mail_admins(&self, e: &Endpoint) {
        tracing::warn!(endpoint = %e.id, url = %e.url, "webhook endpoint disabled after failing deliveries");
        let Some(outbox) = self.outbox.get() else {
            return;
        };
        let admins = match self.store.list_admins().await {
            Ok(a) => a,
            Err(err) => return tracing::warn!(error = %err, "could not list admins to mail"),
        };
        let subject = "Keywarden: a webhook endpoint was disabled";
        let text = format!(
            "The {} webhook endpoint {} was disabled: {}.\n\nFix the receiver, then enable it again on the Webhooks page; failed deliveries can be retried from its delivery log.\n",
            e.environment, e.url, e.disabled_reason
        );
        for a in admins {
            if let Err(err) = outbox
                .send(&a.email, subject, &text, "webhook", "", "")
                .await
            {
                tracing::warn!(error = %err, "could not mail an admin about a disabled webhook");
            }
        }
    }
}

/// An attempt that was not made, with why.
fn gone(why: &str) -> Attempt {
    Attempt {
        number: 0,
        at: Utc::now(),
        status_code: None,
        latency_ms: 0,
        response: why.into(),
    }
}

/// A client for one attempt: time limit, no redirects, TLS, and a resolver that
/// refuses addresses inside the network unless they are allowed.
fn agent(allow_private: bool, timeout: Duration) -> Result<ureq::Agent, String> {
    let tls = native_tls::TlsConnector::new().map_err(|e| format!("TLS: {e}"))?;
    Ok(ureq::AgentBuilder::new()
        .timeout(timeout)
        .redirects(0)
        .tls_connector(Arc::new(tls))
        .resolver(move |host_port: &str| -> std::io::Result<Vec<SocketAddr>> {
            let addrs: Vec<SocketAddr> = host_port.to_socket_addrs()?.collect();
            if !allow_private {
                if let Some((a, why)) = addrs.iter().find_map(|a| forbidden(a.ip()).map(|w| (a, w))) {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::PermissionDenied,
                        format!("refused: {host_port} resolves to {} ({why} address; webhooks.allow_private_targets is off)", a.ip()),
                    ));
                }
            }
            Ok(addrs)
        })
        .build())
}

/// A transport error as the delivery log shows it.
fn transport(t: &ureq::Transport) -> String {
    let mut s = t.to_string();
    if let Some(src) = std::error::Error::source(t) {
        let src = src.to_string();
        if !s.contains(&src) {
            s = format!("{s}: {src}");
        }
    }
    s
}
