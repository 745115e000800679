//! A real webhook receiver on loopback for the tests: `tests/webhooks/receiver.py`,
//! which verifies every delivery with the `standardwebhooks` package from PyPI
//! (a foreign implementation of the signature) and logs one JSON line each.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::Server;

/// The receiver process and its files; killed when dropped.
pub struct Receiver {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Receiver {
    pub fn start() -> Receiver {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secrets"), "").unwrap();
        let mut r = Receiver {
            child: None,
            port: 0,
            dir,
        };
        r.spawn();
        r
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn spawn(&mut self) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/webhooks/receiver.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg("--secrets")
            .arg(self.file("secrets"))
            .arg("--log")
            .arg(self.file("log.jsonl"))
            .arg("--status")
            .arg(self.file("status"))
            .args(["--port", &self.port.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 runs the webhook receiver");
        let mut first = String::new();
        let _ = BufReader::new(child.stdout.take().unwrap()).read_line(&mut first);
        let Some(port) = first.trim().strip_prefix("LISTENING ") else {
            let mut err = String::new();
            let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err);
            panic!(
                "the webhook receiver did not start (it needs `pip install standardwebhooks`; \
                 scripts/test installs it):\n{err}"
            );
        };
        self.port = port.parse().unwrap();
        self.child = Some(child);
    }

    /// Stops it (deliveries to it fail: connection refused).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.spawn()));
            if attempt.is_ok() || Instant::now() > deadline {
                return attempt.unwrap();
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The secrets it verifies with (read again for each request).
    pub fn trust(&self, secrets: &[&str]) {
        std::fs::write(self.file("secrets"), secrets.join("\n")).unwrap();
    }

    /// The HTTP status it answers from now on.
    pub fn answer(&self, status: u16) {
        std::fs::write(self.file("status"), status.to_string()).unwrap();
    }

    /// Every request it got, oldest first.
    pub fn rows(&self) -> Vec<Value> {
        std::fs::read_to_string(self.file("log.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Waits (up to `secs`) until `done` holds for the rows; panics with them otherwise.
    pub fn wait(&self, what: &str, secs: u64, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let rows = self.rows();
            if done(&rows) {
                return rows;
            }
            if Instant::now() > deadline {
                let types: Vec<String> = rows
                    .iter()
                    .map(|r| format!("{} {}", r["type"], r["answered"]))
                    .collect();
                panic!("{what}: not within {secs} s; received {types:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Rows of one event type.
pub fn of_type<'a>(rows: &'a [Value], t: &str) -> Vec<&'a Value> {
    rows.iter().filter(|r| r["type"] == t).collect()
}

/// Makes an endpoint; returns (id, secret).
pub fn endpoint(s: &Server, env: &str, url: &str, events: Option<&[&str]>) -> (String, String) {
    let mut body = json!({"url": url, "description": "test receiver"});
    if let Some(e) = events {
        body["events"] = json!(e);
    }
    let (st, v) = s.admin("POST", &format!("/{env}/webhooks"), Some(body));
    assert_eq!(st, 201, "{v}");
    (
        v["id"].as_str().unwrap().to_owned(),
        v["secret"].as_str().unwrap().to_owned(),
    )
}

/// An endpoint's delivery log, newest first.
pub fn deliveries(s: &Server, env: &str, id: &str) -> Vec<Value> {
    let (st, v) = s.admin("GET", &format!("/{env}/webhooks/{id}/deliveries"), None);
    assert_eq!(st, 200, "{v}");
    v.as_array()
        .or_else(|| v["items"].as_array())
        .cloned()
        .unwrap_or_default()
}

/// Options that let deliveries go to a plain-http receiver on loopback.
pub fn loopback() -> crate::helpers::Opts {
    crate::helpers::Opts::default()
        .env("KEYWARDEN_WEBHOOKS__ALLOW_HTTP", "true")
        .env("KEYWARDEN_WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true")
}
