//! What the client API answers: pure decisions from a license, an operation and the time.

use std::borrow::Cow;

use super::{Identifier, License, LicenseStatus};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The stable machine codes clients switch on (documented in docs/API.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
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

    /// The code as clients and metrics see it.
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
    /// Fixed sentences are borrowed: the common answers cost no allocation.
    pub detail: Cow<'static, str>,
}

impl Verdict {
    /// A usable answer.
    pub(crate) fn yes(code: VerdictCode, detail: impl Into<Cow<'static, str>>) -> Self {
        Verdict {
            valid: true,
            code,
            detail: detail.into(),
        }
    }

    /// A refusal.
    pub(crate) fn no(code: VerdictCode, detail: impl Into<Cow<'static, str>>) -> Self {
        Verdict {
            valid: false,
            code,
            detail: detail.into(),
        }
    }

    /// The answer for a key the store does not hold.
    pub fn not_found() -> Self {
        Verdict::no(
            VerdictCode::NotFound,
            "License key not found in this environment",
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
    /// Name used in metrics labels.
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
        S::Revoked => return Some(Verdict::no(C::Revoked, "License has been revoked")),
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
            "License is suspended; contact the vendor",
        )),
        S::Inactive => Some(Verdict::no(
            C::Inactive,
            "License is inactive (paused by the vendor)",
        )),
        S::Available => Some(Verdict::no(
            C::NotAssigned,
            "License must be assigned to a customer before it can be used",
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
                    "License has been revoked",
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
    )
    .into();
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
mod tests;
