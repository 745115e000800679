//! The client API contract: verdicts, formats, idempotency, states, expiry, environments.

use serde_json::{json, Value};

use crate::helpers::{activate, send_bytes, Server};

#[test]
fn a_device_activates_validates_heartbeats_and_deactivates() {
    let s = Server::start();
    let key = s.license("production", 3);
    let id = json!({ "key": key, "identifier": "host-1" });

    let (_, v) = s.client("production", "validate", id.clone());
    assert_eq!(v["code"], "NOT_ACTIVATED");
    assert_eq!(v["valid"], false);

    let v = activate(&s, "production", &key, "host-1");
    assert_eq!(v["code"], "VALID");
    assert_eq!(v["valid"], true);
    assert_eq!(
        v["detail"],
        "Activated on this device (1 of 3 devices in use)"
    );
    assert_eq!(
        v["status"], "active",
        "first activation moves assigned to active"
    );

    for op in ["validate", "heartbeat"] {
        let (st, v) = s.client("production", op, id.clone());
        assert_eq!((st, v["code"].as_str()), (200, Some("VALID")), "{op}: {v}");
    }
    let (_, v) = s.client("production", "deactivate", id.clone());
    assert_eq!(v["code"], "DEACTIVATED");
    assert_eq!(v["activations"], 0);
    let (_, v) = s.client("production", "validate", id);
    assert_eq!(v["code"], "NOT_ACTIVATED");
}

#[test]
fn reactivating_an_active_device_uses_no_slot() {
    let s = Server::start();
    let key = s.license("production", 2);
    for _ in 0..3 {
        let v = activate(&s, "production", &key, "same-device");
        assert_eq!(v["code"], "VALID");
        assert_eq!(v["activations"], 1);
    }
    assert_eq!(activate(&s, "production", &key, "second")["code"], "VALID");
    let v = activate(&s, "production", &key, "third");
    assert_eq!(v["code"], "LIMIT_REACHED");
    assert_eq!(v["detail"], "Activation limit reached (2 of 2 devices)");
    let l = s.get_license("production", &key);
    assert_eq!(l["activations_in_use"], 2);
    assert_eq!(l["activations"].as_array().unwrap().len(), 2);
}

#[test]
fn unlimited_licenses_take_any_number_of_devices() {
    let s = Server::start();
    let key = s.license("production", -1);
    for i in 0..30 {
        assert_eq!(
            activate(&s, "production", &key, &format!("d{i}"))["code"],
            "VALID"
        );
    }
    let v = activate(&s, "production", &key, "d30");
    assert_eq!(v["activations"], 31);
    assert_eq!(v["activation_limit"], -1);
}

#[test]
fn environments_are_isolated() {
    let s = Server::start();
    let prod = s.license("production", 5);
    let staging = s.license("staging", 5);
    activate(&s, "production", &prod, "d");
    activate(&s, "staging", &staging, "d");
    let (_, v) = s.client(
        "staging",
        "validate",
        json!({ "key": prod, "identifier": "d" }),
    );
    assert_eq!(v["code"], "NOT_FOUND");
    let (_, v) = s.client(
        "production",
        "validate",
        json!({ "key": staging, "identifier": "d" }),
    );
    assert_eq!(v["code"], "NOT_FOUND");
    let (_, v) = s.client(
        "staging",
        "activate",
        json!({ "key": prod, "identifier": "x" }),
    );
    assert_eq!(v["code"], "NOT_FOUND");
}

#[test]
fn an_available_license_must_be_assigned_first() {
    let s = Server::start();
    let product = s.product("production", "P");
    let (_, l) = s.admin(
        "POST",
        "/production/licenses",
        Some(json!({ "product_id": product })),
    );
    assert_eq!(l["status"], "available");
    let key = l["key"].as_str().unwrap();
    let v = activate(&s, "production", key, "d");
    assert_eq!(v["code"], "NOT_ASSIGNED");
    let c = s.customer("avail@example.com");
    let (st, l) = s.admin(
        "POST",
        &format!("/production/licenses/{key}/assign"),
        Some(json!({ "customer_id": c })),
    );
    assert_eq!(st, 200);
    assert_eq!(l["status"], "assigned");
    assert_eq!(activate(&s, "production", key, "d")["code"], "VALID");
}

#[test]
fn state_actions_change_the_next_verdict_at_once() {
    let s = Server::start();
    let key = s.license("production", 5);
    activate(&s, "production", &key, "d1");
    activate(&s, "production", &key, "d2");
    let check = |want: &str| {
        let (_, v) = s.client(
            "production",
            "validate",
            json!({ "key": key, "identifier": "d1" }),
        );
        assert_eq!(v["code"], want, "{v}");
    };
    let act = |a: &str| {
        let (st, v) = s.admin(
            "POST",
            &format!("/production/licenses/{key}/actions/{a}"),
            None,
        );
        assert_eq!(st, 200, "{a}: {v}");
        v
    };
    act("suspend");
    check("SUSPENDED");
    assert_eq!(activate(&s, "production", &key, "d3")["code"], "SUSPENDED");
    act("unsuspend");
    check("VALID");
    act("inactivate");
    check("INACTIVE");
    act("reactivate");
    check("VALID");
    let l = act("revoke");
    assert_eq!(l["status"], "revoked");
    assert_eq!(
        l["activations_in_use"], 0,
        "revoking deactivates all activations"
    );
    check("REVOKED");
}

#[test]
fn illegal_transitions_are_refused_and_change_nothing() {
    let s = Server::start();
    let key = s.license("production", 5);
    let before = s.get_license("production", &key);
    // assigned: only revoke is an admin action from here.
    for a in ["suspend", "unsuspend", "inactivate", "reactivate"] {
        let (st, v) = s.admin(
            "POST",
            &format!("/production/licenses/{key}/actions/{a}"),
            None,
        );
        assert_eq!(st, 409, "{a}");
        assert_eq!(v["code"], "INVALID_TRANSITION");
        assert!(v["detail"].as_str().unwrap().contains("assigned"), "{v}");
    }
    let after = s.get_license("production", &key);
    assert_eq!(before["version"], after["version"]);
    assert_eq!(after["status"], "assigned");
    s.admin(
        "POST",
        &format!("/production/licenses/{key}/actions/revoke"),
        None,
    );
    for a in ["suspend", "unsuspend", "inactivate", "reactivate", "revoke"] {
        let (st, _) = s.admin(
            "POST",
            &format!("/production/licenses/{key}/actions/{a}"),
            None,
        );
        assert_eq!(st, 409, "revoked is terminal: {a}");
    }
    let (st, v) = s.admin(
        "POST",
        &format!("/production/licenses/{key}/actions/explode"),
        None,
    );
    assert_eq!((st, v["code"].as_str()), (400, Some("BAD_REQUEST")));
}

fn set_expiry(s: &Server, key: &str, days_from_now: i64) -> Value {
    let at = chrono::Utc::now() + chrono::Duration::days(days_from_now);
    let (st, v) = s.admin(
        "PATCH",
        &format!("/production/licenses/{key}"),
        Some(json!({ "expires_at": at.to_rfc3339() })),
    );
    assert_eq!(st, 200, "{v}");
    v
}

#[test]
fn the_grace_period_keeps_existing_devices_and_refuses_new_ones() {
    let s = Server::start();
    let key = s.license("production", 5);
    activate(&s, "production", &key, "old");
    set_expiry(&s, &key, -2); // default grace is 7 days
    let (_, v) = s.client(
        "production",
        "validate",
        json!({ "key": key, "identifier": "old" }),
    );
    assert_eq!(v["code"], "IN_GRACE_PERIOD");
    assert_eq!(v["valid"], true);
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("grace period ends on"),
        "{v}"
    );
    let v = activate(&s, "production", &key, "new");
    assert_eq!(v["code"], "EXPIRED");
    assert!(v["detail"]
        .as_str()
        .unwrap()
        .starts_with("License expired on "));

    set_expiry(&s, &key, -30);
    let (_, v) = s.client(
        "production",
        "validate",
        json!({ "key": key, "identifier": "old" }),
    );
    assert_eq!(v["code"], "EXPIRED");
    assert_eq!(v["valid"], false);
}

#[test]
fn renewing_an_expired_license_makes_it_active_again() {
    let s = Server::start_with(
        crate::helpers::Opts::default().env("KEYWARDEN_ENGINE__EXPIRY_SWEEP_SECS", "1"),
    );
    let key = s.license("production", 5);
    activate(&s, "production", &key, "dev");
    set_expiry(&s, &key, -30);
    // The sweeper persists the expired state.
    let mut status = Value::Null;
    for _ in 0..50 {
        status = s.get_license("production", &key)["status"].clone();
        if status == "expired" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(status, "expired");
    let l = set_expiry(&s, &key, 365);
    assert_eq!(l["status"], "active");
    let (_, v) = s.client(
        "production",
        "validate",
        json!({ "key": key, "identifier": "dev" }),
    );
    assert_eq!(v["code"], "VALID");
}

#[test]
fn messagepack_works_both_ways_and_accept_picks_the_answer_format() {
    let s = Server::start();
    let key = s.license("production", 5);
    let body = rmp_serde::to_vec_named(&json!({ "key": key, "identifier": "mp-1" })).unwrap();
    let url = s.url("/v1/production/licenses/activate");
    let r = send_bytes(&url, "application/msgpack", None, &body);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/msgpack"));
    let v: Value = rmp_serde::from_slice(&r.body).unwrap();
    assert_eq!(v["code"], "VALID");

    let url = s.url("/v1/production/licenses/validate");
    let r = send_bytes(
        &url,
        "application/x-msgpack",
        Some("application/json"),
        &body,
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json()["code"], "VALID");

    let json_body = json!({ "key": key, "identifier": "mp-1" }).to_string();
    let r = send_bytes(
        &url,
        "application/json",
        Some("application/msgpack"),
        json_body.as_bytes(),
    );
    let v: Value = rmp_serde::from_slice(&r.body).unwrap();
    assert_eq!(v["code"], "VALID");
}

#[test]
fn domain_activations_keep_their_kind() {
    let s = Server::start();
    let key = s.license("production", 5);
    let (_, v) = s.client(
        "production",
        "activate",
        json!({ "key": key, "identifier": "shop.example.com", "kind": "domain" }),
    );
    assert_eq!(v["code"], "VALID");
    let l = s.get_license("production", &key);
    assert_eq!(l["activations"][0]["kind"], "domain");
}
