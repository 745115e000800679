//! The CQL node goes away under load and comes back: writes answer 503
//! STORE_UNAVAILABLE, resident licenses keep validating from memory, /metrics shows
//! the outage, and the server recovers by itself with no acknowledged activation lost.
//! This test runs its own Cassandra node so the shared one stays up for the others.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::cluster::cql_opts;
use crate::helpers::{activate, call, Server};

struct OwnNode {
    dir: String,
    port: u16,
}

impl OwnNode {
    fn cmd(&self, action: &str) -> std::process::Output {
        Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/cql-node"))
            .arg(action)
            .env("CQL_NODE_DIR", &self.dir)
            .env("CQL_PORT", self.port.to_string())
            .output()
            .expect("scripts/cql-node runs")
    }

    fn start(&self) -> String {
        let out = self.cmd("start");
        assert!(
            out.status.success(),
            "the fault test's CQL node did not start:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap_or_default()
            .trim()
            .to_owned()
    }

    fn stop(&self) {
        let out = self.cmd("stop");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for OwnNode {
    fn drop(&mut self) {
        let _ = self.cmd("stop");
    }
}

fn store_up(s: &Server) -> Option<String> {
    let text = call(ureq::get(&s.url("/metrics")), None).text();
    text.lines()
        .find(|l| l.starts_with("keywarden_store_up "))
        .map(|l| l[19..].trim().to_owned())
}

#[test]
fn an_outage_answers_503_for_writes_serves_resident_licenses_and_recovers() {
    let node = OwnNode {
        dir: format!("{}/build/cql-node-fault", env!("CARGO_MANIFEST_DIR")),
        port: 9142,
    };
    let addr = node.start();
    let prefix = "kwfault";
    actix_rt::System::new().block_on(async {
        let cfg = crate::cql::settings(prefix);
        let cfg = keywarden::config::CqlSettings {
            nodes: vec![addr.clone()],
            ..cfg
        };
        let session = keywarden::store::cql::connect(&cfg)
            .await
            .expect("fault node reachable");
        keywarden::store::cql::migrate(&session, prefix, &cfg.replication)
            .await
            .expect("schema");
    });
    let s = Arc::new(Server::start_with(
        cql_opts(prefix, &addr)
            .env("KEYWARDEN_STORE__CQL__REQUEST_TIMEOUT_MS", "1500")
            .env("KEYWARDEN_STORE__CQL__CONNECT_TIMEOUT_MS", "1500"),
    ));
    let key = s.license("production", -1);
    assert_eq!(activate(&s, "production", &key, "steady")["code"], "VALID");

    // Load: validations of the resident license and a stream of activations.
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let codes: Arc<Mutex<Vec<u16>>> = Arc::default();
    let load: Vec<_> = (0..4)
        .map(|t| {
            let (s, key, stop, acked, codes) = (
                s.clone(),
                key.clone(),
                stop.clone(),
                acked.clone(),
                codes.clone(),
            );
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) && n < 100_000 {
                    n += 1;
                    let id = format!("load-{t}-{n}");
                    let (st, v) = s.client(
                        "production",
                        "activate",
                        json!({ "key": key, "identifier": id }),
                    );
                    if st == 200 && v["code"] == "VALID" {
                        acked.lock().unwrap().push(id);
                    }
                    codes.lock().unwrap().push(st);
                    let (st, v) = s.client(
                        "production",
                        "validate",
                        json!({ "key": key, "identifier": "steady" }),
                    );
                    assert_eq!(
                        (st, v["code"].as_str()),
                        (200, Some("VALID")),
                        "resident validations never fail"
                    );
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(store_up(&s).as_deref(), Some("1"));

    node.stop();
    let outage = Instant::now();
    // Writes fail clearly while the node is down.
    let mut saw_503 = false;
    while outage.elapsed() < Duration::from_secs(20) {
        let (st, v) = s.client(
            "production",
            "activate",
            json!({ "key": key, "identifier": "during-outage" }),
        );
        if st == 503 {
            assert_eq!(v["code"], "STORE_UNAVAILABLE");
            saw_503 = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        saw_503,
        "writes answer 503 STORE_UNAVAILABLE during the outage"
    );
    let (st, v) = s.client(
        "production",
        "validate",
        json!({ "key": key, "identifier": "steady" }),
    );
    assert_eq!(
        (st, v["code"].as_str()),
        (200, Some("VALID")),
        "validations answered from memory"
    );
    assert_eq!(
        store_up(&s).as_deref(),
        Some("0"),
        "/metrics shows the outage"
    );
    let errors = call(ureq::get(&s.url("/metrics")), None).text();
    assert!(errors.contains("keywarden_store_errors_total{backend=\"cql\""));
    let ready = call(ureq::get(&s.url("/readyz")), None);
    assert_eq!(
        ready.status,
        503,
        "not ready while the store is away: {}",
        ready.text()
    );
    assert_eq!(ready.json()["code"], "STORE_UNAVAILABLE");

    node.start();
    let back = Instant::now();
    let mut recovered = false;
    while back.elapsed() < Duration::from_secs(60) {
        let (st, v) = s.client(
            "production",
            "activate",
            json!({ "key": key, "identifier": "after-outage" }),
        );
        if st == 200 && v["code"] == "VALID" {
            recovered = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        recovered,
        "the server recovers by itself when the node is back"
    );
    assert_eq!(
        call(ureq::get(&s.url("/readyz")), None).status,
        200,
        "ready again"
    );
    stop.store(true, Ordering::Relaxed);
    for h in load {
        h.join().unwrap();
    }
    let l = s.get_license("production", &key);
    let present: Vec<&str> = l["activations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["identifier"].as_str().unwrap())
        .collect();
    for id in acked.lock().unwrap().iter() {
        assert!(
            present.contains(&id.as_str()),
            "acknowledged activation {id} lost"
        );
    }
    assert!(
        codes.lock().unwrap().iter().all(|c| *c == 200 || *c == 503),
        "only 200 or 503, never a 500"
    );
}
