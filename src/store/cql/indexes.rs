//! The index tables of CQL (`licenses_by_status`, `_by_customer`, `_by_product`):
//! written after the license partition committed, so they follow a change
//! rather than guard it. Only the rows a change moves are touched.

use super::statements::EnvStatements;
use super::CqlStore;
use crate::domain::License;
use crate::store::StoreError;

/// Buckets of the bucketed index tables (`bucket = hash(key) % BUCKETS`).
pub(super) const BUCKETS: u64 = 16;

/// Stable bucket of a key for the bucketed index tables (FNV-1a).
fn bucket(key: &str) -> i32 {
    let h = key.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    });
    (h % BUCKETS) as i32
}

impl CqlStore {
    /// Moves the index rows of `key` from `before` to `after` (`None`: absent).
    pub(super) async fn reindex(
        &self,
        st: &EnvStatements,
        before: Option<&License>,
        after: Option<&License>,
        key: &str,
    ) -> Result<(), StoreError> {
        if let Some(b) = before {
            self.drop_index_rows(st, b, after, key).await?;
        }
        if let Some(a) = after {
            self.add_index_rows(st, before, a, key).await?;
        }
        Ok(())
    }

    /// Deletes the rows of `before` that `after` no longer matches.
    async fn drop_index_rows(
        &self,
        st: &EnvStatements,
        b: &License,
        after: Option<&License>,
        key: &str,
    ) -> Result<(), StoreError> {
        if after.is_none_or(|a| a.status != b.status || a.expires_at != b.expires_at) {
            self.exec(&st.by_status_del, (b.status.as_str(), bucket(key), key))
                .await?;
        }
        if b.customer_id.is_some() && after.is_none_or(|a| a.customer_id != b.customer_id) {
            self.exec(&st.by_customer_del, (b.customer_id, key)).await?;
        }
        if after.is_none() {
            self.exec(&st.by_product_del, (b.product_id, bucket(key), key))
                .await?;
        }
        Ok(())
    }

    /// Writes the rows of `a` that `before` did not have.
    async fn add_index_rows(
        &self,
        st: &EnvStatements,
        before: Option<&License>,
        a: &License,
        key: &str,
    ) -> Result<(), StoreError> {
        if before.is_none_or(|b| b.status != a.status || b.expires_at != a.expires_at) {
            self.exec(
                &st.by_status_put,
                (a.status.as_str(), bucket(key), key, a.expires_at),
            )
            .await?;
        }
        if let Some(c) = a
            .customer_id
            .filter(|c| before.is_none_or(|b| b.customer_id != Some(*c)))
        {
            self.exec(&st.by_customer_put, (c, key)).await?;
        }
        if before.is_none() {
            self.exec(&st.by_product_put, (a.product_id, bucket(key), key))
                .await?;
        }
        Ok(())
    }
}
