//! Secrets on CQL (global keyspace): raw bytes by name; the first writer of a
//! name wins on every node (`IF NOT EXISTS`).

use futures_util::TryStreamExt;

use super::rows::{applied, blobs};
use super::{corrupt, down, CqlStore};
use crate::store::StoreError;

impl CqlStore {
    pub(super) async fn read_secret(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let r = self.execute(&self.global.secret_get, (name,)).await?;
        Ok(blobs(r)?.into_iter().next())
    }

    pub(super) async fn read_secrets(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let pager = self
            .session
            .execute_iter(self.global.secret_all.clone(), ())
            .await
            .map_err(down)?;
        let mut stream = pager
            .rows_stream::<(String, Option<Vec<u8>>)>()
            .map_err(corrupt)?;
        let mut out = Vec::new();
        while let Some((name, value)) = stream.try_next().await.map_err(down)? {
            out.push((name, value.unwrap_or_default()));
        }
        Ok(out)
    }

    /// Writes `value` unless `name` exists (the caller reads back the one kept).
    pub(super) async fn claim_secret(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        self.exec(&self.global.secret_put_if_absent, (name, value))
            .await?;
        Ok(())
    }

    /// Replaces `name`'s value if it is still `expected` (a lightweight transaction).
    pub(super) async fn cas_secret(
        &self,
        name: &str,
        expected: &[u8],
        value: &[u8],
    ) -> Result<bool, StoreError> {
        let r = self
            .execute(&self.global.secret_swap, (value, name, expected))
            .await?;
        applied(r)
    }

    pub(super) async fn write_secret(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        self.exec(&self.global.secret_put, (name, value)).await?;
        Ok(())
    }
}
