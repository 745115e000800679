//! Expiry reminders 30, 14 and 7 days before, for customers who want them
//! (activation alerts are in `app::alerts`).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::app::format;
use crate::app::mail::Outbox;
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration as D;

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
