//! What the abuse rule does to a license once it fired (too many distinct devices
//! refused for the limit): suspend it when the environment says so and the state
//! machine allows it, else flag it for an admin. Pure; the engine commits it.

use chrono::{DateTime, Utc};

use super::abuse_case::{AbuseCase, AbuseEvent};
use super::settings::AbuseSettings;
use super::{Action, AuditEntry, License};

/// Whether a firing of the rule changes the license: it is neither flagged
/// nor suspended yet (a case opens), or its open case has not seen one of
/// these devices (the case grows). Otherwise the firing is already on record.
pub fn abuse_due(license: &License, events: &[AbuseEvent]) -> bool {
    let first = !license.flagged && license.status != super::LicenseStatus::Suspended;
    first
        || license.has_open_case()
            && license
                .abuse_case
                .as_ref()
                .is_some_and(|c| c.has_new(events))
}

/// The license after the abuse rule fired, the audit entry that says why, and
/// what was done (`"suspended"` or `"flagged"`, as metrics and logs name it).
pub fn abuse_fired(
    license: &License,
    rule: &AbuseSettings,
    events: Vec<AbuseEvent>,
    now: DateTime<Utc>,
) -> (License, AuditEntry, &'static str) {
    let distinct = events.len();
    if license.has_open_case() {
        let mut next = license.clone();
        if let Some(case) = next.abuse_case.as_mut() {
            case.grow(events, rule.threshold);
        }
        next.touch(now);
        let total = next.abuse_case.as_ref().map_or(0, |c| c.distinct);
        let audit = AuditEntry::new("system", "abuse_case.updated", Some(next.key.as_str()), now)
            .detail(format!(
                "{total} distinct devices refused for the activation limit in all"
            ));
        return (next, audit, "updated");
    }
    let mut next = license.clone();
    let (action, outcome) = if rule.auto_suspend && next.apply(Action::Suspend, now).is_ok() {
        ("license.auto_suspended", "suspended")
    } else {
        next.flagged = true;
        next.touch(now);
        ("license.abuse_flagged", "flagged")
    };
    next.abuse_case = Some(AbuseCase::open(
        events,
        distinct,
        rule.threshold,
        outcome,
        now,
    ));
    let audit = AuditEntry::new("system", action, Some(next.key.as_str()), now)
        .change(license.status, next.status)
        .detail(format!(
            "{distinct} distinct devices refused for the activation limit within {} s (threshold {})",
            rule.window_secs, rule.threshold
        ));
    (next, audit, outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::license::fixtures::license;
    use crate::domain::LicenseStatus as S;

    fn events(n: usize) -> Vec<AbuseEvent> {
        (0..n)
            .map(|i| AbuseEvent {
                at: Utc::now(),
                identifier: crate::domain::Identifier::parse(&format!("d{i}")).unwrap(),
            })
            .collect()
    }

    fn rule(auto_suspend: bool) -> AbuseSettings {
        AbuseSettings {
            auto_suspend,
            ..AbuseSettings::default()
        }
    }

    #[test]
    fn suspends_when_asked_and_allowed_else_flags() {
        // (status, auto-suspend?, status after, flagged after, outcome)
        let rows = [
            (S::Active, true, S::Suspended, false, "suspended"),
            (S::Active, false, S::Active, true, "flagged"),
            (S::Assigned, true, S::Assigned, true, "flagged"),
            (S::Inactive, true, S::Inactive, true, "flagged"),
        ];
        let now = Utc::now();
        for (status, auto, after, flagged, outcome) in rows {
            let before = license(status, 1, &["a"]);
            let (next, audit, got) = abuse_fired(&before, &rule(auto), events(6), now);
            assert_eq!((next.status, next.flagged, got), (after, flagged, outcome));
            let case = next.abuse_case.as_ref().expect("a case opens");
            assert_eq!((case.distinct, case.outcome.as_str()), (6, outcome));
            assert_eq!(next.version, before.version + 1);
            assert_eq!(audit.actor, "system");
            assert_eq!(audit.before, Some(status.to_string()));
            assert_eq!(audit.after, Some(after.to_string()));
        }
    }

    #[test]
    fn a_firing_is_due_once_then_only_for_new_devices() {
        let fresh = license(S::Active, 1, &["a"]);
        assert!(abuse_due(&fresh, &events(4)));
        let (flagged, _, _) = abuse_fired(&fresh, &rule(false), events(4), Utc::now());
        assert!(!abuse_due(&flagged, &events(4)), "the same devices again");
        assert!(
            abuse_due(&flagged, &events(5)),
            "a new device grows the case"
        );
        let (suspended, _, _) = abuse_fired(&fresh, &rule(true), events(4), Utc::now());
        assert!(!abuse_due(&suspended, &events(4)));
    }

    #[test]
    fn the_audit_entry_says_why() {
        let before = license(S::Active, 1, &["a"]);
        let (_, audit, _) = abuse_fired(&before, &rule(false), events(6), Utc::now());
        assert_eq!(audit.action, "license.abuse_flagged");
        assert_eq!(
            audit.detail,
            "6 distinct devices refused for the activation limit within 3600 s (threshold 5)"
        );
    }
}
