//! The kill switch's step: revoke up to `n` licenses of a product that can
//! still be revoked. Idempotent by nature (a revoked license is not found
//! again), so a node taking the job over simply goes on.

use std::collections::HashMap;
use std::sync::Arc;

use uuid::Uuid;

use super::run::Stop;
use crate::domain::status::admin_actions;
use crate::domain::{Action, Environment, LicenseKey, LicenseStatus};
use crate::engine::{Engine, EngineError};
use crate::store::{LicenseQuery, SortField};

/// Times a busy license is tried again within one step.
const BUSY_RETRIES: usize = 3;

/// The statuses a license can be revoked from (the domain's rule, read once).
pub fn revocable() -> Vec<LicenseStatus> {
    LicenseStatus::ALL
        .into_iter()
        .filter(|s| admin_actions(*s).contains(&Action::Revoke))
        .collect()
}

/// The catalog query of `product_id`'s licenses in `status`, `n` per page.
pub fn revocable_query(product_id: Uuid, status: LicenseStatus, n: u32) -> LicenseQuery {
    LicenseQuery {
        product_id: Some(product_id),
        status: Some(status),
        sort: SortField::Key,
        page: 1,
        per_page: n,
        ..LicenseQuery::default()
    }
}

/// Up to `n` keys of `product_id` that can still be revoked, by this node's catalog.
pub fn revocable_keys(
    engine: &Engine,
    env: Environment,
    product_id: Uuid,
    n: u32,
) -> Vec<LicenseKey> {
    let (products, customers) = (HashMap::new(), HashMap::new());
    let mut keys = Vec::new();
    for status in revocable() {
        let q = revocable_query(product_id, status, n);
        let page = engine.catalog().query(env, &q, &products, &customers);
        keys.extend(page.items.into_iter().map(|s| s.key));
        if keys.len() >= n as usize {
            break;
        }
    }
    keys.truncate(n as usize);
    keys
}

/// Revokes up to `n` licenses; returns how many, or `remaining` when none is
/// left (the job is then done, whatever its first count said).
pub(super) async fn revoke_step(
    engine: Arc<Engine>,
    env: Environment,
    product_id: Uuid,
    who: String,
    n: u32,
    remaining: u32,
) -> Result<u32, Stop> {
    engine.catalog().wait_ready().await;
    let keys = revocable_keys(&engine, env, product_id, n);
    if keys.is_empty() {
        return Ok(remaining);
    }
    let mut revoked = 0;
    for key in keys {
        for attempt in 0..=BUSY_RETRIES {
            match engine.act(env, &key, Action::Revoke, &who).await {
                Ok(_) => revoked += 1,
                // Revoked or deleted meanwhile: nothing to do.
                Err(EngineError::Transition(_) | EngineError::NotFound) => {}
                Err(EngineError::Busy) if attempt < BUSY_RETRIES => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
                Err(e) => return Err(Stop::Failed(format!("revoking {}: {e}", key.masked()))),
            }
            break;
        }
    }
    Ok(revoked)
}
