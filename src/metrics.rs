//! Every metric Keywarden exports, in one place. Names follow `keywarden_<noun>_<unit>`;
//! labels are route patterns and codes, never raw paths or keys.

use prometheus::{
    exponential_buckets, Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter,
    IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};
use std::sync::LazyLock;

/// The registry `/metrics` renders, plus handles to each metric.
pub struct Metrics {
    pub registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub verdicts: IntCounterVec,
    pub registry_lookups: IntCounterVec,
    pub lookup_hit: IntCounter,
    pub lookup_miss: IntCounter,
    pub lookup_negative: IntCounter,
    pub resident_licenses: IntGauge,
    pub store_duration: HistogramVec,
    pub store_errors: IntCounterVec,
    pub rate_limited: IntCounterVec,
    pub heartbeat_flush_lag: prometheus::Gauge,
    pub heartbeat_flush_batch: Histogram,
    pub heartbeat_pending: IntGauge,
    pub abuse_events: IntCounterVec,
    pub signed_responses: IntCounter,
    pub store_up: IntGauge,
    /// Licenses per environment and state, from this node's catalog (set at scrape time).
    pub licenses: prometheus::IntGaugeVec,
}

fn counter(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    r.register(Box::new(c.clone())).expect("unique metric");
    c
}

fn histogram(r: &Registry, name: &str, help: &str, labels: &[&str], start: f64) -> HistogramVec {
    let opts = HistogramOpts::new(name, help)
        .buckets(exponential_buckets(start, 2.0, 18).expect("valid buckets"));
    let h = HistogramVec::new(opts, labels).expect("valid metric");
    r.register(Box::new(h.clone())).expect("unique metric");
    h
}

fn gauge(r: &Registry, name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).expect("valid metric");
    r.register(Box::new(g.clone())).expect("unique metric");
    g
}

impl Metrics {
    fn new() -> Self {
        let r = Registry::new();
        #[cfg(target_os = "linux")]
        {
            let pc = prometheus::process_collector::ProcessCollector::for_self();
            let _ = r.register(Box::new(pc));
        }
        let heartbeat_flush_lag = prometheus::Gauge::new(
            "keywarden_heartbeat_flush_lag_seconds",
            "Age of the oldest heartbeat written by the last flush",
        )
        .expect("valid metric");
        r.register(Box::new(heartbeat_flush_lag.clone()))
            .expect("unique metric");
        let heartbeat_flush_batch = Histogram::with_opts(
            HistogramOpts::new(
                "keywarden_heartbeat_flush_batch_size",
                "Heartbeats written per flush",
            )
            .buckets(exponential_buckets(1.0, 4.0, 10).expect("valid buckets")),
        )
        .expect("valid metric");
        r.register(Box::new(heartbeat_flush_batch.clone()))
            .expect("unique metric");
        let signed = IntCounter::new(
            "keywarden_signed_responses_total",
            "Client answers signed because the request carried a nonce",
        )
        .expect("valid metric");
        r.register(Box::new(signed.clone())).expect("unique metric");
        let registry_lookups = counter(
            &r,
            "keywarden_registry_lookups_total",
            "License registry lookups: hit, miss (loaded from the store) or negative (unknown key)",
            &["result"],
        );
        let m = Metrics {
            lookup_hit: registry_lookups.with_label_values(&["hit"]),
            lookup_miss: registry_lookups.with_label_values(&["miss"]),
            lookup_negative: registry_lookups.with_label_values(&["negative"]),
            registry_lookups,
            http_requests: counter(
                &r,
                "keywarden_http_requests_total",
                "HTTP requests by route pattern, method and status",
                &["route", "method", "status"],
            ),
            http_duration: histogram(
                &r,
                "keywarden_http_request_duration_seconds",
                "HTTP request latency by route pattern",
                &["route"],
                0.000_025,
            ),
            verdicts: counter(
                &r,
                "keywarden_verdicts_total",
                "Client API verdicts by environment, operation and code",
                &["env", "op", "code"],
            ),
            resident_licenses: gauge(
                &r,
                "keywarden_resident_licenses",
                "License actors resident in memory",
            ),
            store_duration: histogram(
                &r,
                "keywarden_store_operation_duration_seconds",
                "Store operation latency by backend and operation",
                &["backend", "op"],
                0.000_010,
            ),
            store_errors: counter(
                &r,
                "keywarden_store_errors_total",
                "Store operations that failed, by backend and operation",
                &["backend", "op"],
            ),
            rate_limited: counter(
                &r,
                "keywarden_rate_limited_total",
                "Requests refused with RATE_LIMITED, by scope (ip or license)",
                &["scope"],
            ),
            heartbeat_flush_lag,
            heartbeat_flush_batch,
            heartbeat_pending: gauge(
                &r,
                "keywarden_heartbeat_pending",
                "Heartbeats waiting for the next write-behind flush",
            ),
            abuse_events: counter(
                &r,
                "keywarden_abuse_events_total",
                "Abuse rule hits by outcome (flagged or suspended)",
                &["outcome"],
            ),
            signed_responses: signed,
            store_up: gauge(
                &r,
                "keywarden_store_up",
                "1 when the last store operation succeeded, 0 after a failure",
            ),
            licenses: {
                let g = prometheus::IntGaugeVec::new(
                    Opts::new("keywarden_licenses", "Licenses by environment and state"),
                    &["env", "status"],
                )
                .expect("valid metric");
                r.register(Box::new(g.clone())).expect("unique metric");
                g
            },
            registry: r,
        };
        m.store_up.set(1);
        // Series that alerts take increase()/rate() of exist from the start, so the
        // first event after a restart is not lost.
        for scope in ["ip", "license", "login"] {
            m.rate_limited.with_label_values(&[scope]);
        }
        for outcome in ["flagged", "suspended"] {
            m.abuse_events.with_label_values(&[outcome]);
        }
        for env in crate::domain::Environment::ALL {
            for op in VERDICT_OPS {
                for code in crate::domain::verdict::VerdictCode::ALL {
                    m.verdicts
                        .with_label_values(&[env.as_str(), op, code.as_str()]);
                }
            }
        }
        m
    }

    /// Creates every store series of `backend` at zero, so panels and alerts over
    /// `keywarden_store_errors_total` have a series before the first failure.
    pub fn init_store(&self, backend: &str) {
        for op in STORE_OPS {
            self.store_errors.with_label_values(&[backend, op]);
            self.store_duration.with_label_values(&[backend, op]);
        }
    }

    /// The text exposition `/metrics` serves.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// Operations a verdict is counted under (the client calls plus offline files).
pub const VERDICT_OPS: [&str; 5] = ["activate", "validate", "heartbeat", "deactivate", "offline"];

/// Every store operation name the backends time: the closed set of the `op` label.
pub const STORE_OPS: &[&str] = &[
    "activation_history",
    "append_audit",
    "changes_since",
    "delete_license",
    "get_customer",
    "get_customer_by_email",
    "get_generator",
    "get_license",
    "get_product",
    "get_secret",
    "get_settings",
    "insert_customer",
    "insert_licenses",
    "licenses_due_for_expiry",
    "list_audit",
    "list_customers",
    "list_generators",
    "list_licenses",
    "list_products",
    "list_secrets",
    "put_generator",
    "put_product",
    "put_secret",
    "put_settings",
    "touch_last_seen",
    "update_customer",
    "update_license",
];

/// The `method` label: one of the standard methods, or `other` for anything a
/// client invents (a label value per invented method would grow without bound).
pub fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// The (method, status, counter, latency) series resolved for one route.
type RouteSeries = Vec<(&'static str, u16, IntCounter, Histogram)>;
/// Env, operation and code of a verdict series.
type VerdictKey = (&'static str, &'static str, &'static str);

thread_local! {
    /// Per-thread handles of labelled series already resolved: the hot path then
    /// skips the label hashing and the lock inside `with_label_values`.
    static HTTP_SERIES: std::cell::RefCell<std::collections::HashMap<String, RouteSeries>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
    static VERDICT_SERIES: std::cell::RefCell<std::collections::HashMap<VerdictKey, IntCounter>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

impl Metrics {
    /// Counts one HTTP request and observes its latency. `route` is a matched route
    /// pattern or `unmatched` and `method` comes from [`method_label`]: both closed sets.
    pub fn observe_http(&self, route: &str, method: &'static str, status: u16, seconds: f64) {
        HTTP_SERIES.with(|cell| {
            let mut map = cell.borrow_mut();
            // Looked up by &str: no allocation once a route's series exist.
            if !map.contains_key(route) {
                map.insert(route.to_owned(), Vec::new());
            }
            let series = map.get_mut(route).expect("inserted above");
            let pos = match series
                .iter()
                .position(|(m, st, _, _)| *m == method && *st == status)
            {
                Some(p) => p,
                None => {
                    series.push((
                        method,
                        status,
                        self.http_requests
                            .with_label_values(&[route, method, &status.to_string()]),
                        self.http_duration.with_label_values(&[route]),
                    ));
                    series.len() - 1
                }
            };
            let (_, _, count, hist) = &series[pos];
            count.inc();
            hist.observe(seconds);
        });
    }

    /// Counts one client verdict.
    pub fn count_verdict(&self, env: &'static str, op: &'static str, code: &'static str) {
        VERDICT_SERIES.with(|cell| {
            cell.borrow_mut()
                .entry((env, op, code))
                .or_insert_with(|| self.verdicts.with_label_values(&[env, op, code]))
                .inc();
        });
    }
}

/// The process-wide metrics; tests in one process share them.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// Shorthand for the global metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Item 2 of the security review: every `op` a backend times is in the closed
    /// set that is pre-created at start (read from the backends' sources).
    #[test]
    fn every_timed_store_operation_is_in_the_closed_set() {
        let mut files = Vec::new();
        rust_files(
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src/store")),
            &mut files,
        );
        let mut seen = 0;
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for marker in ["run(\"", "timed(\""] {
                for part in text.split(marker).skip(1) {
                    let op = part.split('"').next().unwrap();
                    assert!(
                        STORE_OPS.contains(&op),
                        "{}: op {op} missing from STORE_OPS",
                        file.display()
                    );
                    seen += 1;
                }
            }
        }
        assert!(
            seen > 20,
            "the backends' timed operations were found ({seen})"
        );
    }

    /// Every `.rs` file below `dir` (the backends are folders of files).
    fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    #[test]
    fn invented_methods_share_one_label() {
        use actix_web::http::Method;
        assert_eq!(method_label(&Method::GET), "GET");
        let odd = Method::from_bytes(b"M00001AAAA").unwrap();
        assert_eq!(method_label(&odd), "other");
    }
}
