//! Product files (installers, documentation) that customers download: kept in
//! the store as a description and 512 KiB chunks (issue 12 item 3), so every
//! node serves every file and backups carry them. Uploads stream into chunks
//! in `app::product_files`; downloads stream out chunk by chunk.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};
use uuid::Uuid;

use super::error::AppError;
use crate::domain::file::{pieces, Piece};
use crate::domain::Environment;
use crate::store::Store;

pub use crate::domain::FileMeta;

/// The channels a file may be tagged with.
pub const CHANNELS: [&str; 3] = ["stable", "beta", "hotfix"];

/// An upload not written to for this long is taken as cut off; its chunks are swept.
pub const STALE_UPLOAD: chrono::Duration = chrono::Duration::hours(1);

/// Product files in the store, and the folder the previous release kept them in.
pub struct FileStore {
    store: Arc<dyn Store>,
    legacy_dir: PathBuf,
}

impl FileStore {
    /// Files in `store`; `<data_dir>/files` is only read once, by [`super::legacy_copy`].
    pub fn new(store: Arc<dyn Store>, data_dir: &Path) -> FileStore {
        FileStore {
            store,
            legacy_dir: data_dir.join("files"),
        }
    }

    /// Where the previous release kept files on this node's disk.
    pub fn legacy_dir(&self) -> &Path {
        &self.legacy_dir
    }

    #[cfg(test)]
    pub(crate) fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Writes one chunk of the upload `id`.
    pub(crate) async fn put_chunk(
        &self,
        id: Uuid,
        index: u32,
        bytes: &[u8],
    ) -> Result<(), AppError> {
        Ok(self
            .store
            .put_file_chunk(id, index, bytes, Utc::now())
            .await?)
    }

    /// Makes a finished upload a listed file (the description is written last).
    pub async fn commit(&self, meta: &FileMeta) -> Result<(), AppError> {
        Ok(self.store.put_file_meta(meta).await?)
    }

    /// Removes the `chunks` chunks of an upload that was refused or cut off.
    pub async fn discard_upload(&self, id: Uuid, chunks: u32) {
        if let Err(e) = self.store.delete_file(id, chunks).await {
            tracing::warn!(error = %e, file = %id, "could not remove an unfinished upload; swept later");
        }
    }

    /// A file's description.
    pub async fn get(&self, id: Uuid) -> Result<Option<FileMeta>, AppError> {
        Ok(self.store.get_file_meta(id).await?)
    }

    /// Every described file, newest release first.
    pub async fn all(&self) -> Result<Vec<FileMeta>, AppError> {
        let mut v = self.store.list_file_meta().await?;
        v.sort_by(|a, b| b.released.cmp(&a.released).then(a.title.cmp(&b.title)));
        Ok(v)
    }

    /// A product's files in one environment, newest release first.
    pub async fn of_product(
        &self,
        env: Environment,
        product_id: Uuid,
    ) -> Result<Vec<FileMeta>, AppError> {
        Ok(self
            .all()
            .await?
            .into_iter()
            .filter(|f| f.env == env && f.product_id == product_id)
            .collect())
    }

    /// Deletes a file, description first, then its chunks.
    pub async fn remove(&self, meta: &FileMeta) -> Result<(), AppError> {
        Ok(self.store.delete_file(meta.id, meta.chunks).await?)
    }

    /// Bytes `start..=end` of a file, read from the store one chunk at a time as
    /// the client takes them (never the whole file in memory).
    pub fn bytes(
        &self,
        meta: &FileMeta,
        start: u64,
        end: u64,
    ) -> impl Stream<Item = Result<Bytes, AppError>> + 'static {
        let store = self.store.clone();
        let id = meta.id;
        let parts = if meta.size == 0 {
            Vec::new()
        } else {
            pieces(start, end.min(meta.size - 1), meta.chunk_size)
        };
        futures_util::stream::iter(parts).then(move |p| read_piece(store.clone(), id, p))
    }

    /// Removes the chunks of uploads untouched since `before` (cut off by a crash).
    pub async fn sweep_uploads(&self, before: DateTime<Utc>) -> Result<usize, AppError> {
        let stale = self.store.stale_uploads(before).await?;
        for (id, chunks) in &stale {
            self.store.delete_file(*id, *chunks).await?;
        }
        Ok(stale.len())
    }

    /// Sweeps cut-off uploads now and every hour.
    pub fn spawn_sweeper(self: Arc<Self>) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(3600));
            loop {
                tick.tick().await;
                match self.sweep_uploads(Utc::now() - STALE_UPLOAD).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(uploads = n, "removed the chunks of cut-off uploads"),
                    Err(e) => tracing::warn!(error = %e, "could not sweep cut-off uploads"),
                }
            }
        });
    }
}

async fn read_piece(store: Arc<dyn Store>, id: Uuid, p: Piece) -> Result<Bytes, AppError> {
    let chunk = store
        .get_file_chunk(id, p.index)
        .await?
        .ok_or_else(|| AppError::Internal(format!("file {id}: chunk {} is missing", p.index)))?;
    if chunk.len() < p.to {
        return Err(AppError::Internal(format!(
            "file {id}: chunk {} is short",
            p.index
        )));
    }
    Ok(Bytes::from(chunk).slice(p.from..p.to))
}

/// A human size ("1.4 MB").
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(1_400_000), "1.4 MB");
        assert_eq!(human_size(2_000_000_000), "2.0 GB");
    }
}
