//! Every admin change against every license state, as one table, plus what the
//! table cannot show (fields set, audit details, error messages).

use chrono::Duration;
use serde_json::json;

use super::*;
use crate::domain::license::fixtures::license;
use crate::domain::ActivationStatus;
use Action as A;
use LicenseStatus as S;

/// The status after a change, or why it was refused.
type Cell = Result<S, Refused>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refused {
    /// The state machine does not allow the move.
    Move,
    /// A rule about the license's fields or devices.
    Field,
}

const AV: Cell = Ok(S::Available);
const AS: Cell = Ok(S::Assigned);
const AC: Cell = Ok(S::Active);
const SU: Cell = Ok(S::Suspended);
const IN: Cell = Ok(S::Inactive);
const EX: Cell = Ok(S::Expired);
const RE: Cell = Ok(S::Revoked);
const MOVE: Cell = Err(Refused::Move);
const FIELD: Cell = Err(Refused::Field);

/// (change, audit action, outcome for each status in `LicenseStatus::ALL` order:
/// available, assigned, active, suspended, inactive, expired, revoked).
type Row = (
    &'static str,
    fn(DateTime<Utc>) -> AdminChange,
    &'static str,
    [Cell; 7],
);

const WHO: &str = "admin@example.com";

fn act(action: Action) -> AdminChange {
    AdminChange::Action {
        action,
        who: WHO.into(),
    }
}

fn edit(edit: LicenseEdit) -> AdminChange {
    AdminChange::Edit {
        edit,
        who: WHO.into(),
    }
}

fn expiring(at: Option<DateTime<Utc>>) -> AdminChange {
    edit(LicenseEdit {
        expires_at: Some(at),
        ..LicenseEdit::default()
    })
}

fn deactivate(device: &str) -> AdminChange {
    AdminChange::Deactivate {
        identifier: Identifier::parse(device).unwrap(),
        who: WHO.into(),
    }
}

#[rustfmt::skip]
const ROWS: &[Row] = &[
    ("assign action", |_| act(A::Assign), "license.assign", [AS, AS, AC, SU, IN, EX, MOVE]),
    ("activate", |_| act(A::Activate), "license.activate", [MOVE, AC, MOVE, MOVE, MOVE, MOVE, MOVE]),
    ("suspend", |_| act(A::Suspend), "license.suspend", [MOVE, MOVE, SU, MOVE, MOVE, MOVE, MOVE]),
    ("unsuspend", |_| act(A::Unsuspend), "license.unsuspend", [MOVE, MOVE, MOVE, AC, MOVE, MOVE, MOVE]),
    ("inactivate", |_| act(A::Inactivate), "license.inactivate", [MOVE, MOVE, IN, MOVE, MOVE, MOVE, MOVE]),
    ("reactivate", |_| act(A::Reactivate), "license.reactivate", [MOVE, MOVE, MOVE, MOVE, AC, MOVE, MOVE]),
    ("expire", |_| act(A::Expire), "license.expire", [MOVE, EX, EX, EX, EX, MOVE, MOVE]),
    ("renew", |_| act(A::Renew), "license.renew", [MOVE, MOVE, MOVE, MOVE, MOVE, AC, MOVE]),
    ("revoke", |_| act(A::Revoke), "license.revoke", [RE, RE, RE, RE, RE, RE, MOVE]),
    ("assign to a customer", |_| AdminChange::Assign { customer_id: Uuid::from_u128(7), who: WHO.into() },
        "license.assign", [AS, AS, AC, SU, IN, EX, MOVE]),
    ("edit the limit", |_| edit(LicenseEdit { activation_limit: ActivationLimit::new(3).ok(), ..LicenseEdit::default() }),
        "license.edited", [AV, AS, AC, SU, IN, EX, FIELD]),
    ("edit the flags", |_| edit(LicenseEdit { feature_flags: Some(Map::new()), ..LicenseEdit::default() }),
        "license.edited", [AV, AS, AC, SU, IN, EX, FIELD]),
    ("edit the metadata", |_| edit(LicenseEdit { metadata: Some(Map::new()), ..LicenseEdit::default() }),
        "license.edited", [AV, AS, AC, SU, IN, EX, FIELD]),
    ("edit the eligibility", |_| edit(LicenseEdit { eligibility: Some(Eligibility::All), ..LicenseEdit::default() }),
        "license.edited", [AV, AS, AC, SU, IN, EX, FIELD]),
    // Extending the expiry renews an expired license; a past one leaves it expired.
    ("expiry in the future", |now| expiring(Some(now + Duration::days(30))),
        "license.edited", [AV, AS, AC, SU, IN, AC, FIELD]),
    ("expiry removed (lifetime)", |_| expiring(None),
        "license.edited", [AV, AS, AC, SU, IN, AC, FIELD]),
    ("expiry in the past", |now| expiring(Some(now - Duration::days(1))),
        "license.edited", [AV, AS, AC, SU, IN, EX, FIELD]),
    ("expiry right now", |now| expiring(Some(now)), "license.edited", [AV, AS, AC, SU, IN, EX, FIELD]),
    // Available and assigned licenses hold no device; a revoked one holds none any more.
    ("deactivate a bound device", |_| deactivate("dev-1"),
        "activation.deactivated", [FIELD, FIELD, AC, SU, IN, EX, FIELD]),
    ("deactivate an unknown device", |_| deactivate("elsewhere"),
        "activation.deactivated", [FIELD, FIELD, FIELD, FIELD, FIELD, FIELD, FIELD]),
    ("delete", |_| AdminChange::Delete { who: WHO.into() }, "license.deleted", [AV, AS, AC, SU, IN, EX, RE]),
    // A license without an open case has nothing to review.
    ("review an abuse case", |_| AdminChange::ReviewCase { decision: crate::domain::abuse_case::Decision::Dismiss, note: String::new(), who: WHO.into() },
        "abuse_case.dismissed", [FIELD, FIELD, FIELD, FIELD, FIELD, FIELD, FIELD]),
    ("owner's account deleted", |_| AdminChange::Disown { who: WHO.into() }, "license.unassigned", [AV, AS, AC, SU, IN, EX, RE]),
];

/// A license as it is in `status`: devices only once it was activated, an
/// expiry in the past when expired, every binding ended when revoked.
fn in_state(status: S, now: DateTime<Utc>) -> License {
    let devices: &[&str] = match status {
        S::Available | S::Assigned => &[],
        _ => &["dev-1"],
    };
    let mut l = license(status, 5, devices);
    if status == S::Expired {
        l.expires_at = Some(now - Duration::days(30));
    }
    if status == S::Revoked {
        for a in &mut l.activations {
            a.status = ActivationStatus::Deactivated;
            a.deactivated_at = Some(now);
        }
    }
    l
}

#[test]
fn every_change_against_every_state_follows_the_table() {
    let now = Utc::now();
    for (name, change, audit_action, cells) in ROWS {
        for (status, expected) in S::ALL.into_iter().zip(cells) {
            let before = in_state(status, now);
            let change = change(now);
            let got = change.apply_to(&before, now);
            let outcome = match &got {
                Ok((next, _)) => Ok(next.status),
                Err(EditError::Transition(_)) => Err(Refused::Move),
                Err(EditError::Field(_)) => Err(Refused::Field),
            };
            assert_eq!(&outcome, expected, "{name} on {status}");
            let Ok((next, entry)) = got else { continue };
            assert_eq!(entry.action, *audit_action, "{name} on {status}");
            assert_eq!(entry.actor, WHO);
            assert_eq!(entry.license_key.as_deref(), Some(before.key.as_str()));
            assert_eq!(entry.at, now);
            // Every change but a delete is a new version of the record.
            let bumped = next.version > before.version && next.updated_at == now;
            assert_eq!(bumped, !change.is_delete(), "{name} on {status}");
        }
    }
}

#[test]
fn a_delete_is_the_only_change_committed_as_one() {
    assert!(AdminChange::Delete { who: WHO.into() }.is_delete());
    for (name, change, _, _) in ROWS.iter().filter(|r| r.0 != "delete") {
        assert!(!change(Utc::now()).is_delete(), "{name}");
    }
}

#[test]
fn an_edit_sets_every_given_field_and_records_a_summary() {
    let now = Utc::now();
    let before = in_state(S::Active, now);
    let flags = json!({"pro": true}).as_object().unwrap().clone();
    let meta = json!({"order": "A-1"}).as_object().unwrap().clone();
    let change = edit(LicenseEdit {
        activation_limit: Some(ActivationLimit::UNLIMITED),
        expires_at: Some(Some(now + Duration::days(10))),
        feature_flags: Some(flags.clone()),
        metadata: Some(meta.clone()),
        eligibility: Some(Eligibility::UpToVersion {
            version: "2.0".into(),
        }),
    });
    let (next, entry) = change.apply_to(&before, now).unwrap();
    assert_eq!(next.activation_limit, ActivationLimit::UNLIMITED);
    assert_eq!(next.expires_at, Some(now + Duration::days(10)));
    assert_eq!((next.feature_flags, next.metadata), (flags, meta));
    assert!(matches!(next.eligibility, Eligibility::UpToVersion { .. }));
    let after: Value = serde_json::from_str(entry.after.as_deref().unwrap()).unwrap();
    assert_eq!(after["activation_limit"], json!(-1));
    assert_eq!(after["feature_flags"], json!({"pro": true}));
    assert_eq!(after["metadata_bytes"], json!(15));
    let was: Value = serde_json::from_str(entry.before.as_deref().unwrap()).unwrap();
    assert_eq!(was["activation_limit"], json!(5));
}

#[test]
fn an_empty_edit_changes_only_the_version() {
    let now = Utc::now();
    let before = in_state(S::Suspended, now);
    let (next, _) = edit(LicenseEdit::default()).apply_to(&before, now).unwrap();
    assert_eq!(next.version, before.version + 1);
    assert_eq!(
        License {
            version: before.version,
            updated_at: before.updated_at,
            ..next
        },
        before
    );
}

#[test]
fn renewing_a_never_activated_license_makes_it_assigned_again() {
    let now = Utc::now();
    let mut before = license(S::Expired, 5, &[]);
    before.expires_at = Some(now - Duration::days(3));
    let (next, _) = expiring(None).apply_to(&before, now).unwrap();
    assert_eq!((next.status, next.expires_at), (S::Assigned, None));
}

#[test]
fn refusals_name_the_field_and_the_reason() {
    let now = Utc::now();
    let revoked = in_state(S::Revoked, now);
    let err = edit(LicenseEdit::default())
        .apply_to(&revoked, now)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "status: a revoked license cannot be edited"
    );
    let active = in_state(S::Active, now);
    let err = deactivate("laptop").apply_to(&active, now).unwrap_err();
    assert_eq!(
        err.to_string(),
        "identifier: no active activation for laptop"
    );
    let err = act(A::Suspend)
        .apply_to(&in_state(S::Available, now), now)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot suspend a license that is available"
    );
}

#[test]
fn assigning_records_both_owners_and_deactivating_names_the_device() {
    let now = Utc::now();
    let mut before = in_state(S::Available, now);
    before.customer_id = None;
    let to = Uuid::from_u128(7);
    let change = AdminChange::Assign {
        customer_id: to,
        who: WHO.into(),
    };
    let (next, entry) = change.apply_to(&before, now).unwrap();
    assert_eq!(next.customer_id, Some(to));
    assert_eq!(entry.before.as_deref(), Some(""));
    assert_eq!(entry.after, Some(to.to_string()));

    let active = in_state(S::Active, now);
    let (next, entry) = deactivate("dev-1").apply_to(&active, now).unwrap();
    assert_eq!(entry.detail, "dev-1");
    let ended = &next.activations[0];
    assert_eq!(ended.status, ActivationStatus::Deactivated);
    assert_eq!(ended.deactivated_at, Some(now));
    assert_eq!(next.active_count(), 0);
}
