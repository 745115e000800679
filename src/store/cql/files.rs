//! [`crate::store::FileRows`] on the CQL backend (global keyspace): descriptions
//! in one small partition, each chunk its own partition, and a row per upload
//! still streaming in. Statements are prepared here, beside the queries.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use uuid::Uuid;

use super::rows::{blobs, decode, encode};
use super::{corrupt, down, CqlStore};
use crate::domain::FileMeta;
use crate::store::{FileRows, StoreError};

/// Prepares one statement of this part (a failure names it).
pub(super) async fn prep(s: &Session, cql: String) -> Result<PreparedStatement, StoreError> {
    s.prepare(cql.clone())
        .await
        .map_err(|e| down(format!("preparing `{cql}`: {e}")))
}

/// The statements of product files.
pub(super) struct FileStatements {
    meta_put: PreparedStatement,
    meta_get: PreparedStatement,
    meta_all: PreparedStatement,
    meta_delete: PreparedStatement,
    chunk_put: PreparedStatement,
    chunk_get: PreparedStatement,
    chunk_delete: PreparedStatement,
    upload_put: PreparedStatement,
    upload_all: PreparedStatement,
    upload_delete: PreparedStatement,
}

impl FileStatements {
    pub(super) async fn prepare(s: &Session, prefix: &str) -> Result<Self, StoreError> {
        let ks = format!("{prefix}_global");
        Ok(FileStatements {
            meta_put: prep(s, format!("INSERT INTO {ks}.files (bucket, id, body) VALUES (0, ?, ?)")).await?,
            meta_get: prep(s, format!("SELECT body FROM {ks}.files WHERE bucket = 0 AND id = ?")).await?,
            meta_all: prep(s, format!("SELECT body FROM {ks}.files WHERE bucket = 0")).await?,
            meta_delete: prep(s, format!("DELETE FROM {ks}.files WHERE bucket = 0 AND id = ?")).await?,
            chunk_put: prep(s, format!("INSERT INTO {ks}.file_chunks (id, idx, bytes) VALUES (?, ?, ?)")).await?,
            chunk_get: prep(s, format!("SELECT bytes FROM {ks}.file_chunks WHERE id = ? AND idx = ?")).await?,
            chunk_delete: prep(s, format!("DELETE FROM {ks}.file_chunks WHERE id = ? AND idx = ?")).await?,
            upload_put: prep(s, format!("INSERT INTO {ks}.file_uploads (bucket, id, touched_at, chunks) VALUES (0, ?, ?, ?)")).await?,
            upload_all: prep(s, format!("SELECT id, touched_at, chunks FROM {ks}.file_uploads WHERE bucket = 0")).await?,
            upload_delete: prep(s, format!("DELETE FROM {ks}.file_uploads WHERE bucket = 0 AND id = ?")).await?,
        })
    }
}

impl CqlStore {
    async fn read_metas(&self) -> Result<Vec<FileMeta>, StoreError> {
        let pager = self
            .session
            .execute_iter(self.files.meta_all.clone(), ())
            .await
            .map_err(down)?;
        let mut stream = pager.rows_stream::<(Option<Vec<u8>>,)>().map_err(corrupt)?;
        let mut out = Vec::new();
        while let Some((body,)) = stream.try_next().await.map_err(down)? {
            if let Some(b) = body {
                out.push(decode(&b)?);
            }
        }
        Ok(out)
    }

    async fn read_uploads(&self) -> Result<Vec<(Uuid, DateTime<Utc>, u32)>, StoreError> {
        let rows = self.rows(&self.files.upload_all, ()).await?;
        let mut out = Vec::new();
        type Row = (Uuid, Option<DateTime<Utc>>, Option<i32>);
        for r in rows.rows::<Row>().map_err(corrupt)? {
            let (id, at, chunks) = r.map_err(corrupt)?;
            out.push((
                id,
                at.unwrap_or_default(),
                chunks.unwrap_or(0).max(0) as u32,
            ));
        }
        Ok(out)
    }

    async fn remove_file(&self, id: Uuid, chunks: u32) -> Result<(), StoreError> {
        // The description first: from then on nobody lists or downloads it.
        self.exec(&self.files.meta_delete, (id,)).await?;
        let indexes: Vec<i32> = (0..chunks as i32).collect();
        super::fan_out(&indexes, |i| self.exec(&self.files.chunk_delete, (id, *i))).await?;
        self.exec(&self.files.upload_delete, (id,)).await
    }
}

#[async_trait]
impl FileRows for CqlStore {
    async fn put_file_chunk(
        &self,
        id: Uuid,
        index: u32,
        bytes: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.timed("put_file_chunk", async {
            let (index, next) = (index as i32, index as i32 + 1);
            self.exec(&self.files.chunk_put, (id, index, bytes)).await?;
            self.exec(&self.files.upload_put, (id, now, next)).await
        })
        .await
    }

    async fn put_file_meta(&self, meta: &FileMeta) -> Result<(), StoreError> {
        self.timed("put_file_meta", async {
            self.exec(&self.files.meta_put, (meta.id, encode(meta)?))
                .await?;
            self.exec(&self.files.upload_delete, (meta.id,)).await
        })
        .await
    }

    async fn get_file_meta(&self, id: Uuid) -> Result<Option<FileMeta>, StoreError> {
        self.timed("get_file_meta", async {
            let r = self.execute(&self.files.meta_get, (id,)).await?;
            blobs(r)?.first().map(|b| decode(b)).transpose()
        })
        .await
    }

    async fn list_file_meta(&self) -> Result<Vec<FileMeta>, StoreError> {
        self.timed("list_file_meta", self.read_metas()).await
    }

    async fn get_file_chunk(&self, id: Uuid, index: u32) -> Result<Option<Vec<u8>>, StoreError> {
        self.timed("get_file_chunk", async {
            let r = self
                .execute(&self.files.chunk_get, (id, index as i32))
                .await?;
            Ok(blobs(r)?.into_iter().next())
        })
        .await
    }

    async fn delete_file(&self, id: Uuid, chunks: u32) -> Result<(), StoreError> {
        self.timed("delete_file", self.remove_file(id, chunks))
            .await
    }

    async fn stale_uploads(&self, before: DateTime<Utc>) -> Result<Vec<(Uuid, u32)>, StoreError> {
        self.timed("stale_uploads", async {
            Ok(self
                .read_uploads()
                .await?
                .into_iter()
                .filter(|(_, at, _)| *at < before)
                .map(|(id, _, n)| (id, n))
                .collect())
        })
        .await
    }
}
