//! Adding and removing a product's files (installers, documentation): an
//! upload streams into the store as chunks, hashed and within the size limit;
//! then it is checked and described, and the description written last by
//! [`FileStore::commit`], so a half-uploaded file is never listed.

use std::path::Path;

use chrono::{NaiveDate, Utc};
use futures_util::{Stream, StreamExt};
use uuid::Uuid;

use super::error::AppError;
use super::files::{FileMeta, FileStore, CHANNELS};
use crate::domain::file::{Chunker, CHUNK_SIZE};
use crate::domain::Environment;
use crate::store::Store;

/// An upload streamed into the store's chunks: its name as sent, the file id
/// its chunks are under, its size, SHA-256 (shown to customers later) and chunk count.
#[derive(Debug)]
pub struct Received {
    pub file_name: String,
    pub id: Uuid,
    pub size: u64,
    pub sha256: String,
    pub chunks: u32,
}

impl Received {
    /// Removes the chunks of an upload that was refused after it was read.
    pub async fn discard(&self, files: &FileStore) {
        files.discard_upload(self.id, self.chunks).await;
    }
}

/// Streams an upload's bytes into chunks of the store, hashing them on the
/// way, within `limit` bytes (`portal.max_upload_mb`). The chunks are removed
/// on any failure (a cut-off upload too); a refusal names the `file` field.
pub async fn receive<S, B, E>(
    files: &FileStore,
    body: &mut S,
    file_name: String,
    limit: u64,
) -> Result<Received, AppError>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    let id = Uuid::new_v4();
    let mut written = 0;
    match stream_to(files, id, &mut written, body, limit).await {
        Ok((size, sha256)) => Ok(Received {
            file_name,
            id,
            size,
            sha256,
            chunks: written,
        }),
        Err(e) => {
            // The chunk being written when it failed may exist too.
            files.discard_upload(id, written + 1).await;
            Err(e)
        }
    }
}

/// Writes `body` as chunks of the file `id` (counting them in `written`): its
/// size and hex SHA-256.
async fn stream_to<S, B, E>(
    files: &FileStore,
    id: Uuid,
    written: &mut u32,
    body: &mut S,
    limit: u64,
) -> Result<(u64, String), AppError>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    use sha2::Digest;
    let mut chunker = Chunker::new(CHUNK_SIZE);
    let mut hasher = sha2::Sha256::new();
    let mut size = 0u64;
    while let Some(piece) = body.next().await {
        let piece = piece
            .map_err(|e| AppError::field("file", format!("could not read the upload: {e}")))?;
        let piece = piece.as_ref();
        size += piece.len() as u64;
        if size > limit {
            return Err(AppError::field(
                "file",
                format!(
                    "the file is larger than the upload limit of {} MiB (portal.max_upload_mb)",
                    limit / (1024 * 1024)
                ),
            ));
        }
        hasher.update(piece);
        for (index, chunk) in chunker.push(piece) {
            *written = index;
            files.put_chunk(id, index, &chunk).await?;
            *written = index + 1;
        }
    }
    if let Some((index, chunk)) = chunker.finish() {
        *written = index;
        files.put_chunk(id, index, &chunk).await?;
        *written = index + 1;
    }
    Ok((size, hex::encode(hasher.finalize())))
}

/// What the upload form says about a file, as typed.
#[derive(Debug, Clone, Default)]
pub struct FileDescription {
    /// Empty: the file's name.
    pub title: String,
    pub version: String,
    pub channel: String,
    /// YYYY-MM-DD.
    pub released: String,
}

/// Adds an uploaded file to a product: the product must exist in `env`, the
/// file be non-empty and the description valid; then its description is
/// written (it is listed from then on). The caller discards `file` when this fails.
pub async fn add_product_file(
    store: &dyn Store,
    files: &FileStore,
    env: Environment,
    product_id: Uuid,
    d: &FileDescription,
    file: Option<&Received>,
    who: &str,
) -> Result<FileMeta, AppError> {
    super::products::get(store, env, product_id).await?;
    let file = file
        .filter(|f| !f.file_name.trim().is_empty() && f.size > 0)
        .ok_or_else(|| AppError::field("file", "Choose a non-empty file to upload."))?;
    let meta = describe(env, product_id, d, file)?;
    files.commit(&meta).await?;
    audit_file(store, who, "file.uploaded", &meta).await?;
    Ok(meta)
}

/// The description kept beside an upload: version (no spaces, at most 40
/// bytes), a known channel, a release date; the name without folders or
/// control characters, and the title (the name when none was typed), each at
/// most 200 characters.
fn describe(
    env: Environment,
    product_id: Uuid,
    d: &FileDescription,
    file: &Received,
) -> Result<FileMeta, AppError> {
    let version = d.version.clone();
    if version.is_empty() || version.len() > 40 || version.chars().any(char::is_whitespace) {
        return Err(AppError::field(
            "version",
            "Version is required (like 2.4.1, no spaces).",
        ));
    }
    if !CHANNELS.contains(&d.channel.as_str()) {
        return Err(AppError::field(
            "channel",
            "Channel must be stable, beta or hotfix.",
        ));
    }
    let released = NaiveDate::parse_from_str(&d.released, "%Y-%m-%d")
        .map_err(|_| AppError::field("released", "Release date must be a date (YYYY-MM-DD)."))?;
    let file_name = base_name(&file.file_name);
    let title = match d.title.as_str() {
        "" => file_name.clone(),
        t => t.chars().take(200).collect(),
    };
    Ok(FileMeta {
        id: file.id,
        env,
        product_id,
        title,
        file_name,
        version,
        channel: d.channel.clone(),
        released,
        size: file.size,
        uploaded_at: Utc::now(),
        sha256: file.sha256.clone(),
        chunks: file.chunks,
        chunk_size: CHUNK_SIZE,
    })
}

/// A sent file name without its folders and control characters, at most 200 characters.
fn base_name(sent: &str) -> String {
    Path::new(sent)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect()
}

/// Removes a product's file; NOT_FOUND unless the file belongs to that product in `env`.
pub async fn remove_product_file(
    store: &dyn Store,
    files: &FileStore,
    env: Environment,
    product_id: Uuid,
    id: Uuid,
    who: &str,
) -> Result<FileMeta, AppError> {
    let meta = files
        .get(id)
        .await?
        .filter(|m| m.product_id == product_id && m.env == env)
        .ok_or_else(|| AppError::NotFound("No such file.".into()))?;
    files.remove(&meta).await?;
    audit_file(store, who, "file.removed", &meta).await?;
    Ok(meta)
}

/// Records an upload or a removal in the file's environment's log.
async fn audit_file(
    store: &dyn Store,
    who: &str,
    action: &str,
    meta: &FileMeta,
) -> Result<(), AppError> {
    let entry = crate::engine::origin::entry(who, action, None, Utc::now()).detail(format!(
        "{} {} ({}, product {})",
        meta.file_name, meta.version, meta.channel, meta.product_id
    ));
    Ok(store.append_audit(meta.env, &entry).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(parts: &[&'static str]) -> impl Stream<Item = Result<&'static [u8], String>> + Unpin {
        futures_util::stream::iter(parts.iter().map(|p| Ok(p.as_bytes())).collect::<Vec<_>>())
    }

    #[tokio::test]
    async fn an_upload_is_hashed_bounded_and_swept_when_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let store = crate::store::embedded::EmbeddedStore::open(tmp.path(), 1).unwrap();
        let fs = FileStore::new(std::sync::Arc::new(store), tmp.path());
        let got = receive(&fs, &mut chunks(&["a", "bc"]), "x.zip".into(), 3)
            .await
            .unwrap();
        assert_eq!(
            (got.size, got.file_name.as_str(), got.chunks),
            (3, "x.zip", 1)
        );
        assert_eq!(
            got.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let chunk = fs.store().get_file_chunk(got.id, 0).await.unwrap();
        assert_eq!(chunk.as_deref(), Some(&b"abc"[..]));
        let later = Utc::now() + chrono::Duration::days(1);
        assert_eq!(fs.store().stale_uploads(later).await.unwrap().len(), 1);
        got.discard(&fs).await;
        assert_eq!(fs.store().get_file_chunk(got.id, 0).await.unwrap(), None);
        assert!(fs.store().stale_uploads(later).await.unwrap().is_empty());
        let big = receive(&fs, &mut chunks(&["ab", "cd"]), "x.zip".into(), 3).await;
        let Err(AppError::Invalid(e)) = big else {
            panic!("{big:?}")
        };
        assert!(e
            .get("file")
            .starts_with("the file is larger than the upload limit"));
        assert!(fs.store().stale_uploads(later).await.unwrap().is_empty());
        assert!(fs.all().await.unwrap().is_empty(), "nothing is listed");
    }

    #[test]
    fn a_description_is_checked_and_the_name_cleaned() {
        let file = Received {
            file_name: "C:\\x/../dir/setup\u{7}.exe".into(),
            id: Uuid::new_v4(),
            size: 1,
            sha256: String::new(),
            chunks: 1,
        };
        let d = FileDescription {
            title: String::new(),
            version: "2.4.1".into(),
            channel: "beta".into(),
            released: "2026-01-02".into(),
        };
        let id = Uuid::nil();
        let m = describe(Environment::Staging, id, &d, &file).unwrap();
        assert_eq!(
            (m.title.as_str(), m.file_name.as_str()),
            ("setup.exe", "setup.exe")
        );
        let refused = |d: FileDescription| match describe(Environment::Staging, id, &d, &file) {
            Err(AppError::Invalid(e)) => e.first().map(|(f, _)| f),
            other => panic!("{other:?}"),
        };
        let bad_version = FileDescription {
            version: "2 4".into(),
            ..d.clone()
        };
        let bad_channel = FileDescription {
            channel: "nightly".into(),
            ..d.clone()
        };
        let bad_date = FileDescription {
            released: "soon".into(),
            ..d
        };
        assert_eq!(refused(bad_version), Some("version"));
        assert_eq!(refused(bad_channel), Some("channel"));
        assert_eq!(refused(bad_date), Some("released"));
    }
}
