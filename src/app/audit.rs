//! The audit log as both front doors read it. Entries are written where the
//! change is made (the engine for licenses and settings, `app` for products,
//! customers and tokens), each in one place.

use super::error::AppError;
use crate::domain::{AuditEntry, Environment};
use crate::store::{AuditQuery, Store};

/// Most entries one read returns.
pub const MAX_LIMIT: usize = 1000;

/// The newest entries of an environment, optionally for one license key and/or
/// one action; empty filters mean all.
pub async fn list(
    store: &dyn Store,
    env: Environment,
    license: &str,
    action: &str,
    limit: usize,
) -> Result<Vec<AuditEntry>, AppError> {
    let q = AuditQuery {
        license_key: Some(license.trim().to_owned()).filter(|s| !s.is_empty()),
        action: Some(action.trim().to_owned()).filter(|s| !s.is_empty()),
        limit: limit.clamp(1, MAX_LIMIT),
    };
    Ok(store.list_audit(env, &q).await?)
}
