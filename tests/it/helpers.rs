//! Starts the real server binary on port 0 with a fresh data folder and talks to it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const TOKEN: &str = "test-admin-token-0123456789";
/// The first admin every test server creates.
pub const ADMIN_EMAIL: &str = "admin@test.local";
pub const ADMIN_PASSWORD: &str = "admin-password-1";

/// A running server; killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    pub stdout: Arc<Mutex<Vec<String>>>,
    pub stderr: Arc<Mutex<Vec<String>>>,
}

/// Options for a server start.
#[derive(Default, Clone)]
pub struct Opts {
    pub env: Vec<(String, String)>,
    pub no_token: bool,
    pub demo: bool,
}

impl Opts {
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }
}

fn base_command(dir: &Path, opts: &Opts) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keywarden"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("RUST_LOG")
        .env("KEYWARDEN_LOG__LEVEL", "info")
        .env("KEYWARDEN_SERVER__WORKERS", "2")
        .env("KEYWARDEN_ENGINE__HEARTBEAT_FLUSH_MS", "200")
        .env("KEYWARDEN_LIMITS__LICENSE_PER_SECOND", "100000")
        .env("KEYWARDEN_LIMITS__LICENSE_BURST", "100000")
        .env("KEYWARDEN_LIMITS__UNKNOWN_KEY_PER_MINUTE", "100000")
        .env("KEYWARDEN_LIMITS__UNKNOWN_KEY_BURST", "100000")
        .env("KEYWARDEN_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("KEYWARDEN_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if !opts.no_token {
        cmd.env("KEYWARDEN_ADMIN_TOKEN", TOKEN);
    } else {
        cmd.env_remove("KEYWARDEN_ADMIN_TOKEN");
    }
    for (k, v) in &opts.env {
        cmd.env(k, v);
    }
    if opts.demo {
        cmd.arg("--demo");
    }
    cmd
}

impl Server {
    pub fn start() -> Server {
        Server::start_with(Opts::default())
    }

    pub fn start_with(opts: Opts) -> Server {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("data");
        let mut s = Server::start_in(&dir, opts);
        s._tmp = Some(tmp);
        s
    }

    /// Starts on an existing data folder (for restarts).
    pub fn start_in(dir: &Path, opts: Opts) -> Server {
        let mut child = base_command(dir, &opts).spawn().expect("start keywarden");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let out = child.stdout.take().unwrap();
        let lines = stdout.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("KEYWARDEN_LISTENING ") {
                    let _ = tx.send(addr.to_owned());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let err = child.stderr.take().unwrap();
        let elines = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                elines.lock().unwrap().push(line);
            }
        });
        let base = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(b) => b,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "keywarden did not start; stderr:\n{}",
                    stderr.lock().unwrap().join("\n")
                );
            }
        };
        Server {
            child,
            base,
            dir: dir.to_owned(),
            _tmp: None,
            stdout,
            stderr,
        }
    }

    /// Another process (HAProxy in front of nodes) that answers HTTP at `base`
    /// like a server, with `dir` as its folder; killed when dropped.
    pub fn wrap(child: Child, base: String, tmp: tempfile::TempDir) -> Server {
        Server {
            child,
            base,
            dir: tmp.path().to_owned(),
            _tmp: Some(tmp),
            stdout: Arc::default(),
            stderr: Arc::default(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// SIGKILL: no shutdown hooks run.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            if Instant::now() > deadline {
                self.kill();
                panic!("server did not stop after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then a new server on the same data folder (keeps the temp dir alive).
    pub fn stop_and_start(mut self, opts: Opts) -> Server {
        assert!(
            self.terminate().success(),
            "SIGTERM did not stop the server cleanly"
        );
        let tmp = self._tmp.take();
        let mut s = Server::start_in(&self.dir, opts);
        s._tmp = tmp;
        s
    }

    /// Takes the data folder with it when restarting (keeps the temp dir alive).
    pub fn restart(mut self, opts: Opts) -> Server {
        self.kill();
        let tmp = self._tmp.take();
        let mut s = Server::start_in(&self.dir, opts);
        s._tmp = tmp;
        s
    }

    pub fn logs(&self) -> String {
        let mut all = self.stdout.lock().unwrap().join("\n");
        all.push('\n');
        all.push_str(&self.stderr.lock().unwrap().join("\n"));
        all
    }

    // ---- HTTP ----

    /// POST JSON to the client API; returns (status, body).
    pub fn client(&self, env: &str, op: &str, body: Value) -> (u16, Value) {
        let r = call(
            ureq::post(&self.url(&format!("/v1/{env}/licenses/{op}")))
                .set("content-type", "application/json"),
            Some(body),
        );
        (r.status, r.json())
    }

    pub fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let r = self.admin_raw(method, path, body);
        (r.status, r.json())
    }

    pub fn admin_raw(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        let req = ureq::request(method, &self.url(&format!("/admin/api/v1{path}")))
            .set("authorization", &format!("Bearer {TOKEN}"));
        call(req, body)
    }

    // ---- fixtures ----

    pub fn product(&self, env: &str, name: &str) -> String {
        let (st, p) = self.admin(
            "POST",
            &format!("/{env}/products"),
            Some(json!({ "name": name })),
        );
        assert_eq!(st, 201, "{p}");
        p["id"].as_str().unwrap().to_owned()
    }

    pub fn customer(&self, email: &str) -> String {
        let (st, c) = self.admin(
            "POST",
            "/customers",
            Some(json!({ "email": email, "name": "Test Customer" })),
        );
        assert_eq!(st, 201, "{c}");
        c["id"].as_str().unwrap().to_owned()
    }

    /// An assigned license in `env` with the given activation limit; returns its key.
    pub fn license(&self, env: &str, limit: i64) -> String {
        let product = self.product(env, "Fixture Product");
        let customer = self.customer(&format!("c-{}@example.com", uuid_like()));
        let (st, l) = self.admin(
            "POST",
            &format!("/{env}/licenses"),
            Some(json!({ "product_id": product, "customer_id": customer, "activation_limit": limit })),
        );
        assert_eq!(st, 201, "{l}");
        assert_eq!(l["status"], "assigned");
        l["key"].as_str().unwrap().to_owned()
    }

    pub fn get_license(&self, env: &str, key: &str) -> Value {
        let (st, l) = self.admin("GET", &format!("/{env}/licenses/{key}"), None);
        assert_eq!(st, 200, "{l}");
        l
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A unique-enough suffix for emails and identifiers.
pub fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{t:x}{}", N.fetch_add(1, Ordering::Relaxed))
}

/// An HTTP answer of any status.
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        if self.body.is_empty() {
            return Value::Null;
        }
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&self.body).into()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into()
    }
}

/// Any ureq response as a [`Resp`].
pub fn into_resp(r: ureq::Response) -> Resp {
    let status = r.status();
    let headers = r
        .headers_names()
        .into_iter()
        .filter_map(|n| r.header(&n).map(|v| (n.clone(), v.to_owned())))
        .collect();
    let mut body = Vec::new();
    let _ = std::io::Read::read_to_end(&mut r.into_reader(), &mut body);
    Resp {
        status,
        headers,
        body,
    }
}

/// Sends a request with an optional JSON body; any status is an answer, not an error.
pub fn call(req: ureq::Request, body: Option<Value>) -> Resp {
    let result = match body {
        Some(b) => req
            .set("content-type", "application/json")
            .send_string(&b.to_string()),
        None => req.call(),
    };
    match result {
        Ok(r) => into_resp(r),
        Err(ureq::Error::Status(_, r)) => into_resp(r),
        Err(e) => panic!("transport error: {e}"),
    }
}

/// Sends raw bytes with a content type.
pub fn send_bytes(url: &str, content_type: &str, accept: Option<&str>, bytes: &[u8]) -> Resp {
    let mut req = ureq::post(url).set("content-type", content_type);
    if let Some(a) = accept {
        req = req.set("accept", a);
    }
    match req.send_bytes(bytes) {
        Ok(r) => into_resp(r),
        Err(ureq::Error::Status(_, r)) => into_resp(r),
        Err(e) => panic!("transport error: {e}"),
    }
}

/// Activates `identifier` and returns the answer body.
pub fn activate(s: &Server, env: &str, key: &str, identifier: &str) -> Value {
    let (st, v) = s.client(
        env,
        "activate",
        json!({ "key": key, "identifier": identifier }),
    );
    assert_eq!(st, 200, "{v}");
    v
}

/// The actions of `env`'s audit entries that `filter` (an action or a family
/// like `customer.`) keeps, newest first.
pub fn audit_actions(s: &Server, env: &str, filter: &str) -> Vec<String> {
    let (st, audit) = s.admin("GET", &format!("/{env}/audit?action={filter}"), None);
    assert_eq!(st, 200, "{audit}");
    audit
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str().map(str::to_owned))
        .collect()
}
