//! Rate limits, the negative cache, client IPs behind proxies and the abuse rule.

use serde_json::{json, Value};

use crate::helpers::{activate, call, Opts, Server};

fn guess(s: &Server, key: &str, xff: Option<&str>) -> crate::helpers::Resp {
    let mut req = ureq::post(&s.url("/v1/production/licenses/validate"));
    if let Some(x) = xff {
        req = req.set("x-forwarded-for", x);
    }
    call(req, Some(json!({ "key": key, "identifier": "x" })))
}

fn metric(s: &Server, name_and_labels: &str) -> f64 {
    let r = call(ureq::get(&s.url("/metrics")), None);
    r.text()
        .lines()
        .find(|l| l.starts_with(name_and_labels))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn a_client_that_keeps_guessing_unknown_keys_is_rate_limited() {
    let s = Server::start_with(
        Opts::default()
            .env("KEYWARDEN_LIMITS__UNKNOWN_KEY_PER_MINUTE", "5")
            .env("KEYWARDEN_LIMITS__UNKNOWN_KEY_BURST", "5"),
    );
    let mut statuses = Vec::new();
    for i in 0..8 {
        let r = guess(&s, &format!("GUESS-{i}"), None);
        if r.status == 429 {
            assert_eq!(r.json()["code"], "RATE_LIMITED");
            assert!(r.header("retry-after").is_some());
        } else {
            assert_eq!(r.json()["code"], "NOT_FOUND");
        }
        statuses.push(r.status);
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429, 429]);
    // While the client is over its limit, guesses are refused before any store read.
    let reads = metric(
        &s,
        "keywarden_store_operation_duration_seconds_count{backend=\"embedded\",op=\"get_license\"}",
    );
    for i in 0..20 {
        assert_eq!(guess(&s, &format!("MORE-{i}"), None).status, 429);
    }
    let after = metric(
        &s,
        "keywarden_store_operation_duration_seconds_count{backend=\"embedded\",op=\"get_license\"}",
    );
    assert_eq!(after, reads, "refused guesses read nothing");
    // A real key from the same client still works.
    let key = s.license("production", 5);
    assert_eq!(activate(&s, "production", &key, "d")["code"], "VALID");
}

#[test]
fn unknown_keys_are_answered_from_the_negative_cache() {
    let s = Server::start();
    guess(&s, "NEVER-ISSUED-1", None);
    let reads = metric(
        &s,
        "keywarden_store_operation_duration_seconds_count{backend=\"embedded\",op=\"get_license\"}",
    );
    for _ in 0..20 {
        assert_eq!(
            guess(&s, "NEVER-ISSUED-1", None).json()["code"],
            "NOT_FOUND"
        );
    }
    let after = metric(
        &s,
        "keywarden_store_operation_duration_seconds_count{backend=\"embedded\",op=\"get_license\"}",
    );
    assert_eq!(
        reads, after,
        "repeated unknown keys must not reach the store"
    );
    assert!(metric(&s, "keywarden_registry_lookups_total{result=\"negative\"}") >= 20.0);
}

#[test]
fn forwarded_for_is_believed_only_from_trusted_proxies() {
    let s = Server::start_with(
        Opts::default()
            .env("KEYWARDEN_LIMITS__UNKNOWN_KEY_PER_MINUTE", "2")
            .env("KEYWARDEN_LIMITS__UNKNOWN_KEY_BURST", "2")
            .env("KEYWARDEN_SERVER__TRUSTED_PROXIES", "[\"127.0.0.1\"]"),
    );
    for i in 0..3 {
        guess(&s, &format!("A-{i}"), Some("198.51.100.1"));
    }
    assert_eq!(guess(&s, "A-9", Some("198.51.100.1")).status, 429);
    // Another client behind the same proxy has its own budget.
    assert_eq!(guess(&s, "B-1", Some("198.51.100.2")).status, 200);

    // Without trust, the header is ignored and the socket peer is the client.
    let s = Server::start_with(
        Opts::default()
            .env("KEYWARDEN_LIMITS__UNKNOWN_KEY_PER_MINUTE", "2")
            .env("KEYWARDEN_LIMITS__UNKNOWN_KEY_BURST", "2"),
    );
    for i in 0..3 {
        guess(&s, &format!("A-{i}"), Some(&format!("198.51.100.{i}")));
    }
    assert_eq!(guess(&s, "B-1", Some("198.51.100.77")).status, 429);
}

#[test]
fn each_license_has_its_own_rate_limit() {
    let s = Server::start_with(
        Opts::default()
            .env("KEYWARDEN_LIMITS__LICENSE_PER_SECOND", "1")
            .env("KEYWARDEN_LIMITS__LICENSE_BURST", "3"),
    );
    let key = s.license("production", 5);
    let other = s.license("production", 5);
    let codes: Vec<u16> = (0..6)
        .map(|_| {
            s.client(
                "production",
                "validate",
                json!({ "key": key, "identifier": "d" }),
            )
            .0
        })
        .collect();
    assert!(codes.contains(&429), "{codes:?}");
    let (st, v) = s.client(
        "production",
        "validate",
        json!({ "key": other, "identifier": "d" }),
    );
    assert_eq!((st, v["code"].as_str()), (200, Some("NOT_ACTIVATED")));
}

fn abuse_settings(s: &Server, auto_suspend: bool) {
    let (st, v) = s.admin(
        "PUT",
        "/production/settings",
        Some(json!({ "grace_period_days": 7, "abuse": { "enabled": true, "threshold": 2, "window_secs": 3600, "auto_suspend": auto_suspend } })),
    );
    assert_eq!(st, 200, "{v}");
}

fn refuse_many(s: &Server, key: &str) {
    activate(s, "production", key, "owner");
    // Three distinct refused devices: one more than the threshold of 2.
    for i in 0..3 {
        let v = activate(s, "production", key, &format!("intruder-{i}"));
        assert_eq!(v["code"], "LIMIT_REACHED");
    }
}

fn wait_for(s: &Server, key: &str, pred: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..50 {
        let l = s.get_license("production", key);
        if pred(&l) {
            return l;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    s.get_license("production", key)
}

#[test]
fn the_abuse_rule_flags_a_license_and_writes_an_audit_entry() {
    let s = Server::start();
    abuse_settings(&s, false);
    let key = s.license("production", 1);
    refuse_many(&s, &key);
    let l = wait_for(&s, &key, |l| l["flagged"] == true);
    assert_eq!(l["flagged"], true);
    assert_eq!(
        l["status"], "active",
        "flagging does not suspend when auto-suspend is off"
    );
    let (_, audit) = s.admin(
        "GET",
        &format!("/production/audit?license={key}&action=license.abuse_flagged"),
        None,
    );
    assert_eq!(audit.as_array().unwrap().len(), 1, "{audit}");
}

#[test]
fn the_abuse_rule_suspends_when_auto_suspend_is_on() {
    let s = Server::start();
    abuse_settings(&s, true);
    let key = s.license("production", 1);
    refuse_many(&s, &key);
    let l = wait_for(&s, &key, |l| l["status"] == "suspended");
    assert_eq!(l["status"], "suspended");
    let (_, v) = s.client(
        "production",
        "validate",
        json!({ "key": key, "identifier": "owner" }),
    );
    assert_eq!(v["code"], "SUSPENDED");
    let (_, audit) = s.admin(
        "GET",
        &format!("/production/audit?license={key}&action=license.auto_suspended"),
        None,
    );
    assert_eq!(audit.as_array().unwrap().len(), 1, "{audit}");
}
