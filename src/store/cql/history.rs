//! Activation history on CQL: deactivated activations leave the license
//! partition (deleted in the same conditional batch that deactivates them) and
//! are written to `activation_history` right after that batch applied. The
//! partition every conditional write reads therefore holds active devices only.
//! A node dying between the batch and the history write loses that history row
//! (display data), never a decision.

use futures_util::TryStreamExt;
use scylla::client::session::Session;

use super::rows::{decode, encode};
use super::statements::EnvStatements;
use super::{corrupt, down, CqlStore};
use crate::domain::{Activation, Environment};
use crate::store::StoreError;

impl CqlStore {
    /// Writes history rows of one license.
    pub(super) async fn put_history(
        &self,
        st: &EnvStatements,
        key: &str,
        rows: &[Activation],
    ) -> Result<(), StoreError> {
        for a in rows {
            let bytes = encode(a)?;
            self.exec(
                &st.history_put,
                (key, a.deactivated_at.unwrap_or(a.activated_at), a.id, bytes),
            )
            .await?;
        }
        Ok(())
    }

    /// One page of a license's history, newest first.
    pub(super) async fn history_page(
        &self,
        st: &EnvStatements,
        key: &str,
        page: u32,
        per_page: u32,
    ) -> Result<Vec<Activation>, StoreError> {
        let skip = (page.max(1) - 1).saturating_mul(per_page);
        let limit = i32::try_from(skip.saturating_add(per_page)).unwrap_or(i32::MAX);
        let rows = self.rows(&st.history_get, (key, limit)).await?;
        let mut out = Vec::new();
        for r in rows
            .rows::<(Option<Vec<u8>>,)>()
            .map_err(corrupt)?
            .skip(skip as usize)
        {
            if let (Some(b),) = r.map_err(corrupt)? {
                out.push(decode(&b)?);
            }
        }
        Ok(out)
    }
}

/// `keywarden migrate` to schema 2: moves deactivated activations that older
/// releases kept in the license partition into `activation_history`. Safe to run
/// again; run it while no node serves (like every schema change). Returns how
/// many rows moved.
pub async fn move_history(session: &Session, prefix: &str) -> Result<usize, StoreError> {
    let mut moved = 0;
    for env in Environment::ALL {
        let ks = format!("{prefix}_{env}");
        let mut scan = session
            .prepare(format!(
                "SELECT key, activation_id, activation FROM {ks}.licenses"
            ))
            .await
            .map_err(down)?;
        scan.set_page_size(2000);
        let put = session
            .prepare(format!("INSERT INTO {ks}.activation_history (key, deactivated_at, activation_id, activation) VALUES (?, ?, ?, ?)"))
            .await
            .map_err(down)?;
        let del = session
            .prepare(format!(
                "DELETE FROM {ks}.licenses WHERE key = ? AND activation_id = ?"
            ))
            .await
            .map_err(down)?;
        let mut rows = session
            .execute_iter(scan, ())
            .await
            .map_err(down)?
            .rows_stream::<(String, Option<uuid::Uuid>, Option<Vec<u8>>)>()
            .map_err(corrupt)?;
        while let Some((key, id, blob)) = rows.try_next().await.map_err(down)? {
            let (Some(id), Some(blob)) = (id, blob) else {
                continue;
            };
            let a: Activation = decode(&blob)?;
            if a.is_active() {
                continue;
            }
            let at = a.deactivated_at.unwrap_or(a.activated_at);
            session
                .execute_unpaged(&put, (key.as_str(), at, id, blob.as_slice()))
                .await
                .map_err(down)?;
            session
                .execute_unpaged(&del, (key.as_str(), id))
                .await
                .map_err(down)?;
            moved += 1;
        }
    }
    Ok(moved)
}
