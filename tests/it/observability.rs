//! `/metrics` exports what operators need; keys never leak past 8 characters.

use serde_json::json;

use crate::helpers::{activate, call, Server};

#[test]
fn metrics_cover_requests_latency_registry_actors_store_limits_and_flushes() {
    let s = Server::start();
    let key = s.license("production", 5);
    activate(&s, "production", &key, "m1");
    s.client(
        "production",
        "heartbeat",
        json!({ "key": key, "identifier": "m1" }),
    );
    s.client(
        "production",
        "validate",
        json!({ "key": "UNKNOWN-KEY-1", "identifier": "m1" }),
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    let r = call(ureq::get(&s.url("/metrics")), None);
    assert_eq!(r.status, 200);
    let text = r.text();
    for needle in [
        "keywarden_http_requests_total{method=\"POST\",route=\"/v1/production/licenses/activate\",status=\"200\"}",
        "keywarden_http_request_duration_seconds_bucket{route=\"/v1/production/licenses/validate\"",
        "keywarden_verdicts_total{code=\"VALID\",env=\"production\",op=\"activate\"} 1",
        "keywarden_verdicts_total{code=\"NOT_FOUND\",env=\"production\",op=\"validate\"} 1",
        "keywarden_registry_lookups_total{result=\"hit\"}",
        "keywarden_registry_lookups_total{result=\"miss\"}",
        "keywarden_resident_licenses 1",
        "keywarden_store_operation_duration_seconds_bucket{backend=\"embedded\",op=\"update_license\"",
        "keywarden_heartbeat_flush_lag_seconds",
        "keywarden_heartbeat_flush_batch_size_count",
        "keywarden_store_up 1",
        "process_resident_memory_bytes",
    ] {
        assert!(text.contains(needle), "missing {needle}");
    }
    assert!(!text.contains(&key[..12]), "no key in metrics");
}

#[test]
fn logs_show_keys_only_masked() {
    let s = Server::start();
    let key = s.license("production", 5);
    activate(&s, "production", &key, "d");
    s.admin(
        "POST",
        &format!("/production/licenses/{key}/actions/suspend"),
        None,
    );
    s.admin("GET", &format!("/production/licenses/{key}"), None);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let logs = s.logs();
    assert!(
        logs.contains(&format!("{}…", &key[..8])),
        "admin requests are logged with the key masked:\n{logs}"
    );
    assert!(!logs.contains(&key), "the full key never appears in logs");
}

#[test]
fn health_and_readiness_answer_with_the_right_status() {
    let s = Server::start();
    let r = call(ureq::get(&s.url("/healthz")), None);
    assert_eq!(r.status, 200);
    let r = call(ureq::get(&s.url("/readyz")), None);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["store"], "embedded");
}

#[test]
fn requests_carry_an_id_into_the_answer_and_the_json_logs() {
    let s =
        Server::start_with(crate::helpers::Opts::default().env("KEYWARDEN_LOG__FORMAT", "json"));
    let key = s.license("production", 5);
    let r = call(
        ureq::get(&s.url(&format!("/admin/api/v1/production/licenses/{key}")))
            .set(
                "authorization",
                &format!("Bearer {}", crate::helpers::TOKEN),
            )
            .set("x-request-id", "support-ticket-4711"),
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("x-request-id"),
        Some("support-ticket-4711"),
        "a caller's id is echoed"
    );
    let r = call(ureq::get(&s.url("/healthz")), None);
    let made = r
        .header("x-request-id")
        .expect("an id is made when none is sent")
        .to_owned();
    assert!(made.contains('-'), "{made}");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let logs = s.logs();
    let line = logs
        .lines()
        .find(|l| l.contains("support-ticket-4711"))
        .unwrap_or_else(|| panic!("the admin request is logged with its id:\n{logs}"));
    let v: serde_json::Value = serde_json::from_str(line).expect("log lines are JSON");
    assert_eq!(v["message"], "admin request");
    assert!(!line.contains(&key), "keys stay masked in JSON logs too");
}
