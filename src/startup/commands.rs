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

/// `keywarden backup`: asks a running server for a backup and writes it to `out`.
pub fn backup(url: &str, token: &str, out: &std::path::Path) -> Result<(), StartError> {
    let endpoint = format!("{}/admin/api/v1/backup", url.trim_end_matches('/'));
    let resp = ureq::get(&endpoint)
        .set("authorization", &format!("Bearer {token}"))
        .call()
        .map_err(|e| std::io::Error::other(format!("backup request to {endpoint} failed: {e}")))?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut resp.into_reader(), &mut bytes)?;
    // Check it decodes before calling it a backup.
    let b: crate::backup::Backup = rmp_serde::from_slice(&bytes)
        .map_err(|e| std::io::Error::other(format!("the server's answer is not a backup: {e}")))?;
    let tmp = out.with_extension("partial");
    // A backup holds every secret: readable by its owner only.
    crate::private_files::write(&tmp, &bytes)?;
    std::fs::rename(&tmp, out)?;
    let licenses: usize = b.environments.iter().map(|e| e.licenses.len()).sum();
    println!(
        "backup written to {}: {} bytes, {licenses} licenses, {} customers, {} secrets",
        out.display(),
        bytes.len(),
        b.customers.len(),
        b.secrets.len()
    );
    Ok(())
}

/// `keywarden restore`: writes a backup file into the configured (empty) store.
pub async fn restore(settings: &Settings, from: &std::path::Path) -> Result<(), StartError> {
    let bytes = std::fs::read(from)?;
    let b: crate::backup::Backup = rmp_serde::from_slice(&bytes).map_err(|e| {
        StoreError::Corrupt(format!("{} is not a Keywarden backup: {e}", from.display()))
    })?;
    let store = open_store(settings).await?;
    crate::backup::restore(store.as_ref(), &b).await?;
    let licenses: usize = b.environments.iter().map(|e| e.licenses.len()).sum();
    println!(
        "restored {licenses} licenses and {} customers from {}",
        b.customers.len(),
        from.display()
    );
    Ok(())
}
