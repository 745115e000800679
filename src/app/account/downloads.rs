//! The files the owner may download: those of the products their usable
//! licenses cover, in the license's environment, within its version
//! eligibility.

use std::path::PathBuf;

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
        files: entitled(files, &mine),
        blocked: mine
            .iter()
            .filter(|m| !m.license.status.is_usable())
            .count(),
    })
}

/// The file `id` and where its bytes are, if the owner is still entitled to it.
pub async fn entitled_file(
    owner: Owner<'_>,
    files: &FileStore,
    id: Uuid,
) -> Result<(FileMeta, PathBuf), AppError> {
    let mine = licenses(owner).await?;
    let allowed = entitled(files, &mine).into_iter().any(|(f, _)| f.id == id);
    files
        .get(id)
        .filter(|_| allowed)
        .ok_or_else(|| AppError::NotFound("No such file among your downloads.".into()))
}

/// Files one of `mine` entitles, with the product they belong to.
fn entitled(files: &FileStore, mine: &[OwnedLicense]) -> Vec<(FileMeta, String)> {
    let usable: Vec<&OwnedLicense> = mine
        .iter()
        .filter(|m| m.license.status.is_usable())
        .collect();
    files
        .all()
        .into_iter()
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
