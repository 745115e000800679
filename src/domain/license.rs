//! A license and its activations: the record one actor owns.

use super::status::{transition, Action, LicenseStatus, TransitionError};
use super::{Activation, ActivationStatus, Environment, Identifier, LicenseKey};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// How many devices may be active at once: -1 (unlimited) or 1–10000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(transparent)]
pub struct ActivationLimit(i32);

impl ActivationLimit {
    /// No limit on active devices.
    pub const UNLIMITED: ActivationLimit = ActivationLimit(-1);
    /// The highest limit accepted.
    pub const MAX: i32 = 10_000;

    /// Refuses 0, values below -1 and above 10000.
    pub fn new(value: i64) -> Result<Self, String> {
        if value == -1 || (1..=i64::from(Self::MAX)).contains(&value) {
            Ok(ActivationLimit(value as i32))
        } else {
            Err(format!(
                "must be -1 (unlimited) or between 1 and {} (got {value})",
                Self::MAX
            ))
        }
    }

    /// The limit as stored and sent: -1 for unlimited.
    pub fn get(self) -> i32 {
        self.0
    }

    /// Whether any number of devices may be active.
    pub fn is_unlimited(self) -> bool {
        self.0 == -1
    }

    /// Whether `in_use` active devices leave room for one more.
    pub fn has_room(self, in_use: usize) -> bool {
        self.is_unlimited() || in_use < self.0 as usize
    }
}

impl<'de> Deserialize<'de> for ActivationLimit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        ActivationLimit::new(v).map_err(serde::de::Error::custom)
    }
}

impl Default for ActivationLimit {
    fn default() -> Self {
        ActivationLimit(5)
    }
}

impl std::fmt::Display for ActivationLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_unlimited() {
            f.write_str("unlimited")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// One license and its active activations: what decisions need. Deactivated
/// activations are history, kept by the store in rows of their own (read with
/// paging by the pages that show them), so the record every change rewrites does
/// not grow with how often devices came and went (security item 5).
///
/// `version` increases with every committed change; the store writes only
/// when the version it holds is the one the writer read (compare and set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct License {
    pub key: LicenseKey,
    pub environment: Environment,
    pub product_id: Uuid,
    pub generator_id: Option<Uuid>,
    pub customer_id: Option<Uuid>,
    pub status: LicenseStatus,
    pub activation_limit: ActivationLimit,
    pub expires_at: Option<DateTime<Utc>>,
    /// A generator's validity, applied when the license is assigned so pool keys do not age.
    pub validity_days: Option<u32>,
    pub feature_flags: Map<String, Value>,
    pub metadata: Map<String, Value>,
    pub ever_activated: bool,
    /// Set by the abuse rule when auto-suspend is off.
    pub flagged: bool,
    /// The latest abuse case (open until an admin reviews it).
    #[serde(default)]
    pub abuse_case: Option<super::abuse_case::AbuseCase>,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub activations: Vec<Activation>,
    /// Which releases the owner may download (the customer portal's Downloads).
    #[serde(default)]
    pub eligibility: super::eligibility::Eligibility,
}

impl License {
    /// Whether an abuse case waits for an admin's review.
    pub fn has_open_case(&self) -> bool {
        self.abuse_case
            .as_ref()
            .is_some_and(|c| c.status == super::abuse_case::CaseStatus::Open)
    }

    /// The active bindings (deactivated history excluded).
    pub fn active_activations(&self) -> impl Iterator<Item = &Activation> {
        self.activations.iter().filter(|a| a.is_active())
    }

    /// How many devices hold a slot now.
    pub fn active_count(&self) -> usize {
        self.active_activations().count()
    }

    /// The active binding for a device, if any.
    pub fn find_active(&self, identifier: &Identifier) -> Option<&Activation> {
        self.activations
            .iter()
            .find(|a| a.is_active() && &a.identifier == identifier)
    }

    /// Whether the expiry date has passed at `now` (grace not counted).
    pub fn is_past_expiry(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|e| e <= now)
    }

    /// Whether the expiry date plus the grace period has passed at `now`.
    pub fn is_past_grace(&self, now: DateTime<Utc>, grace: Duration) -> bool {
        self.expires_at.is_some_and(|e| e + grace <= now)
    }

    /// Applies a state action in memory; the caller persists it.
    pub fn apply(&mut self, action: Action, now: DateTime<Utc>) -> Result<(), TransitionError> {
        let to = transition(self.status, action, self.ever_activated)?;
        self.status = to;
        match action {
            Action::Revoke => {
                for a in self.activations.iter_mut().filter(|a| a.is_active()) {
                    a.status = ActivationStatus::Deactivated;
                    a.deactivated_at = Some(now);
                }
            }
            Action::Assign if self.expires_at.is_none() => {
                if let Some(days) = self.validity_days {
                    self.expires_at = Some(now + Duration::days(i64::from(days)));
                }
            }
            Action::Activate => self.ever_activated = true,
            _ => {}
        }
        self.touch(now);
        Ok(())
    }

    /// Binds a new device; the first one moves an assigned license to active.
    /// Marks the record changed.
    pub fn add_device(
        &mut self,
        activation: Activation,
        now: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        self.activations.push(activation);
        if self.status == LicenseStatus::Assigned {
            self.apply(Action::Activate, now)?;
        } else {
            self.ever_activated = true;
            self.touch(now);
        }
        Ok(())
    }

    /// Ends the device's active binding at `now` and marks the record changed;
    /// `None` (and no change) when the device holds no slot. The ended binding
    /// stays in the record until [`License::retire_deactivated`].
    pub fn deactivate_device(
        &mut self,
        identifier: &Identifier,
        now: DateTime<Utc>,
    ) -> Option<&Activation> {
        let i = self
            .activations
            .iter()
            .position(|a| a.is_active() && &a.identifier == identifier)?;
        self.touch(now);
        let a = &mut self.activations[i];
        a.status = ActivationStatus::Deactivated;
        a.deactivated_at = Some(now);
        Some(a)
    }

    /// Takes the deactivated activations out of the record, oldest first: they
    /// become history rows, written by the store with the change that ended them.
    pub fn retire_deactivated(&mut self) -> Vec<Activation> {
        let (active, retired): (Vec<Activation>, Vec<Activation>) =
            std::mem::take(&mut self.activations)
                .into_iter()
                .partition(Activation::is_active);
        self.activations = active;
        retired
    }

    /// Marks the record changed; the store checks `version - 1` on write.
    pub fn touch(&mut self, now: DateTime<Utc>) {
        self.version += 1;
        self.updated_at = now;
    }
}

/// Test licenses for the domain and engine tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// A license in `status` with `limit` and the given active identifiers.
    pub fn license(status: LicenseStatus, limit: i64, active: &[&str]) -> License {
        let now = Utc::now();
        License {
            key: LicenseKey::parse("TEST-KEY-0001").unwrap(),
            environment: Environment::Production,
            product_id: Uuid::nil(),
            generator_id: None,
            customer_id: Some(Uuid::nil()),
            status,
            activation_limit: ActivationLimit::new(limit).unwrap(),
            expires_at: None,
            validity_days: None,
            feature_flags: Map::new(),
            metadata: Map::new(),
            ever_activated: !active.is_empty(),
            flagged: false,
            abuse_case: None,
            version: 1,
            created_at: now,
            updated_at: now,
            activations: active
                .iter()
                .map(|id| {
                    Activation::new(
                        Identifier::parse(id).unwrap(),
                        Default::default(),
                        now,
                        None,
                    )
                })
                .collect(),
            eligibility: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::license;
    use super::*;

    #[test]
    fn activation_limit_accepts_unlimited_and_one_to_ten_thousand() {
        for ok in [-1, 1, 5, 10_000] {
            assert!(ActivationLimit::new(ok).is_ok(), "{ok}");
        }
        for bad in [0, -2, 10_001, i64::MAX] {
            assert!(ActivationLimit::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unlimited_always_has_room() {
        assert!(ActivationLimit::UNLIMITED.has_room(1_000_000));
        assert!(!ActivationLimit::new(2).unwrap().has_room(2));
        assert!(ActivationLimit::new(2).unwrap().has_room(1));
    }

    #[test]
    fn revoking_deactivates_every_activation() {
        let mut l = license(LicenseStatus::Active, 5, &["a", "b"]);
        l.apply(Action::Revoke, Utc::now()).unwrap();
        assert_eq!(l.status, LicenseStatus::Revoked);
        assert_eq!(l.active_count(), 0);
        assert!(l.activations.iter().all(|a| a.deactivated_at.is_some()));
    }

    #[test]
    fn assigning_starts_the_generator_validity() {
        let mut l = license(LicenseStatus::Available, 5, &[]);
        l.validity_days = Some(30);
        let now = Utc::now();
        l.apply(Action::Assign, now).unwrap();
        assert_eq!(l.expires_at, Some(now + Duration::days(30)));
    }

    #[test]
    fn a_refused_action_changes_nothing() {
        let mut l = license(LicenseStatus::Available, 5, &[]);
        let before = l.clone();
        assert!(l.apply(Action::Suspend, Utc::now()).is_err());
        assert_eq!(l, before);
    }

    #[test]
    fn the_first_device_activates_an_assigned_license() {
        let now = Utc::now();
        for (status, after) in [
            (LicenseStatus::Assigned, LicenseStatus::Active),
            (LicenseStatus::Active, LicenseStatus::Active),
        ] {
            let mut l = license(status, 5, &[]);
            let id = Identifier::parse("dev-9").unwrap();
            l.add_device(
                Activation::new(id.clone(), Default::default(), now, None),
                now,
            )
            .unwrap();
            assert_eq!((l.status, l.ever_activated, l.version), (after, true, 2));
            assert!(l.find_active(&id).is_some());
        }
    }

    #[test]
    fn deactivating_ends_only_a_bound_device() {
        let now = Utc::now();
        let mut l = license(LicenseStatus::Active, 5, &["a", "b"]);
        let unknown = Identifier::parse("c").unwrap();
        assert!(l.deactivate_device(&unknown, now).is_none());
        assert_eq!(l.version, 1, "a refusal changes nothing");
        let a = Identifier::parse("a").unwrap();
        let ended = l.deactivate_device(&a, now).unwrap();
        assert_eq!(ended.status, ActivationStatus::Deactivated);
        assert_eq!(ended.deactivated_at, Some(now));
        assert_eq!((l.active_count(), l.version), (1, 2));
        assert_eq!(l.retire_deactivated().len(), 1);
        assert!(l.deactivate_device(&a, now).is_none());
    }

    #[test]
    fn every_applied_action_bumps_the_version() {
        let mut l = license(LicenseStatus::Active, 5, &[]);
        l.apply(Action::Suspend, Utc::now()).unwrap();
        assert_eq!(l.version, 2);
    }
}
