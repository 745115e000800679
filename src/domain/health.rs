//! Account health: what on a license owner's account needs their attention,
//! and the totals their dashboard shows. Pure: the caller passes `now`.

use chrono::{DateTime, Duration, Utc};

use super::{License, LicenseStatus};

/// How far ahead "expires soon" looks (the attention list and its table).
pub const SOON: Duration = Duration::days(7);
/// How far ahead the dashboard counts upcoming expiries.
pub const UPCOMING: Duration = Duration::days(30);

/// Something on one license that its owner should act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attention {
    Suspended,
    /// Inactive: the vendor paused it.
    Paused,
    Expired,
    Revoked,
    /// Past its expiry date, still working during the grace period.
    InGrace,
    /// Flagged by the vendor's abuse rule (too many refused devices).
    Flagged,
    /// Runs out within [`SOON`].
    ExpiresSoon,
}

/// Whether `license` runs out after `now` but within `within` (only states
/// that time-based expiry applies to count).
pub fn expires_within(license: &License, now: DateTime<Utc>, within: Duration) -> bool {
    license.status.can_expire()
        && license
            .expires_at
            .is_some_and(|t| t > now && t <= now + within)
}

/// The standing problem of one license, if any: a blocking state first
/// (suspended, paused, expired, revoked), then an expiry already passed (grace
/// period), then an abuse flag. A license with every device slot in use is
/// normal (one seat, one device), not a problem.
pub fn problem(license: &License, now: DateTime<Utc>) -> Option<Attention> {
    let l = license;
    match l.status {
        LicenseStatus::Suspended => Some(Attention::Suspended),
        LicenseStatus::Inactive => Some(Attention::Paused),
        LicenseStatus::Expired => Some(Attention::Expired),
        LicenseStatus::Revoked => Some(Attention::Revoked),
        _ if l.expires_at.is_some_and(|t| t <= now) && l.status.can_expire() => {
            Some(Attention::InGrace)
        }
        _ if l.flagged => Some(Attention::Flagged),
        _ => None,
    }
}

/// Everything on an account that needs attention, as (index into `licenses`,
/// what): each license's standing problem in list order, then every license
/// expiring within [`SOON`] (a license may be named twice).
pub fn attention(licenses: &[&License], now: DateTime<Utc>) -> Vec<(usize, Attention)> {
    let problems = licenses
        .iter()
        .enumerate()
        .filter_map(|(i, l)| problem(l, now).map(|a| (i, a)));
    let soon = licenses
        .iter()
        .enumerate()
        .filter(|(_, l)| expires_within(l, now, SOON))
        .map(|(i, _)| (i, Attention::ExpiresSoon));
    problems.chain(soon).collect()
}

/// The states an owner's license can be in (every one but available), in the
/// order the owner's pages list them.
pub const OWNED_STATES: [LicenseStatus; 6] = [
    LicenseStatus::Active,
    LicenseStatus::Assigned,
    LicenseStatus::Suspended,
    LicenseStatus::Inactive,
    LicenseStatus::Expired,
    LicenseStatus::Revoked,
];

/// The numbers at the top of an owner's dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    pub total: usize,
    /// Usable and not past their expiry date.
    pub active: usize,
    /// Active devices across every license.
    pub in_use: usize,
    /// Device slots of the usable licenses; `None` when one of them is unlimited.
    pub capacity: Option<i64>,
    /// Licenses expiring within [`UPCOMING`].
    pub expiring: usize,
    /// Licenses per state (states without one left out).
    pub by_state: Vec<(LicenseStatus, usize)>,
}

/// Counts `licenses` for the dashboard at `now`.
pub fn totals(licenses: &[&License], now: DateTime<Utc>) -> Totals {
    let usable = || licenses.iter().filter(|l| l.status.is_usable());
    let unlimited = usable().any(|l| l.activation_limit.is_unlimited());
    let slots: i64 = usable()
        .map(|l| i64::from(l.activation_limit.get().max(0)))
        .sum();
    Totals {
        total: licenses.len(),
        active: usable()
            .filter(|l| l.expires_at.is_none_or(|t| t > now))
            .count(),
        in_use: licenses.iter().map(|l| l.active_count()).sum(),
        capacity: (!unlimited).then_some(slots),
        expiring: licenses
            .iter()
            .filter(|l| expires_within(l, now, UPCOMING))
            .count(),
        by_state: OWNED_STATES
            .iter()
            .map(|s| (*s, licenses.iter().filter(|l| l.status == *s).count()))
            .filter(|(_, n)| *n > 0)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::license::fixtures::license;
    use LicenseStatus as S;

    /// A license in `status` with `limit` slots, `used` of them taken, and an
    /// expiry `days` from now (None: never).
    fn lic(status: S, limit: i64, used: usize, days: Option<i64>, now: DateTime<Utc>) -> License {
        let ids = ["a", "b", "c", "d", "e"];
        let mut l = license(status, limit, &ids[..used]);
        l.expires_at = days.map(|d| now + Duration::days(d));
        l
    }

    fn flagged(mut l: License) -> License {
        l.flagged = true;
        l
    }

    #[test]
    fn each_license_has_at_most_one_standing_problem() {
        let now = Utc::now();
        let table = [
            (S::Active, 5, 1, None, None),
            (S::Assigned, 5, 0, Some(60), None),
            (S::Suspended, 5, 5, Some(-1), Some(Attention::Suspended)),
            (S::Inactive, 5, 0, None, Some(Attention::Paused)),
            (S::Expired, 5, 0, Some(-9), Some(Attention::Expired)),
            (S::Active, 2, 2, Some(-1), Some(Attention::InGrace)),
            (S::Assigned, 5, 0, Some(0), Some(Attention::InGrace)),
            (S::Active, 2, 2, None, None),
            (S::Active, 1, 1, None, None),
            (S::Active, 2, 1, Some(3), None),
            (S::Active, -1, 3, None, None),
            (S::Revoked, 1, 0, Some(-1), Some(Attention::Revoked)),
            (S::Available, 1, 0, None, None),
        ];
        for (status, limit, used, days, want) in table {
            let l = lic(status, limit, used, days, now);
            assert_eq!(problem(&l, now), want, "{status} {limit} {used} {days:?}");
        }
    }

    #[test]
    fn expiring_counts_only_future_dates_inside_the_window_of_expiring_states() {
        let now = Utc::now();
        let table = [
            (S::Active, Some(7), true),
            (S::Active, Some(8), false),
            (S::Suspended, Some(1), true),
            (S::Active, Some(0), false),
            (S::Active, Some(-1), false),
            (S::Active, None, false),
            (S::Expired, Some(3), false),
            (S::Revoked, Some(3), false),
        ];
        for (status, days, want) in table {
            let l = lic(status, 5, 0, days, now);
            assert_eq!(expires_within(&l, now, SOON), want, "{status} {days:?}");
        }
    }

    #[test]
    fn problems_come_first_then_what_expires_soon() {
        let now = Utc::now();
        let ls = [
            lic(S::Active, 5, 0, Some(3), now),
            lic(S::Suspended, 5, 0, Some(5), now),
            flagged(lic(S::Active, 1, 1, None, now)),
            lic(S::Active, 1, 1, None, now),
        ];
        let refs: Vec<&License> = ls.iter().collect();
        assert_eq!(
            attention(&refs, now),
            vec![
                (1, Attention::Suspended),
                (2, Attention::Flagged),
                (0, Attention::ExpiresSoon),
                (1, Attention::ExpiresSoon),
            ]
        );
    }

    #[test]
    fn totals_count_usable_licenses_slots_and_states() {
        let now = Utc::now();
        let ls = [
            lic(S::Active, 3, 2, Some(20), now),
            lic(S::Assigned, 2, 0, Some(-1), now),
            lic(S::Suspended, 5, 1, None, now),
        ];
        let refs: Vec<&License> = ls.iter().collect();
        let t = totals(&refs, now);
        assert_eq!(
            t,
            Totals {
                total: 3,
                active: 1,
                in_use: 3,
                capacity: Some(5),
                expiring: 1,
                by_state: vec![(S::Active, 1), (S::Assigned, 1), (S::Suspended, 1)],
            }
        );
        let unlimited = lic(S::Active, -1, 0, None, now);
        let blocked_unlimited = lic(S::Revoked, -1, 0, None, now);
        assert_eq!(totals(&[&unlimited], now).capacity, None);
        assert_eq!(totals(&[&blocked_unlimited], now).capacity, Some(0));
        assert_eq!(totals(&[], now).by_state, vec![]);
    }
}
