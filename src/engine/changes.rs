//! The change-log reader: about once a second each node reads the license changes
//! other nodes made and drops the resident actors and NOT_FOUND entries they name.
//! Cost follows the number of changes, not the number of resident licenses.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use uuid::Uuid;

use super::Engine;
use crate::domain::{Environment, LicenseKey};

/// Reads a little before the last read time so a change committed with a slightly
/// older clock is not missed; ids already applied are skipped.
const OVERLAP: chrono::Duration = chrono::Duration::seconds(3);

/// Polls every `interval` until the process ends.
pub fn spawn(engine: Arc<Engine>, interval: Duration) {
    actix_rt::spawn(async move {
        let mut since = Utc::now() - OVERLAP;
        let mut seen: HashSet<Uuid> = HashSet::new();
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let started = Utc::now();
            let mut ok = true;
            let mut fresh = HashSet::new();
            for env in Environment::ALL {
                match engine.store.changes_since(env, since).await {
                    Ok(changes) => {
                        for c in changes {
                            fresh.insert(c.id);
                            if seen.contains(&c.id) {
                                continue;
                            }
                            if let Ok(key) = LicenseKey::parse(&c.key) {
                                engine.refresh(env, key).await;
                            }
                        }
                    }
                    Err(e) => {
                        ok = false;
                        tracing::warn!(error = %e, "change log read failed; will retry");
                    }
                }
            }
            if ok {
                since = started - OVERLAP;
                // Only ids inside the overlap window can come back.
                seen = fresh;
            } else {
                seen.extend(fresh);
            }
        }
    });
}
