//! config/prometheus.yml and config/alerts.yml in a real Prometheus (Debian's package,
//! installed by scripts/test): it scrapes a live Keywarden, the queries operators rely
//! on return data, every alert rule evaluates, and every dashboard expression parses.
//! A missing `prometheus` or `promtool` fails these tests; they never skip.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{activate, call, Server};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The absolute path of `name` on PATH, or a failure that says where it comes from.
fn tool(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is not on PATH. scripts/test installs it (Debian package \
                 `prometheus`: apt-get install -y prometheus); run scripts/test or install it."
            )
        })
}

/// config/prometheus.yml with `target` scraped every second and the rule file's
/// absolute path, written into `dir`.
fn config_for(dir: &Path, target: &str) -> PathBuf {
    let original = std::fs::read_to_string(repo("config/prometheus.yml")).expect("config");
    let mut text = original.clone();
    for (from, to) in [
        ("\"127.0.0.1:8080\"", format!("\"{target}\"")),
        ("scrape_interval: 5s", "scrape_interval: 1s".into()),
        ("evaluation_interval: 5s", "evaluation_interval: 1s".into()),
        (
            "- alerts.yml",
            format!("- {}", repo("config/alerts.yml").display()),
        ),
    ] {
        assert!(
            original.contains(from),
            "config/prometheus.yml lost `{from}`"
        );
        text = text.replace(from, &to);
    }
    let path = dir.join("prometheus.yml");
    std::fs::write(&path, text).expect("write config");
    path
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A Prometheus on a loopback port with its own storage; killed when dropped.
struct Prometheus {
    child: Child,
    base: String,
    dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(target: &str) -> Prometheus {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = config_for(dir.path(), target);
        let addr = format!("127.0.0.1:{}", free_port());
        let log = File::create(dir.path().join("prometheus.log")).expect("log file");
        let child = Command::new(tool("prometheus"))
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        let mut p = Prometheus {
            child,
            base: format!("http://{addr}"),
            dir,
        };
        p.wait_until("ready", |p| {
            let r = ureq::get(&format!("{}/-/ready", p.base)).call();
            r.map(|_| ()).map_err(|e| e.to_string())
        });
        p
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// Retries `check` for up to 20 s; fails with its last error and the log.
    fn wait_until(&mut self, what: &str, check: impl Fn(&Self) -> Result<(), String>) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("prometheus exited ({st}):\n{}", self.log());
            }
            let err = match check(self) {
                Ok(()) => return,
                Err(e) => e,
            };
            if Instant::now() > deadline {
                panic!("prometheus: {what}: {err}\nlog:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// An instant query; the answer's `data.result`, or the error Prometheus gave.
    fn query(&self, promql: &str) -> Result<Vec<Value>, String> {
        let req = ureq::get(&format!("{}/api/v1/query", self.base)).query("query", promql);
        let v = call(req, None).json();
        match v["data"]["result"].as_array() {
            Some(r) if v["status"] == "success" => Ok(r.clone()),
            _ => Err(format!("{promql}: {v}")),
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of an instant-query sample.
fn value(sample: &Value) -> f64 {
    sample["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

/// Whether some series has `label` = `wanted`.
fn has(results: &[Value], label: &str, wanted: &str) -> bool {
    results.iter().any(|r| r["metric"][label] == wanted)
}

/// What operators rely on, read back through Prometheus after the traffic.
fn scraped(p: &Prometheus) -> Result<(), String> {
    let requests = p.query("keywarden_http_requests_total")?;
    if !requests.iter().all(|r| {
        ["route", "method", "status", "instance"]
            .iter()
            .all(|l| r["metric"][l].is_string())
            && r["metric"]["job"] == "keywarden"
    }) {
        return Err(format!("series without route/method/status: {requests:?}"));
    }
    if !has(&requests, "route", "/v1/production/licenses/activate") {
        return Err(format!("no activate route yet: {requests:?}"));
    }
    let valid = p.query("sum(keywarden_verdicts_total{code=\"VALID\"})")?;
    if valid.first().map(value).unwrap_or(0.0) <= 0.0 {
        return Err(format!("no VALID verdicts yet: {valid:?}"));
    }
    let p99 = p.query(
        "histogram_quantile(0.99, sum by (le) \
         (rate(keywarden_http_request_duration_seconds_bucket{route=~\"/v1/.*\"}[30s])))",
    )?;
    match p99.first().map(value) {
        Some(v) if v.is_finite() && v > 0.0 => {}
        _ => return Err(format!("p99 is not a number yet: {p99:?}")),
    }
    let lookups = p.query("keywarden_registry_lookups_total")?;
    if !has(&lookups, "result", "hit") || !has(&lookups, "result", "miss") {
        return Err(format!("registry lookups lack hit or miss: {lookups:?}"));
    }
    let resident = p.query("keywarden_resident_licenses")?;
    if resident.first().map(value).unwrap_or(0.0) < 1.0 {
        return Err(format!("no resident license: {resident:?}"));
    }
    Ok(())
}

/// Every rule of config/alerts.yml is loaded and has been evaluated without error.
fn rules_evaluated(p: &Prometheus) -> Result<(), String> {
    let alerts = std::fs::read_to_string(repo("config/alerts.yml")).expect("alerts.yml");
    let mut wanted: Vec<&str> = alerts
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("- alert:"))
        .map(str::trim)
        .collect();
    wanted.sort();
    let v = call(ureq::get(&format!("{}/api/v1/rules", p.base)), None).json();
    let rules: Vec<&Value> = v["data"]["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_array().into_iter().flatten())
        .collect();
    let mut names: Vec<&str> = rules.iter().filter_map(|r| r["name"].as_str()).collect();
    names.sort();
    if names != wanted || rules.iter().any(|r| r["health"] != "ok") {
        return Err(format!("rules {wanted:?} not all loaded and healthy: {v}"));
    }
    Ok(())
}

#[test]
fn prometheus_scrapes_keywarden_and_evaluates_alerts_and_dashboards() {
    let s = Server::start();
    let target = s.base.trim_start_matches("http://").to_owned();
    let mut p = Prometheus::start(&target);
    p.wait_until("up{job=\"keywarden\"} == 1", |p| {
        let up = p.query("up{job=\"keywarden\"}")?;
        match up.as_slice() {
            [one] if value(one) == 1.0 => Ok(()),
            _ => Err(format!("{up:?}")),
        }
    });

    let key = s.license("production", 3);
    activate(&s, "production", &key, "m1");
    activate(&s, "production", &key, "m2");
    for op in ["validate", "heartbeat", "validate"] {
        let (st, v) = s.client("production", op, json!({ "key": key, "identifier": "m1" }));
        assert_eq!(st, 200, "{op}: {v}");
    }
    let unknown = json!({ "key": "UNKNOWN-KEY-1", "identifier": "m1" });
    s.client("production", "validate", unknown);

    // Series are new at their first scrape, so rate() needs traffic that goes on.
    let device = json!({ "key": key, "identifier": "m2" });
    p.wait_until("keywarden metrics scraped", |p| {
        s.client("production", "validate", device.clone());
        scraped(p)
    });
    p.wait_until("alert rules evaluated", rules_evaluated);

    for (path, d) in crate::grafana::dashboards() {
        for e in crate::grafana::exprs(&d) {
            let q = e
                .replace("$__rate_interval", "1m")
                .replace("$instance", ".*")
                .replace("$env", ".*");
            assert!(
                !q.contains('$'),
                "{}: unknown variable in {e}",
                path.display()
            );
            if let Err(err) = p.query(&q) {
                panic!("{}: {err}", path.display());
            }
        }
    }
}

#[test]
fn promtool_accepts_the_alert_rules_and_the_config() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config_for(dir.path(), "127.0.0.1:8080");
    for args in [
        vec!["check".into(), "rules".into(), repo("config/alerts.yml")],
        vec!["check".into(), "config".into(), config],
    ] {
        let out = Command::new(tool("promtool"))
            .args(&args)
            .output()
            .expect("run promtool");
        assert!(
            out.status.success(),
            "promtool {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
