//! Keys kept in the store and shared by every node: made once, at the first
//! start; signing keys rotate per environment (`rotate`) and every node picks
//! a rotation up within [`REFRESH_SECS`] (`spawn_refresh`).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use ed25519_dalek::SigningKey;

use super::error::AppError;
use crate::crypto::keyring::{EnvKeys, StoredRing};
use crate::crypto::Signers;
use crate::domain::Environment;
use crate::store::{Store, StoreError};

/// How often a node reads the rings for rotations made elsewhere.
pub const REFRESH_SECS: u64 = 15;

/// The single key of releases before rotation; still read once to seed the ring.
fn legacy_name(env: Environment) -> String {
    format!("signing_key.{env}")
}

fn ring_name(env: Environment) -> String {
    format!("signing_keys.{env}")
}

/// The stored ring of `env` and its bytes; made at the first start from the
/// key kept before rotation existed (or a fresh one). The first node to write
/// a value wins; the others read it.
async fn load_ring(
    store: &dyn Store,
    env: Environment,
) -> Result<(StoredRing, Vec<u8>), StoreError> {
    let bytes = match store.get_secret(&ring_name(env)).await? {
        Some(b) => b,
        None => {
            let fresh = SigningKey::generate(&mut rand::rngs::OsRng);
            let legacy = store
                .put_secret_if_absent(&legacy_name(env), fresh.as_bytes())
                .await?;
            let ring = StoredRing::single(legacy, Utc::now());
            store
                .put_secret_if_absent(&ring_name(env), &ring.encode())
                .await?
        }
    };
    let ring = StoredRing::decode(&bytes)
        .map_err(|e| StoreError::Corrupt(format!("signing keys of {env}: {e}")))?;
    Ok((ring, bytes))
}

/// Loads each environment's signing keys (see [`load_ring`]).
pub async fn load_signers(store: &dyn Store) -> Result<Signers, StoreError> {
    let (production, _) = load_ring(store, Environment::Production).await?;
    let (staging, _) = load_ring(store, Environment::Staging).await?;
    Ok(Signers::new(&production, &staging))
}

/// Makes a new current key for `env`; the old one keeps verifying for the
/// life of an offline file it signed. Audited; a rotation racing another
/// node's is refused (409) rather than lost. Returns the new key id.
pub async fn rotate(
    store: &dyn Store,
    signers: &Signers,
    env: Environment,
    who: &str,
) -> Result<String, AppError> {
    let (ring, bytes) = load_ring(store, env).await?;
    let fresh = SigningKey::generate(&mut rand::rngs::OsRng);
    let next = ring
        .rotated(fresh.as_bytes().to_vec(), Utc::now())
        .map_err(|e| AppError::Conflict(format!("Not rotated: {e}.")))?;
    if !store
        .swap_secret(&ring_name(env), &bytes, &next.encode())
        .await?
    {
        return Err(AppError::Conflict(
            "The signing keys changed meanwhile (another rotation); reload.".into(),
        ));
    }
    // The ids as the store had them: this node's copy may be behind another node's rotation.
    let old_id = EnvKeys::from_ring(&ring).current().key_id.clone();
    signers.replace(env, &next);
    let new_id = signers.get(env).current().key_id.clone();
    let audit = crate::engine::origin::entry(who, "signing_key.rotated", None, Utc::now())
        .change(&old_id, &new_id)
        .detail(format!("signing key {new_id} replaces {old_id}"));
    store.append_audit(env, &audit).await?;
    tracing::info!(%env, old = %old_id, new = %new_id, "signing key rotated");
    Ok(new_id)
}

/// Reads both rings every [`REFRESH_SECS`] and takes a rotation another node made.
pub fn spawn_refresh(store: Arc<dyn Store>, signers: Arc<Signers>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(REFRESH_SECS));
        tick.tick().await;
        loop {
            tick.tick().await;
            for env in Environment::ALL {
                match load_ring(store.as_ref(), env).await {
                    Ok((ring, _)) => {
                        if signers.get(env).ids() != EnvKeys::from_ring(&ring).ids() {
                            signers.replace(env, &ring);
                        }
                    }
                    Err(e) => tracing::debug!(%env, error = %e, "could not read the signing keys"),
                }
            }
        }
    });
}

/// Whether the store answers (a read of the production signing key): the
/// backend's name and the outcome, for `/readyz`.
pub async fn readiness(store: &dyn Store) -> (&'static str, Result<(), StoreError>) {
    let answer = store.get_secret("signing_key.production").await.map(|_| ());
    (store.backend(), answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::EnvSigner;
    use crate::store::embedded::EmbeddedStore;

    /// A data folder of the release before rotation holds one key per
    /// environment: it becomes the ring's current key, so pinned clients go on.
    #[tokio::test]
    async fn the_key_of_the_previous_release_stays_current_and_a_rotation_needs_the_ring_unchanged()
    {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path(), 8).unwrap();
        let legacy = SigningKey::generate(&mut rand::rngs::OsRng);
        store
            .put_secret("signing_key.production", legacy.as_bytes())
            .await
            .unwrap();
        let signers = load_signers(&store).await.unwrap();
        let want = EnvSigner::new(legacy).key_id;
        assert_eq!(signers.get(Environment::Production).current().key_id, want);
        assert_eq!(
            load_signers(&store)
                .await
                .unwrap()
                .get(Environment::Production)
                .ids(),
            vec![want.clone()]
        );
        // Rotating twice from two views of the same ring: the second loses.
        let (_, bytes) = load_ring(&store, Environment::Production).await.unwrap();
        let id = rotate(&store, &signers, Environment::Production, "t")
            .await
            .unwrap();
        assert_ne!(id, want);
        let stale = StoredRing::decode(&bytes)
            .unwrap()
            .rotated(vec![7; 32], Utc::now())
            .unwrap();
        let swapped = store
            .swap_secret("signing_keys.production", &bytes, &stale.encode())
            .await
            .unwrap();
        assert!(!swapped, "a rotation from a stale ring is refused");
        let reread = load_signers(&store).await.unwrap();
        assert_eq!(reread.get(Environment::Production).ids(), vec![id, want]);
    }
}
