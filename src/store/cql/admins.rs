//! Admin accounts on CQL (global keyspace): one row per admin; every write is a
//! lightweight transaction on the row's `version` (`INSERT … IF NOT EXISTS`,
//! `UPDATE … IF version = ?`, `DELETE … IF version = ?`), so two nodes editing
//! the same admin cannot both win.

use uuid::Uuid;

use super::rows::{applied, encode};
use super::CqlStore;
use crate::domain::AdminUser;
use crate::store::StoreError;

impl CqlStore {
    /// Tells the other nodes to reload their admin list (admins are global; the
    /// row goes to production's change log, which every node reads).
    pub(super) async fn log_admin_change(&self) -> Result<(), StoreError> {
        let st = self.env(crate::domain::Environment::Production);
        self.log_change(st, "", crate::store::ChangeKind::Admins)
            .await
    }

    pub(super) async fn read_admins(&self) -> Result<Vec<AdminUser>, StoreError> {
        let rows = self.all_versioned(&self.global.admin_all).await?;
        Ok(rows
            .into_iter()
            .map(|(version, a)| AdminUser { version, ..a })
            .collect())
    }

    pub(super) async fn write_admin(
        &self,
        admin: &AdminUser,
        expected: Option<u64>,
    ) -> Result<AdminUser, StoreError> {
        let mut stored = admin.clone();
        stored.version = expected.map_or(1, |v| v + 1);
        let body = encode(&stored)?;
        let version = stored.version as i64;
        let r = match expected {
            None => {
                self.execute(&self.global.admin_insert, (admin.id, version, body))
                    .await?
            }
            Some(v) => {
                self.execute(
                    &self.global.admin_update,
                    (version, body, admin.id, v as i64),
                )
                .await?
            }
        };
        if !applied(r)? {
            return Err(StoreError::admin_moved(admin.id));
        }
        Ok(stored)
    }

    pub(super) async fn remove_admin(&self, id: Uuid, expected: u64) -> Result<(), StoreError> {
        let r = self
            .execute(&self.global.admin_delete, (id, expected as i64))
            .await?;
        if !applied(r)? {
            return Err(StoreError::admin_moved(id));
        }
        Ok(())
    }
}
