//! Admin accounts on CQL (global keyspace): one row per admin; every write is a
//! lightweight transaction on the row's `version` (`INSERT … IF NOT EXISTS`,
//! `UPDATE … IF version = ?`, `DELETE … IF version = ?`), so two nodes editing
//! the same admin cannot both win.

use futures_util::TryStreamExt;
use uuid::Uuid;

use super::rows::{applied, decode, encode};
use super::{corrupt, down, CqlStore};
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
        let pager = self
            .session
            .execute_iter(self.global.admin_all.clone(), ())
            .await
            .map_err(down)?;
        let mut stream = pager
            .rows_stream::<(Option<i64>, Option<Vec<u8>>)>()
            .map_err(corrupt)?;
        let mut out = Vec::new();
        while let Some((version, body)) = stream.try_next().await.map_err(down)? {
            if let Some(b) = body {
                let mut a: AdminUser = decode(&b)?;
                a.version = version.unwrap_or(0) as u64;
                out.push(a);
            }
        }
        Ok(out)
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
