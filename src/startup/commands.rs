//! The subcommands besides `serve`: `migrate`, `backup` and `restore`. Each opens
//! only what it needs and prints one line about what it did.

use super::{open_store, StartError};
use crate::config::Settings;
use crate::store::StoreError;

/// `keywarden migrate`: applies schema.cql to the configured CQL cluster.
pub async fn migrate(settings: &Settings) -> Result<usize, StartError> {
    let cfg = &settings.store.cql;
    let session = crate::store::cql::connect(cfg).await?;
    Ok(crate::store::cql::migrate(&session, &cfg.keyspace_prefix, &cfg.replication).await?)
}

/// `keywarden backup`: asks a running server for a backup and writes it to `out`
/// as it arrives (product files make it large), then checks it reads back.
pub fn backup(url: &str, token: &str, out: &std::path::Path) -> Result<(), StartError> {
    let endpoint = format!("{}/admin/api/v1/backup", url.trim_end_matches('/'));
    let resp = ureq::get(&endpoint)
        .set("authorization", &format!("Bearer {token}"))
        .call()
        .map_err(|e| std::io::Error::other(format!("backup request to {endpoint} failed: {e}")))?;
    let tmp = out.with_extension("partial");
    // A backup holds every secret: readable by its owner only.
    crate::private_files::write(&tmp, b"")?;
    let bytes = {
        let mut file = std::fs::OpenOptions::new().write(true).open(&tmp)?;
        let n = std::io::copy(&mut resp.into_reader(), &mut file)?;
        file.sync_all()?;
        n
    };
    // Check it decodes (document and every file's chunks) before calling it a backup.
    let (b, files) = read_backup(&tmp)?;
    std::fs::rename(&tmp, out)?;
    let licenses: usize = b.environments.iter().map(|e| e.licenses.len()).sum();
    println!(
        "backup written to {}: {bytes} bytes, {licenses} licenses, {} customers, {} secrets, {files} files, {} mails",
        out.display(),
        b.customers.len(),
        b.secrets.len(),
        b.outbox.len()
    );
    Ok(())
}

/// Reads a whole backup file a chunk at a time: the document, then every
/// file's chunks, each file complete and matching its checksum. Returns the
/// document and how many files it carries.
fn read_backup(path: &std::path::Path) -> Result<(crate::backup::Backup, usize), StartError> {
    let mut r = std::io::BufReader::new(std::fs::File::open(path)?);
    let b: crate::backup::Backup = rmp_serde::from_read(&mut r).map_err(|e| {
        StoreError::Corrupt(format!("{} is not a Keywarden backup: {e}", path.display()))
    })?;
    let mut frames = crate::backup::files_mail::FrameReader::new(r);
    while frames.next_chunk()?.is_some() {}
    for f in &b.files {
        frames.complete(f)?;
    }
    let files = b.files.len();
    Ok((b, files))
}

/// `keywarden restore`: writes a backup file into the configured (empty) store,
/// product files streamed from the file a chunk at a time.
pub async fn restore(settings: &Settings, from: &std::path::Path) -> Result<(), StartError> {
    // The document alone first (files are checked whole before anything is written).
    let (b, _) = read_backup(from)?;
    let store = open_store(settings).await?;
    crate::backup::restore(store.as_ref(), &b).await?;
    let mut r = std::io::BufReader::new(std::fs::File::open(from)?);
    let _: crate::backup::Backup =
        rmp_serde::from_read(&mut r).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let frames = crate::backup::files_mail::FrameReader::new(r);
    let files = crate::backup::files_mail::restore_files(store.as_ref(), &b, frames).await?;
    let licenses: usize = b.environments.iter().map(|e| e.licenses.len()).sum();
    println!(
        "restored {licenses} licenses, {} customers, {files} files and {} mails from {}",
        b.customers.len(),
        b.outbox.len(),
        from.display()
    );
    Ok(())
}
