//! Admin API keys (issue 14 part 2) as the store keeps them: each key one
//! secret row named by its token's hash (`api_key:<sha256>`), so checking a
//! presented token is one point read on any node, and a revocation counts on
//! every node at the next request. When and from where a key was last used is
//! a row of its own (`api_key_used:<id>`, written at most once a minute per
//! key and node), so a use never overwrites a revocation made meanwhile.
//! Backups carry both, as they carry every secret.

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::AppError;
use super::state::hash_token;
use crate::domain::api_key::{ApiKey, Permission};
use crate::domain::Environment;
use crate::store::Store;

const KEY_ROW: &str = "api_key:";
const USED_ROW: &str = "api_key_used:";
/// Longest key name.
pub const MAX_NAME: usize = 100;
/// Most keys kept (revoked ones included): listing reads them all.
pub const MAX_KEYS: usize = 1000;

/// What a new key is asked to be.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub name: String,
    pub environment: Option<Environment>,
    pub permissions: Vec<Permission>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// When and from where a key was last used.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LastUse {
    at: DateTime<Utc>,
    ip: Option<String>,
}

fn row_name(token_hash: &str) -> String {
    format!("{KEY_ROW}{token_hash}")
}

fn decode(bytes: &[u8]) -> Result<ApiKey, AppError> {
    serde_json::from_slice(bytes).map_err(|e| AppError::Internal(format!("api key row: {e}")))
}

fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, AppError> {
    serde_json::to_vec(v).map_err(|e| AppError::Internal(format!("api key row: {e}")))
}

/// Checks a new key's fields; the first problem as (field, message).
pub fn check(n: &NewApiKey, now: DateTime<Utc>) -> Result<(), (&'static str, String)> {
    let name = n.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(("name", format!("name must be 1 to {MAX_NAME} characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(("name", "name must not contain control characters".into()));
    }
    if n.permissions.is_empty() {
        return Err(("permissions", "give the key at least one permission".into()));
    }
    if n.expires_at.is_some_and(|e| e <= now) {
        return Err(("expires_at", "expires_at must be in the future".into()));
    }
    Ok(())
}

/// Makes a key; returns it with its token (shown this once, never stored).
pub async fn create(
    store: &dyn Store,
    n: NewApiKey,
    by: &str,
) -> Result<(ApiKey, String), AppError> {
    let now = Utc::now();
    check(&n, now).map_err(|(field, msg)| AppError::field(field, msg))?;
    if list(store).await?.len() >= MAX_KEYS {
        return Err(AppError::Conflict(format!(
            "at most {MAX_KEYS} API keys can be kept"
        )));
    }
    let mut secret = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let token = format!(
        "{}{}",
        ApiKey::token_prefix(n.environment),
        hex::encode(secret)
    );
    let mut permissions = n.permissions;
    permissions.sort();
    permissions.dedup();
    let key = ApiKey {
        id: Uuid::new_v4(),
        name: n.name.trim().to_owned(),
        environment: n.environment,
        permissions,
        prefix: token.chars().take(12).collect(),
        token_hash: hex::encode(hash_token(&token)),
        created_at: now,
        created_by: by.to_owned(),
        expires_at: n.expires_at,
        revoked_at: None,
        last_used_at: None,
        last_used_ip: None,
    };
    store
        .put_secret(&row_name(&key.token_hash), &encode(&key)?)
        .await?;
    audit(store, by, "api_key.created", &key, now).await?;
    Ok((key, token))
}

/// The key a presented token belongs to (revoked and expired ones too: the
/// caller decides), or None.
pub async fn find(store: &dyn Store, token: &str) -> Result<Option<ApiKey>, AppError> {
    let hash = hex::encode(hash_token(token));
    match store.get_secret(&row_name(&hash)).await? {
        None => Ok(None),
        // The row is named by the hash, so a found row matches the token.
        Some(bytes) => Ok(Some(decode(&bytes)?)),
    }
}

/// Every key, newest first, with its last use.
pub async fn list(store: &dyn Store) -> Result<Vec<ApiKey>, AppError> {
    let rows = store.list_secrets().await?;
    let mut uses = std::collections::HashMap::new();
    let mut keys = Vec::new();
    for (name, bytes) in &rows {
        if name.starts_with(KEY_ROW) {
            keys.push(decode(bytes)?);
        } else if let Some(id) = name.strip_prefix(USED_ROW) {
            if let Ok(u) = serde_json::from_slice::<LastUse>(bytes) {
                uses.insert(id.to_owned(), u);
            }
        }
    }
    for k in &mut keys {
        if let Some(u) = uses.remove(&k.id.to_string()) {
            k.last_used_at = Some(u.at);
            k.last_used_ip = u.ip;
        }
    }
    keys.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
    Ok(keys)
}

/// Revokes a key (it stays listed as revoked); revoking twice changes nothing.
pub async fn revoke(store: &dyn Store, id: Uuid, by: &str) -> Result<ApiKey, AppError> {
    let mut key = list(store)
        .await?
        .into_iter()
        .find(|k| k.id == id)
        .ok_or_else(|| AppError::NotFound("no such API key".into()))?;
    if key.revoked_at.is_some() {
        return Ok(key);
    }
    let now = Utc::now();
    key.revoked_at = Some(now);
    let (used_at, used_ip) = (key.last_used_at.take(), key.last_used_ip.take());
    store
        .put_secret(&row_name(&key.token_hash), &encode(&key)?)
        .await?;
    audit(store, by, "api_key.revoked", &key, now).await?;
    key.last_used_at = used_at;
    key.last_used_ip = used_ip;
    Ok(key)
}

/// Records a use of `key` (the caller throttles).
pub async fn record_use(
    store: &dyn Store,
    key: &ApiKey,
    ip: Option<String>,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    let row = format!("{USED_ROW}{}", key.id);
    store
        .put_secret(&row, &encode(&LastUse { at, ip })?)
        .await?;
    Ok(())
}

/// Which keys this node recorded a use of in the last minute (bounded), so a
/// busy integration writes its key's last use once a minute, not per request.
pub struct UseLog {
    recent: moka::sync::Cache<Uuid, ()>,
}

impl Default for UseLog {
    fn default() -> Self {
        UseLog {
            recent: moka::sync::Cache::builder()
                .max_capacity(MAX_KEYS as u64)
                .time_to_live(std::time::Duration::from_secs(60))
                .build(),
        }
    }
}

impl UseLog {
    /// Records that `key` was used from `ip` at `at`, off the request's path,
    /// unless this node did so within the minute.
    pub fn note(
        &self,
        state: &super::AppState,
        key: &ApiKey,
        ip: std::net::IpAddr,
        at: DateTime<Utc>,
    ) {
        if self.recent.contains_key(&key.id) {
            return;
        }
        self.recent.insert(key.id, ());
        let key = key.clone();
        let store = state.engine.store().clone();
        tokio::spawn(async move {
            if let Err(e) = record_use(store.as_ref(), &key, Some(ip.to_string()), at).await {
                tracing::warn!(error = %e, "could not record an API key's last use");
            }
        });
    }
}

/// Key changes are audited in the logs of the environments the key reaches.
async fn audit(
    store: &dyn Store,
    by: &str,
    action: &str,
    key: &ApiKey,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let perms: Vec<&str> = key.permissions.iter().map(|p| p.as_str()).collect();
    let envs: Vec<Environment> = match key.environment {
        Some(e) => vec![e],
        None => Environment::ALL.to_vec(),
    };
    for env in envs {
        let entry = crate::engine::origin::entry(by, action, None, now).detail(format!(
            "API key \"{}\" ({}…), permissions {}",
            key.name,
            key.prefix,
            perms.join(", ")
        ));
        store.append_audit(env, &entry).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(name: &str, perms: &[Permission]) -> NewApiKey {
        NewApiKey {
            name: name.into(),
            environment: None,
            permissions: perms.to_vec(),
            expires_at: None,
        }
    }

    #[test]
    fn new_keys_are_checked() {
        let now = Utc::now();
        let p = [Permission::LicensesRead];
        assert!(check(&new("crm", &p), now).is_ok());
        assert_eq!(check(&new(" ", &p), now).unwrap_err().0, "name");
        assert_eq!(
            check(&new(&"x".repeat(101), &p), now).unwrap_err().0,
            "name"
        );
        assert_eq!(check(&new("a\u{7}b", &p), now).unwrap_err().0, "name");
        assert_eq!(check(&new("crm", &[]), now).unwrap_err().0, "permissions");
        let mut past = new("crm", &p);
        past.expires_at = Some(now - chrono::Duration::seconds(1));
        assert_eq!(check(&past, now).unwrap_err().0, "expires_at");
    }
}
