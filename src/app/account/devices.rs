//! The owner's devices: every binding across their licenses (with history), the
//! one they ask to free, and freeing it through the license's actor.

use crate::app::error::AppError;
use crate::domain::device::{self, DeviceState, Refusal};
use crate::domain::{Activation, Identifier, License, LicenseStatus};

use super::{license, licenses, OwnedLicense, Owner};

/// One license and the devices on it that matched, newest first.
pub struct LicenseDevices {
    pub owned: OwnedLicense,
    pub devices: Vec<(Activation, DeviceState)>,
}

/// The owner's devices in `state` (any when `None`) whose identifier contains
/// `q` (case-insensitive), per license. Deactivated ones come from the history,
/// so it is read only when they can match.
pub async fn devices(
    owner: Owner<'_>,
    state: Option<DeviceState>,
    q: &str,
) -> Result<Vec<LicenseDevices>, AppError> {
    let store = owner.engine.store().as_ref();
    let needle = q.trim().to_lowercase();
    let with_history = !matches!(state, Some(DeviceState::Active | DeviceState::Suspended));
    let mut out = Vec::new();
    for owned in licenses(owner).await? {
        let license = if with_history {
            crate::store::with_history(
                store,
                owned.env,
                owned.license.clone(),
                crate::store::HISTORY_SHOWN,
            )
            .await?
        } else {
            owned.license.clone()
        };
        let devices = matching(&license, state, &needle);
        out.push(LicenseDevices { owned, devices });
    }
    Ok(out)
}

/// The devices of the one license behind `handle` (the owner's own only).
pub async fn devices_of(
    owner: Owner<'_>,
    handle: &str,
    state: Option<DeviceState>,
    q: &str,
) -> Result<LicenseDevices, AppError> {
    let owned = license(owner, handle).await?;
    let store = owner.engine.store().as_ref();
    let with_history = !matches!(state, Some(DeviceState::Active | DeviceState::Suspended));
    let full = if with_history {
        crate::store::with_history(
            store,
            owned.env,
            owned.license.clone(),
            crate::store::HISTORY_SHOWN,
        )
        .await?
    } else {
        owned.license.clone()
    };
    let devices = matching(&full, state, &q.trim().to_lowercase());
    Ok(LicenseDevices { owned, devices })
}

/// One page of the Activations page: licenses with their matching devices.
pub struct DevicesPage {
    pub found: Vec<LicenseDevices>,
    pub page: usize,
    pub pages: usize,
}

/// Licenses per page of the owner's Activations page.
pub const LICENSES_PER_PAGE: usize = 25;

/// The owner's devices a page at a time. Without a search, the licenses that
/// have (or had) devices are picked from the catalog's summaries and only the
/// page's licenses are read; a search reads them all (it must look at every
/// identifier), and its matches are paged the same way.
pub async fn devices_page(
    owner: Owner<'_>,
    state: Option<DeviceState>,
    q: &str,
    page: usize,
) -> Result<DevicesPage, AppError> {
    let n = LICENSES_PER_PAGE;
    if !q.trim().is_empty() {
        let mut found: Vec<LicenseDevices> = devices(owner, state, q)
            .await?
            .into_iter()
            .filter(|l| !l.devices.is_empty())
            .collect();
        let pages = found.len().div_ceil(n).max(1);
        let page = page.clamp(1, pages);
        let found = found.drain(..).skip((page - 1) * n).take(n).collect();
        return Ok(DevicesPage { found, page, pages });
    }
    let catalog = owner.engine.catalog();
    catalog.wait_ready().await;
    let active_only = matches!(state, Some(DeviceState::Active | DeviceState::Suspended));
    let mut candidates = Vec::new();
    for env in crate::domain::Environment::ALL {
        for s in catalog.summaries_of_customer(env, owner.customer.id) {
            let has = if active_only {
                s.activations_in_use > 0
            } else {
                s.ever_activated
            };
            if has {
                candidates.push((env, s.key, s.created_at));
            }
        }
    }
    candidates.sort_by(|a, b| b.2.cmp(&a.2).then(a.1.as_str().cmp(b.1.as_str())));
    let pages = candidates.len().div_ceil(n).max(1);
    let page = page.clamp(1, pages);
    let store = owner.engine.store().as_ref();
    let mut products = std::collections::HashMap::new();
    for env in crate::domain::Environment::ALL {
        for p in store.list_products(env).await? {
            products.insert(p.id, p.name);
        }
    }
    let mut found = Vec::new();
    for (env, key, _) in candidates.into_iter().skip((page - 1) * n).take(n) {
        let Some(l) = store.get_license(env, &key).await? else {
            continue;
        };
        // The catalog may lag a reassignment made on another node: the record decides.
        if l.customer_id != Some(owner.customer.id) {
            continue;
        }
        let owned = OwnedLicense {
            features: Vec::new(),
            env,
            handle: owner.links.license_handle(env, key.as_str()),
            product_name: products.get(&l.product_id).cloned().unwrap_or_default(),
            offer: None,
            license: l,
        };
        let license = if active_only {
            owned.license.clone()
        } else {
            crate::store::with_history(
                store,
                env,
                owned.license.clone(),
                crate::store::HISTORY_SHOWN,
            )
            .await?
        };
        let devices = matching(&license, state, "");
        found.push(LicenseDevices { owned, devices });
    }
    Ok(DevicesPage { found, page, pages })
}

/// The devices of `license` in `state` whose identifier contains `needle` (lowercase).
fn matching(
    license: &License,
    state: Option<DeviceState>,
    needle: &str,
) -> Vec<(Activation, DeviceState)> {
    license
        .activations
        .iter()
        .rev()
        .map(|a| (a, DeviceState::of(license.status, a)))
        .filter(|(_, st)| state.is_none_or(|want| *st == want))
        .filter(|(a, _)| needle.is_empty() || a.identifier.as_str().to_lowercase().contains(needle))
        .map(|(a, st)| (a.clone(), st))
        .collect()
}

/// The license and device the owner asks to deactivate, for the prompt: the
/// device must be active on one of their licenses.
pub async fn device_to_confirm(
    owner: Owner<'_>,
    handle: &str,
    identifier: &str,
) -> Result<(OwnedLicense, Identifier), AppError> {
    let m = license(owner, handle).await?;
    let parsed = Identifier::existing(identifier).map_err(|e| AppError::field("identifier", e))?;
    if m.license.find_active(&parsed).is_none() {
        return Err(refused(Refusal::NotActive));
    }
    Ok((m, parsed))
}

/// What a deactivation left: the license as it was asked for, the device
/// freed, and the license after the change.
pub struct Deactivated {
    pub owned: OwnedLicense,
    pub identifier: Identifier,
    pub license: License,
}

/// Frees the device's slot through the license's actor (the next activation on
/// that license already sees the free slot), when the owner may
/// ([`device::deactivatable`]).
pub async fn deactivate_device(
    owner: Owner<'_>,
    handle: &str,
    identifier: &str,
) -> Result<Deactivated, AppError> {
    let m = license(owner, handle).await?;
    // A blocked license is named before a malformed identifier.
    if !m.license.status.is_usable() {
        return Err(refused(Refusal::LicenseBlocked(m.license.status)));
    }
    let identifier = Identifier::existing(identifier)
        .map_err(|e| AppError::field("identifier", format!("device identifier: {e}")))?;
    device::deactivatable(&m.license, &identifier).map_err(refused)?;
    let who = owner.who();
    let key = &m.license.key;
    let license =
        crate::app::licenses::deactivate(owner.engine, m.env, key, identifier.clone(), &who)
            .await?;
    Ok(Deactivated {
        owned: m,
        identifier,
        license,
    })
}

/// A refused deactivation as the owner reads it.
fn refused(r: Refusal) -> AppError {
    AppError::Conflict(match r {
        Refusal::LicenseBlocked(status) => blocked(status),
        Refusal::NotActive => {
            "This device is not active on the license (already deactivated?).".into()
        }
    })
}

fn blocked(status: LicenseStatus) -> String {
    format!("The license is {status}: its devices cannot be changed here. Contact your vendor.")
}
