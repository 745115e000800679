//! The outbox: every message the portals send (invitations, password resets,
//! expiry reminders, activation alerts) is a row in the store (issue 12 item 3)
//! that the admin portal lists, delivered over SMTP when `mail.smtp_url` is set.
//!
//! A mail is queued, then claimed by one node with a conditional write on its
//! pending copy, delivered, and marked sent; a failure is retried with
//! exponential backoff (`domain::outbox`) by whichever node's sender loop finds
//! it due. The node that queues a mail tries it at once, so a reset link is
//! usually out before the page answers.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

mod batch;

pub use batch::Letter;

use crate::config::Settings;
use crate::domain::{MailRecord, MailStatus};
use crate::store::{Store, StoreError};

/// Why a message could not be written.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("outbox folder: {0}")]
    Io(#[from] std::io::Error),
    #[error("mail settings: {0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One message as the previous release kept it in the outbox folder (one JSON
/// file each); read once at start by `app::legacy_copy`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredMail {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub to: String,
    pub subject: String,
    pub body: String,
    /// invite, reset, expiry, activation.
    pub kind: String,
    /// Identifies a message that must be sent once (expiry reminders).
    #[serde(default)]
    pub tag: String,
    /// "folder only", "sent", or the SMTP error.
    pub delivery: String,
}

/// `body` with `secret` shown as its first 4 characters and a mask.
pub fn mask_secret(body: &str, secret: &str) -> String {
    if secret.len() < 8 {
        return body.to_owned();
    }
    let shown: String = secret.chars().take(4).collect();
    let masked = format!("{shown}…[masked]");
    // The token may appear raw or percent-encoded in a link.
    let encoded = crate::app::format::url_encode(secret);
    body.replace(&encoded, &masked).replace(secret, &masked)
}

/// Queues messages in the store and delivers them (SMTP, or without it the
/// local mailbox folder).
pub struct Outbox {
    store: Arc<dyn Store>,
    dir: PathBuf,
    from: String,
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
    /// Random per process: whose claim a pending mail carries.
    node: String,
    /// `mail.retry_base_secs`: the first retry's wait, doubled per failure.
    retry_base_secs: u64,
    /// The vendor's name and support contact, added to the end of every mail.
    branding: Option<Arc<crate::app::branding::BrandingCell>>,
    /// Once-only tags known taken (bounded; forgotten after a day), so the
    /// reminder loop does not ask the store every round.
    known_tags: moka::sync::Cache<String, ()>,
}

impl Outbox {
    /// The outbox on `store`; `<data_dir>/outbox` (or `mail.outbox_dir`) holds
    /// the previous release's files and the local mailbox.
    pub fn open(settings: &Settings, store: Arc<dyn Store>) -> Result<Outbox, MailError> {
        let m = &settings.mail;
        let dir = if m.outbox_dir.trim().is_empty() {
            settings.store.data_dir.join("outbox")
        } else {
            PathBuf::from(&m.outbox_dir)
        };
        crate::private_files::create_dir(&dir)?;
        let smtp = if m.smtp_url.trim().is_empty() {
            None
        } else {
            Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(m.smtp_url.trim())
                    .map_err(|e| MailError::Config(format!("mail.smtp_url: {e}")))?
                    .build(),
            )
        };
        m.from
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| MailError::Config(format!("mail.from: {e}")))?;
        Ok(Outbox {
            store,
            dir,
            from: m.from.clone(),
            smtp,
            node: Uuid::new_v4().to_string(),
            retry_base_secs: m.retry_base_secs.max(1),
            branding: None,
            known_tags: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(86_400))
                .build(),
        })
    }

    /// The outbox folder (the previous release's mails, and the local mailbox).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Where mails are delivered when no SMTP server is configured: one JSON file
    /// per mail, unmasked, readable only by the server's user, on the node that
    /// sent it. It stands in for the recipients' mailboxes on a test or demo
    /// install; no page shows it.
    pub fn mailbox_dir(&self) -> PathBuf {
        self.dir.join("mailbox")
    }

    /// Where a mailbox file is written before it is renamed into the mailbox:
    /// beside it, not in it, so the mailbox folder (one entry per mail ever
    /// delivered) takes one new entry per mail instead of a create, a remove and
    /// a new entry.
    fn incoming_dir(&self) -> PathBuf {
        self.dir.join(".incoming")
    }

    /// Queues (and tries at once to deliver) one message. `secret` (a token
    /// inside `body`, or "") reaches only the recipient: the outbox record shows
    /// it masked. A non-empty `tag` is sent once across every node: `None`
    /// when a mail with that tag was queued before.
    /// Every mail from now on ends with the branding's footer.
    pub fn with_branding(mut self, b: Arc<crate::app::branding::BrandingCell>) -> Outbox {
        self.branding = Some(b);
        self
    }

    pub async fn send(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        kind: &str,
        tag: &str,
        secret: &str,
    ) -> Result<Option<MailRecord>, MailError> {
        let (id, at) = (Uuid::new_v4(), Utc::now());
        let footer = self.branding.as_ref().map(|b| b.get().mail_footer());
        let body = &format!("{body}{}", footer.unwrap_or_default());
        if !tag.is_empty() {
            if self.known_tags.contains_key(tag) || !self.store.claim_mail_tag(tag, id).await? {
                self.known_tags.insert(tag.to_owned(), ());
                return Ok(None);
            }
            self.known_tags.insert(tag.to_owned(), ());
        }
        let mut mail = MailRecord::queued(id, at, to, subject, kind);
        mail.body = mask_secret(body, secret);
        mail.tag = tag.to_owned();
        mail.delivery_body = Some(body.to_owned());
        let pending = self.store.put_pending_mail(&mail, None).await?;
        self.store.put_mail_record(&pending).await?;
        tracing::debug!(kind, "mail queued in the outbox");
        self.attempt(pending).await;
        Ok(Some(mail))
    }

    /// Whether this node knows a mail with `tag` was queued (a cheap check
    /// before the conditional one in [`Outbox::send`]).
    pub fn known_sent(&self, tag: &str) -> bool {
        self.known_tags.contains_key(tag)
    }

    /// The newest `limit` records, newest first.
    pub async fn list(&self, limit: usize) -> Result<Vec<MailRecord>, crate::app::error::AppError> {
        Ok(self.store.list_mail(limit).await?)
    }

    /// Claims a pending mail if it is due, delivers it and records the outcome.
    /// Another node's claim, or a store error, leaves it for a later round.
    async fn attempt(&self, mail: MailRecord) {
        let now = Utc::now();
        if !mail.is_due(now) {
            return;
        }
        let claimed = match self
            .store
            .put_pending_mail(&mail.claimed(&self.node, now), Some(mail.version))
            .await
        {
            Ok(c) => c,
            Err(StoreError::Conflict(_)) => return,
            Err(e) => {
                tracing::warn!(error = %e, "could not claim a mail; trying later");
                return;
            }
        };
        let result = self.deliver(&claimed).await;
        if let Err(e) = self.record_outcome(&claimed, result).await {
            tracing::warn!(error = %e, "could not record a mail's delivery");
        }
    }

    /// Writes what happened to a claimed mail: sent, retrying, or failed.
    async fn record_outcome(
        &self,
        claimed: &MailRecord,
        result: Result<(), String>,
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        let next = match result {
            Ok(()) => claimed.delivered(now, self.smtp.is_none()),
            Err(e) => {
                let next = claimed.after_failure(&e, now, self.retry_base_secs);
                tracing::warn!(error = %e, attempts = next.attempts, "mail delivery failed");
                if next.status == MailStatus::Queued {
                    let kept = self
                        .store
                        .put_pending_mail(&next, Some(claimed.version))
                        .await?;
                    self.store.put_mail_record(&kept).await?;
                    return Ok(());
                }
                next
            }
        };
        self.store.put_mail_record(&next).await
    }

    /// Delivers over SMTP, or without it to the local mailbox folder.
    async fn deliver(&self, m: &MailRecord) -> Result<(), String> {
        let body = m.delivery_body.as_deref().unwrap_or(&m.body);
        match &self.smtp {
            None => self
                .drop_in_mailbox(m, body)
                .await
                .map_err(|e| format!("mailbox folder: {e}")),
            Some(t) => self.smtp_send(t, &m.to, &m.subject, body).await,
        }
    }

    /// Local delivery without SMTP (see [`Outbox::mailbox_dir`]), named by time and id.
    async fn drop_in_mailbox(&self, m: &MailRecord, body: &str) -> Result<(), std::io::Error> {
        let dir = self.mailbox_dir();
        let incoming = self.incoming_dir();
        crate::private_files::create_dir(&dir)?;
        crate::private_files::create_dir(&incoming)?;
        let (name, bytes) = mailbox_file(m, body)?;
        let tmp = incoming.join(format!("{name}.tmp"));
        crate::private_files::write_async(tmp.clone(), bytes).await?;
        tokio::fs::rename(&tmp, dir.join(name)).await
    }

    async fn smtp_send(
        &self,
        t: &AsyncSmtpTransport<Tokio1Executor>,
        to: &str,
        subject: &str,
        body: &str,
    ) -> Result<(), String> {
        let msg = lettre::Message::builder()
            .from(self.from.parse().map_err(|e| format!("from: {e}"))?)
            .to(to.parse().map_err(|e| format!("to: {e}"))?)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .map_err(|e| e.to_string())?;
        t.send(msg).await.map(|_| ()).map_err(|e| e.to_string())
    }

    /// One round of the sender loop: every due pending mail, claimed and tried.
    pub async fn send_due(&self) -> Result<usize, StoreError> {
        let now = Utc::now();
        let due: Vec<MailRecord> = self
            .store
            .pending_mail()
            .await?
            .into_iter()
            .filter(|m| m.is_due(now))
            .collect();
        let n = due.len();
        for m in due {
            self.attempt(m).await;
        }
        Ok(n)
    }

    /// The sender loop every node runs: looks for due mails every few seconds
    /// (at most `mail.retry_base_secs`, at least one second).
    pub fn spawn_sender(self: Arc<Self>) {
        let every = Duration::from_secs(self.retry_base_secs.clamp(1, 5));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                if let Err(e) = self.send_due().await {
                    tracing::warn!(error = %e, "outbox sender: could not read pending mails");
                }
            }
        });
    }
}

/// A mail as the local mailbox holds it: its file name and JSON (unmasked).
fn mailbox_file(m: &MailRecord, body: &str) -> Result<(String, Vec<u8>), std::io::Error> {
    let name = format!("{}-{}.json", m.at.format("%Y%m%dT%H%M%S%.6f"), m.id);
    let bytes = serde_json::to_vec_pretty(&serde_json::json!({
        "id": m.id, "at": m.at, "to": m.to, "subject": m.subject, "body": body, "kind": m.kind,
    }))
    .map_err(std::io::Error::other)?;
    Ok((name, bytes))
}

#[cfg(test)]
mod tests {
    use super::mask_secret;

    /// Security item 3: the outbox copy of a link carries no usable token.
    #[test]
    fn tokens_are_masked_in_the_outbox_copy() {
        let token = "AbCdEfGh+/=IjKlMnOp";
        let body = format!(
            "here: https://x.example/portal/password?token={}\n",
            crate::app::format::url_encode(token)
        );
        let masked = mask_secret(&body, token);
        assert!(!masked.contains("EfGh"), "{masked}");
        assert!(masked.contains("AbCd…[masked]"), "{masked}");
        assert_eq!(mask_secret("no token", ""), "no token");
    }
}
