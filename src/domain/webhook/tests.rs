use chrono::{Duration, TimeZone, Utc};
use uuid::Uuid;

use super::delivery::{CLAIM_SECS, KEPT_ATTEMPTS, KEPT_RESPONSE_BYTES};
use super::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap()
}

fn endpoint(events: Vec<EventType>) -> Endpoint {
    Endpoint {
        id: Uuid::new_v4(),
        environment: Environment::Production,
        url: "https://hooks.example.com/".into(),
        description: String::new(),
        events,
        enabled: true,
        secrets: vec![Secret {
            secret: "whsec_AAAA".into(),
            until: None,
        }],
        failing_since: None,
        disabled_reason: String::new(),
        created_at: t0(),
        updated_at: t0(),
        version: 1,
    }
}

fn attempt(code: Option<u16>, at: DateTime<Utc>) -> Attempt {
    Attempt {
        number: 0,
        at,
        status_code: code,
        latency_ms: 3,
        response: "x".repeat(5000),
    }
}

#[test]
fn names_round_trip_and_serde_uses_them() {
    for e in EventType::ALL {
        assert_eq!(EventType::parse(e.as_str()), Some(e));
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            format!("\"{}\"", e.as_str())
        );
    }
    assert_eq!(EventType::parse("license.exploded"), None);
}

#[test]
fn audit_actions_map_to_events() {
    let table: &[(&str, &[EventType])] = &[
        ("license.created", &[EventType::LicenseCreated]),
        ("license.assign", &[EventType::LicenseAssigned]),
        ("license.edited", &[EventType::LicenseUpdated]),
        ("license.renew", &[EventType::LicenseUpdated]),
        ("activation.created", &[EventType::LicenseActivated]),
        ("activation.deactivated", &[EventType::LicenseDeactivated]),
        ("license.suspend", &[EventType::LicenseSuspended]),
        ("license.unsuspend", &[EventType::LicenseUnsuspended]),
        ("license.inactivate", &[EventType::LicenseInactivated]),
        ("license.reactivate", &[EventType::LicenseReactivated]),
        ("license.expire", &[EventType::LicenseExpired]),
        ("license.revoke", &[EventType::LicenseRevoked]),
        ("license.deleted", &[EventType::LicenseDeleted]),
        (
            "license.auto_suspended",
            &[EventType::AbuseDetected, EventType::LicenseSuspended],
        ),
        ("license.abuse_flagged", &[EventType::AbuseDetected]),
        ("product.created", &[EventType::ProductCreated]),
        ("settings.updated", &[]),
        ("admin_token.rotated", &[]),
    ];
    for (action, events) in table {
        assert_eq!(EventType::from_audit(action), *events, "{action}");
    }
}

#[test]
fn an_endpoint_wants_its_events_or_all_and_always_a_test() {
    let all = endpoint(vec![]);
    let some = endpoint(vec![EventType::LicenseCreated]);
    for e in EventType::ALL {
        assert!(all.wants(e));
        let expected = matches!(e, EventType::LicenseCreated | EventType::WebhookTest);
        assert_eq!(some.wants(e), expected, "{e:?}");
    }
}

#[test]
fn rotation_keeps_the_old_secret_signing_for_the_overlap_only() {
    let mut e = endpoint(vec![]);
    e.rotate("whsec_BBBB".into(), t0(), Duration::hours(24));
    assert_eq!(e.signing_secrets(t0()), vec!["whsec_BBBB", "whsec_AAAA"]);
    assert_eq!(
        e.signing_secrets(t0() + Duration::hours(25)),
        vec!["whsec_BBBB"]
    );
    // A second rotation after the overlap drops the expired secret for good.
    e.rotate(
        "whsec_CCCC".into(),
        t0() + Duration::hours(30),
        Duration::zero(),
    );
    assert_eq!(e.secrets.len(), 1);
    assert_eq!(
        e.signing_secrets(t0() + Duration::hours(30)),
        vec!["whsec_CCCC"]
    );
}

#[test]
fn an_endpoint_failing_for_the_whole_period_is_disabled_once() {
    let mut e = endpoint(vec![]);
    let days5 = Duration::days(5);
    assert!(!e.after_delivery(false, t0(), days5));
    assert_eq!(e.failing_since, Some(t0()));
    assert!(!e.after_delivery(false, t0() + Duration::days(4), days5));
    assert!(e.after_delivery(false, t0() + days5, days5));
    assert!(!e.enabled);
    assert!(e.disabled_reason.contains("every delivery failed"));
    assert!(
        !e.after_delivery(false, t0() + Duration::days(6), days5),
        "disabled once"
    );
    let mut ok = endpoint(vec![]);
    ok.after_delivery(false, t0(), days5);
    ok.after_delivery(true, t0() + Duration::days(4), days5);
    assert_eq!(ok.failing_since, None);
    assert!(!ok.after_delivery(false, t0() + Duration::days(6), days5));
}

#[test]
fn a_delivery_retries_on_the_schedule_then_fails() {
    let schedule = RetrySchedule(vec![5, 300]);
    let d = Delivery::new(
        Uuid::new_v4(),
        Environment::Production,
        EventType::LicenseCreated,
        Uuid::new_v4(),
        "{}".into(),
        t0(),
    );
    assert!(d.is_due(t0()));
    let c = d.claimed("node-a", t0());
    assert!(!c.is_due(t0()), "a claimed delivery is not due");
    assert!(
        c.is_due(t0() + Duration::seconds(CLAIM_SECS)),
        "a claim runs out"
    );
    let d1 = c.after_attempt(attempt(Some(500), t0()), &schedule, 0.0);
    assert_eq!(d1.status, DeliveryStatus::Pending);
    assert_eq!(d1.next_attempt_at, Some(t0() + Duration::seconds(5)));
    assert_eq!(d1.claim_until, None);
    assert_eq!(d1.attempts[0].response.len(), KEPT_RESPONSE_BYTES);
    assert!(!d1.is_due(t0() + Duration::seconds(4)));
    let d2 = d1.after_attempt(attempt(None, t0() + Duration::seconds(5)), &schedule, 1.0);
    assert_eq!(
        d2.next_attempt_at,
        Some(t0() + Duration::seconds(5 + 330)),
        "+10 % jitter"
    );
    let d3 = d2.after_attempt(
        attempt(Some(404), t0() + Duration::seconds(400)),
        &schedule,
        0.0,
    );
    assert_eq!(d3.status, DeliveryStatus::Failed);
    assert_eq!(d3.next_attempt_at, None);
    assert!(!d3.is_due(t0() + Duration::days(1)));
    let r = d3.retried(t0() + Duration::days(1));
    assert!(r.is_due(t0() + Duration::days(1)));
    let ok = r.after_attempt(attempt(Some(204), t0() + Duration::days(1)), &schedule, 0.0);
    assert_eq!(ok.status, DeliveryStatus::Delivered);
    assert_eq!(ok.attempt_count, 4);
    assert_eq!(
        ok.attempts.iter().map(|a| a.number).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
}

#[test]
fn the_attempt_list_is_capped_and_the_id_is_stable() {
    let schedule = RetrySchedule(vec![1; 40]);
    let (endpoint_id, event_id) = (Uuid::new_v4(), Uuid::new_v4());
    let mut d = Delivery::new(
        endpoint_id,
        Environment::Staging,
        EventType::LicenseRevoked,
        event_id,
        "{}".into(),
        t0(),
    );
    let again = Delivery::new(
        endpoint_id,
        Environment::Staging,
        EventType::LicenseRevoked,
        event_id,
        "{}".into(),
        t0(),
    );
    assert_eq!(d.id, again.id, "two nodes make the same delivery");
    let other = Delivery::new(
        endpoint_id,
        Environment::Staging,
        EventType::AbuseDetected,
        event_id,
        "{}".into(),
        t0(),
    );
    assert_ne!(d.id, other.id, "one audit entry may carry two events");
    for i in 0..30 {
        d = d.after_attempt(
            attempt(Some(500), t0() + Duration::seconds(i)),
            &schedule,
            0.0,
        );
    }
    assert_eq!(d.attempts.len(), KEPT_ATTEMPTS);
    assert_eq!(d.attempt_count, 30);
    assert_eq!(d.attempts.last().unwrap().number, 30);
}

#[test]
fn the_default_schedule_is_the_documented_one() {
    let s = RetrySchedule::default();
    let waits: Vec<i64> = (1..=7)
        .filter_map(|n| s.wait_after(n, 0.0))
        .map(|d| d.num_seconds())
        .collect();
    assert_eq!(waits, vec![5, 300, 1800, 7200, 18000, 36000]);
    assert_eq!(s.wait_after(0, 0.0), None);
}

#[test]
fn an_abandoned_delivery_fails_at_once_with_its_reason() {
    let d = Delivery::new(
        Uuid::new_v4(),
        Environment::Production,
        EventType::WebhookTest,
        Uuid::new_v4(),
        "{}".into(),
        t0(),
    );
    let a = Attempt {
        number: 0,
        at: t0(),
        status_code: None,
        latency_ms: 0,
        response: "not sent: the endpoint was deleted".into(),
    };
    let next = d.abandoned(a);
    assert_eq!(next.status, DeliveryStatus::Failed);
    assert_eq!(next.next_attempt_at, None);
    assert_eq!(next.attempt_count, 1);
    assert!(!next.is_due(t0() + Duration::days(1)));
}
