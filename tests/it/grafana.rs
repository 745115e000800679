//! The Grafana dashboards (grafana/dashboards) and the alert rules (config/alerts.yml)
//! are only worth something while the metrics they query exist. Every metric name they
//! use must be in a live `/metrics`, so renaming a metric in src/metrics.rs breaks the
//! build here instead of leaving an empty panel or an alert that can never fire.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{activate, call, Opts, Server};

/// Metrics whose series appear only with their first failure, which the embedded
/// store cannot be made to produce here; for them the name must still be registered
/// in src/metrics.rs.
const FAILURE_ONLY: &[&str] = &["keywarden_store_errors_total"];

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Every dashboard in grafana/dashboards, parsed.
pub fn dashboards() -> Vec<(PathBuf, Value)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo("grafana/dashboards"))
        .expect("grafana/dashboards exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no dashboards in grafana/dashboards");
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable dashboard");
            let v = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not JSON: {e}", p.display()));
            (p, v)
        })
        .collect()
}

/// The strings held under `key` anywhere in `v`.
fn strings_under(v: &Value, key: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match x {
                    Value::String(s) if k == key => out.push(s.clone()),
                    _ => strings_under(x, key, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| strings_under(x, key, out)),
        _ => {}
    }
}

/// The PromQL of every panel target (`targets[].expr`) in a dashboard.
pub fn exprs(dashboard: &Value) -> Vec<String> {
    let mut out = Vec::new();
    strings_under(dashboard, "expr", &mut out);
    out
}

/// The `expr` of every rule in config/alerts.yml (one-line or `|` block values).
pub fn alert_exprs() -> Vec<String> {
    let text = std::fs::read_to_string(repo("config/alerts.yml")).expect("config/alerts.yml");
    let indent = |l: &str| l.len() - l.trim_start().len();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(value) = lines[i].trim_start().strip_prefix("expr:") else {
            i += 1;
            continue;
        };
        let value = value.trim();
        let own = indent(lines[i]);
        i += 1;
        if value.starts_with('|') || value.starts_with('>') {
            let mut block = String::new();
            while i < lines.len() && (lines[i].trim().is_empty() || indent(lines[i]) > own) {
                block.push_str(lines[i].trim());
                block.push('\n');
                i += 1;
            }
            out.push(block);
        } else {
            out.push(value.to_owned());
        }
    }
    let rules = lines
        .iter()
        .filter(|l| l.trim_start().starts_with("- alert:"));
    assert_eq!(out.len(), rules.count(), "one expr per alert rule");
    out
}

/// Metric names (identifiers starting with `keywarden_`) in a PromQL expression,
/// outside string literals.
pub fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' || c == '\'' || c == '`' {
            let mut escaped = false;
            for d in chars.by_ref() {
                if d == c && !escaped {
                    break;
                }
                escaped = d == '\\' && !escaped;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let mut ident = String::from(c);
            while let Some(&d) = chars.peek() {
                if !(d.is_ascii_alphanumeric() || d == '_' || d == ':') {
                    break;
                }
                ident.push(d);
                chars.next();
            }
            if ident.starts_with("keywarden_") {
                names.insert(ident);
            }
        }
    }
    names
}

/// Names a `/metrics` text exports: every sample's series name (`x_bucket`, `x_sum`,
/// `x_count` for histograms) and every family named by a `# TYPE` line.
fn exported(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| match l.strip_prefix("# TYPE ") {
            Some(rest) => rest.split_whitespace().next(),
            None if l.starts_with('#') => None,
            None => l.split(['{', ' ']).next(),
        })
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Activations, deactivations, validations, heartbeats, unknown keys until the
/// per-IP limit refuses them, and an abuse auto-suspension: every labelled series
/// the dashboards and alerts read exists afterwards (except [`FAILURE_ONLY`]).
fn drive_traffic(s: &Server) {
    let (st, v) = s.admin(
        "PUT",
        "/production/settings",
        Some(json!({ "grace_period_days": 7, "abuse": { "enabled": true, "threshold": 2, "window_secs": 3600, "auto_suspend": true } })),
    );
    assert_eq!(st, 200, "{v}");
    let key = s.license("production", 1);
    activate(s, "production", &key, "owner");
    let device = json!({ "key": key, "identifier": "owner" });
    s.client("production", "validate", device.clone());
    s.client("production", "heartbeat", device.clone());
    s.client("production", "deactivate", device);
    activate(s, "production", &key, "owner");
    for i in 0..3 {
        let v = activate(s, "production", &key, &format!("intruder-{i}"));
        assert_eq!(v["code"], "LIMIT_REACHED", "{v}");
    }
    for i in 0..3 {
        let unknown = json!({ "key": format!("UNKNOWN-KEY-{i}"), "identifier": "x" });
        s.client("production", "validate", unknown);
    }
}

#[test]
fn dashboards_and_alerts_use_only_exported_metrics() {
    let mut used: BTreeSet<(String, String)> = BTreeSet::new();
    for (path, d) in dashboards() {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut queries = exprs(&d);
        strings_under(&d["templating"], "definition", &mut queries);
        assert!(!queries.is_empty(), "{file} has no expressions");
        for q in queries {
            used.extend(metric_names(&q).into_iter().map(|n| (n, file.clone())));
        }
    }
    let alerts = alert_exprs();
    assert!(!alerts.is_empty(), "no expr found in config/alerts.yml");
    for e in alerts {
        used.extend(
            metric_names(&e)
                .into_iter()
                .map(|n| (n, "alerts.yml".into())),
        );
    }
    assert!(used.len() >= 10, "too few metric names found: {used:?}");

    let s = Server::start_with(
        Opts::default()
            .env("KEYWARDEN_LIMITS__UNKNOWN_KEY_PER_MINUTE", "1")
            .env("KEYWARDEN_LIMITS__UNKNOWN_KEY_BURST", "1"),
    );
    drive_traffic(&s);
    let registered = std::fs::read_to_string(repo("src/metrics.rs")).expect("src/metrics.rs");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let live = exported(&call(ureq::get(&s.url("/metrics")), None).text());
        let missing: Vec<_> = used
            .iter()
            .filter(|(name, _)| {
                let failure_only = FAILURE_ONLY.contains(&name.as_str())
                    && registered.contains(&format!("\"{name}\""));
                !(live.contains(name) || failure_only)
            })
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "metrics used by dashboards/alerts but not exported (name, file): {missing:?}\nexported: {live:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn dashboards_are_grafana_json_with_a_datasource_variable() {
    let provider = std::fs::read_to_string(repo("grafana/provisioning/dashboards/keywarden.yml"))
        .expect("dashboard provider");
    assert!(provider.contains("path: grafana/dashboards"), "{provider}");
    let datasource =
        std::fs::read_to_string(repo("grafana/provisioning/datasources/keywarden.yml"))
            .expect("datasource provisioning");
    let mut uids = BTreeSet::new();
    for (path, d) in dashboards() {
        let file = path.display();
        assert!(d["schemaVersion"].as_i64().unwrap_or(0) >= 36, "{file}");
        assert!(uids.insert(d["uid"].as_str().unwrap_or_default().to_owned()));
        let vars = d["templating"]["list"].as_array().expect("templating");
        let ds = vars
            .iter()
            .find(|v| v["type"] == "datasource" && v["name"] == "datasource")
            .unwrap_or_else(|| panic!("{file}: no datasource variable"));
        let default_uid = ds["current"]["value"].as_str().unwrap_or_default();
        assert!(
            datasource.contains(&format!("uid: {default_uid}")),
            "{file}: default datasource {default_uid} is not provisioned"
        );
        let panels = d["panels"].as_array().expect("panels");
        let ids: BTreeSet<_> = panels.iter().map(|p| p["id"].as_i64()).collect();
        assert_eq!(ids.len(), panels.len(), "{file}: panel ids are unique");
        for p in panels {
            let targets = p["targets"].as_array().expect("targets");
            assert!(!targets.is_empty(), "{file}: {} has no target", p["title"]);
            for t in targets.iter().chain([p]) {
                assert_eq!(t["datasource"]["uid"], "${datasource}", "{file}: {t}");
            }
        }
    }
}
