//! Mail the customer asked for: expiry reminders 30, 14 and 7 days before, and
//! an alert when a new device is activated on one of their licenses. Each
//! honours the customer's notification preferences.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::app::format;
use crate::app::mail::Outbox;
use crate::app::services::Services;
use crate::domain::{Environment, LicenseKey};
use crate::engine::Engine;

/// Days before expiry a reminder is sent.
pub const THRESHOLDS: [i64; 3] = [30, 14, 7];

/// The reminder due for a license expiring at `expires_at`: the smallest
/// threshold the remaining time is within.
pub fn due(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<i64> {
    if expires_at <= now {
        return None;
    }
    let left = expires_at - now;
    THRESHOLDS
        .iter()
        .rev()
        .copied()
        .find(|d| left <= chrono::Duration::days(*d))
}

/// Sends every reminder that is due and not sent yet; returns how many were sent.
pub async fn send_due_reminders(engine: &Engine, outbox: &Outbox, now: DateTime<Utc>) -> usize {
    let mut sent = 0;
    let store = engine.store().as_ref();
    // Every license must be known before deciding which ones are due.
    engine.catalog().wait_ready().await;
    for env in Environment::ALL {
        let due_now: Vec<(LicenseKey, uuid::Uuid, DateTime<Utc>, i64)> = engine
            .catalog()
            .expiring_assigned(env, now, chrono::Duration::days(30))
            .into_iter()
            .filter_map(|(k, c, at)| due(at, now).map(|d| (k, c, at, d)))
            .collect();
        for (key, customer_id, at, days) in due_now {
            // Sent once across every node: the outbox takes the tag conditionally.
            let tag = format!("expiry:{env}:{}:{days}", key.as_str());
            if outbox.known_sent(&tag) {
                continue;
            }
            let Ok(Some(c)) = store.get_customer(customer_id).await else {
                continue;
            };
            if !c.notify_expiry {
                continue;
            }
            let tz = format::zone(&c.timezone);
            let body = format!(
                "Hello {},\n\nyour license {} expires on {} (in {} days or less).\nRenew it with your vendor to keep using the software.\n",
                c.name,
                format::mask_key(key.as_str()),
                format::time_in(at, tz),
                days
            );
            match outbox
                .send(
                    &c.email,
                    &format!("Your license expires within {days} days"),
                    &body,
                    "expiry",
                    &tag,
                    "",
                )
                .await
            {
                Ok(Some(_)) => sent += 1,
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "could not write an expiry reminder"),
            }
        }
    }
    sent
}

/// Looks for due reminders every `every`.
pub fn spawn(engine: Arc<Engine>, outbox: Arc<Outbox>, every: Duration) {
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let n = send_due_reminders(&engine, &outbox, Utc::now()).await;
            if n > 0 {
                tracing::info!(reminders = n, "expiry reminders written");
            }
        }
    });
}

/// Writes the activation alert for a new device, if the owner wants it.
pub async fn activation_alert(
    engine: Arc<Engine>,
    services: Arc<Services>,
    env: Environment,
    key: LicenseKey,
    identifier: crate::domain::Identifier,
) {
    // A script activating many devices must not turn into a mail storm.
    if !services.alert_budget.allow(env, &key) {
        tracing::debug!("activation alert skipped: this license's alert budget is used up");
        return;
    }
    let store = engine.store().as_ref();
    let Ok(Some(l)) = store.get_license(env, &key).await else {
        return;
    };
    let Some(cid) = l.customer_id else {
        return;
    };
    let Ok(Some(c)) = store.get_customer(cid).await else {
        return;
    };
    if !c.notify_activations {
        return;
    }
    let body = format!(
        "Hello {},\n\na new device, {:?}, was activated on your license {} ({} in use).\nIf that was not you, deactivate it in the customer portal (Activations) and contact your vendor.\n",
        c.name,
        // Quoted data, invisible characters escaped: never free text in the mail.
        identifier.shown(),
        format::mask_key(key.as_str()),
        format::activations(l.active_count() as u32, l.activation_limit.get())
    );
    if let Err(e) = services
        .outbox
        .send(
            &c.email,
            "A new device was activated on your license",
            &body,
            "activation",
            "",
            "",
        )
        .await
    {
        tracing::warn!(error = %e, "could not write an activation alert");
    }
}

/// Activation alerts allowed per license and hour.
pub const ALERTS_PER_HOUR: u32 = 5;

/// How many activation alerts each license may still send this hour (bounded;
/// a license not seen for an hour is forgotten).
pub struct AlertBudget {
    used: moka::sync::Cache<(Environment, String), (std::time::Instant, u32)>,
}

impl Default for AlertBudget {
    fn default() -> Self {
        AlertBudget {
            used: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(3600))
                .build(),
        }
    }
}

impl AlertBudget {
    /// Takes one alert from the license's hourly budget; false when none is left.
    pub fn allow(&self, env: Environment, key: &LicenseKey) -> bool {
        let now = std::time::Instant::now();
        let k = (env, key.as_str().to_owned());
        let mut allowed = false;
        self.used.entry(k).and_upsert_with(|old| {
            let (start, n) = match old.map(|e| e.into_value()) {
                Some((start, n)) if now.duration_since(start) < Duration::from_secs(3600) => {
                    (start, n)
                }
                _ => (now, 0),
            };
            allowed = n < ALERTS_PER_HOUR;
            (start, n.saturating_add(1).min(ALERTS_PER_HOUR))
        });
        allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration as D;

    /// Security item 5: alerts are limited per license.
    #[test]
    fn activation_alerts_have_a_budget_per_license() {
        let b = AlertBudget::default();
        let k = LicenseKey::parse("ABCDE-12345").unwrap();
        let other = LicenseKey::parse("FGHIJ-67890").unwrap();
        let sent = (0..20)
            .filter(|_| b.allow(Environment::Production, &k))
            .count();
        assert_eq!(sent, ALERTS_PER_HOUR as usize);
        assert!(b.allow(Environment::Production, &other));
        assert!(b.allow(Environment::Staging, &k));
    }

    #[test]
    fn the_nearest_threshold_is_due() {
        let now = Utc::now();
        for (left, want) in [
            (D::days(40), None),
            (D::days(30), Some(30)),
            (D::days(20), Some(30)),
            (D::days(14), Some(14)),
            (D::days(8), Some(14)),
            (D::days(7), Some(7)),
            (D::hours(1), Some(7)),
            (D::hours(-1), None),
        ] {
            assert_eq!(due(now + left, now), want, "{left:?}");
        }
    }
}
