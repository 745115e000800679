//! Product files (installers, documentation) that customers download: kept
//! under `<data_dir>/files/<id>/` as the bytes plus a small JSON description.
//! Uploads stream into the folder and are checked in `app::product_files`.
//!
//! The folder is per node: with several nodes, put it on shared storage (noted
//! in docs/OPERATIONS.md).

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::Environment;

/// What a file is, as the Downloads page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMeta {
    pub id: Uuid,
    pub env: Environment,
    pub product_id: Uuid,
    pub title: String,
    pub file_name: String,
    pub version: String,
    /// stable, beta or hotfix.
    pub channel: String,
    pub released: NaiveDate,
    pub size: u64,
    pub uploaded_at: DateTime<Utc>,
    /// Hex SHA-256 of the bytes, computed while the upload streamed in; shown to
    /// customers so they can check what they downloaded (empty for files uploaded
    /// before it was kept).
    #[serde(default)]
    pub sha256: String,
}

/// The channels a file may be tagged with.
pub const CHANNELS: [&str; 3] = ["stable", "beta", "hotfix"];

/// The files folder.
pub struct FileStore {
    dir: PathBuf,
}

fn io(e: std::io::Error) -> String {
    e.to_string()
}

impl FileStore {
    /// Opens (creating) `<data_dir>/files`, private to the server's user.
    pub fn open(data_dir: &Path) -> Result<FileStore, std::io::Error> {
        let dir = data_dir.join("files");
        crate::private_files::create_dir(&dir)?;
        Ok(FileStore { dir })
    }

    /// A fresh temporary file in the files folder (same file system, so the
    /// finished upload is moved into place, not copied). Left-overs of a
    /// cut-off upload start with `.upload-` and are removed at the next start.
    pub fn temp_path(&self) -> PathBuf {
        self.dir.join(format!(".upload-{}", Uuid::new_v4()))
    }

    /// Removes temporary files of uploads that never finished.
    pub fn remove_leftovers(&self) {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with(".upload-") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    /// Writes the bytes, then the description (a file without one is not listed).
    pub async fn save(&self, meta: &FileMeta, bytes: &[u8]) -> Result<(), String> {
        let tmp = self.temp_path();
        crate::private_files::write_async(tmp.clone(), bytes.to_vec())
            .await
            .map_err(io)?;
        self.commit(meta, &tmp).await
    }

    /// Moves a finished upload (`temp`, from [`FileStore::temp_path`]) into place,
    /// then writes its description.
    pub async fn commit(&self, meta: &FileMeta, temp: &Path) -> Result<(), String> {
        let d = self.dir.join(meta.id.to_string());
        crate::private_files::create_dir(&d).map_err(io)?;
        tokio::fs::rename(temp, d.join("data")).await.map_err(io)?;
        let json = serde_json::to_vec_pretty(meta).map_err(|e| e.to_string())?;
        crate::private_files::write_async(d.join("meta.json.tmp"), json)
            .await
            .map_err(io)?;
        tokio::fs::rename(d.join("meta.json.tmp"), d.join("meta.json"))
            .await
            .map_err(io)
    }

    /// A file's description and where its bytes are (a download streams them).
    pub fn get(&self, id: Uuid) -> Option<(FileMeta, PathBuf)> {
        let d = self.dir.join(id.to_string());
        let meta: FileMeta =
            serde_json::from_slice(&std::fs::read(d.join("meta.json")).ok()?).ok()?;
        Some((meta, d.join("data")))
    }

    /// Every described file, newest release first.
    pub fn all(&self) -> Vec<FileMeta> {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut v: Vec<FileMeta> = rd
            .filter_map(Result::ok)
            .filter_map(|e| std::fs::read(e.path().join("meta.json")).ok())
            .filter_map(|b| serde_json::from_slice(&b).ok())
            .collect();
        v.sort_by(|a, b| b.released.cmp(&a.released).then(a.title.cmp(&b.title)));
        v
    }

    /// A product's files in one environment, newest release first.
    pub fn of_product(&self, env: Environment, product_id: Uuid) -> Vec<FileMeta> {
        self.all()
            .into_iter()
            .filter(|f| f.env == env && f.product_id == product_id)
            .collect()
    }

    /// Deletes a file with its description (customers no longer see it).
    pub async fn remove(&self, id: Uuid) -> Result<(), String> {
        tokio::fs::remove_dir_all(self.dir.join(id.to_string()))
            .await
            .map_err(io)
    }
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

    #[tokio::test]
    async fn saved_files_are_listed_and_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let fs = FileStore::open(tmp.path()).unwrap();
        let meta = FileMeta {
            id: Uuid::new_v4(),
            env: Environment::Production,
            product_id: Uuid::new_v4(),
            title: "Installer".into(),
            file_name: "setup.exe".into(),
            version: "1.0".into(),
            channel: "stable".into(),
            released: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            size: 3,
            uploaded_at: Utc::now(),
            sha256: String::new(),
        };
        fs.save(&meta, b"abc").await.unwrap();
        assert_eq!(fs.all(), vec![meta.clone()]);
        assert_eq!(fs.of_product(Environment::Staging, meta.product_id), vec![]);
        let (m, path) = fs.get(meta.id).unwrap();
        assert_eq!(m, meta);
        assert_eq!(std::fs::read(path).unwrap(), b"abc");
        fs.remove(meta.id).await.unwrap();
        assert!(fs.all().is_empty());
    }
}
