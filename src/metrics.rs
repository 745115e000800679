//! Every metric Keywarden exports, in one place. Names follow `keywarden_<noun>_<unit>`;
//! labels are route patterns and codes, never raw paths or keys. Each family is
//! built in `families`; this file holds the handles and the hot-path helpers.

use prometheus::{
    Encoder, Histogram, HistogramVec, IntCounter, IntCounterVec, IntGauge, Registry, TextEncoder,
};
use std::sync::LazyLock;

mod families;

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

impl Metrics {
    fn new() -> Self {
        let r = Registry::new();
        families::process(&r);
        let (http_requests, http_duration) = families::http(&r);
        let (verdicts, signed_responses) = families::verdicts(&r);
        let (registry_lookups, resident_licenses) = families::registry(&r);
        let (store_duration, store_errors, store_up) = families::store(&r);
        let (heartbeat_flush_lag, heartbeat_flush_batch, heartbeat_pending) =
            families::heartbeat(&r);
        let (rate_limited, abuse_events) = families::abuse(&r);
        Metrics {
            lookup_hit: registry_lookups.with_label_values(&["hit"]),
            lookup_miss: registry_lookups.with_label_values(&["miss"]),
            lookup_negative: registry_lookups.with_label_values(&["negative"]),
            registry_lookups,
            http_requests,
            http_duration,
            verdicts,
            resident_licenses,
            store_duration,
            store_errors,
            rate_limited,
            heartbeat_flush_lag,
            heartbeat_flush_batch,
            heartbeat_pending,
            abuse_events,
            signed_responses,
            store_up,
            licenses: families::licenses(&r),
            registry: r,
        }
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
    "announce_job_licenses",
    "append_audit",
    "changes_since",
    "create_session",
    "delete_admin",
    "delete_job",
    "delete_license",
    "delete_session",
    "delete_sessions_of",
    "get_customer",
    "get_customer_by_email",
    "get_generator",
    "get_job",
    "get_job_step",
    "get_license",
    "get_product",
    "get_secret",
    "get_session",
    "get_settings",
    "insert_customer",
    "change_customer_email",
    "delete_customer",
    "insert_job",
    "insert_licenses",
    "licenses_due_for_expiry",
    "list_admins",
    "list_audit",
    "list_customers",
    "list_generators",
    "list_jobs",
    "list_licenses",
    "list_products",
    "list_secrets",
    "plan_job_step",
    "put_admin",
    "put_generator",
    "put_product",
    "put_secret",
    "put_settings",
    "refresh_session",
    "sweep_sessions",
    "touch_last_seen",
    "update_customer",
    "update_job",
    "update_license",
    // issue 12 item 3: product files and the outbox
    "put_file_chunk",
    "put_file_meta",
    "get_file_meta",
    "list_file_meta",
    "get_file_chunk",
    "delete_file",
    "stale_uploads",
    "claim_mail_tag",
    "put_pending_mail",
    "pending_mail",
    "put_mail_record",
    "queue_mails",
    "put_mail_records",
    "list_mail",
    "claim_idempotency",
    "get_idempotency",
    "finish_idempotency",
    "release_idempotency",
    "sweep_idempotency",
    "insert_contract",
    "list_contracts",
    "delete_contract",
    "take_from_contract",
    // issue 14 part 1: webhooks
    "put_webhook",
    "list_webhooks",
    "delete_webhook",
    "insert_deliveries",
    "put_delivery",
    "pending_deliveries",
    "list_deliveries",
    "webhook_cursor",
    "put_webhook_cursor",
    "audit_between",
    // issue 15 item 8: daily counts
    "add_counts",
    "read_counts",
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
/// Per-thread maps of closed label sets: a fast hasher (their keys are ours, not a caller's).
type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

thread_local! {
    /// Per-thread handles of labelled series already resolved: the hot path then
    /// skips the label hashing and the lock inside `with_label_values`.
    static HTTP_SERIES: std::cell::RefCell<FastMap<String, RouteSeries>> =
        std::cell::RefCell::new(FastMap::default());
    static VERDICT_SERIES: std::cell::RefCell<FastMap<VerdictKey, IntCounter>> =
        std::cell::RefCell::new(FastMap::default());
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
    /// set that is pre-created at start (read from the backends' sources: the first
    /// argument of each call that times a store operation).
    #[test]
    fn every_timed_store_operation_is_in_the_closed_set() {
        let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src/store"));
        let folders = ["", "embedded", "cql"];
        let mut seen = 0;
        for folder in folders {
            for entry in std::fs::read_dir(root.join(folder)).unwrap().flatten() {
                let path = entry.path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                if path.is_dir() {
                    assert!(folders.contains(&name.as_str()), "{name}: list it above");
                } else if name.ends_with(".rs") {
                    seen += timed_ops_are_known(&std::fs::read_to_string(&path).unwrap(), &name);
                }
            }
        }
        assert!(
            seen > 20,
            "the backends' timed operations were found ({seen})"
        );
    }

    /// Checks the op names in one source file; how many it found.
    fn timed_ops_are_known(text: &str, file: &str) -> usize {
        let mut seen = 0;
        for marker in ["run(", "timed(", "record(", "listed(", "one_blob("] {
            for part in text.split(marker).skip(1) {
                let Some(quoted) = part.trim_start().strip_prefix('"') else {
                    continue;
                };
                let op = quoted.split('"').next().unwrap();
                assert!(
                    STORE_OPS.contains(&op),
                    "{file}: op {op} missing from STORE_OPS"
                );
                seen += 1;
            }
        }
        seen
    }

    #[test]
    fn invented_methods_share_one_label() {
        use actix_web::http::Method;
        assert_eq!(method_label(&Method::GET), "GET");
        let odd = Method::from_bytes(b"M00001AAAA").unwrap();
        assert_eq!(method_label(&odd), "other");
    }
}
