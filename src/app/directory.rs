//! The admin accounts, kept in the store as one secret record (a handful of
//! rows, written rarely) and mirrored in memory for every request.

use parking_lot::RwLock;
use uuid::Uuid;

use crate::domain::admin::{self, AdminRuleError, AdminUser};
use crate::store::{Store, StoreError};

/// Name of the secret that holds the admin list (MessagePack).
pub const ADMINS_SECRET: &str = "portal.admins";

/// Why an admin list change failed.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error(transparent)]
    Rule(#[from] AdminRuleError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Admin accounts by id and email.
pub struct AdminDirectory {
    list: RwLock<Vec<AdminUser>>,
    /// Serialises read-modify-write of the stored list on this node.
    write: tokio::sync::Mutex<()>,
}

fn decode(bytes: &[u8]) -> Result<Vec<AdminUser>, StoreError> {
    rmp_serde::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("admin list: {e}")))
}

fn encode(list: &[AdminUser]) -> Result<Vec<u8>, StoreError> {
    rmp_serde::to_vec_named(list).map_err(|e| StoreError::Corrupt(format!("admin list: {e}")))
}

impl AdminDirectory {
    pub async fn load(store: &dyn Store) -> Result<AdminDirectory, StoreError> {
        let list = match store.get_secret(ADMINS_SECRET).await? {
            Some(b) => decode(&b)?,
            None => Vec::new(),
        };
        Ok(AdminDirectory {
            list: RwLock::new(list),
            write: tokio::sync::Mutex::new(()),
        })
    }

    pub fn all(&self) -> Vec<AdminUser> {
        self.list.read().clone()
    }

    pub fn is_empty(&self) -> bool {
        self.list.read().is_empty()
    }

    pub fn by_id(&self, id: Uuid) -> Option<AdminUser> {
        self.list.read().iter().find(|a| a.id == id).cloned()
    }

    pub fn by_email(&self, email: &str) -> Option<AdminUser> {
        self.list.read().iter().find(|a| a.email == email).cloned()
    }

    /// Re-reads the list (another node may have changed it).
    pub async fn reload(&self, store: &dyn Store) -> Result<(), StoreError> {
        if let Some(b) = store.get_secret(ADMINS_SECRET).await? {
            *self.list.write() = decode(&b)?;
        }
        Ok(())
    }

    /// Applies `change` to the freshest stored list and saves it.
    async fn modify<T>(
        &self,
        store: &dyn Store,
        change: impl FnOnce(&mut Vec<AdminUser>) -> Result<T, AdminRuleError>,
    ) -> Result<T, DirectoryError> {
        let _g = self.write.lock().await;
        let mut list = match store.get_secret(ADMINS_SECRET).await? {
            Some(b) => decode(&b)?,
            None => Vec::new(),
        };
        let out = change(&mut list)?;
        store.put_secret(ADMINS_SECRET, &encode(&list)?).await?;
        *self.list.write() = list;
        Ok(out)
    }

    pub async fn upsert(&self, store: &dyn Store, user: AdminUser) -> Result<(), DirectoryError> {
        self.modify(store, |l| admin::upsert(l, user)).await
    }

    pub async fn remove(&self, store: &dyn Store, id: Uuid) -> Result<AdminUser, DirectoryError> {
        self.modify(store, |l| admin::remove(l, id)).await
    }
}
