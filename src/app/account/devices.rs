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
