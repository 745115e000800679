//! The change-log reader: about once a second each node reads the changes other
//! nodes made: it drops the resident actors and NOT_FOUND entries of changed
//! licenses, reloads an environment's settings, and tells the admin directory
//! (through [`Engine::admin_changes`]) to reload. Cost follows the number of
//! changes, not the number of resident licenses.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use uuid::Uuid;

use super::Engine;
use crate::domain::{Environment, LicenseKey};
use crate::store::{Change, ChangeKind};

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
                            engine.apply(env, &c).await;
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

impl Engine {
    /// Applies one change another node made.
    async fn apply(&self, env: Environment, c: &Change) {
        match c.kind {
            ChangeKind::License | ChangeKind::Deleted => {
                if let Ok(key) = LicenseKey::parse(&c.key) {
                    self.refresh(env, key).await;
                }
            }
            ChangeKind::Settings => self.reload_settings(env).await,
            ChangeKind::Admins => {
                self.admin_changes.send_modify(|n| *n = n.wrapping_add(1));
            }
        }
    }

    /// Reads an environment's settings again (another node saved them).
    async fn reload_settings(&self, env: Environment) {
        match self.store.get_settings(env).await {
            Ok(Some(s)) => {
                tracing::info!(%env, "settings changed on another node; applied");
                self.settings.set(env, s);
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "could not reload changed settings"),
        }
    }

    /// A receiver that wakes when another node wrote an admin account, so the
    /// app reloads its admin directory.
    pub fn admin_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.admin_changes.subscribe()
    }
}
