//! [`crate::store::FileRows`] on the embedded backend: product files in the
//! global file, as a description table, a chunk table keyed by (file, index)
//! and an upload table of uploads still streaming in. The tables appear with
//! the first upload (reads of a file that never had one find nothing).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redb::{
    Database, ReadTransaction, ReadableTable, Table, TableDefinition, TableError, TableHandle,
    WriteTransaction,
};
use uuid::Uuid;

use super::tables::{decode, encode, unavailable, Records};
use super::EmbeddedStore;
use crate::domain::FileMeta;
use crate::store::{FileRows, StoreError, UploadRow};

/// File descriptions under the file's id.
const FILES: Records = TableDefinition::new("files");
/// Chunk bytes under (file id, chunk index).
const FILE_CHUNKS: TableDefinition<(u128, u32), &[u8]> = TableDefinition::new("file_chunks");
/// Uploads streaming in: file id → [`UploadRow`].
const FILE_UPLOADS: TableDefinition<u128, &[u8]> = TableDefinition::new("file_uploads");

/// Opens `table` for reading; `None` when no write ever created it.
pub(super) fn open_read<K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &ReadTransaction,
    table: TableDefinition<K, V>,
) -> Result<Option<redb::ReadOnlyTable<K, V>>, StoreError> {
    match txn.open_table(table) {
        Ok(t) => Ok(Some(t)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(unavailable(format!("{}: {e}", table.name()))),
    }
}

fn write_chunk(
    txn: &WriteTransaction,
    id: u128,
    index: u32,
    bytes: &[u8],
    row: &[u8],
) -> Result<(), StoreError> {
    let mut chunks = txn.open_table(FILE_CHUNKS).map_err(unavailable)?;
    chunks.insert((id, index), bytes).map_err(unavailable)?;
    let mut uploads = txn.open_table(FILE_UPLOADS).map_err(unavailable)?;
    uploads.insert(id, row).map_err(unavailable)?;
    Ok(())
}

fn remove_chunks(
    chunks: &mut Table<(u128, u32), &[u8]>,
    id: u128,
    count: u32,
) -> Result<(), StoreError> {
    for i in 0..count {
        chunks.remove((id, i)).map_err(unavailable)?;
    }
    Ok(())
}

fn delete(txn: &WriteTransaction, id: Uuid, count: u32) -> Result<(), StoreError> {
    let mut files = txn.open_table(FILES).map_err(unavailable)?;
    files.remove(id.to_string().as_str()).map_err(unavailable)?;
    let mut chunks = txn.open_table(FILE_CHUNKS).map_err(unavailable)?;
    remove_chunks(&mut chunks, id.as_u128(), count)?;
    let mut uploads = txn.open_table(FILE_UPLOADS).map_err(unavailable)?;
    uploads.remove(id.as_u128()).map_err(unavailable)?;
    Ok(())
}

fn stale(db: &Database, before: DateTime<Utc>) -> Result<Vec<(Uuid, u32)>, StoreError> {
    let txn = db.begin_read().map_err(unavailable)?;
    let Some(t) = open_read(&txn, FILE_UPLOADS)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for row in t.iter().map_err(unavailable)? {
        let (k, v) = row.map_err(unavailable)?;
        let u: UploadRow = decode(v.value())?;
        if u.touched_at < before {
            out.push((Uuid::from_u128(k.value()), u.chunks));
        }
    }
    Ok(out)
}

fn metas(db: &Database) -> Result<Vec<FileMeta>, StoreError> {
    let txn = db.begin_read().map_err(unavailable)?;
    let Some(t) = open_read(&txn, FILES)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for row in t.iter().map_err(unavailable)? {
        out.push(decode(row.map_err(unavailable)?.1.value())?);
    }
    Ok(out)
}

fn meta(db: &Database, id: Uuid) -> Result<Option<FileMeta>, StoreError> {
    let txn = db.begin_read().map_err(unavailable)?;
    let Some(t) = open_read(&txn, FILES)? else {
        return Ok(None);
    };
    let v = t.get(id.to_string().as_str()).map_err(unavailable)?;
    v.map(|g| decode(g.value())).transpose()
}

fn chunk(db: &Database, id: Uuid, index: u32) -> Result<Option<Vec<u8>>, StoreError> {
    let txn = db.begin_read().map_err(unavailable)?;
    let Some(t) = open_read(&txn, FILE_CHUNKS)? else {
        return Ok(None);
    };
    let v = t.get((id.as_u128(), index)).map_err(unavailable)?;
    Ok(v.map(|g| g.value().to_vec()))
}

#[async_trait]
impl FileRows for EmbeddedStore {
    async fn put_file_chunk(
        &self,
        id: Uuid,
        index: u32,
        bytes: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let bytes = bytes.to_vec();
        let row = encode(&UploadRow {
            touched_at: now,
            chunks: index + 1,
        })?;
        self.write("put_file_chunk", self.global_writer(), move |txn| {
            write_chunk(txn, id.as_u128(), index, &bytes, &row)
        })
        .await
    }

    async fn put_file_meta(&self, meta: &FileMeta) -> Result<(), StoreError> {
        let (id, bytes) = (meta.id, encode(meta)?);
        self.write("put_file_meta", self.global_writer(), move |txn| {
            let mut files = txn.open_table(FILES).map_err(unavailable)?;
            files
                .insert(id.to_string().as_str(), bytes.as_slice())
                .map_err(unavailable)?;
            let mut uploads = txn.open_table(FILE_UPLOADS).map_err(unavailable)?;
            uploads.remove(id.as_u128()).map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn get_file_meta(&self, id: Uuid) -> Result<Option<FileMeta>, StoreError> {
        self.run("get_file_meta", self.global_db(), move |db| meta(db, id))
            .await
    }

    async fn list_file_meta(&self) -> Result<Vec<FileMeta>, StoreError> {
        self.run("list_file_meta", self.global_db(), metas).await
    }

    async fn get_file_chunk(&self, id: Uuid, index: u32) -> Result<Option<Vec<u8>>, StoreError> {
        self.run("get_file_chunk", self.global_db(), move |db| {
            chunk(db, id, index)
        })
        .await
    }

    async fn delete_file(&self, id: Uuid, chunks: u32) -> Result<(), StoreError> {
        self.write("delete_file", self.global_writer(), move |txn| {
            delete(txn, id, chunks)
        })
        .await
    }

    async fn stale_uploads(&self, before: DateTime<Utc>) -> Result<Vec<(Uuid, u32)>, StoreError> {
        self.run("stale_uploads", self.global_db(), move |db| {
            stale(db, before)
        })
        .await
    }
}
