//! What the client API answers: pure decisions from a license, an operation and the time.

use super::{Identifier, License, LicenseStatus};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The stable machine codes clients switch on (documented in docs/API.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VerdictCode {
    Valid,
    NotFound,
    NotAssigned,
    NotActivated,
    LimitReached,
    Expired,
    InGracePeriod,
    Suspended,
    Inactive,
    Revoked,
    /// A deactivation was done: the device no longer holds a slot.
    Deactivated,
}

impl VerdictCode {
    /// Every code, for metrics label pre-registration and docs.
    pub const ALL: [VerdictCode; 11] = [
        VerdictCode::Valid,
        VerdictCode::NotFound,
        VerdictCode::NotAssigned,
        VerdictCode::NotActivated,
        VerdictCode::LimitReached,
        VerdictCode::Expired,
        VerdictCode::InGracePeriod,
        VerdictCode::Suspended,
        VerdictCode::Inactive,
        VerdictCode::Revoked,
        VerdictCode::Deactivated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VerdictCode::Valid => "VALID",
            VerdictCode::NotFound => "NOT_FOUND",
            VerdictCode::NotAssigned => "NOT_ASSIGNED",
            VerdictCode::NotActivated => "NOT_ACTIVATED",
            VerdictCode::LimitReached => "LIMIT_REACHED",
            VerdictCode::Expired => "EXPIRED",
            VerdictCode::InGracePeriod => "IN_GRACE_PERIOD",
            VerdictCode::Suspended => "SUSPENDED",
            VerdictCode::Inactive => "INACTIVE",
            VerdictCode::Revoked => "REVOKED",
            VerdictCode::Deactivated => "DEACTIVATED",
        }
    }
}

/// An answer: whether the license works for this device now, a code and a support sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub valid: bool,
    pub code: VerdictCode,
    pub detail: String,
}

impl Verdict {
    pub(crate) fn yes(code: VerdictCode, detail: String) -> Self {
        Verdict {
            valid: true,
            code,
            detail,
        }
    }

    pub(crate) fn no(code: VerdictCode, detail: String) -> Self {
        Verdict {
            valid: false,
            code,
            detail,
        }
    }

    /// The answer for a key the store does not hold.
    pub fn not_found() -> Self {
        Verdict::no(
            VerdictCode::NotFound,
            "License key not found in this environment".into(),
        )
    }
}

/// What a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Validate,
    Heartbeat,
    Activate,
    Deactivate,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Validate => "validate",
            Op::Heartbeat => "heartbeat",
            Op::Activate => "activate",
            Op::Deactivate => "deactivate",
        }
    }
}

/// What the actor must do: answer now, or commit a change first and then answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Answer(Verdict),
    /// Add a new activation (and move `assigned` to `active` on the first one).
    AddActivation,
    /// Deactivate the device's active binding.
    RemoveActivation,
}

fn date(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

fn devices(n: usize) -> &'static str {
    if n == 1 {
        "device"
    } else {
        "devices"
    }
}

/// "3 of 5 devices" or "3 devices, unlimited".
pub fn usage(license: &License, in_use: usize) -> String {
    if license.activation_limit.is_unlimited() {
        format!("{in_use} {}, no limit", devices(in_use))
    } else {
        let limit = license.activation_limit.get() as usize;
        format!("{in_use} of {limit} {}", devices(limit))
    }
}

/// The refusal that the license's state or expiry gives, before any device is looked at.
///
/// `for_new_device` is true for activation: in the grace period new devices are refused.
fn state_refusal(
    license: &License,
    now: DateTime<Utc>,
    grace: Duration,
    for_new_device: bool,
) -> Option<Verdict> {
    use LicenseStatus as S;
    use VerdictCode as C;
    match license.status {
        S::Revoked => return Some(Verdict::no(C::Revoked, "License has been revoked".into())),
        S::Expired => {
            let when = license
                .expires_at
                .map(|e| format!(" on {}", date(e)))
                .unwrap_or_default();
            return Some(Verdict::no(C::Expired, format!("License expired{when}")));
        }
        _ => {}
    }
    if let Some(exp) = license.expires_at.filter(|e| *e <= now) {
        if license.status != S::Available && (for_new_device || exp + grace <= now) {
            return Some(Verdict::no(
                C::Expired,
                format!("License expired on {}", date(exp)),
            ));
        }
    }
    match license.status {
        S::Suspended => Some(Verdict::no(
            C::Suspended,
            "License is suspended; contact the vendor".into(),
        )),
        S::Inactive => Some(Verdict::no(
            C::Inactive,
            "License is inactive (paused by the vendor)".into(),
        )),
        S::Available => Some(Verdict::no(
            C::NotAssigned,
            "License must be assigned to a customer before it can be used".into(),
        )),
        _ => None,
    }
}

/// The answer for a device that holds a slot and whose license is usable.
fn valid_for_device(license: &License, now: DateTime<Utc>, grace: Duration) -> Verdict {
    match license.expires_at.filter(|e| *e <= now) {
        Some(exp) => Verdict::yes(
            VerdictCode::InGracePeriod,
            format!(
                "License expired on {}; grace period ends on {}",
                date(exp),
                date(exp + grace)
            ),
        ),
        None => Verdict::yes(
            VerdictCode::Valid,
            match license.expires_at {
                Some(e) => format!("License is valid until {}", date(e)),
                None => "License is valid (lifetime)".into(),
            },
        ),
    }
}

/// Decides an operation. Pure: same inputs, same answer.
pub fn decide(
    license: &License,
    op: Op,
    identifier: &Identifier,
    now: DateTime<Utc>,
    grace: Duration,
) -> Decision {
    let bound = license.find_active(identifier).is_some();
    match op {
        Op::Validate | Op::Heartbeat => {
            if let Some(v) = state_refusal(license, now, grace, false) {
                return Decision::Answer(v);
            }
            if !bound {
                return Decision::Answer(Verdict::no(
                    VerdictCode::NotActivated,
                    format!("This device ({identifier}) is not activated on this license"),
                ));
            }
            Decision::Answer(valid_for_device(license, now, grace))
        }
        Op::Activate => {
            if bound {
                if let Some(v) = state_refusal(license, now, grace, false) {
                    return Decision::Answer(v);
                }
                return Decision::Answer(valid_for_device(license, now, grace));
            }
            if let Some(v) = state_refusal(license, now, grace, true) {
                return Decision::Answer(v);
            }
            let in_use = license.active_count();
            if !license.activation_limit.has_room(in_use) {
                return Decision::Answer(Verdict::no(
                    VerdictCode::LimitReached,
                    format!("Activation limit reached ({})", usage(license, in_use)),
                ));
            }
            Decision::AddActivation
        }
        Op::Deactivate => {
            if license.status == LicenseStatus::Revoked {
                return Decision::Answer(Verdict::no(
                    VerdictCode::Revoked,
                    "License has been revoked".into(),
                ));
            }
            if !bound {
                return Decision::Answer(Verdict::no(
                    VerdictCode::NotActivated,
                    format!("This device ({identifier}) is not activated on this license"),
                ));
            }
            Decision::RemoveActivation
        }
    }
}

/// Start of the detail of a committed new activation (see [`activated`]).
const ACTIVATED: &str = "Activated on this device";

/// Whether an activate answer reports a new device (not an idempotent repeat),
/// for the customer's activation alert.
pub fn is_new_activation(v: &Verdict) -> bool {
    v.code == VerdictCode::Valid && v.detail.starts_with(ACTIVATED)
}

/// The answer after a new activation was committed.
pub fn activated(license: &License, now: DateTime<Utc>, grace: Duration) -> Verdict {
    let mut v = valid_for_device(license, now, grace);
    v.detail = format!(
        "{ACTIVATED} ({} in use)",
        usage(license, license.active_count())
    );
    v
}

/// The answer after a deactivation was committed.
pub fn deactivated(license: &License) -> Verdict {
    Verdict::no(
        VerdictCode::Deactivated,
        format!(
            "Device deactivated; its slot is free ({} in use)",
            usage(license, license.active_count())
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::license::fixtures::license;
    use LicenseStatus as S;
    use VerdictCode as C;

    fn id(s: &str) -> Identifier {
        Identifier::parse(s).unwrap()
    }

    fn code(d: Decision) -> Result<C, Decision> {
        match d {
            Decision::Answer(v) => Ok(v.code),
            other => Err(other),
        }
    }

    const GRACE: i64 = 7;

    /// (status, expiry offset in days from now or None, op, bound device?, expected)
    #[test]
    fn decisions_follow_the_rules_for_every_state() {
        use Op::*;
        type Row = (S, Option<i64>, Op, bool, Result<C, Decision>);
        let rows: &[Row] = &[
            (S::Active, None, Validate, true, Ok(C::Valid)),
            (S::Active, None, Validate, false, Ok(C::NotActivated)),
            (S::Active, None, Heartbeat, true, Ok(C::Valid)),
            (S::Active, None, Activate, true, Ok(C::Valid)),
            (
                S::Active,
                None,
                Activate,
                false,
                Err(Decision::AddActivation),
            ),
            (
                S::Active,
                None,
                Deactivate,
                true,
                Err(Decision::RemoveActivation),
            ),
            (S::Active, None, Deactivate, false, Ok(C::NotActivated)),
            (
                S::Assigned,
                None,
                Activate,
                false,
                Err(Decision::AddActivation),
            ),
            (S::Assigned, None, Validate, false, Ok(C::NotActivated)),
            (S::Available, None, Activate, false, Ok(C::NotAssigned)),
            (S::Available, None, Validate, false, Ok(C::NotAssigned)),
            (S::Suspended, None, Validate, true, Ok(C::Suspended)),
            (S::Suspended, None, Activate, false, Ok(C::Suspended)),
            (
                S::Suspended,
                None,
                Deactivate,
                true,
                Err(Decision::RemoveActivation),
            ),
            (S::Inactive, None, Validate, true, Ok(C::Inactive)),
            (S::Inactive, None, Activate, false, Ok(C::Inactive)),
            (S::Revoked, None, Validate, false, Ok(C::Revoked)),
            (S::Revoked, None, Activate, false, Ok(C::Revoked)),
            (S::Revoked, None, Deactivate, false, Ok(C::Revoked)),
            (S::Expired, Some(-30), Validate, true, Ok(C::Expired)),
            (S::Expired, Some(-30), Activate, false, Ok(C::Expired)),
            (
                S::Expired,
                Some(-30),
                Deactivate,
                true,
                Err(Decision::RemoveActivation),
            ),
            // Time-based: within grace, existing devices keep working with a warning.
            (S::Active, Some(-2), Validate, true, Ok(C::InGracePeriod)),
            (S::Active, Some(-2), Heartbeat, true, Ok(C::InGracePeriod)),
            (S::Active, Some(-2), Activate, true, Ok(C::InGracePeriod)),
            (S::Active, Some(-2), Activate, false, Ok(C::Expired)),
            (S::Active, Some(-2), Validate, false, Ok(C::NotActivated)),
            // Past grace: expired for everyone, even before the sweeper persists it.
            (S::Active, Some(-8), Validate, true, Ok(C::Expired)),
            (S::Assigned, Some(-8), Activate, false, Ok(C::Expired)),
            (S::Active, Some(3), Validate, true, Ok(C::Valid)),
            // Available licenses do not age.
            (S::Available, Some(-30), Activate, false, Ok(C::NotAssigned)),
        ];
        let now = Utc::now();
        for (status, exp, op, bound, expected) in rows {
            let mut l = license(*status, 5, if *bound { &["dev-1"] } else { &["other"] });
            l.expires_at = exp.map(|d| now + Duration::days(d));
            let got = code(decide(&l, *op, &id("dev-1"), now, Duration::days(GRACE)));
            assert_eq!(&got, expected, "{status} {exp:?} {op:?} bound={bound}");
        }
    }

    #[test]
    fn limit_reached_says_how_many_devices() {
        let l = license(S::Active, 2, &["a", "b"]);
        match decide(&l, Op::Activate, &id("c"), Utc::now(), Duration::days(7)) {
            Decision::Answer(v) => {
                assert_eq!(v.code, C::LimitReached);
                assert_eq!(v.detail, "Activation limit reached (2 of 2 devices)");
                assert!(!v.valid);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unlimited_licenses_never_reach_a_limit() {
        let ids: Vec<String> = (0..100).map(|i| format!("d{i}")).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let l = license(S::Active, -1, &refs);
        assert_eq!(
            decide(&l, Op::Activate, &id("new"), Utc::now(), Duration::days(7)),
            Decision::AddActivation
        );
    }

    #[test]
    fn expired_detail_names_the_date() {
        let mut l = license(S::Active, 5, &["dev-1"]);
        l.expires_at = Some("2026-03-01T00:00:00Z".parse().unwrap());
        let now: DateTime<Utc> = "2026-05-01T00:00:00Z".parse().unwrap();
        match decide(&l, Op::Validate, &id("dev-1"), now, Duration::days(7)) {
            Decision::Answer(v) => assert_eq!(v.detail, "License expired on 2026-03-01"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn grace_detail_names_both_dates_and_stays_valid() {
        let mut l = license(S::Active, 5, &["dev-1"]);
        l.expires_at = Some("2026-03-01T00:00:00Z".parse().unwrap());
        let now: DateTime<Utc> = "2026-03-03T00:00:00Z".parse().unwrap();
        match decide(&l, Op::Validate, &id("dev-1"), now, Duration::days(7)) {
            Decision::Answer(v) => {
                assert!(v.valid);
                assert_eq!(
                    v.detail,
                    "License expired on 2026-03-01; grace period ends on 2026-03-08"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
