//! Opening one redb file of the embedded store: its format version (an unknown
//! one is refused), its tables, and the one-time upgrades files written by older
//! releases need (audit index, activation history out of the license records).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use redb::{Database, ReadableTable, WriteTransaction};

use super::calls::Files;
use super::reader::{Reader, Readers};
use super::tables::{
    unavailable, ADMINS, AUDIT, CUSTOMERS, CUSTOMERS_BY_EMAIL, GENERATORS, LICENSES, META,
    PRODUCTS, SECRETS, SETTINGS,
};
use super::writer::{Writer, Writers};
use super::{audit, history, EmbeddedStore, FORMAT_VERSION};
use crate::store::StoreError;

impl EmbeddedStore {
    /// Opens the data folder, creating it on first use; refuses unknown format versions.
    ///
    /// `cache_mb` bounds each environment file's page cache (redb's default is 1 GiB
    /// per file, which would dwarf the resident licenses themselves).
    pub fn open(dir: &Path, cache_mb: usize) -> Result<Self, StoreError> {
        let env_cache = cache_mb.max(1) * 1024 * 1024;
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
        })?;
        let open = open_file;
        let global = Arc::new(open(&dir.join("global.redb"), true, env_cache / 4)?);
        let production = Arc::new(open(&dir.join("production.redb"), false, env_cache)?);
        let staging = Arc::new(open(&dir.join("staging.redb"), false, env_cache)?);
        let writers = Writers {
            global: Writer::start(global.clone(), "global")?,
            production: Writer::start(production.clone(), "production")?,
            staging: Writer::start(staging.clone(), "staging")?,
        };
        let readers = Readers {
            production: Reader::start(production.clone(), "production")?,
            staging: Reader::start(staging.clone(), "staging")?,
        };
        let files = Files {
            global,
            production,
            staging,
        };
        Ok(EmbeddedStore {
            files: parking_lot::RwLock::new(Some(files)),
            writers,
            readers,
        })
    }
}

/// Opens (or creates) one database file and checks its format version; `global`
/// is the customers and secrets file, the others are one environment each.
pub(super) fn open_file(
    path: &Path,
    global: bool,
    cache_bytes: usize,
) -> Result<Database, StoreError> {
    let (file, told) = (path.display().to_string(), AtomicBool::new(false));
    let db = redb::Builder::new()
        .set_cache_size(cache_bytes)
        .set_repair_callback(move |_| {
            // redb walks a file that was not closed cleanly before it opens
            // (~1.6 s per million licenses): say why the start is slow, once.
            if !told.swap(true, Ordering::Relaxed) {
                tracing::warn!(%file, "not closed cleanly (the server was killed or crashed): checking the file before it opens");
            }
        })
        .create(path)
        .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
    let txn = db.begin_write().map_err(unavailable)?;
    check_version(&txn, path)?;
    create_tables(&txn, global)?;
    if !global {
        upgrade(&txn, path)?;
    }
    txn.commit().map_err(unavailable)?;
    Ok(db)
}

/// The oldest format this build opens (and upgrades): 1, the audit index in a
/// table of its own.
const OLDEST_FORMAT: u64 = 1;

/// Records the format version of a new file; refuses a version this build does not know.
fn check_version(txn: &WriteTransaction, path: &Path) -> Result<(), StoreError> {
    let mut meta = txn.open_table(META).map_err(unavailable)?;
    let found = meta
        .get("format_version")
        .map_err(unavailable)?
        .map(|v| v.value());
    match found {
        Some(v) if !(OLDEST_FORMAT..=FORMAT_VERSION).contains(&v) => {
            Err(StoreError::Corrupt(format!(
                "{} has format version {v}; this build knows versions {OLDEST_FORMAT} to {FORMAT_VERSION}",
                path.display()
            )))
        }
        // An older version is upgraded in this transaction (see `upgrade`).
        _ => {
            meta.insert("format_version", FORMAT_VERSION)
                .map_err(unavailable)?;
            Ok(())
        }
    }
}

fn create_tables(txn: &WriteTransaction, global: bool) -> Result<(), StoreError> {
    if global {
        txn.open_table(CUSTOMERS).map_err(unavailable)?;
        txn.open_table(CUSTOMERS_BY_EMAIL).map_err(unavailable)?;
        txn.open_table(SECRETS).map_err(unavailable)?;
        txn.open_table(ADMINS).map_err(unavailable)?;
        super::jobs::create_tables(txn)?;
    } else {
        for t in [LICENSES, PRODUCTS, GENERATORS, AUDIT, SETTINGS] {
            txn.open_table(t).map_err(unavailable)?;
        }
    }
    Ok(())
}

/// The one-time upgrades of an environment file (each a no-op once done).
fn upgrade(txn: &WriteTransaction, path: &Path) -> Result<(), StoreError> {
    audit::backfill_index(txn)?;
    let moved = history::migrate(txn)?;
    let index = audit::colocate_index(txn)?;
    if index > 0 {
        tracing::info!(
            file = %path.display(),
            rows = index,
            "moved the audit index beside the licenses (format 2)"
        );
    }
    if moved > 0 {
        tracing::info!(
            file = %path.display(),
            licenses = moved,
            "moved activation history out of the license records"
        );
    }
    Ok(())
}
