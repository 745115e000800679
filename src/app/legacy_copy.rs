//! The one-time copy of what the previous release kept in folders on a node's
//! disk into the store (issue 12 item 3): product files (`<data_dir>/files`)
//! and the outbox (`<data_dir>/outbox/*.json`, plus the `mail.once.*` claims of
//! once-only mails). The folders are per node, so the copy is marked done by a
//! marker file inside each folder (not a store secret: another node's folder
//! still needs its own copy). Every write is idempotent (a file already in the
//! store is skipped, records are keyed by their id), so a copy cut off by a
//! crash is finished at the next start. The folders are left as they were.

use std::path::Path;

use chrono::Utc;
use tokio::io::AsyncReadExt;

use super::error::AppError;
use super::files::{FileMeta, FileStore};
use super::mail::{Outbox, StoredMail};
use crate::domain::file::{Chunker, CHUNK_SIZE};
use crate::domain::{MailRecord, MailStatus};

/// The marker a finished copy leaves in the folder it read.
pub const MARKER: &str = ".copied-to-store";

fn io(e: std::io::Error) -> AppError {
    AppError::Internal(format!("legacy copy: {e}"))
}

/// Copies the previous release's product files into the store once; returns how many.
pub async fn copy_files(files: &FileStore) -> Result<usize, AppError> {
    let dir = files.legacy_dir().to_path_buf();
    if !dir.is_dir() || dir.join(MARKER).exists() {
        return Ok(0);
    }
    let mut copied = 0;
    for entry in std::fs::read_dir(&dir).map_err(io)?.flatten() {
        let Ok(bytes) = std::fs::read(entry.path().join("meta.json")) else {
            continue;
        };
        let Ok(meta) = serde_json::from_slice::<FileMeta>(&bytes) else {
            tracing::warn!(file = %entry.path().display(), "skipped: unreadable meta.json");
            continue;
        };
        if files.get(meta.id).await?.is_some() {
            continue;
        }
        copy_one(files, meta, &entry.path().join("data")).await?;
        copied += 1;
    }
    crate::private_files::write(&dir.join(MARKER), Utc::now().to_rfc3339().as_bytes())
        .map_err(io)?;
    tracing::info!(
        files = copied,
        folder = %dir.display(),
        "copied the previous release's product files into the store; the folder is left as it was (remove it once every node runs this release)"
    );
    Ok(copied)
}

/// Streams one file's bytes into chunks, then writes its description.
async fn copy_one(files: &FileStore, mut meta: FileMeta, data: &Path) -> Result<(), AppError> {
    use sha2::Digest;
    let mut f = tokio::fs::File::open(data).await.map_err(io)?;
    let mut chunker = Chunker::new(CHUNK_SIZE);
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).await.map_err(io)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
        for (i, chunk) in chunker.push(&buf[..n]) {
            files.put_chunk(meta.id, i, &chunk).await?;
        }
    }
    let mut chunks = chunker.chunks();
    if let Some((i, chunk)) = chunker.finish() {
        files.put_chunk(meta.id, i, &chunk).await?;
        chunks = i + 1;
    }
    meta.size = size;
    meta.sha256 = hex::encode(hasher.finalize());
    meta.chunks = chunks;
    meta.chunk_size = CHUNK_SIZE;
    files.commit(&meta).await
}

/// Copies the previous release's outbox files and once-only claims into the
/// store once; returns how many mails.
pub async fn copy_outbox(outbox: &Outbox) -> Result<usize, AppError> {
    let dir = outbox.dir().to_path_buf();
    if dir.join(MARKER).exists() {
        return Ok(0);
    }
    let store = outbox.store();
    for (name, _) in store.list_secrets().await? {
        if let Some(tag) = name.strip_prefix("mail.once.") {
            store.claim_mail_tag(tag, uuid::Uuid::nil()).await?;
        }
    }
    let mut copied = 0;
    for entry in std::fs::read_dir(&dir).map_err(io)?.flatten() {
        let p = entry.path();
        if p.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let Ok(old) = std::fs::read(&p).map(|b| serde_json::from_slice::<StoredMail>(&b)) else {
            continue;
        };
        let Ok(old) = old else {
            tracing::warn!(file = %p.display(), "skipped: not an outbox mail");
            continue;
        };
        if !old.tag.is_empty() {
            store.claim_mail_tag(&old.tag, old.id).await?;
        }
        store.put_mail_record(&record_of_old(old)).await?;
        copied += 1;
    }
    // No marker for a folder that held nothing (each start looks again, cheaply).
    if copied > 0 {
        crate::private_files::write(&dir.join(MARKER), Utc::now().to_rfc3339().as_bytes())
            .map_err(io)?;
        tracing::info!(
            mails = copied,
            folder = %dir.display(),
            "copied the previous release's outbox into the store; the folder is left as it was"
        );
    }
    Ok(copied)
}

/// A mail of the previous release as a record: it was delivered (or failed,
/// never retried) when it was written.
fn record_of_old(old: StoredMail) -> MailRecord {
    let mut m = MailRecord::queued(old.id, old.at, &old.to, &old.subject, &old.kind);
    m.body = old.body;
    m.tag = old.tag;
    m.attempts = 1;
    match old.delivery.as_str() {
        "sent" | "folder only" => {
            m.status = MailStatus::Sent;
            m.sent_at = Some(old.at);
            m.local = old.delivery == "folder only";
        }
        other => {
            m.status = MailStatus::Failed;
            m.last_error = other.to_owned();
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_mails_become_finished_records() {
        let old = |delivery: &str| StoredMail {
            id: uuid::Uuid::nil(),
            at: Utc::now(),
            to: "a@b.c".into(),
            subject: "S".into(),
            body: "masked".into(),
            kind: "reset".into(),
            tag: String::new(),
            delivery: delivery.into(),
        };
        let sent = record_of_old(old("folder only"));
        assert_eq!((sent.status, sent.local), (MailStatus::Sent, true));
        let failed = record_of_old(old("SMTP failed: refused"));
        assert_eq!(failed.status, MailStatus::Failed);
        assert_eq!(failed.last_error, "SMTP failed: refused");
        assert_eq!(failed.delivery_body, None);
    }
}
