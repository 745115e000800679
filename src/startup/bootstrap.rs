//! First start: the secrets and the first account every node then shares through
//! the store (the admin API token, the first admin, the portal's link key). Each
//! is made once; a node that loses the race to another reads the winner's.

use rand::RngCore;

use super::StartError;
use crate::app::directory::AdminDirectory;
use crate::app::state::hash_token;
use crate::app::tokens::{new_admin_token, ADMIN_TOKEN_SECRET};
use crate::store::{Store, StoreError};

/// Shortest admin API token accepted from `KEYWARDEN_ADMIN_TOKEN`.
pub const MIN_ADMIN_TOKEN_LEN: usize = 24;

/// A chosen admin token must be long enough not to be guessed (security item 13).
fn check_admin_token(token: &str) -> Result<(), StartError> {
    if token.chars().count() < MIN_ADMIN_TOKEN_LEN {
        return Err(StartError::Bootstrap(format!(
            "KEYWARDEN_ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN_LEN} characters \
             (it is the owner's key to the whole admin API); unset it to have one made"
        )));
    }
    Ok(())
}

/// Returns the stored token hash; on first start makes a token (or takes
/// `KEYWARDEN_ADMIN_TOKEN`) and returns it so it can be printed once.
pub(super) async fn admin_token(
    store: &dyn Store,
) -> Result<([u8; 32], Option<String>), StartError> {
    if let Ok(fixed) = std::env::var("KEYWARDEN_ADMIN_TOKEN") {
        let fixed = fixed.trim().to_owned();
        if !fixed.is_empty() {
            check_admin_token(&fixed)?;
            let h = hash_token(&fixed);
            store.put_secret(ADMIN_TOKEN_SECRET, &h).await?;
            return Ok((h, None));
        }
    }
    if let Some(existing) = store.get_secret(ADMIN_TOKEN_SECRET).await? {
        let h: [u8; 32] = existing
            .try_into()
            .map_err(|_| StoreError::Corrupt("admin token hash is not 32 bytes".into()))?;
        return Ok((h, None));
    }
    let token = new_admin_token();
    let kept = store
        .put_secret_if_absent(ADMIN_TOKEN_SECRET, &hash_token(&token))
        .await?;
    let h: [u8; 32] = kept
        .try_into()
        .map_err(|_| StoreError::Corrupt("admin token hash is not 32 bytes".into()))?;
    // Another node may have won the race; then our token is not the one kept.
    let shown = (h == hash_token(&token)).then_some(token);
    Ok((h, shown))
}

/// Email of the first admin when `KEYWARDEN_ADMIN_EMAIL` is not set.
pub const DEFAULT_ADMIN_EMAIL: &str = "admin@keywarden.local";

/// Loads the admin accounts; on first start creates the first full-access admin
/// from `KEYWARDEN_ADMIN_EMAIL`/`KEYWARDEN_ADMIN_PASSWORD`, or with a random
/// password that is returned to be printed once.
pub(super) async fn admin_accounts(
    store: &dyn Store,
) -> Result<(AdminDirectory, Option<(String, Option<String>)>), StartError> {
    let dir = AdminDirectory::load(store).await?;
    if !dir.is_empty() {
        return Ok((dir, None));
    }
    let email = std::env::var("KEYWARDEN_ADMIN_EMAIL")
        .ok()
        .filter(|e| !e.trim().is_empty())
        .map(|e| crate::domain::customer::normalize_email(&e))
        .transpose()
        .map_err(|e| std::io::Error::other(format!("KEYWARDEN_ADMIN_EMAIL {e}")))?
        .unwrap_or_else(|| DEFAULT_ADMIN_EMAIL.into());
    let (password, shown) = match std::env::var("KEYWARDEN_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => {
            crate::crypto::password::check_strength(&p)
                .map_err(|e| std::io::Error::other(format!("KEYWARDEN_ADMIN_PASSWORD {e}")))?;
            (p, None)
        }
        _ => {
            let p = crate::app::sessions::random_token()[..20].to_owned();
            (p.clone(), Some(p))
        }
    };
    let user = crate::domain::AdminUser {
        id: first_admin_id(&email),
        email: email.clone(),
        name: "Administrator".into(),
        password_hash: crate::crypto::password::hash(&password).map_err(std::io::Error::other)?,
        role: crate::domain::Role::Full,
        created_at: chrono::Utc::now(),
        last_sign_in: None,
        version: 0,
        theme: Default::default(),
        second_factor: None,
    };
    match dir.upsert(store, user).await {
        Ok(()) => Ok((dir, Some((email, shown)))),
        // Another node starting at the same moment made the first admin.
        // (Same email, same id: its conditional insert lost.)
        Err(
            crate::app::directory::DirectoryError::Conflict
            | crate::app::directory::DirectoryError::Rule(
                crate::domain::admin::AdminRuleError::EmailTaken,
            ),
        ) => {
            dir.reload(store).await?;
            Ok((dir, None))
        }
        Err(e) => {
            Err(std::io::Error::other(format!("could not create the first admin: {e}")).into())
        }
    }
}

/// The first admin's id, derived from its email, so that two nodes starting on
/// an empty store at once write the same row (the second insert is a conflict)
/// instead of two admins with one email.
fn first_admin_id(email: &str) -> uuid::Uuid {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("keywarden first admin\u{1}{email}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_sha1_bytes(bytes).into_uuid()
}

/// The portal's HMAC key (download links, password links, license handles),
/// made once and shared by every node through the store.
pub(super) async fn link_key(store: &dyn Store) -> Result<crate::app::links::LinkKey, StoreError> {
    let mut fresh = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut fresh);
    let kept = store
        .put_secret_if_absent(crate::app::links::LINK_KEY_SECRET, &fresh)
        .await?;
    let bytes: [u8; 32] = kept
        .try_into()
        .map_err(|_| StoreError::Corrupt("portal link key is not 32 bytes".into()))?;
    Ok(crate::app::links::LinkKey::new(bytes))
}
