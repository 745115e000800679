//! Modes of what the server keeps on disk: the data folder holds signing keys,
//! the portal's link key, token hashes, mails with live links and uploaded
//! files, so only the server's own user may read it (folders 0700, files 0600).

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode of every folder the server creates.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file the server creates.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and its parents) private, or makes an existing one private:
/// every folder and file below it gets the modes above. Returns how many modes
/// were changed, which start-up logs (a data folder written by an older release
/// was world-readable).
pub fn secure_tree(dir: &Path) -> std::io::Result<usize> {
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(dir)?;
    }
    let mut changed = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        changed += set_mode(&d, DIR_MODE)?;
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let ty = entry.file_type()?;
            if ty.is_dir() {
                stack.push(entry.path());
            } else if ty.is_file() {
                changed += set_mode(&entry.path(), FILE_MODE)?;
            }
        }
    }
    Ok(changed)
}

/// The folder itself and the files directly in it (0700 / 0600), before anything
/// serves; returns how many modes changed and the sub-folders, for
/// [`secure_tree`] to walk after start: a folder of a million mails must not
/// delay start-up (issue 13).
pub fn secure_top(dir: &Path) -> std::io::Result<(usize, Vec<std::path::PathBuf>)> {
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(dir)?;
    }
    let mut changed = set_mode(dir, DIR_MODE)?;
    let mut subfolders = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let ty = entry.file_type()?;
        if ty.is_dir() {
            subfolders.push(entry.path());
        } else if ty.is_file() {
            changed += set_mode(&entry.path(), FILE_MODE)?;
        }
    }
    Ok((changed, subfolders))
}

fn set_mode(path: &Path, mode: u32) -> std::io::Result<usize> {
    let now = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if now == mode {
        return Ok(0);
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(1)
}

/// Creates a private folder (and parents) if missing.
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
}

/// Opens a new private file for writing (truncating an old one).
pub fn create_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)
}

/// Writes a whole private file.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = create_file(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// [`write`] on the blocking pool.
pub async fn write_async(path: std::path::PathBuf, bytes: Vec<u8>) -> std::io::Result<()> {
    tokio::task::spawn_blocking(move || write(&path, &bytes))
        .await
        .map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Security item 8: a world-readable folder is made private, files too.
    #[test]
    fn an_open_folder_is_made_private() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("data");
        std::fs::create_dir_all(d.join("outbox")).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(d.join("outbox/m.json"), b"{}").unwrap();
        std::fs::set_permissions(
            d.join("outbox/m.json"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        assert!(secure_tree(&d).unwrap() >= 2);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&d), 0o700);
        assert_eq!(mode(&d.join("outbox")), 0o700);
        assert_eq!(mode(&d.join("outbox/m.json")), 0o600);
        assert_eq!(secure_tree(&d).unwrap(), 0, "nothing left to change");
        write(&d.join("new"), b"x").unwrap();
        assert_eq!(mode(&d.join("new")), 0o600);
    }
}
