//! Persists time-based expiry: licenses past their expiry plus grace become `expired`.
//! Answers never wait for it; verdicts compute expiry from `expires_at` at answer time.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use super::Engine;
use crate::domain::{Action, Environment};

/// Runs one pass over both environments; returns how many licenses it expired.
pub async fn sweep_once(engine: &Engine) -> usize {
    let mut expired = 0;
    for env in Environment::ALL {
        let grace = engine.settings.grace(env);
        let keys = match engine
            .store
            .licenses_due_for_expiry(env, Utc::now(), grace)
            .await
        {
            Ok(k) => k,
            Err(e) => {
                tracing::warn!(error = %e, "expiry sweep could not list licenses");
                continue;
            }
        };
        for key in keys {
            match engine.act(env, &key, Action::Expire, "system").await {
                Ok(_) => expired += 1,
                Err(e) => tracing::debug!(key = %key.masked(), error = %e, "not expired"),
            }
        }
    }
    expired
}

/// Sweeps every `interval` until the process ends.
pub fn spawn(engine: Arc<Engine>, interval: Duration) {
    actix_rt::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        loop {
            tick.tick().await;
            let n = sweep_once(&engine).await;
            if n > 0 {
                tracing::info!(count = n, "licenses expired");
            }
        }
    });
}
