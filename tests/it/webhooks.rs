//! Webhooks against a real receiver on loopback that verifies every delivery with
//! `standardwebhooks` (PyPI): every event type arrives signed; a tampered body and
//! an old timestamp are refused by that library; filters and environments hold.

use serde_json::{json, Value};

use crate::helpers::Server;
use crate::hook_receiver::{deliveries, endpoint, loopback, of_type, Receiver};

const ALL: [&str; 17] = [
    "license.created",
    "license.assigned",
    "license.updated",
    "license.activated",
    "license.deactivated",
    "license.suspended",
    "license.unsuspended",
    "license.inactivated",
    "license.reactivated",
    "license.expired",
    "license.revoked",
    "license.deleted",
    "activation.failed",
    "abuse.detected",
    "customer.created",
    "product.created",
    "webhook.test",
];

fn act(s: &Server, key: &str, action: &str) {
    let (st, v) = s.admin(
        "POST",
        &format!("/production/licenses/{key}/actions/{action}"),
        None,
    );
    assert_eq!(st, 200, "{action}: {v}");
}

/// Does each of the actions that make an event, on `s`; returns the keys used.
fn every_action(s: &Server) -> (String, String, String) {
    let (st, v) = s.admin(
        "PUT",
        "/production/settings",
        Some(json!({ "grace_period_days": 0, "abuse": { "enabled": true, "threshold": 2, "window_secs": 3600, "auto_suspend": true } })),
    );
    assert_eq!(st, 200, "{v}");
    let product = s.product("production", "Hooked Product");
    let customer = s.customer("hooked@example.com");
    let (st, l) = s.admin(
        "POST",
        "/production/licenses",
        Some(json!({"product_id": product, "activation_limit": 1})),
    );
    assert_eq!(st, 201, "{l}");
    let key = l["key"].as_str().unwrap().to_owned();
    let path = format!("/production/licenses/{key}");
    let (st, v) = s.admin(
        "POST",
        &format!("{path}/assign"),
        Some(json!({"customer_id": customer})),
    );
    assert_eq!(st, 200, "{v}");
    let (st, v) = s.admin("PATCH", &path, Some(json!({"metadata": {"crm": "42"}})));
    assert_eq!(st, 200, "{v}");
    crate::helpers::activate(s, "production", &key, "dev-1");
    let v = crate::helpers::activate(s, "production", &key, "dev-2");
    assert_eq!(v["code"], "LIMIT_REACHED");
    let (st, v) = s.client(
        "production",
        "deactivate",
        json!({"key": key, "identifier": "dev-1"}),
    );
    assert_eq!(st, 200, "{v}");
    for a in ["suspend", "unsuspend", "inactivate", "reactivate"] {
        act(s, &key, a);
    }
    let past = (chrono::Utc::now() - chrono::Duration::days(3)).to_rfc3339();
    let (st, v) = s.admin("PATCH", &path, Some(json!({"expires_at": past})));
    assert_eq!(st, 200, "{v}");
    let revoked = s.license("production", 1);
    act(s, &revoked, "revoke");
    let (st, v) = s.admin("DELETE", &format!("/production/licenses/{revoked}"), None);
    assert_eq!(st, 204, "{v}");
    let abused = s.license("production", 1);
    crate::helpers::activate(s, "production", &abused, "owner");
    for i in 0..3 {
        let v = crate::helpers::activate(s, "production", &abused, &format!("intruder-{i}"));
        assert_eq!(v["code"], "LIMIT_REACHED");
    }
    (key, revoked, abused)
}

#[test]
fn every_event_arrives_signed_and_standardwebhooks_verifies_it() {
    let rx = Receiver::start();
    let s = Server::start_with(loopback().env("KEYWARDEN_ENGINE__EXPIRY_SWEEP_SECS", "1"));
    let (id, secret) = endpoint(&s, "production", &rx.url("/all"), None);
    assert!(secret.starts_with("whsec_"), "{secret}");
    rx.trust(&[&secret]);
    // The secret is shown once: never again by the API.
    let (_, one) = s.admin("GET", &format!("/production/webhooks/{id}"), None);
    let (_, list) = s.admin("GET", "/production/webhooks", None);
    assert!(
        one.get("secret").is_none() && one["enabled"] == true,
        "{one}"
    );
    assert!(!list.to_string().contains(&secret), "{list}");
    assert!(!one.to_string().contains(&secret[6..]), "{one}");
    // A filtered endpoint and one in the other environment.
    let (only_id, only_secret) = endpoint(
        &s,
        "production",
        &rx.url("/only-created"),
        Some(&["license.created"]),
    );
    let (_, staging_secret) = endpoint(&s, "staging", &rx.url("/staging"), None);
    rx.trust(&[&secret, &only_secret, &staging_secret]);

    let (key, revoked, abused) = every_action(&s);
    let (st, v) = s.admin("POST", &format!("/production/webhooks/{id}/test"), None);
    assert_eq!(st, 202, "{v}");

    let rows = rx.wait("every event type at /all", 60, |rows| {
        ALL.iter()
            .all(|t| rows.iter().any(|r| r["type"] == *t && r["path"] == "/all"))
    });
    for r in rows.iter().filter(|r| r["path"] == "/all") {
        assert_eq!(r["verified"], true, "{r}");
        assert_eq!(
            r["tampered_refused"], true,
            "a tampered body is refused: {r}"
        );
        assert_eq!(r["old_refused"], true, "an old timestamp is refused: {r}");
        assert_eq!(r["environment"], "production", "{r}");
        assert_eq!(r["signatures"], 1, "{r}");
    }
    let first = |t: &str| -> Value {
        of_type(&rows, t)
            .into_iter()
            .find(|r| r["path"] == "/all")
            .cloned()
            .unwrap()
    };
    // The license as the admin API shows it, key in full.
    for t in [
        "license.created",
        "license.assigned",
        "license.suspended",
        "license.expired",
    ] {
        assert_eq!(first(t)["data"]["license"]["key"], key.as_str(), "{t}");
    }
    assert_eq!(
        first("license.revoked")["data"]["license"]["key"],
        revoked.as_str()
    );
    assert_eq!(
        first("license.deleted")["data"]["license"]["key"],
        revoked.as_str()
    );
    assert_eq!(
        first("abuse.detected")["data"]["license"]["key"],
        abused.as_str()
    );
    assert!(first("license.assigned")["data"]["license"]["customer_id"].is_string());
    assert_eq!(
        first("license.activated")["data"]["license"]["key"],
        key.as_str()
    );
    let failed = first("activation.failed");
    assert_eq!(failed["data"]["code"], "LIMIT_REACHED", "{failed}");
    assert_eq!(
        first("customer.created")["data"]["customer"]["email"],
        "hooked@example.com"
    );
    assert_eq!(
        first("product.created")["data"]["product"]["name"],
        "Hooked Product"
    );
    // The filtered endpoint got license.created only.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let rows = rx.rows();
    let only: Vec<&Value> = rows
        .iter()
        .filter(|r| r["path"] == "/only-created")
        .collect();
    assert!(!only.is_empty());
    assert!(only
        .iter()
        .all(|r| r["type"] == "license.created" && r["verified"] == true));
    // Customers belong to both environments; nothing else crosses over.
    let staging: Vec<&Value> = rows.iter().filter(|r| r["path"] == "/staging").collect();
    assert!(
        staging
            .iter()
            .all(|r| r["type"] == "customer.created" && r["environment"] == "staging"),
        "the staging endpoint got a production event: {staging:?}"
    );
    // The delivery log says what happened.
    let log = deliveries(&s, "production", &id);
    assert!(log.len() >= ALL.len(), "{}", log.len());
    for d in &log {
        assert_eq!(d["status"], "delivered", "{d}");
        assert_eq!(d["attempts"][0]["status_code"], 200, "{d}");
        assert!(d["attempts"][0]["latency_ms"].is_u64(), "{d}");
    }
    assert_eq!(deliveries(&s, "production", &only_id).len(), only.len());
}

#[test]
fn endpoints_are_checked_changed_disabled_and_deleted() {
    let rx = Receiver::start();
    let s = Server::start_with(loopback());
    for (body, field) in [
        (json!({"url": "ftp://example.com/x"}), "url"),
        (json!({"url": "not a url"}), "url"),
        (json!({"url": "https://user:pw@example.com/"}), "url"),
        (
            json!({"url": "https://example.com/", "events": ["license.exploded"]}),
            "events",
        ),
    ] {
        let (st, v) = s.admin("POST", "/production/webhooks", Some(body.clone()));
        assert_eq!(st, 400, "{body}: {v}");
        assert_eq!(v["field"], field, "{v}");
    }
    let (st, v) = s.admin(
        "POST",
        "/production/webhooks",
        Some(json!({"url": "https://x.example/", "colour": 1})),
    );
    assert!(st == 400 || st == 422, "{st} {v}");
    let (id, secret) = endpoint(&s, "production", &rx.url("/e"), Some(&["license.created"]));
    rx.trust(&[&secret]);
    let (st, v) = s.admin(
        "PATCH",
        &format!("/production/webhooks/{id}"),
        Some(json!({"events": ["product.created"], "description": "products only"})),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["events"], json!(["product.created"]));
    s.product("production", "Filtered In");
    rx.wait("product.created after the change", 30, |r| {
        !of_type(r, "product.created").is_empty()
    });
    // Disabled: nothing is sent.
    let (st, v) = s.admin(
        "PATCH",
        &format!("/production/webhooks/{id}"),
        Some(json!({"enabled": false})),
    );
    assert_eq!((st, v["enabled"].clone()), (200, json!(false)), "{v}");
    let before = rx.rows().len();
    s.product("production", "While Disabled");
    std::thread::sleep(std::time::Duration::from_secs(4));
    assert_eq!(
        rx.rows().len(),
        before,
        "a disabled endpoint got a delivery"
    );
    let (st, v) = s.admin("POST", &format!("/production/webhooks/{id}/test"), None);
    assert_eq!((st, v["code"].as_str()), (409, Some("CONFLICT")), "{v}");
    // The wrong environment and an unknown id are 404s.
    assert_eq!(
        s.admin("GET", &format!("/staging/webhooks/{id}"), None).0,
        404
    );
    assert_eq!(
        s.admin(
            "GET",
            &format!("/production/webhooks/{}", uuid::Uuid::new_v4()),
            None
        )
        .0,
        404
    );
    assert_eq!(
        s.admin("GET", "/production/webhooks/not-a-uuid", None).0 / 100,
        4
    );
    let (st, _) = s.admin("DELETE", &format!("/production/webhooks/{id}"), None);
    assert_eq!(st, 204);
    assert_eq!(
        s.admin("GET", &format!("/production/webhooks/{id}"), None)
            .0,
        404
    );
    let (_, list) = s.admin("GET", "/production/webhooks", None);
    assert_eq!(list, json!([]));
}

#[test]
fn plain_http_needs_the_setting_and_loopback_is_refused_when_it_resolves_there() {
    let rx = Receiver::start();
    // Neither setting: http refused when saved.
    let strict = Server::start();
    let (st, v) = strict.admin(
        "POST",
        "/production/webhooks",
        Some(json!({"url": rx.url("/x")})),
    );
    assert_eq!(st, 400, "{v}");
    assert_eq!(
        (&v["code"], &v["field"]),
        (&json!("BAD_REQUEST"), &json!("url"))
    );
    assert!(v.to_string().contains("allow_http"), "{v}");
    drop(strict);
    // http allowed but private targets not: a host name that resolves to loopback
    // is saved, and refused at delivery time, on the resolved address.
    let s = Server::start_with(
        crate::helpers::Opts::default().env("KEYWARDEN_WEBHOOKS__ALLOW_HTTP", "true"),
    );
    let url = format!("http://localhost:{}/ssrf", rx.port);
    let (id, secret) = endpoint(&s, "production", &url, None);
    rx.trust(&[&secret]);
    let (st, _) = s.admin("POST", &format!("/production/webhooks/{id}/test"), None);
    assert_eq!(st, 202);
    let mut last = Value::Null;
    for _ in 0..100 {
        let log = deliveries(&s, "production", &id);
        if let Some(a) = log.first().and_then(|d| d["attempts"].get(0)) {
            last = a.clone();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let why = last["response"].as_str().unwrap_or_default();
    assert!(
        why.contains("refused") && why.contains("loopback"),
        "{last}"
    );
    assert!(last["status_code"].is_null(), "{last}");
    assert!(rx.rows().is_empty(), "the receiver on loopback was reached");
}

#[test]
fn a_rotated_secret_signs_beside_the_old_one_during_the_overlap() {
    let rx = Receiver::start();
    let s = Server::start_with(loopback());
    let (id, old) = endpoint(&s, "production", &rx.url("/r"), None);
    let (st, v) = s.admin(
        "POST",
        &format!("/production/webhooks/{id}/rotate-secret"),
        None,
    );
    assert_eq!(st, 200, "{v}");
    let new = v["secret"].as_str().unwrap().to_owned();
    assert!(new.starts_with("whsec_") && new != old);
    assert_eq!(v["signing_secrets"], 2, "{v}");
    let (_, again) = s.admin("GET", &format!("/production/webhooks/{id}"), None);
    assert!(again.get("secret").is_none(), "{again}");
    rx.trust(&[&old, &new]);
    let (st, _) = s.admin("POST", &format!("/production/webhooks/{id}/test"), None);
    assert_eq!(st, 202);
    let rows = rx.wait("the test event", 30, |r| !r.is_empty());
    assert_eq!(rows[0]["signatures"], 2, "{}", rows[0]);
    assert_eq!(
        rows[0]["verified_by"],
        json!([0, 1]),
        "both secrets verify: {}",
        rows[0]
    );
    assert_eq!(rows[0]["type"], "webhook.test");
}
