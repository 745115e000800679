//! The license state machine: [`transition`] is the one table of legal moves
//! (assign, first activation, suspend/unsuspend, inactivate/reactivate,
//! expire, renew, revoke); nothing leaves revoked.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where a license is in its life.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    PartialOrd,
    Ord,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum LicenseStatus {
    Available,
    Assigned,
    Active,
    Suspended,
    Inactive,
    Expired,
    Revoked,
}

impl LicenseStatus {
    /// Every state, in the order filters list them.
    pub const ALL: [LicenseStatus; 7] = [
        LicenseStatus::Available,
        LicenseStatus::Assigned,
        LicenseStatus::Active,
        LicenseStatus::Suspended,
        LicenseStatus::Inactive,
        LicenseStatus::Expired,
        LicenseStatus::Revoked,
    ];

    /// Lowercase name used in URLs, filters and stored records.
    pub fn as_str(self) -> &'static str {
        match self {
            LicenseStatus::Available => "available",
            LicenseStatus::Assigned => "assigned",
            LicenseStatus::Active => "active",
            LicenseStatus::Suspended => "suspended",
            LicenseStatus::Inactive => "inactive",
            LicenseStatus::Expired => "expired",
            LicenseStatus::Revoked => "revoked",
        }
    }

    /// Assigned or active: the license works for its owner. Only then may a new
    /// device activate, the owner deactivate a device or download the product's
    /// files, and its device slots count; every other state blocks it.
    pub fn is_usable(self) -> bool {
        matches!(self, LicenseStatus::Assigned | LicenseStatus::Active)
    }

    /// Only usable licenses accept a new activation.
    pub fn can_activate(self) -> bool {
        self.is_usable()
    }

    /// States that time-based expiry applies to.
    pub fn can_expire(self) -> bool {
        matches!(
            self,
            LicenseStatus::Assigned
                | LicenseStatus::Active
                | LicenseStatus::Suspended
                | LicenseStatus::Inactive
        )
    }
}

impl fmt::Display for LicenseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LicenseStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LicenseStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown status '{}'", super::text::truncate_for_message(s)))
    }
}

/// Something that moves a license between states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Give the license to a customer (or to another one: reassignment keeps the state).
    Assign,
    /// The first device activation of an assigned license.
    Activate,
    Suspend,
    Unsuspend,
    Inactivate,
    Reactivate,
    /// Time passed the expiry date plus the grace period.
    Expire,
    /// An admin set a future expiry on an expired license.
    Renew,
    Revoke,
}

impl Action {
    /// Every action, for exhaustive tables.
    pub const ALL: [Action; 9] = [
        Action::Assign,
        Action::Activate,
        Action::Suspend,
        Action::Unsuspend,
        Action::Inactivate,
        Action::Reactivate,
        Action::Expire,
        Action::Renew,
        Action::Revoke,
    ];

    /// Lowercase name used in URLs and audit entries.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Assign => "assign",
            Action::Activate => "activate",
            Action::Suspend => "suspend",
            Action::Unsuspend => "unsuspend",
            Action::Inactivate => "inactivate",
            Action::Reactivate => "reactivate",
            Action::Expire => "expire",
            Action::Renew => "renew",
            Action::Revoke => "revoke",
        }
    }

    /// The admin actions reachable as `POST …/actions/{name}`.
    pub fn parse_admin(s: &str) -> Option<Action> {
        match s {
            "suspend" => Some(Action::Suspend),
            "unsuspend" => Some(Action::Unsuspend),
            "inactivate" => Some(Action::Inactivate),
            "reactivate" => Some(Action::Reactivate),
            "revoke" => Some(Action::Revoke),
            _ => None,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A move the state machine does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} a license that is {from}")]
pub struct TransitionError {
    pub from: LicenseStatus,
    pub action: Action,
}

/// The one place that says which moves are legal.
///
/// `ever_activated` decides where a renewed license lands.
pub fn transition(
    from: LicenseStatus,
    action: Action,
    ever_activated: bool,
) -> Result<LicenseStatus, TransitionError> {
    use Action as A;
    use LicenseStatus as S;
    let to = match (from, action) {
        (S::Revoked, _) => None,
        (S::Available, A::Assign) => Some(S::Assigned),
        (s, A::Assign) => Some(s),
        (S::Assigned, A::Activate) => Some(S::Active),
        (S::Active, A::Suspend) => Some(S::Suspended),
        (S::Suspended, A::Unsuspend) => Some(S::Active),
        (S::Active, A::Inactivate) => Some(S::Inactive),
        (S::Inactive, A::Reactivate) => Some(S::Active),
        (s, A::Expire) if s.can_expire() => Some(S::Expired),
        (S::Expired, A::Renew) if ever_activated => Some(S::Active),
        (S::Expired, A::Renew) => Some(S::Assigned),
        (_, A::Revoke) => Some(S::Revoked),
        _ => None,
    };
    to.ok_or(TransitionError { from, action })
}

/// The admin actions offered for a state, as (name, button label) pairs for the
/// portal (illegal ones are not offered).
pub fn admin_actions_for(from: LicenseStatus) -> Vec<(&'static str, &'static str)> {
    admin_actions(from)
        .into_iter()
        .map(|a| {
            let label = match a {
                Action::Suspend => "Suspend",
                Action::Unsuspend => "Unsuspend",
                Action::Inactivate => "Inactivate",
                Action::Reactivate => "Reactivate",
                _ => "Revoke",
            };
            (a.as_str(), label)
        })
        .collect()
}

/// The admin actions legal from `from`, so a page never offers a refused move.
pub fn admin_actions(from: LicenseStatus) -> Vec<Action> {
    [
        Action::Suspend,
        Action::Unsuspend,
        Action::Inactivate,
        Action::Reactivate,
        Action::Revoke,
    ]
    .into_iter()
    .filter(|a| transition(from, *a, true).is_ok())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action as A;
    use LicenseStatus as S;

    /// Every legal (from, action) → to; anything not listed must be refused.
    const ALLOWED: &[(S, A, S)] = &[
        (S::Available, A::Assign, S::Assigned),
        (S::Available, A::Revoke, S::Revoked),
        (S::Assigned, A::Assign, S::Assigned),
        (S::Assigned, A::Activate, S::Active),
        (S::Assigned, A::Expire, S::Expired),
        (S::Assigned, A::Revoke, S::Revoked),
        (S::Active, A::Assign, S::Active),
        (S::Active, A::Suspend, S::Suspended),
        (S::Active, A::Inactivate, S::Inactive),
        (S::Active, A::Expire, S::Expired),
        (S::Active, A::Revoke, S::Revoked),
        (S::Suspended, A::Assign, S::Suspended),
        (S::Suspended, A::Unsuspend, S::Active),
        (S::Suspended, A::Expire, S::Expired),
        (S::Suspended, A::Revoke, S::Revoked),
        (S::Inactive, A::Assign, S::Inactive),
        (S::Inactive, A::Reactivate, S::Active),
        (S::Inactive, A::Expire, S::Expired),
        (S::Inactive, A::Revoke, S::Revoked),
        (S::Expired, A::Assign, S::Expired),
        (S::Expired, A::Renew, S::Active),
        (S::Expired, A::Revoke, S::Revoked),
    ];

    #[test]
    fn every_state_action_pair_follows_the_table() {
        for from in S::ALL {
            for action in A::ALL {
                let expected = ALLOWED
                    .iter()
                    .find(|(f, a, _)| *f == from && *a == action)
                    .map(|(_, _, to)| *to);
                let got = transition(from, action, true).ok();
                assert_eq!(got, expected, "{from} + {action}");
            }
        }
    }

    #[test]
    fn renewal_returns_to_assigned_when_never_activated() {
        assert_eq!(transition(S::Expired, A::Renew, false), Ok(S::Assigned));
        assert_eq!(transition(S::Expired, A::Renew, true), Ok(S::Active));
    }

    #[test]
    fn revoked_is_terminal() {
        for action in A::ALL {
            assert!(transition(S::Revoked, action, true).is_err());
        }
    }

    #[test]
    fn refusal_names_state_and_action() {
        let err = transition(S::Available, A::Suspend, false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot suspend a license that is available"
        );
    }

    #[test]
    fn only_assigned_and_active_can_activate() {
        let can: Vec<_> = S::ALL.into_iter().filter(|s| s.can_activate()).collect();
        assert_eq!(can, vec![S::Assigned, S::Active]);
    }

    #[test]
    fn only_assigned_and_active_are_usable() {
        let table = [
            (S::Available, false),
            (S::Assigned, true),
            (S::Active, true),
            (S::Suspended, false),
            (S::Inactive, false),
            (S::Expired, false),
            (S::Revoked, false),
        ];
        assert_eq!(table.len(), S::ALL.len(), "every state is in the table");
        for (s, usable) in table {
            assert_eq!(s.is_usable(), usable, "{s}");
            assert_eq!(s.can_activate(), usable, "{s}: one rule");
        }
    }

    #[test]
    fn admin_actions_offer_only_legal_moves() {
        assert_eq!(
            admin_actions(S::Active),
            vec![A::Suspend, A::Inactivate, A::Revoke]
        );
        assert_eq!(admin_actions(S::Suspended), vec![A::Unsuspend, A::Revoke]);
        assert_eq!(admin_actions(S::Revoked), vec![]);
    }

    #[test]
    fn status_names_round_trip() {
        for s in S::ALL {
            assert_eq!(s.as_str().parse::<S>(), Ok(s));
        }
    }
}
