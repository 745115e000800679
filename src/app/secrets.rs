//! Keys kept in the store and shared by every node: made once, at the first start.

use ed25519_dalek::SigningKey;

use crate::crypto::Signers;
use crate::domain::Environment;
use crate::store::{Store, StoreError};

/// Loads each environment's signing key, generating it on first start (the
/// first node to write it wins; the others read it).
pub async fn load_signers(store: &dyn Store) -> Result<Signers, StoreError> {
    let load = |env: Environment| async move {
        let fresh = SigningKey::generate(&mut rand::rngs::OsRng);
        let bytes = store
            .put_secret_if_absent(&format!("signing_key.{env}"), fresh.as_bytes())
            .await?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| StoreError::Corrupt(format!("signing key of {env} is not 32 bytes")))?;
        Ok::<_, StoreError>(SigningKey::from_bytes(&arr))
    };
    Ok(Signers::new(
        load(Environment::Production).await?,
        load(Environment::Staging).await?,
    ))
}

/// Whether the store answers (a read of the production signing key): the
/// backend's name and the outcome, for `/readyz`.
pub async fn readiness(store: &dyn Store) -> (&'static str, Result<(), StoreError>) {
    let answer = store.get_secret("signing_key.production").await.map(|_| ());
    (store.backend(), answer)
}
