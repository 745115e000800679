//! Devices across an environment (the admin Activations page): which bindings
//! match a search, newest license first, read from the per-node catalog and
//! the store with a bound on how many licenses one search reads.

use super::error::AppError;
use crate::domain::{Activation, Environment, LicenseKey};
use crate::engine::Engine;
use uuid::Uuid;

/// The most licenses one page of the search reads; the next page goes on
/// from where it stopped, so every binding is reachable a page at a time.
pub const SCAN_STEP: usize = 2_000;

/// Which bindings a search wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceState {
    Any,
    Active,
    Deactivated,
}

impl DeviceState {
    /// "", "active" or "deactivated" (the page's filter values).
    pub fn parse(s: &str) -> Option<DeviceState> {
        match s {
            "" => Some(DeviceState::Any),
            "active" => Some(DeviceState::Active),
            "deactivated" => Some(DeviceState::Deactivated),
            _ => None,
        }
    }

    fn wants(self, active: bool) -> bool {
        match self {
            DeviceState::Any => true,
            DeviceState::Active => active,
            DeviceState::Deactivated => !active,
        }
    }
}

/// One binding with the license it belongs to.
pub struct DeviceHit {
    pub key: LicenseKey,
    pub product_id: Uuid,
    pub activation: Activation,
}

/// One page of bindings, and where the next one starts.
pub struct DevicePage {
    pub hits: Vec<DeviceHit>,
    /// Licenses with devices in all (this node's catalog).
    pub licenses: usize,
    /// The position (in licenses, newest first) this page started at.
    pub from: usize,
    /// Where the next page starts; `None` at the end.
    pub next: Option<usize>,
}

/// Bindings whose identifier contains `q` (case-insensitive), newest license
/// first, from the `from`-th license with devices on: whole licenses are read
/// until `want` bindings are found or [`SCAN_STEP`] licenses were read.
pub async fn search(
    engine: &Engine,
    env: Environment,
    q: &str,
    state: DeviceState,
    from: usize,
    want: usize,
) -> Result<DevicePage, AppError> {
    let q = q.trim().to_lowercase();
    let store = engine.store().as_ref();
    engine.catalog().wait_ready().await;
    let candidates = engine.catalog().with_devices(env, |s| {
        state != DeviceState::Active || s.activations_in_use > 0
    });
    let mut hits = Vec::new();
    let mut at = from.min(candidates.len());
    while at < candidates.len() && at - from < SCAN_STEP && hits.len() < want {
        let s = &candidates[at];
        at += 1;
        let Some(l) = store.get_license(env, &s.key).await? else {
            continue;
        };
        let l = if state == DeviceState::Active {
            l
        } else {
            crate::store::with_history(store, env, l, crate::store::HISTORY_SHOWN).await?
        };
        for a in l.activations.iter().rev() {
            if state.wants(a.is_active())
                && (q.is_empty() || a.identifier.as_str().to_lowercase().contains(&q))
            {
                hits.push(DeviceHit {
                    key: l.key.clone(),
                    product_id: l.product_id,
                    activation: a.clone(),
                });
            }
        }
    }
    Ok(DevicePage {
        hits,
        licenses: candidates.len(),
        from,
        next: (at < candidates.len()).then_some(at),
    })
}
