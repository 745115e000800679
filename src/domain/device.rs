//! A device as its owner sees it on their license, and which devices the owner
//! may deactivate: the customer portal's Activations page offers the button on
//! exactly the devices whose deactivation the post behind it accepts.

use std::str::FromStr;

use super::{Activation, Identifier, License, LicenseStatus};

/// Where one device stands on its owner's license.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceState {
    /// Bound to a usable license.
    Active,
    /// No longer bound (the record stays as history).
    Deactivated,
    /// Still bound, but the license blocks it (suspended, paused, expired…).
    Suspended,
}

impl DeviceState {
    /// The state of `activation` on a license that is `license`: a deactivated
    /// record stays deactivated; an active one is suspended while the license
    /// is not usable.
    pub fn of(license: LicenseStatus, activation: &Activation) -> DeviceState {
        if !activation.is_active() {
            DeviceState::Deactivated
        } else if !license.is_usable() {
            DeviceState::Suspended
        } else {
            DeviceState::Active
        }
    }

    /// Lowercase name used in filters and shown on the page.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceState::Active => "active",
            DeviceState::Deactivated => "deactivated",
            DeviceState::Suspended => "suspended",
        }
    }

    /// What the owner reads: the device's own state, or, while the license
    /// blocks it, the license's ("license expired", not "suspended").
    pub fn label(self, license: LicenseStatus) -> String {
        match self {
            DeviceState::Suspended => format!("license {}", license.as_str()),
            other => other.as_str().to_owned(),
        }
    }

    /// Only an active device on a usable license may be deactivated by its
    /// owner (a blocked license's devices are the vendor's to change).
    pub fn can_deactivate(self) -> bool {
        self == DeviceState::Active
    }
}

impl FromStr for DeviceState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            DeviceState::Active,
            DeviceState::Deactivated,
            DeviceState::Suspended,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
        .ok_or_else(|| {
            format!(
                "unknown device state '{}'",
                super::text::truncate_for_message(s)
            )
        })
    }
}

/// Why the owner may not deactivate a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The license is not usable: none of its devices can be changed by the owner.
    LicenseBlocked(LicenseStatus),
    /// The device is not active on the license (already deactivated, or never there).
    NotActive,
}

/// The device `identifier` on `license` when its owner may deactivate it (the
/// same rule as [`DeviceState::can_deactivate`]), else why not; the license's
/// state is judged before the device.
pub fn deactivatable<'a>(
    license: &'a License,
    identifier: &Identifier,
) -> Result<&'a Activation, Refusal> {
    if !license.status.is_usable() {
        return Err(Refusal::LicenseBlocked(license.status));
    }
    license
        .find_active(identifier)
        .filter(|a| DeviceState::of(license.status, a).can_deactivate())
        .ok_or(Refusal::NotActive)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::license::fixtures::license;
    use crate::domain::ActivationStatus;
    use LicenseStatus as S;

    /// (license state, device still active) → what the owner sees.
    const TABLE: &[(S, bool, DeviceState)] = &[
        (S::Available, true, DeviceState::Suspended),
        (S::Assigned, true, DeviceState::Active),
        (S::Active, true, DeviceState::Active),
        (S::Suspended, true, DeviceState::Suspended),
        (S::Inactive, true, DeviceState::Suspended),
        (S::Expired, true, DeviceState::Suspended),
        (S::Revoked, true, DeviceState::Suspended),
        (S::Assigned, false, DeviceState::Deactivated),
        (S::Active, false, DeviceState::Deactivated),
        (S::Suspended, false, DeviceState::Deactivated),
        (S::Expired, false, DeviceState::Deactivated),
    ];

    fn with_device(status: S, active: bool) -> License {
        let mut l = license(status, 5, &["pc-1"]);
        if !active {
            l.activations[0].status = ActivationStatus::Deactivated;
        }
        l
    }

    /// Issue 15 item 5: a blocked device is labelled by what blocks it.
    #[test]
    fn a_blocked_device_is_labelled_by_its_license_state() {
        for (state, license, label) in [
            (DeviceState::Active, S::Active, "active"),
            (DeviceState::Deactivated, S::Expired, "deactivated"),
            (DeviceState::Suspended, S::Suspended, "license suspended"),
            (DeviceState::Suspended, S::Expired, "license expired"),
            (DeviceState::Suspended, S::Inactive, "license inactive"),
            (DeviceState::Suspended, S::Revoked, "license revoked"),
        ] {
            assert_eq!(state.label(license), label);
        }
    }

    #[test]
    fn a_device_is_active_only_while_bound_to_a_usable_license() {
        for &(status, active, want) in TABLE {
            let l = with_device(status, active);
            assert_eq!(
                DeviceState::of(status, &l.activations[0]),
                want,
                "{status} {active}"
            );
        }
    }

    #[test]
    fn the_owner_may_deactivate_exactly_the_devices_offered() {
        let pc = Identifier::parse("pc-1").unwrap();
        for &(status, active, state) in TABLE {
            let l = with_device(status, active);
            let got = deactivatable(&l, &pc);
            assert_eq!(got.is_ok(), state.can_deactivate(), "{status} {active}");
            if !status.is_usable() {
                assert_eq!(got.err(), Some(Refusal::LicenseBlocked(status)));
            } else if !active {
                assert_eq!(got.err(), Some(Refusal::NotActive));
            }
        }
        let l = with_device(S::Active, true);
        let other = Identifier::parse("pc-2").unwrap();
        assert_eq!(deactivatable(&l, &other).err(), Some(Refusal::NotActive));
    }

    #[test]
    fn state_names_round_trip() {
        for d in [
            DeviceState::Active,
            DeviceState::Deactivated,
            DeviceState::Suspended,
        ] {
            assert_eq!(d.as_str().parse::<DeviceState>(), Ok(d));
        }
        assert!("".parse::<DeviceState>().is_err());
        assert!("inactive".parse::<DeviceState>().is_err());
    }
}
