//! License writes on CQL. Each change to a license is one conditional write on
//! its partition (insert `IF NOT EXISTS`, update and retire `IF version = ?`), so
//! an activation limit holds across nodes; history rows, index rows, audit and
//! the change log follow once it applied.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use scylla::statement::batch::{Batch, BatchType};
use scylla::value::{CqlTimestamp, CqlValue};

use super::rows::{applied, body, encode};
use super::statements::EnvStatements;
use super::{down, fan_out, CqlStore, FANOUT};
use crate::domain::{Activation, AuditEntry, License, LicenseKey};
use crate::store::{ChangeKind, LicenseWrite, StoreError};

/// Values of a batch, one list per statement.
type BatchValues = Vec<Vec<Option<CqlValue>>>;

fn ts(t: DateTime<Utc>) -> CqlValue {
    CqlValue::Timestamp(CqlTimestamp(t.timestamp_millis()))
}

impl CqlStore {
    /// Inserts every license or none: on a taken key or an error, the ones this
    /// call inserted are deleted again.
    pub(super) async fn insert_all(
        &self,
        st: &EnvStatements,
        licenses: &[License],
        audit: &[AuditEntry],
    ) -> Result<(), StoreError> {
        let mut results: Vec<Result<bool, StoreError>> = Vec::with_capacity(licenses.len());
        for chunk in licenses.chunks(FANOUT) {
            results.extend(join_all(chunk.iter().map(|l| self.insert_one(st, l))).await);
        }
        let (inserted, failure) = outcomes(licenses, results);
        if let Some(err) = failure {
            // All or nothing: take back what this call inserted.
            for i in inserted {
                let _ = self
                    .session
                    .execute_unpaged(&st.license_delete, (licenses[i].key.as_str(),))
                    .await;
            }
            return Err(err);
        }
        let by_key: HashMap<&str, &AuditEntry> = audit
            .iter()
            .filter_map(|a| a.license_key.as_deref().map(|k| (k, a)))
            .collect();
        fan_out(licenses, |l| {
            let key = l.key.as_str();
            self.after_write(st, None, Some(l), by_key.get(key).copied(), key)
        })
        .await
    }

    /// One new license: whether its key was free.
    async fn insert_one(&self, st: &EnvStatements, l: &License) -> Result<bool, StoreError> {
        let r = self
            .execute(
                &st.license_insert,
                (
                    l.key.as_str(),
                    l.version as i64,
                    l.status.as_str(),
                    l.product_id,
                    l.customer_id,
                    l.expires_at,
                    l.created_at,
                    body(l)?,
                ),
            )
            .await?;
        if !applied(r)? {
            return Ok(false);
        }
        for a in l.activations.iter().filter(|a| a.is_active()) {
            self.exec(&st.activation_put, (encode(a)?, l.key.as_str(), a.id))
                .await?;
        }
        let history: Vec<Activation> = l
            .activations
            .iter()
            .filter(|a| !a.is_active())
            .cloned()
            .collect();
        self.put_history(st, l.key.as_str(), &history).await?;
        Ok(true)
    }

    /// Replaces the license if its stored version is the expected one, in one
    /// conditional batch with its changed and retired activations.
    pub(super) async fn update(
        &self,
        st: &EnvStatements,
        write: LicenseWrite<'_>,
    ) -> Result<(), StoreError> {
        let l = write.license;
        let key = l.key.as_str();
        let before = self.read_license(st, key).await?;
        let (_, retired) = write.split_history();
        let (batch, values) = update_batch(st, &write, before.as_ref(), &retired)?;
        let result = self.session.batch(&batch, values).await.map_err(down)?;
        if !applied(result)? {
            return Err(match before {
                None => StoreError::license_not_found(),
                Some(b) => StoreError::version_moved(b.version, write.expected_version),
            });
        }
        if let Err(e) = self.put_history(st, key, &retired).await {
            tracing::warn!(error = %e, key = %l.key.masked(), "license committed; activation history write failed");
        }
        let done = self.after_write(st, before.as_ref(), Some(l), Some(write.audit), key);
        if let Err(e) = done.await {
            tracing::warn!(error = %e, key = %l.key.masked(), "license committed; index, audit or change log write failed");
        }
        Ok(())
    }

    /// Deletes the license (retired under its version guard first); whether it existed.
    pub(super) async fn delete(
        &self,
        st: &EnvStatements,
        key: &LicenseKey,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let Some(before) = self.retire(st, key.as_str()).await? else {
            return Ok(false);
        };
        self.exec(&st.license_delete, (key.as_str(),)).await?;
        self.exec(&st.history_delete, (key.as_str(),)).await?;
        let done = self.after_write(st, Some(&before), None, Some(audit), key.as_str());
        if let Err(e) = done.await {
            tracing::warn!(error = %e, key = %key.masked(), "license deleted; index, audit or change log write failed");
        }
        Ok(true)
    }

    /// CQL has no conditional partition delete: empties the license under its
    /// version guard, retrying while others change it. The license as it was,
    /// or `None` when there is none.
    async fn retire(&self, st: &EnvStatements, key: &str) -> Result<Option<License>, StoreError> {
        for _ in 0..5 {
            let Some(current) = self.read_license(st, key).await? else {
                return Ok(None);
            };
            let r = self
                .execute(&st.license_retire, (key, current.version as i64))
                .await?;
            if applied(r)? {
                return Ok(Some(current));
            }
        }
        Err(StoreError::Conflict(
            "license kept changing while being deleted".into(),
        ))
    }

    /// Index rows, audit and change log: written after the license partition committed.
    async fn after_write(
        &self,
        st: &EnvStatements,
        before: Option<&License>,
        after: Option<&License>,
        audit: Option<&AuditEntry>,
        key: &str,
    ) -> Result<(), StoreError> {
        self.reindex(st, before, after, key).await?;
        if let Some(e) = audit {
            self.write_audit(st, e).await?;
        }
        let kind = if after.is_none() {
            ChangeKind::Deleted
        } else {
            ChangeKind::License
        };
        self.log_change(st, key, kind).await
    }
}

/// Which inserts applied (by index), and the first failure in license order: a
/// taken key or an error.
fn outcomes(
    licenses: &[License],
    results: Vec<Result<bool, StoreError>>,
) -> (Vec<usize>, Option<StoreError>) {
    let mut inserted = Vec::new();
    let mut failure = None;
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Ok(true) => inserted.push(i),
            Ok(false) => {
                failure.get_or_insert(StoreError::key_taken(&licenses[i].key.masked()));
            }
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
    }
    (inserted, failure)
}

/// The conditional batch of an update: the license columns guarded by the expected
/// version, every activation whose record changed, and the removal of the retired
/// ones (their history row follows the batch).
fn update_batch(
    st: &EnvStatements,
    write: &LicenseWrite<'_>,
    before: Option<&License>,
    retired: &[Activation],
) -> Result<(Batch, BatchValues), StoreError> {
    let l = write.license;
    let key = l.key.as_str();
    let mut batch = Batch::new(BatchType::Unlogged);
    batch.append_statement(st.license_update.clone());
    let mut values: BatchValues = vec![vec![
        Some(CqlValue::BigInt(l.version as i64)),
        Some(CqlValue::Text(l.status.as_str().into())),
        l.customer_id.map(CqlValue::Uuid),
        l.expires_at.map(ts),
        Some(CqlValue::Blob(body(l)?)),
        Some(CqlValue::Text(key.into())),
        Some(CqlValue::BigInt(write.expected_version as i64)),
    ]];
    let unchanged = |a: &Activation| {
        !write.touched.iter().any(|t| t.id == a.id)
            && before.is_some_and(|b| {
                b.activations
                    .iter()
                    .any(|x| x.id == a.id && x.status == a.status)
            })
    };
    for a in l
        .activations
        .iter()
        .filter(|a| a.is_active() && !unchanged(a))
    {
        batch.append_statement(st.activation_put.clone());
        values.push(vec![
            Some(CqlValue::Blob(encode(a)?)),
            Some(CqlValue::Text(key.into())),
            Some(CqlValue::Uuid(a.id)),
        ]);
    }
    for a in retired {
        batch.append_statement(st.activation_delete.clone());
        values.push(vec![
            Some(CqlValue::Text(key.into())),
            Some(CqlValue::Uuid(a.id)),
        ]);
    }
    Ok((batch, values))
}
