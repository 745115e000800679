//! The files the owner may download: those of the products their usable
//! licenses cover, in the license's environment, within its version
//! eligibility.

use uuid::Uuid;

use crate::app::error::AppError;
use crate::app::files::{FileMeta, FileStore};

use super::{licenses, OwnedLicense, Owner};

/// The Downloads page: each file the owner may download now with the name of
/// its product, and how many of their licenses are blocked (so entitle nothing).
pub struct Downloads {
    pub files: Vec<(FileMeta, String)>,
    pub blocked: usize,
}

/// Every file the owner is entitled to now.
pub async fn downloads(owner: Owner<'_>, files: &FileStore) -> Result<Downloads, AppError> {
    let mine = licenses(owner).await?;
    Ok(Downloads {
        files: entitled(&files.all().await?, &mine),
        blocked: mine
            .iter()
            .filter(|m| !m.license.status.is_usable())
            .count(),
    })
}

/// The file `id` (its bytes are read with [`FileStore::bytes`]), if the owner
/// is still entitled to it.
pub async fn entitled_file(
    owner: Owner<'_>,
    files: &FileStore,
    id: Uuid,
) -> Result<FileMeta, AppError> {
    let mine = licenses(owner).await?;
    let file = files.get(id).await?;
    file.filter(|f| !entitled(std::slice::from_ref(f), &mine).is_empty())
        .ok_or_else(|| AppError::NotFound("No such file among your downloads.".into()))
}

/// Files one of `mine` entitles, with the product they belong to.
fn entitled(files: &[FileMeta], mine: &[OwnedLicense]) -> Vec<(FileMeta, String)> {
    let usable: Vec<&OwnedLicense> = mine
        .iter()
        .filter(|m| m.license.status.is_usable())
        .collect();
    files
        .iter()
        .filter_map(|f| {
            usable
                .iter()
                .find(|m| {
                    m.env == f.env
                        && m.license.product_id == f.product_id
                        && m.license.eligibility.allows(&f.version, f.released)
                })
                .map(|m| (f.clone(), m.product_name.clone()))
        })
        .collect()
}
