//! The admin accounts: one store row per admin, written conditionally on the
//! row's version, and mirrored in memory for every request. Releases before
//! rows kept the whole list in one secret (`portal.admins`); `load` copies it
//! into rows once (`migrate_legacy`).

use parking_lot::RwLock;
use uuid::Uuid;

use crate::domain::admin::{self, AdminRuleError, AdminUser};
use crate::store::{Store, StoreError};

/// Name of the legacy secret that held the whole admin list (MessagePack),
/// read only to copy it into rows.
pub const ADMINS_SECRET: &str = "portal.admins";

/// What a user is told when the admin they changed moved on elsewhere.
pub const CHANGED_ELSEWHERE: &str =
    "This admin was changed elsewhere; reload the page and try again.";

/// Why an admin change failed.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error(transparent)]
    Rule(#[from] AdminRuleError),
    /// The admin's row moved on (another node, another tab) since it was loaded;
    /// the directory has been reloaded.
    #[error("{CHANGED_ELSEWHERE}")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Admin accounts by id and email.
pub struct AdminDirectory {
    list: RwLock<Vec<AdminUser>>,
    /// Serialises this node's writes (other nodes are held off by the versions).
    write: tokio::sync::Mutex<()>,
}

/// Decodes the legacy one-list secret.
fn decode_legacy(bytes: &[u8]) -> Result<Vec<AdminUser>, StoreError> {
    rmp_serde::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("admin list: {e}")))
}

/// Written once every admin of the legacy list is a row; later starts skip the copy.
pub const ADMINS_COPIED_SECRET: &str = "portal.admins.copied";

/// Copies the legacy `portal.admins` list into rows, once. The inserts are
/// conditional, so two nodes starting at once do not duplicate an admin (nor
/// does a node that resumes a copy another one left half done); a node that
/// starts while another copies copies too, so it never serves a partial list.
/// Only when every admin is a row is the copy marked done; the legacy secret
/// is left as it was. Returns how many rows this call wrote.
pub async fn migrate_legacy(store: &dyn Store) -> Result<usize, StoreError> {
    if store.get_secret(ADMINS_COPIED_SECRET).await?.is_some() {
        return Ok(0);
    }
    let Some(bytes) = store.get_secret(ADMINS_SECRET).await? else {
        return Ok(0);
    };
    let mut copied = 0;
    for a in decode_legacy(&bytes)? {
        match store.put_admin(&a, None).await {
            Ok(_) => copied += 1,
            // Another node copied it first.
            Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    store
        .put_secret_if_absent(ADMINS_COPIED_SECRET, b"1")
        .await?;
    if copied > 0 {
        tracing::info!(admins = copied, "copied the admin list into admin rows");
    }
    Ok(copied)
}

/// The admins a backup restores: its rows, or for a backup taken before rows,
/// the list in its `portal.admins` secret.
pub fn admins_of_backup(
    rows: &[AdminUser],
    secrets: &[(String, Vec<u8>)],
) -> Result<Vec<AdminUser>, StoreError> {
    if !rows.is_empty() {
        return Ok(rows.to_vec());
    }
    match secrets.iter().find(|(n, _)| n == ADMINS_SECRET) {
        Some((_, bytes)) => decode_legacy(bytes),
        None => Ok(Vec::new()),
    }
}

/// Replaces every admin row with `admins` (restore: the backup's accounts, as
/// restoring the one-list secret used to replace the list).
pub async fn replace_rows(store: &dyn Store, admins: &[AdminUser]) -> Result<(), StoreError> {
    for a in store.list_admins().await? {
        store.delete_admin(a.id, a.version).await?;
    }
    for a in admins {
        store.put_admin(a, None).await?;
    }
    Ok(())
}

impl AdminDirectory {
    /// Reads the admin rows (after copying a legacy list into rows, once).
    pub async fn load(store: &dyn Store) -> Result<AdminDirectory, StoreError> {
        migrate_legacy(store).await?;
        Ok(AdminDirectory {
            list: RwLock::new(sorted(store.list_admins().await?)),
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

    /// Re-reads the rows (another node may have changed them).
    pub async fn reload(&self, store: &dyn Store) -> Result<(), StoreError> {
        let rows = sorted(store.list_admins().await?);
        *self.list.write() = rows;
        Ok(())
    }

    /// A lost conditional write: reload (best effort) and say so.
    async fn conflicted(&self, store: &dyn Store) -> DirectoryError {
        if let Err(e) = self.reload(store).await {
            tracing::warn!(error = %e, "could not re-read the admin rows after a conflict");
        }
        DirectoryError::Conflict
    }

    /// Adds (`user.version == 0`) or changes an admin. A change is written only
    /// if the row still has the version `user` was loaded with; the rules
    /// (unique email, one full admin) are checked against freshly listed rows.
    pub async fn upsert(&self, store: &dyn Store, user: AdminUser) -> Result<(), DirectoryError> {
        let _g = self.write.lock().await;
        let mut rows = store.list_admins().await?;
        let expected = (user.version != 0).then_some(user.version);
        let stored_version = rows.iter().find(|a| a.id == user.id).map(|a| a.version);
        if stored_version != expected {
            return Err(self.conflicted(store).await);
        }
        admin::upsert(&mut rows, user.clone())?;
        let saved = match store.put_admin(&user, expected).await {
            Ok(saved) => saved,
            Err(StoreError::Conflict(_)) => return Err(self.conflicted(store).await),
            Err(e) => return Err(e.into()),
        };
        // Only the written row is refreshed in the mirror: every other admin
        // keeps the version this node loaded, so a later edit of one that moved
        // on elsewhere is still caught as a conflict.
        let mut list = self.list.write();
        match list.iter_mut().find(|a| a.id == saved.id) {
            Some(slot) => *slot = saved,
            None => {
                list.push(saved);
                list.sort_by_key(|a| (a.created_at, a.id));
            }
        }
        Ok(())
    }

    /// Removes an admin if its row still has the version it was seen with
    /// (`seen`, or else the one this node loaded) and it is not the last full
    /// admin among the freshly listed rows.
    pub async fn remove(
        &self,
        store: &dyn Store,
        id: Uuid,
        seen: Option<u64>,
    ) -> Result<AdminUser, DirectoryError> {
        let _g = self.write.lock().await;
        let loaded = self.by_id(id).ok_or(AdminRuleError::Unknown)?;
        let version = seen.unwrap_or(loaded.version);
        let mut rows = store.list_admins().await?;
        match rows.iter().find(|a| a.id == id) {
            Some(a) if a.version == version => {}
            _ => return Err(self.conflicted(store).await),
        }
        let gone = admin::remove(&mut rows, id)?;
        match store.delete_admin(id, version).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(self.conflicted(store).await),
            Err(e) => return Err(e.into()),
        }
        self.list.write().retain(|a| a.id != id);
        Ok(gone)
    }
}

/// Rows in a stable order (oldest first), as the list used to be kept.
fn sorted(mut rows: Vec<AdminUser>) -> Vec<AdminUser> {
    rows.sort_by_key(|a| (a.created_at, a.id));
    rows
}
