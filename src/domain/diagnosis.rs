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
            _ => Verdict::yes(VerdictCode::Valid, "License is valid"),
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

/// What a code sample for a license does and what it will print: validate a
/// device that is activated on the license, or, when none is, activate
/// `new_device` (run again, the same call validates it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamplePlan {
    pub device: String,
    pub op: Op,
    /// The answer the sample gets now.
    pub expected: Verdict,
}

/// Plans the code samples of `license` (pure: nothing changes).
pub fn sample_plan(
    license: &License,
    now: DateTime<Utc>,
    grace: Duration,
    new_device: &str,
) -> SamplePlan {
    if let Some(a) = license.active_activations().next() {
        let expected = match decide(license, Op::Validate, &a.identifier, now, grace) {
            Decision::Answer(v) => v,
            _ => super::verdict::activated(license, now, grace),
        };
        return SamplePlan {
            device: a.identifier.as_str().to_owned(),
            op: Op::Validate,
            expected,
        };
    }
    let id = Identifier::parse(new_device).expect("a valid sample identifier");
    let expected = match decide(license, Op::Activate, &id, now, grace) {
        Decision::Answer(v) => v,
        _ => {
            let mut after = license.clone();
            after.activations.push(super::Activation::new(
                id,
                super::ActivationKind::Hwid,
                now,
                None,
            ));
            super::verdict::activated(&after, now, grace)
        }
    };
    SamplePlan {
        device: new_device.to_owned(),
        op: Op::Activate,
        expected,
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

    #[test]
    fn samples_validate_an_activated_device_or_activate_a_new_one() {
        let now = Utc::now();
        let grace = Duration::days(7);
        let table: Vec<(License, &str, Op, VerdictCode)> = vec![
            (
                license(S::Active, 2, &["pc"]),
                "pc",
                Op::Validate,
                VerdictCode::Valid,
            ),
            (
                license(S::Assigned, 2, &[]),
                "ws",
                Op::Activate,
                VerdictCode::Valid,
            ),
            (
                license(S::Available, 2, &[]),
                "ws",
                Op::Activate,
                VerdictCode::NotAssigned,
            ),
            (
                license(S::Suspended, 2, &["pc"]),
                "pc",
                Op::Validate,
                VerdictCode::Suspended,
            ),
            (
                license(S::Revoked, 2, &[]),
                "ws",
                Op::Activate,
                VerdictCode::Revoked,
            ),
        ];
        for (l, device, op, code) in table {
            let plan = sample_plan(&l, now, grace, "ws");
            assert_eq!(
                (plan.device.as_str(), plan.op, plan.expected.code),
                (device, op, code),
                "{}",
                l.status
            );
        }
        let fresh = sample_plan(&license(S::Assigned, 2, &[]), now, grace, "ws");
        assert!(
            fresh.expected.detail.contains("1 of 2"),
            "{}",
            fresh.expected.detail
        );
    }
}
