//! The outbox: every message the portals send (invitations, password resets,
//! expiry reminders, activation alerts) is written as a JSON file to a folder
//! the admin portal lists, and also delivered over SMTP when `mail.smtp_url`
//! is set.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::Settings;

/// Why a message could not be written.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("outbox folder: {0}")]
    Io(#[from] std::io::Error),
    #[error("mail settings: {0}")]
    Config(String),
}

/// One message as kept in the outbox folder. Its `body` has every live token
/// masked: the outbox is an audit record that admins (read-only ones too) can
/// read; only the recipient's mailbox gets the usable link.
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

/// Writes messages to the folder and, when configured, to an SMTP server.
pub struct Outbox {
    dir: PathBuf,
    from: String,
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
    /// Tags already sent (read from the folder at start).
    tags: Mutex<HashSet<String>>,
    /// Random per process: marks this node's claims on once-only mails.
    node_mark: [u8; 16],
}

impl Outbox {
    pub fn open(settings: &Settings) -> Result<Outbox, MailError> {
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
        let outbox = Outbox {
            dir,
            from: m.from.clone(),
            smtp,
            tags: Mutex::new(HashSet::new()),
            node_mark: *Uuid::new_v4().as_bytes(),
        };
        let tags = outbox
            .list(usize::MAX)
            .into_iter()
            .filter(|m| !m.tag.is_empty())
            .map(|m| m.tag)
            .collect();
        *outbox.tags.lock() = tags;
        Ok(outbox)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// This process's mark for claiming once-only mails among nodes.
    pub fn node_mark(&self) -> &[u8] {
        &self.node_mark
    }

    /// Whether a message with this tag was sent already.
    pub fn sent(&self, tag: &str) -> bool {
        self.tags.lock().contains(tag)
    }

    /// Where mails are delivered when no SMTP server is configured: one JSON file
    /// per mail, unmasked, readable only by the server's user. It stands in for the
    /// recipients' mailboxes on a test or demo install; no page shows it.
    pub fn mailbox_dir(&self) -> PathBuf {
        self.dir.join("mailbox")
    }

    /// Writes (and delivers) one message. `secret` (a token inside `body`, or "")
    /// reaches only the recipient: the outbox copy shows it masked.
    pub async fn send(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        kind: &str,
        tag: &str,
        secret: &str,
    ) -> Result<StoredMail, MailError> {
        let (id, at) = (Uuid::new_v4(), Utc::now());
        // The outbox record and the mailbox copy share a file name.
        let name = format!("{}-{}.json", at.format("%Y%m%dT%H%M%S%.6f"), id);
        let delivery = match &self.smtp {
            None => {
                self.drop_in_mailbox(&name, to, subject, body, kind).await?;
                "folder only".to_owned()
            }
            Some(t) => match self.deliver(t, to, subject, body).await {
                Ok(()) => "sent".to_owned(),
                Err(e) => {
                    tracing::warn!(error = %e, kind, "SMTP delivery failed; the message is in the outbox folder");
                    format!("SMTP failed: {e}")
                }
            },
        };
        let mail = StoredMail {
            id,
            at,
            to: to.to_owned(),
            subject: subject.to_owned(),
            body: mask_secret(body, secret),
            kind: kind.to_owned(),
            tag: tag.to_owned(),
            delivery,
        };
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let bytes = serde_json::to_vec_pretty(&mail).map_err(std::io::Error::other)?;
        crate::private_files::write_async(tmp.clone(), bytes).await?;
        tokio::fs::rename(&tmp, self.dir.join(&name)).await?;
        if !tag.is_empty() {
            self.tags.lock().insert(tag.to_owned());
        }
        tracing::debug!(kind, "mail written to the outbox");
        Ok(mail)
    }

    /// Local delivery without SMTP (see [`Outbox::mailbox_dir`]).
    async fn drop_in_mailbox(
        &self,
        name: &str,
        to: &str,
        subject: &str,
        body: &str,
        kind: &str,
    ) -> Result<(), MailError> {
        let dir = self.mailbox_dir();
        crate::private_files::create_dir(&dir)?;
        let bytes = serde_json::to_vec_pretty(&serde_json::json!({
            "at": Utc::now(), "to": to, "subject": subject, "body": body, "kind": kind,
        }))
        .map_err(std::io::Error::other)?;
        let tmp = dir.join(format!(".{name}.tmp"));
        crate::private_files::write_async(tmp.clone(), bytes).await?;
        tokio::fs::rename(&tmp, dir.join(name)).await?;
        Ok(())
    }

    async fn deliver(
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

    /// The newest `limit` messages, newest first.
    pub fn list(&self, limit: usize) -> Vec<StoredMail> {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut names: Vec<PathBuf> = rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        names.reverse();
        names
            .into_iter()
            .take(limit)
            .filter_map(|p| std::fs::read(p).ok())
            .filter_map(|b| serde_json::from_slice(&b).ok())
            .collect()
    }
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
