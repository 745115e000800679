//! Many mails written and delivered together (activation alerts, which come at
//! the rate of first activations): two store writes for the whole batch and, on
//! the local mailbox, one blocking task for the whole batch instead of one per mail.

use chrono::Utc;
use uuid::Uuid;

use super::{mailbox_file, MailError, Outbox};
use crate::domain::MailRecord;

/// A mail to queue with [`Outbox::send_batch`] (no secret inside, no once-only tag).
pub struct Letter {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// invite, reset, expiry, activation.
    pub kind: &'static str,
}

impl Outbox {
    /// Queues `letters` and delivers them; returns how many were queued.
    ///
    /// They are written already claimed by this node (one store write with
    /// their records), so no separate claim is needed; if this node dies before
    /// recording the outcome (the second write), the claim runs out and another
    /// node's sender loop delivers them. A failed delivery is retried like any.
    pub async fn send_batch(&self, letters: Vec<Letter>) -> Result<usize, MailError> {
        let now = Utc::now();
        let mails: Vec<MailRecord> = letters
            .into_iter()
            .map(|l| {
                let mut m = MailRecord::queued(Uuid::new_v4(), now, &l.to, &l.subject, l.kind);
                m.body = l.body.clone();
                m.delivery_body = Some(l.body);
                m.claimed(&self.node, now)
            })
            .collect();
        let stored = self.store.queue_mails(&mails).await?;
        let results = match &self.smtp {
            None => self.drop_all_in_mailbox(&stored).await,
            Some(t) => {
                let mut out = Vec::with_capacity(stored.len());
                for m in &stored {
                    let body = m.delivery_body.as_deref().unwrap_or(&m.body);
                    out.push(self.smtp_send(t, &m.to, &m.subject, body).await);
                }
                out
            }
        };
        let mut sent = Vec::with_capacity(stored.len());
        for (m, result) in stored.iter().zip(results) {
            match result {
                Ok(()) => sent.push(m.delivered(Utc::now(), self.smtp.is_none())),
                Err(e) => {
                    if let Err(e) = self.record_outcome(m, Err(e)).await {
                        tracing::warn!(error = %e, "could not record a mail's delivery");
                    }
                }
            }
        }
        self.store.put_mail_records(&sent).await?;
        Ok(stored.len())
    }

    /// The local mailbox's [`Outbox::drop_in_mailbox`] for many mails: every
    /// file written beside the mailbox, then each renamed into it (one task on
    /// the blocking pool).
    async fn drop_all_in_mailbox(&self, mails: &[MailRecord]) -> Vec<Result<(), String>> {
        let dirs = (self.incoming_dir(), self.mailbox_dir());
        let files: Result<Vec<(String, Vec<u8>)>, std::io::Error> = mails
            .iter()
            .map(|m| mailbox_file(m, m.delivery_body.as_deref().unwrap_or(&m.body)))
            .collect();
        let n = mails.len();
        let written = match files {
            Err(e) => Err(e),
            Ok(files) => tokio::task::spawn_blocking(move || write_all(&dirs.0, &dirs.1, &files))
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e))),
        };
        match written {
            Ok(()) => (0..n).map(|_| Ok(())).collect(),
            Err(e) => (0..n)
                .map(|_| Err(format!("mailbox folder: {e}")))
                .collect(),
        }
    }
}

/// Writes every file in `incoming`, then renames each into `dir` (see
/// `Outbox::incoming_dir`): a reader of the mailbox never sees half a file.
fn write_all(
    incoming: &std::path::Path,
    dir: &std::path::Path,
    files: &[(String, Vec<u8>)],
) -> Result<(), std::io::Error> {
    use std::io::Write;
    crate::private_files::create_dir(dir)?;
    crate::private_files::create_dir(incoming)?;
    let tmp = |name: &str| incoming.join(format!("{name}.tmp"));
    for (name, bytes) in files {
        crate::private_files::create_file(&tmp(name))?.write_all(bytes)?;
    }
    for (name, _) in files {
        std::fs::rename(tmp(name), dir.join(name))?;
    }
    Ok(())
}
