//! Acknowledged changes survive SIGKILL; heartbeats are flushed on SIGTERM.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::helpers::{activate, Opts, Server};

#[test]
fn every_acknowledged_activation_survives_a_sigkill_mid_storm() {
    let mut s = Server::start();
    let keys: Vec<(String, i64)> = (0..8)
        .map(|i| (s.license("production", 3 + i % 3), 3 + i % 3))
        .collect();
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let base = s.base.clone();
    let handles: Vec<_> = (0..16)
        .map(|t| {
            let (keys, acked, stop, base) = (keys.clone(), acked.clone(), stop.clone(), base.clone());
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(5)).build();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) && n < 10_000 {
                    let (key, _) = &keys[(t + n) % keys.len()];
                    let id = format!("storm-{t}-{n}");
                    n += 1;
                    let res = agent
                        .post(&format!("{base}/v1/production/licenses/activate"))
                        .set("content-type", "application/json")
                        .send_string(&json!({ "key": key, "identifier": id }).to_string());
                    let Ok(r) = res else { break };
                    let v: serde_json::Value = r.into_json().unwrap_or_default();
                    if v["code"] == "VALID" {
                        acked.lock().unwrap().push((key.clone(), id));
                    }
                    // Free a slot now and then so the storm keeps writing.
                    if n % 3 == 0 {
                        let _ = agent
                            .post(&format!("{base}/v1/production/licenses/deactivate"))
                            .set("content-type", "application/json")
                            .send_string(&json!({ "key": key, "identifier": format!("storm-{t}-{}", n - 3) }).to_string())
                            .map(|r| {
                                let v: serde_json::Value = r.into_json().unwrap_or_default();
                                if v["code"] == "DEACTIVATED" {
                                    acked.lock().unwrap().retain(|(k, i)| !(k == key && *i == format!("storm-{t}-{}", n - 3)));
                                }
                            });
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    s.kill();
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        let _ = h.join();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 10,
        "the storm should have acknowledged activations, got {}",
        acked.len()
    );

    let s = s.restart(Opts::default());
    let mut by_key: HashMap<String, Vec<String>> = HashMap::new();
    for (k, id) in &acked {
        by_key.entry(k.clone()).or_default().push(id.clone());
    }
    for (key, limit) in &keys {
        let l = s.get_license("production", key);
        let active: Vec<String> = l["activations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["status"] == "active")
            .map(|a| a["identifier"].as_str().unwrap().to_owned())
            .collect();
        assert!(
            active.len() as i64 <= *limit,
            "{key} over its limit: {active:?}"
        );
        for id in by_key.get(key).into_iter().flatten() {
            // An acknowledged activation is present (active, or deactivated later by an unacknowledged call).
            let present = l["activations"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["identifier"] == id.as_str());
            assert!(present, "acknowledged activation {id} on {key} was lost");
        }
    }
}

#[test]
fn records_survive_a_restart() {
    let s = Server::start();
    let key = s.license("production", 5);
    activate(&s, "production", &key, "persist-me");
    s.admin(
        "POST",
        &format!("/production/licenses/{key}/actions/suspend"),
        None,
    );
    let s = s.restart(Opts::default());
    let l = s.get_license("production", &key);
    assert_eq!(l["status"], "suspended");
    assert_eq!(l["activations"][0]["identifier"], "persist-me");
    let (_, v) = s.client(
        "production",
        "validate",
        json!({ "key": key, "identifier": "persist-me" }),
    );
    assert_eq!(v["code"], "SUSPENDED");
}

#[test]
fn heartbeats_are_flushed_on_sigterm() {
    // A long flush interval: only the shutdown flush can have written last_seen.
    let opts = Opts::default().env("KEYWARDEN_ENGINE__HEARTBEAT_FLUSH_MS", "600000");
    let mut s = Server::start_with(opts.clone());
    let key = s.license("production", 5);
    activate(&s, "production", &key, "beating");
    // The flusher's first tick fires at start; wait past it, then beat.
    std::thread::sleep(Duration::from_millis(300));
    let (_, v) = s.client(
        "production",
        "heartbeat",
        json!({ "key": key, "identifier": "beating" }),
    );
    assert_eq!(v["code"], "VALID");
    let st = s.terminate();
    assert!(st.success(), "graceful exit: {st:?}");
    let s = s.restart(opts);
    let l = s.get_license("production", &key);
    assert!(
        l["activations"][0]["last_seen"].is_string(),
        "last_seen flushed: {l}"
    );
}

#[test]
fn heartbeats_reach_the_store_on_the_flush_interval() {
    let mut s = Server::start();
    let key = s.license("production", 5);
    activate(&s, "production", &key, "beating");
    s.client(
        "production",
        "heartbeat",
        json!({ "key": key, "identifier": "beating" }),
    );
    std::thread::sleep(Duration::from_millis(800));
    s.kill();
    let s = s.restart(Opts::default());
    let l = s.get_license("production", &key);
    assert!(l["activations"][0]["last_seen"].is_string(), "{l}");
}

/// A server stopped with SIGTERM closes its store files cleanly, so the next
/// start opens them at once (no page-by-page check: ~1.6 s per million
/// licenses); after SIGKILL the next start says it checks them, and still has
/// every license.
#[test]
fn a_stopped_server_closes_its_files_cleanly_and_a_killed_one_is_checked_at_the_next_start() {
    const CHECK: &str = "not closed cleanly";
    let s = Server::start();
    let key = s.license("production", 2);
    assert_eq!(activate(&s, "production", &key, "dev-1")["code"], "VALID");
    let s = s.stop_and_start(Opts::default());
    assert!(
        !s.logs().contains(CHECK),
        "a clean stop left files to check:\n{}",
        s.logs()
    );
    assert_eq!(s.get_license("production", &key)["activations_in_use"], 1);
    let s = s.restart(Opts::default());
    // The log reader threads may trail the readiness line by a moment.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !s.logs().contains(CHECK) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        s.logs().contains(CHECK),
        "no check announced after SIGKILL:\n{}",
        s.logs()
    );
    assert_eq!(s.get_license("production", &key)["activations_in_use"], 1);
}
