//! The admin API owner token: made at first start or rotated from either front
//! door, kept as its SHA-256 (a high-entropy token needs no slow hash).

use rand::RngCore;

use parking_lot::RwLock;

use super::error::AppError;
use super::state::hash_token;
use crate::domain::Environment;
use crate::store::Store;

/// Name of the secret holding the admin API token's hash.
pub const ADMIN_TOKEN_SECRET: &str = "admin_token_sha256";

/// A fresh high-entropy admin API token.
pub fn new_admin_token() -> String {
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("kw_{}", hex::encode(bytes))
}

/// Replaces the token; the old one stops working on this node at once. The new
/// token is returned to be shown once. The rotation is audited in both
/// environments' logs (the token is global) with who did it.
pub async fn rotate(
    store: &dyn Store,
    current: &RwLock<[u8; 32]>,
    who: &str,
) -> Result<String, AppError> {
    let token = new_admin_token();
    let hash = hash_token(&token);
    store.put_secret(ADMIN_TOKEN_SECRET, &hash).await?;
    *current.write() = hash;
    let now = chrono::Utc::now();
    for env in Environment::ALL {
        let entry = crate::engine::origin::entry(who, "admin_token.rotated", None, now)
            .detail("admin API token rotated; the old token no longer works");
        store.append_audit(env, &entry).await?;
    }
    tracing::info!(by = who, "admin API token rotated");
    Ok(token)
}
