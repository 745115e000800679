//! [`crate::store::MailRows`] on the embedded backend: in the global file, mail
//! records keyed by `{nanos:020}-{id}` (time order), pending copies keyed by id,
//! and once-only tags. A claim reads and writes the pending copy in one write
//! transaction, so the version check cannot race.

use async_trait::async_trait;
use redb::{Database, ReadableTable, TableDefinition, WriteTransaction};
use uuid::Uuid;

use super::files::open_read;
use super::tables::{decode, decoded, encode, unavailable, Records};
use super::EmbeddedStore;
use crate::domain::{MailRecord, MailStatus};
use crate::store::{record_of, MailRows, StoreError};

/// Mail records, oldest first by key.
const MAIL: Records = TableDefinition::new("mail");
/// Pending copies (with the recipient's body) of unsent mails, by id.
const MAIL_PENDING: Records = TableDefinition::new("mail_pending");
/// Once-only tags → the mail that holds them.
const MAIL_TAGS: TableDefinition<&str, u128> = TableDefinition::new("mail_tags");

fn record_key(m: &MailRecord) -> String {
    let nanos = m.at.timestamp_nanos_opt().unwrap_or(0).max(0);
    format!("{nanos:020}-{}", m.id)
}

fn claim_tag(txn: &WriteTransaction, tag: &str, id: Uuid) -> Result<bool, StoreError> {
    let mut t = txn.open_table(MAIL_TAGS).map_err(unavailable)?;
    let holder = t.get(tag).map_err(unavailable)?.map(|g| g.value());
    match holder {
        Some(h) => Ok(h == id.as_u128()),
        None => {
            t.insert(tag, id.as_u128()).map_err(unavailable)?;
            Ok(true)
        }
    }
}

fn put_pending(
    txn: &WriteTransaction,
    mail: &MailRecord,
    expected: Option<u64>,
) -> Result<MailRecord, StoreError> {
    let key = mail.id.to_string();
    let mut stored = mail.clone();
    stored.version = expected.map_or(1, |v| v + 1);
    let bytes = encode(&stored)?;
    let mut t = txn.open_table(MAIL_PENDING).map_err(unavailable)?;
    let found: Option<MailRecord> = decoded(&t, &key)?;
    if found.map(|f| f.version) != expected {
        return Err(StoreError::Conflict(format!(
            "mail {} moved on meanwhile",
            mail.id
        )));
    }
    t.insert(key.as_str(), bytes.as_slice())
        .map_err(unavailable)?;
    Ok(stored)
}

fn put_record(txn: &WriteTransaction, mail: &MailRecord) -> Result<(), StoreError> {
    let bytes = encode(&record_of(mail))?;
    let done = matches!(mail.status, MailStatus::Sent | MailStatus::Failed);
    let mut t = txn.open_table(MAIL).map_err(unavailable)?;
    t.insert(record_key(mail).as_str(), bytes.as_slice())
        .map_err(unavailable)?;
    if done {
        let mut p = txn.open_table(MAIL_PENDING).map_err(unavailable)?;
        p.remove(mail.id.to_string().as_str())
            .map_err(unavailable)?;
    }
    Ok(())
}

fn newest(db: &Database, table: Records, limit: usize) -> Result<Vec<MailRecord>, StoreError> {
    let txn = db.begin_read().map_err(unavailable)?;
    let Some(t) = open_read(&txn, table)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for row in t.iter().map_err(unavailable)?.rev().take(limit) {
        out.push(decode(row.map_err(unavailable)?.1.value())?);
    }
    Ok(out)
}

#[async_trait]
impl MailRows for EmbeddedStore {
    async fn claim_mail_tag(&self, tag: &str, id: Uuid) -> Result<bool, StoreError> {
        let tag = tag.to_owned();
        self.write("claim_mail_tag", self.global_writer(), move |txn| {
            claim_tag(txn, &tag, id)
        })
        .await
    }

    async fn put_pending_mail(
        &self,
        mail: &MailRecord,
        expected: Option<u64>,
    ) -> Result<MailRecord, StoreError> {
        let m = mail.clone();
        self.write("put_pending_mail", self.global_writer(), move |txn| {
            put_pending(txn, &m, expected)
        })
        .await
    }

    async fn pending_mail(&self) -> Result<Vec<MailRecord>, StoreError> {
        self.run("pending_mail", self.global_db(), |db| {
            newest(db, MAIL_PENDING, usize::MAX)
        })
        .await
    }

    async fn put_mail_record(&self, mail: &MailRecord) -> Result<(), StoreError> {
        let m = mail.clone();
        self.write("put_mail_record", self.global_writer(), move |txn| {
            put_record(txn, &m)
        })
        .await
    }

    async fn queue_mails(&self, mails: &[MailRecord]) -> Result<Vec<MailRecord>, StoreError> {
        let ms = mails.to_vec();
        self.write("queue_mails", self.global_writer(), move |txn| {
            let mut out = Vec::with_capacity(ms.len());
            for m in &ms {
                let stored = put_pending(txn, m, None)?;
                put_record(txn, &stored)?;
                out.push(stored);
            }
            Ok(out)
        })
        .await
    }

    async fn put_mail_records(&self, mails: &[MailRecord]) -> Result<(), StoreError> {
        let ms = mails.to_vec();
        self.write("put_mail_records", self.global_writer(), move |txn| {
            ms.iter().try_for_each(|m| put_record(txn, m))
        })
        .await
    }

    async fn list_mail(&self, limit: usize) -> Result<Vec<MailRecord>, StoreError> {
        self.run("list_mail", self.global_db(), move |db| {
            newest(db, MAIL, limit)
        })
        .await
    }
}
