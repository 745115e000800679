//! Lists the catalog keeps beside the License Keys query: licenses with
//! devices (the Activations page) and licenses whose abuse case waits.

use chrono::{DateTime, Utc};

use super::{Catalog, LicenseSummary};
use crate::domain::{Environment, LicenseKey};

impl Catalog {
    /// The keys of licenses with an abuse case waiting for review, newest first.
    pub fn open_cases(&self, env: Environment) -> Vec<LicenseKey> {
        let side = self.side(env).read();
        let s = &side.shelf;
        let mut v: Vec<(DateTime<Utc>, LicenseKey)> = (0..s.rows())
            .filter(|r| s.is_live(*r) && s.open_case[*r as usize])
            .filter_map(|r| Some((s.created_at(r), LicenseKey::parse(s.keys.get(r)).ok()?)))
            .collect();
        v.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        v.into_iter().map(|(_, k)| k).collect()
    }

    /// Licenses that ever had a device, newest first, optionally only those matching `keep`.
    pub fn with_devices(
        &self,
        env: Environment,
        keep: impl Fn(&LicenseSummary) -> bool,
    ) -> Vec<LicenseSummary> {
        let side = self.side(env).read();
        let s = &side.shelf;
        let mut v: Vec<LicenseSummary> = (0..s.rows())
            .filter(|r| s.is_live(*r) && s.ever_activated[*r as usize])
            .filter_map(|r| s.summary(r))
            .filter(|l| keep(l))
            .collect();
        v.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.key.cmp(&b.key)));
        v
    }
}

impl Catalog {
    /// The summaries of `keys` this node knows, in the order given (unknown or
    /// deleted keys are left out).
    pub fn summaries_of(&self, env: Environment, keys: &[LicenseKey]) -> Vec<LicenseSummary> {
        let side = self.side(env).read();
        let s = &side.shelf;
        keys.iter()
            .filter_map(|k| s.find(k.as_str()))
            .filter_map(|r| s.summary(r))
            .collect()
    }
}
