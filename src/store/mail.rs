//! The outbox as rows, with delivery claimed once across nodes (issue 12 item 3).
//!
//! Each mail has a record (what the Outbox page lists, token masked) and, while
//! it is unsent, a pending copy that also holds the recipient's body. Claims and
//! retries are conditional writes on the pending copy's version (CQL:
//! lightweight transactions; embedded: one write transaction), so one node
//! sends a mail. Once-only mails take their tag first, conditionally.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreError;
use crate::domain::MailRecord;

/// The outbox as rows: the part of [`super::Store`] that holds them.
#[async_trait]
pub trait MailRows: Send + Sync {
    /// Takes a once-only tag for mail `id`; false when another mail holds it
    /// (true again for the same `id`, so a lost answer can be retried).
    async fn claim_mail_tag(&self, tag: &str, id: Uuid) -> Result<bool, StoreError>;
    /// Writes the pending copy if its stored version is `expected` (`None`: no
    /// copy exists yet); the copy is stored, and returned, with the next version.
    /// Another writer won: `Conflict`, nothing changed.
    async fn put_pending_mail(
        &self,
        mail: &MailRecord,
        expected: Option<u64>,
    ) -> Result<MailRecord, StoreError>;
    /// Every unsent mail's pending copy (a small set: sent and failed mails leave it).
    async fn pending_mail(&self) -> Result<Vec<MailRecord>, StoreError>;
    /// Writes a mail's record, without the recipient's body; a sent or failed
    /// mail's pending copy (and with it that body) is removed.
    async fn put_mail_record(&self, mail: &MailRecord) -> Result<(), StoreError>;
    /// New mails in one step: each one's pending copy (as given, at version 1)
    /// and its record; returns the stored copies. Used for batches (activation
    /// alerts); the default writes them one by one.
    async fn queue_mails(&self, mails: &[MailRecord]) -> Result<Vec<MailRecord>, StoreError> {
        let mut out = Vec::with_capacity(mails.len());
        for m in mails {
            let stored = self.put_pending_mail(m, None).await?;
            self.put_mail_record(&stored).await?;
            out.push(stored);
        }
        Ok(out)
    }
    /// [`MailRows::put_mail_record`] for many mails (one step on the embedded store).
    async fn put_mail_records(&self, mails: &[MailRecord]) -> Result<(), StoreError> {
        for m in mails {
            self.put_mail_record(m).await?;
        }
        Ok(())
    }
    /// The newest `limit` records, newest first.
    async fn list_mail(&self, limit: usize) -> Result<Vec<MailRecord>, StoreError>;
}

/// How a mail's record is stored: without the recipient's body, whatever the caller passed.
pub fn record_of(mail: &MailRecord) -> MailRecord {
    MailRecord {
        delivery_body: None,
        ..mail.clone()
    }
}
