//! "Why would my license not work right now?" — the customer portal's Validation
//! Status, answered with the same verdicts the client API gives.

use chrono::{DateTime, Duration, Utc};

use super::verdict::{decide, Decision, Op, Verdict, VerdictCode};
use super::{Identifier, License};

/// What the software would hear, on the devices already activated and on a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    /// Validation on each activated device (one shared verdict: they differ only by name).
    pub activated_devices: Option<Verdict>,
    /// Activation on a device not seen before.
    pub new_device: Verdict,
}

/// Placeholder identifier for "a device not activated yet".
const NEW_DEVICE: &str = "a-new-device";

/// Runs the pure decision rules without changing anything.
pub fn diagnose(license: &License, now: DateTime<Utc>, grace: Duration) -> Diagnosis {
    let activated_devices = license.active_activations().next().map(|a| {
        match decide(license, Op::Validate, &a.identifier, now, grace) {
            Decision::Answer(v) => v,
            _ => Verdict::yes(VerdictCode::Valid, "License is valid".into()),
        }
    });
    let fresh = Identifier::parse(NEW_DEVICE).expect("a valid identifier");
    let new_device = match decide(license, Op::Activate, &fresh, now, grace) {
        Decision::Answer(v) => v,
        _ => Verdict::yes(
            VerdictCode::Valid,
            format!(
                "A new device can be activated ({} in use)",
                super::verdict::usage(license, license.active_count())
            ),
        ),
    };
    Diagnosis {
        activated_devices,
        new_device,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::license::fixtures::license;
    use crate::domain::LicenseStatus as S;

    #[test]
    fn diagnosis_table() {
        let now = Utc::now();
        let grace = Duration::days(7);
        let mut expired = license(S::Active, 2, &["pc"]);
        expired.expires_at = Some(now - Duration::days(30));
        let mut in_grace = license(S::Active, 2, &["pc"]);
        in_grace.expires_at = Some(now - Duration::days(1));
        let cases: Vec<(License, Option<VerdictCode>, VerdictCode)> = vec![
            (license(S::Assigned, 2, &[]), None, VerdictCode::Valid),
            (
                license(S::Active, 2, &["pc"]),
                Some(VerdictCode::Valid),
                VerdictCode::Valid,
            ),
            (
                license(S::Active, 1, &["pc"]),
                Some(VerdictCode::Valid),
                VerdictCode::LimitReached,
            ),
            (
                license(S::Available, 2, &[]),
                None,
                VerdictCode::NotAssigned,
            ),
            (
                license(S::Suspended, 2, &["pc"]),
                Some(VerdictCode::Suspended),
                VerdictCode::Suspended,
            ),
            (
                license(S::Inactive, 2, &["pc"]),
                Some(VerdictCode::Inactive),
                VerdictCode::Inactive,
            ),
            (license(S::Revoked, 2, &[]), None, VerdictCode::Revoked),
            (expired, Some(VerdictCode::Expired), VerdictCode::Expired),
            (
                in_grace,
                Some(VerdictCode::InGracePeriod),
                VerdictCode::Expired,
            ),
        ];
        for (l, devices, new) in cases {
            let d = diagnose(&l, now, grace);
            assert_eq!(
                d.activated_devices.map(|v| v.code),
                devices,
                "{:?}",
                l.status
            );
            assert_eq!(d.new_device.code, new, "{:?}", l.status);
        }
    }
}
