//! Product files and the outbox in backups (issue 12 items 3 and 7). The
//! backup document carries the file descriptions and the outbox rows; each
//! file's bytes follow the document as chunk frames (a small MessagePack head,
//! then the raw bytes), read from the store one chunk at a time while the
//! answer streams, so a backup never holds the files in memory. A backup of
//! an older release simply ends after the document. Sessions are left out on
//! purpose (a restore signs everyone out).

use std::collections::HashMap;
use std::io::BufRead;
use std::sync::Arc;

use bytes::Bytes;
use chrono::Utc;
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use uuid::Uuid;

use super::Backup;
use crate::domain::{FileMeta, MailStatus};
use crate::store::{Store, StoreError};

/// The largest chunk a frame may announce (a damaged head must not allocate gigabytes).
const MAX_FRAME: u32 = 64 * 1024 * 1024;

/// What precedes each chunk's bytes in the backup stream.
#[derive(Debug, Serialize, Deserialize)]
struct ChunkHead {
    file: Uuid,
    index: u32,
    len: u32,
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("backup file frames: {e}"))
}

/// Adds the file descriptions and the outbox to a backup being taken.
pub(super) async fn take(store: &dyn Store, b: &mut Backup) -> Result<(), StoreError> {
    b.files = store.list_file_meta().await?;
    b.outbox = store.list_mail(usize::MAX).await?;
    b.outbox_pending = store.pending_mail().await?;
    Ok(())
}

/// The frames with every file's bytes, in file then chunk order, each read
/// from the store when the answer reaches it.
pub fn frames(
    store: Arc<dyn Store>,
    files: &[FileMeta],
) -> impl Stream<Item = Result<Bytes, StoreError>> + 'static {
    let chunks: Vec<(Uuid, u32)> = files
        .iter()
        .flat_map(|f| (0..f.chunks).map(move |i| (f.id, i)))
        .collect();
    futures_util::stream::iter(chunks).then(move |(id, index)| {
        let store = store.clone();
        async move {
            let bytes = store.get_file_chunk(id, index).await?.ok_or_else(|| {
                StoreError::Corrupt(format!("file {id}: chunk {index} is missing"))
            })?;
            frame(id, index, &bytes)
        }
    })
}

fn frame(file: Uuid, index: u32, bytes: &[u8]) -> Result<Bytes, StoreError> {
    let head = ChunkHead {
        file,
        index,
        len: bytes.len() as u32,
    };
    let mut out = rmp_serde::to_vec_named(&head).map_err(corrupt)?;
    out.extend_from_slice(bytes);
    Ok(Bytes::from(out))
}

/// Reads the chunk frames that follow the document from `r`, checking order,
/// count and SHA-256 per file, without holding more than one chunk.
pub struct FrameReader<R> {
    r: R,
    seen: HashMap<Uuid, (sha2::Sha256, u32)>,
}

impl<R: BufRead> FrameReader<R> {
    /// Frames from `r`, positioned just after the backup document.
    pub fn new(r: R) -> Self {
        FrameReader {
            r,
            seen: HashMap::new(),
        }
    }

    /// The next chunk: file, index and bytes; `None` at the end of the backup.
    pub fn next_chunk(&mut self) -> Result<Option<(Uuid, u32, Vec<u8>)>, StoreError> {
        if self.r.fill_buf().map_err(corrupt)?.is_empty() {
            return Ok(None);
        }
        let head: ChunkHead = rmp_serde::from_read(&mut self.r).map_err(corrupt)?;
        if head.len > MAX_FRAME {
            return Err(corrupt(format!("a chunk of {} bytes", head.len)));
        }
        let mut bytes = vec![0; head.len as usize];
        self.r.read_exact(&mut bytes).map_err(corrupt)?;
        let (hash, next) = self.seen.entry(head.file).or_default();
        if head.index != *next {
            return Err(corrupt(format!(
                "file {}: chunk {} out of order",
                head.file, head.index
            )));
        }
        hash.update(&bytes);
        *next += 1;
        Ok(Some((head.file, head.index, bytes)))
    }

    /// Whether every chunk of `f` was read and they hash to its checksum.
    pub fn complete(&self, f: &FileMeta) -> Result<(), StoreError> {
        let (hash, n) = self.seen.get(&f.id).cloned().unwrap_or_default();
        if n != f.chunks {
            return Err(StoreError::Corrupt(format!(
                "the backup is cut off: file {} ({}) has {n} of {} chunks",
                f.file_name, f.id, f.chunks
            )));
        }
        if !f.sha256.is_empty() && hex::encode(hash.finalize()) != f.sha256 {
            return Err(StoreError::Corrupt(format!(
                "file {} ({}): the bytes do not match its SHA-256",
                f.file_name, f.id
            )));
        }
        Ok(())
    }
}

/// Writes the files of a backup back: the chunks as they are read from
/// `frames`, then each description once its chunks were all there and matched.
pub async fn restore_files<R: BufRead>(
    store: &dyn Store,
    b: &Backup,
    mut frames: FrameReader<R>,
) -> Result<usize, StoreError> {
    while let Some((id, index, bytes)) = frames.next_chunk()? {
        store.put_file_chunk(id, index, &bytes, Utc::now()).await?;
    }
    for f in &b.files {
        frames.complete(f)?;
        store.put_file_meta(f).await?;
    }
    Ok(b.files.len())
}

/// Writes the outbox of a backup back: records, once-only tags, and unsent
/// mails as queued (whatever node had claimed them is gone).
pub(super) async fn restore_outbox(store: &dyn Store, b: &Backup) -> Result<(), StoreError> {
    for m in &b.outbox {
        if !m.tag.is_empty() {
            store.claim_mail_tag(&m.tag, m.id).await?;
        }
        store.put_mail_record(m).await?;
    }
    for p in &b.outbox_pending {
        let mut p = p.clone();
        if p.status == MailStatus::Sending {
            p.status = MailStatus::Queued;
        }
        p.claimed_by.clear();
        p.claim_until = None;
        match store.put_pending_mail(&p, None).await {
            Ok(_) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_read_back_in_order_and_are_checked() {
        let id = Uuid::new_v4();
        let mut bytes = Vec::new();
        for (i, part) in [&b"abcd"[..], &b"ef"[..]].iter().enumerate() {
            bytes.extend_from_slice(&frame(id, i as u32, part).unwrap());
        }
        let mut meta: FileMeta = serde_json::from_value(serde_json::json!({
            "id": id, "env": "production", "product_id": Uuid::nil(), "title": "t",
            "file_name": "f", "version": "1", "channel": "stable", "released": "2026-01-01",
            "size": 6, "uploaded_at": Utc::now(), "chunks": 2, "chunk_size": 4,
            "sha256": hex::encode(sha2::Sha256::digest(b"abcdef")),
        }))
        .unwrap();
        let mut r = FrameReader::new(std::io::Cursor::new(bytes.clone()));
        assert_eq!(r.next_chunk().unwrap().unwrap().2, b"abcd");
        assert_eq!(r.next_chunk().unwrap().unwrap().2, b"ef");
        assert!(r.next_chunk().unwrap().is_none());
        r.complete(&meta).unwrap();
        meta.sha256 = "00".into();
        assert!(r.complete(&meta).is_err(), "a wrong checksum is refused");
        // Cut off after the first frame: the file is incomplete.
        let first = frame(id, 0, b"abcd").unwrap().len();
        let mut cut = FrameReader::new(std::io::Cursor::new(bytes[..first].to_vec()));
        while cut.next_chunk().unwrap().is_some() {}
        assert!(cut.complete(&meta).is_err());
    }
}
