//! Adding and removing a product's files (installers, documentation): an
//! upload streams into the files folder, hashed and within the size limit, is
//! checked and described, then moved into place by [`FileStore::commit`].

use std::path::{Path, PathBuf};

use chrono::{NaiveDate, Utc};
use futures_util::{Stream, StreamExt};
use uuid::Uuid;

use super::error::AppError;
use super::files::{FileMeta, FileStore, CHANNELS};
use crate::domain::Environment;
use crate::store::Store;

/// An upload streamed to a temporary file of the files folder: its name as
/// sent, where it is, its size and SHA-256 (shown to customers later).
#[derive(Debug)]
pub struct Received {
    pub file_name: String,
    pub temp: PathBuf,
    pub size: u64,
    pub sha256: String,
}

impl Received {
    /// Removes the temporary file of an upload that was refused after it was read.
    pub async fn discard(&self) {
        let _ = tokio::fs::remove_file(&self.temp).await;
    }
}

fn temp_error(e: std::io::Error) -> AppError {
    AppError::Internal(format!("upload temp file: {e}"))
}

/// Streams an upload's bytes to a temporary file, hashing them on the way,
/// within `limit` bytes (`portal.max_upload_mb`). The temporary file is removed
/// on any failure; a refusal names the `file` field.
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
    let temp = files.temp_path();
    let result = stream_to(&temp, body, limit).await;
    match result {
        Ok((size, sha256)) => Ok(Received {
            file_name,
            temp,
            size,
            sha256,
        }),
        Err(e) => {
            let _ = tokio::fs::remove_file(&temp).await;
            Err(e)
        }
    }
}

/// Writes `body` to `temp`: its size and hex SHA-256.
async fn stream_to<S, B, E>(
    temp: &Path,
    body: &mut S,
    limit: u64,
) -> Result<(u64, String), AppError>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    use sha2::Digest;
    use tokio::io::AsyncWriteExt;
    let std_file = crate::private_files::create_file(temp).map_err(temp_error)?;
    let mut out = tokio::fs::File::from_std(std_file);
    let mut hasher = sha2::Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk
            .map_err(|e| AppError::field("file", format!("could not read the upload: {e}")))?;
        let chunk = chunk.as_ref();
        size += chunk.len() as u64;
        if size > limit {
            return Err(AppError::field(
                "file",
                format!(
                    "the file is larger than the upload limit of {} MiB (portal.max_upload_mb)",
                    limit / (1024 * 1024)
                ),
            ));
        }
        hasher.update(chunk);
        out.write_all(chunk).await.map_err(temp_error)?;
    }
    out.sync_all().await.map_err(temp_error)?;
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
/// file be non-empty and the description valid; then the file moves into place
/// with its description. The caller discards `file` when this fails.
pub async fn add_product_file(
    store: &dyn Store,
    files: &FileStore,
    env: Environment,
    product_id: Uuid,
    d: &FileDescription,
    file: Option<&Received>,
) -> Result<FileMeta, AppError> {
    super::products::get(store, env, product_id).await?;
    let file = file
        .filter(|f| !f.file_name.trim().is_empty() && f.size > 0)
        .ok_or_else(|| AppError::field("file", "Choose a non-empty file to upload."))?;
    let meta = describe(env, product_id, d, file)?;
    files
        .commit(&meta, &file.temp)
        .await
        .map_err(AppError::Internal)?;
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
        id: Uuid::new_v4(),
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
    files: &FileStore,
    env: Environment,
    product_id: Uuid,
    id: Uuid,
) -> Result<FileMeta, AppError> {
    let (meta, _) = files
        .get(id)
        .filter(|(m, _)| m.product_id == product_id && m.env == env)
        .ok_or_else(|| AppError::NotFound("No such file.".into()))?;
    files.remove(id).await.map_err(AppError::Internal)?;
    Ok(meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(parts: &[&'static str]) -> impl Stream<Item = Result<&'static [u8], String>> + Unpin {
        futures_util::stream::iter(parts.iter().map(|p| Ok(p.as_bytes())).collect::<Vec<_>>())
    }

    #[tokio::test]
    async fn an_upload_is_hashed_and_bounded() {
        let tmp = tempfile::tempdir().unwrap();
        let fs = FileStore::open(tmp.path()).unwrap();
        let got = receive(&fs, &mut chunks(&["a", "bc"]), "x.zip".into(), 3)
            .await
            .unwrap();
        assert_eq!((got.size, got.file_name.as_str()), (3, "x.zip"));
        assert_eq!(
            got.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        got.discard().await;
        assert!(!got.temp.exists());
        let big = receive(&fs, &mut chunks(&["ab", "cd"]), "x.zip".into(), 3).await;
        let Err(AppError::Invalid(e)) = big else {
            panic!("{big:?}")
        };
        assert!(e
            .get("file")
            .starts_with("the file is larger than the upload limit"));
        assert_eq!(
            std::fs::read_dir(tmp.path().join("files")).unwrap().count(),
            0
        );
    }

    #[test]
    fn a_description_is_checked_and_the_name_cleaned() {
        let file = Received {
            file_name: "C:\\x/../dir/setup\u{7}.exe".into(),
            temp: PathBuf::new(),
            size: 1,
            sha256: String::new(),
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
