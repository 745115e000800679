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
        let m = Metrics {
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
            registry_lookups: counter(
                &r,
                "keywarden_registry_lookups_total",
                "License registry lookups: hit, miss (loaded from the store) or negative (unknown key)",
                &["result"],
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
            registry: r,
        };
        m.store_up.set(1);
        m
    }

    /// The text exposition `/metrics` serves.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// The process-wide metrics; tests in one process share them.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// Shorthand for the global metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}
