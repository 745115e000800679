//! The admin API owner token: made at first start or rotated from either front
//! door, kept as its SHA-256 (a high-entropy token needs no slow hash).

use rand::RngCore;

use super::state::hash_token;
use super::AppState;
use crate::store::StoreError;

/// Name of the secret holding the admin API token's hash.
pub const ADMIN_TOKEN_SECRET: &str = "admin_token_sha256";

/// A fresh high-entropy admin API token.
pub fn new_admin_token() -> String {
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("kw_{}", hex::encode(bytes))
}

/// Replaces the token; the old one stops working on this node at once. The new
/// token is returned to be shown once. `who` is logged (the API or an admin).
pub async fn rotate(state: &AppState, who: &str) -> Result<String, StoreError> {
    let token = new_admin_token();
    let hash = hash_token(&token);
    state
        .engine
        .store()
        .put_secret(ADMIN_TOKEN_SECRET, &hash)
        .await?;
    *state.admin_token_hash.write() = hash;
    tracing::info!(by = who, "admin API token rotated");
    Ok(token)
}
