//! [`crate::store::MailRows`] on the CQL backend (global keyspace): records by
//! month for the Outbox page, pending copies claimed and retried with
//! lightweight transactions on `version`, and once-only tags (`IF NOT EXISTS`).

use async_trait::async_trait;
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use uuid::Uuid;

use super::files::prep;
use super::rows::{applied, blobs, decode, encode};
use super::{corrupt, CqlStore};
use crate::domain::{MailRecord, MailStatus};
use crate::store::{record_of, MailRows, StoreError};

/// Records read from one month's partition for one page.
const MONTH_LIMIT: i32 = 5000;

/// The statements of the outbox.
pub(super) struct MailStatements {
    tag_claim: PreparedStatement,
    tag_get: PreparedStatement,
    pending_insert: PreparedStatement,
    pending_update: PreparedStatement,
    pending_all: PreparedStatement,
    pending_delete: PreparedStatement,
    record_put: PreparedStatement,
    record_month: PreparedStatement,
    month_put: PreparedStatement,
    months: PreparedStatement,
}

impl MailStatements {
    pub(super) async fn prepare(s: &Session, prefix: &str) -> Result<Self, StoreError> {
        let ks = format!("{prefix}_global");
        Ok(MailStatements {
            tag_claim: prep(s, format!("INSERT INTO {ks}.outbox_tags (tag, id) VALUES (?, ?) IF NOT EXISTS")).await?,
            tag_get: prep(s, format!("SELECT id FROM {ks}.outbox_tags WHERE tag = ?")).await?,
            pending_insert: prep(s, format!("INSERT INTO {ks}.outbox_pending (bucket, id, version, body) VALUES (0, ?, ?, ?) IF NOT EXISTS")).await?,
            pending_update: prep(s, format!("UPDATE {ks}.outbox_pending SET version = ?, body = ? WHERE bucket = 0 AND id = ? IF version = ?")).await?,
            pending_all: prep(s, format!("SELECT version, body FROM {ks}.outbox_pending WHERE bucket = 0")).await?,
            pending_delete: prep(s, format!("DELETE FROM {ks}.outbox_pending WHERE bucket = 0 AND id = ? IF EXISTS")).await?,
            record_put: prep(s, format!("INSERT INTO {ks}.outbox (month, at, id, body) VALUES (?, ?, ?, ?)")).await?,
            record_month: prep(s, format!("SELECT body FROM {ks}.outbox WHERE month = ? LIMIT ?")).await?,
            month_put: prep(s, format!("INSERT INTO {ks}.outbox_months (bucket, month) VALUES (0, ?)")).await?,
            months: prep(s, format!("SELECT month FROM {ks}.outbox_months WHERE bucket = 0")).await?,
        })
    }
}

fn month_of(m: &MailRecord) -> String {
    m.at.format("%Y-%m").to_string()
}

impl CqlStore {
    async fn tag_holder(&self, tag: &str) -> Result<Option<Uuid>, StoreError> {
        let rows = self.rows(&self.mail.tag_get, (tag,)).await?;
        let first = rows.maybe_first_row::<(Option<Uuid>,)>().map_err(corrupt)?;
        Ok(first.and_then(|(id,)| id))
    }

    async fn write_pending(
        &self,
        mail: &MailRecord,
        expected: Option<u64>,
    ) -> Result<MailRecord, StoreError> {
        let mut stored = mail.clone();
        stored.version = expected.map_or(1, |v| v + 1);
        let body = encode(&stored)?;
        let version = stored.version as i64;
        let r = match expected {
            None => {
                self.execute(&self.mail.pending_insert, (mail.id, version, body))
                    .await?
            }
            Some(v) => {
                let values = (version, body, mail.id, v as i64);
                self.execute(&self.mail.pending_update, values).await?
            }
        };
        if !applied(r)? {
            return Err(StoreError::Conflict(format!(
                "mail {} moved on meanwhile",
                mail.id
            )));
        }
        Ok(stored)
    }

    async fn read_pending(&self) -> Result<Vec<MailRecord>, StoreError> {
        let rows = self.all_versioned(&self.mail.pending_all).await?;
        Ok(rows
            .into_iter()
            .map(|(version, m)| MailRecord { version, ..m })
            .collect())
    }

    async fn write_record(&self, mail: &MailRecord) -> Result<(), StoreError> {
        let month = month_of(mail);
        let body = encode(&record_of(mail))?;
        self.exec(&self.mail.month_put, (month.as_str(),)).await?;
        self.exec(
            &self.mail.record_put,
            (month.as_str(), mail.at, mail.id, body),
        )
        .await?;
        if matches!(mail.status, MailStatus::Sent | MailStatus::Failed) {
            self.exec(&self.mail.pending_delete, (mail.id,)).await?;
        }
        Ok(())
    }

    async fn read_records(&self, limit: usize) -> Result<Vec<MailRecord>, StoreError> {
        let rows = self.rows(&self.mail.months, ()).await?;
        let mut months = Vec::new();
        for r in rows.rows::<(String,)>().map_err(corrupt)? {
            months.push(r.map_err(corrupt)?.0);
        }
        let mut out: Vec<MailRecord> = Vec::new();
        for month in months {
            if out.len() >= limit {
                break;
            }
            let r = self
                .execute(&self.mail.record_month, (month, MONTH_LIMIT))
                .await?;
            for b in blobs(r)? {
                out.push(decode(&b)?);
            }
        }
        out.sort_by(|a, b| b.at.cmp(&a.at).then(b.id.cmp(&a.id)));
        out.truncate(limit);
        Ok(out)
    }
}

#[async_trait]
impl MailRows for CqlStore {
    async fn claim_mail_tag(&self, tag: &str, id: Uuid) -> Result<bool, StoreError> {
        self.timed("claim_mail_tag", async {
            let r = self.execute(&self.mail.tag_claim, (tag, id)).await?;
            if applied(r)? {
                return Ok(true);
            }
            Ok(self.tag_holder(tag).await? == Some(id))
        })
        .await
    }

    async fn put_pending_mail(
        &self,
        mail: &MailRecord,
        expected: Option<u64>,
    ) -> Result<MailRecord, StoreError> {
        self.timed("put_pending_mail", self.write_pending(mail, expected))
            .await
    }

    async fn pending_mail(&self) -> Result<Vec<MailRecord>, StoreError> {
        self.timed("pending_mail", self.read_pending()).await
    }

    async fn put_mail_record(&self, mail: &MailRecord) -> Result<(), StoreError> {
        self.timed("put_mail_record", self.write_record(mail)).await
    }

    async fn list_mail(&self, limit: usize) -> Result<Vec<MailRecord>, StoreError> {
        self.timed("list_mail", self.read_records(limit)).await
    }
}
