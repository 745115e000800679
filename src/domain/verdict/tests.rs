//! The verdict rules as tables: every state, operation and expiry against the
//! code it answers, and the sentences clients show.

use super::*;
use crate::domain::license::fixtures::license;
use LicenseStatus as S;
use Op::{Activate, Deactivate, Heartbeat, Validate};
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

type Row = (S, Option<i64>, Op, bool, Result<C, Decision>);

/// The row answers with a change to commit, not a verdict.
const ADD: Result<C, Decision> = Err(Decision::AddActivation);
const REMOVE: Result<C, Decision> = Err(Decision::RemoveActivation);

/// (status, expiry offset in days from now or None, op, bound device?, expected)
const ROWS: &[Row] = &[
    (S::Active, None, Validate, true, Ok(C::Valid)),
    (S::Active, None, Validate, false, Ok(C::NotActivated)),
    (S::Active, None, Heartbeat, true, Ok(C::Valid)),
    (S::Active, None, Activate, true, Ok(C::Valid)),
    (S::Active, None, Activate, false, ADD),
    (S::Active, None, Deactivate, true, REMOVE),
    (S::Active, None, Deactivate, false, Ok(C::NotActivated)),
    (S::Assigned, None, Activate, false, ADD),
    (S::Assigned, None, Validate, false, Ok(C::NotActivated)),
    (S::Available, None, Activate, false, Ok(C::NotAssigned)),
    (S::Available, None, Validate, false, Ok(C::NotAssigned)),
    (S::Suspended, None, Validate, true, Ok(C::Suspended)),
    (S::Suspended, None, Activate, false, Ok(C::Suspended)),
    (S::Suspended, None, Deactivate, true, REMOVE),
    (S::Inactive, None, Validate, true, Ok(C::Inactive)),
    (S::Inactive, None, Activate, false, Ok(C::Inactive)),
    (S::Revoked, None, Validate, false, Ok(C::Revoked)),
    (S::Revoked, None, Activate, false, Ok(C::Revoked)),
    (S::Revoked, None, Deactivate, false, Ok(C::Revoked)),
    (S::Expired, Some(-30), Validate, true, Ok(C::Expired)),
    (S::Expired, Some(-30), Activate, false, Ok(C::Expired)),
    (S::Expired, Some(-30), Deactivate, true, REMOVE),
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

#[test]
fn decisions_follow_the_rules_for_every_state() {
    let now = Utc::now();
    for (status, exp, op, bound, expected) in ROWS {
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
