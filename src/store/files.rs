//! Uploaded product files as chunked rows, so a download works on every node and backups carry them (issue 12 item 3).
//!
//! A file is a description row ([`FileMeta`], written last, so a half-uploaded
//! file is never listed) and chunk rows of [`crate::domain::file::CHUNK_SIZE`]
//! bytes. While an upload streams in, an upload row records how many chunks it
//! wrote and when, so the chunks of an upload cut off by a crash are found and
//! swept later.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreError;
use crate::domain::FileMeta;

/// Uploaded product files as chunked rows: the part of [`super::Store`] that holds them.
#[async_trait]
pub trait FileRows: Send + Sync {
    /// Writes chunk `index` of the file `id` being uploaded, and notes in its
    /// upload row that `index + 1` chunks exist (touched at `now`).
    async fn put_file_chunk(
        &self,
        id: Uuid,
        index: u32,
        bytes: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Writes a file's description (from now on it is listed) and drops its upload row.
    async fn put_file_meta(&self, meta: &FileMeta) -> Result<(), StoreError>;
    async fn get_file_meta(&self, id: Uuid) -> Result<Option<FileMeta>, StoreError>;
    /// Every described file (order unspecified).
    async fn list_file_meta(&self) -> Result<Vec<FileMeta>, StoreError>;
    async fn get_file_chunk(&self, id: Uuid, index: u32) -> Result<Option<Vec<u8>>, StoreError>;
    /// Deletes a file's description, its upload row and chunks `0..chunks`.
    async fn delete_file(&self, id: Uuid, chunks: u32) -> Result<(), StoreError>;
    /// Uploads not touched since `before`: their id and how many chunks they wrote.
    async fn stale_uploads(&self, before: DateTime<Utc>) -> Result<Vec<(Uuid, u32)>, StoreError>;
}

/// What an upload row records: when a chunk was last written, and how many.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct UploadRow {
    pub touched_at: DateTime<Utc>,
    pub chunks: u32,
}
