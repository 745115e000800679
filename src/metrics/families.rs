//! How each metric family is built and registered, its fixed series created at
//! zero: one function per family, so `Metrics::new` only assembles them.

use prometheus::core::Collector;
use prometheus::{
    exponential_buckets, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec,
    IntGauge, IntGaugeVec, Opts, Registry,
};

use super::VERDICT_OPS;

/// Registers `c` with `r` and hands it back (names are unique by construction).
fn registered<C: Collector + Clone + 'static>(r: &Registry, c: C) -> C {
    r.register(Box::new(c.clone())).expect("unique metric");
    c
}

fn counter(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    registered(r, c)
}

fn histogram(r: &Registry, name: &str, help: &str, labels: &[&str], start: f64) -> HistogramVec {
    let opts = HistogramOpts::new(name, help)
        .buckets(exponential_buckets(start, 2.0, 18).expect("valid buckets"));
    registered(r, HistogramVec::new(opts, labels).expect("valid metric"))
}

fn gauge(r: &Registry, name: &str, help: &str) -> IntGauge {
    registered(r, IntGauge::new(name, help).expect("valid metric"))
}

/// The process collector (CPU, memory, file descriptors), where the OS has one.
pub(super) fn process(r: &Registry) {
    #[cfg(target_os = "linux")]
    {
        let pc = prometheus::process_collector::ProcessCollector::for_self();
        let _ = r.register(Box::new(pc));
    }
    #[cfg(not(target_os = "linux"))]
    let _ = r;
}

/// HTTP requests and their latency.
pub(super) fn http(r: &Registry) -> (IntCounterVec, HistogramVec) {
    let requests = counter(
        r,
        "keywarden_http_requests_total",
        "HTTP requests by route pattern, method and status",
        &["route", "method", "status"],
    );
    let duration = histogram(
        r,
        "keywarden_http_request_duration_seconds",
        "HTTP request latency by route pattern",
        &["route"],
        0.000_025,
    );
    (requests, duration)
}

/// Client verdicts, every (env, op, code) series created at zero, and signed answers.
pub(super) fn verdicts(r: &Registry) -> (IntCounterVec, IntCounter) {
    let verdicts = counter(
        r,
        "keywarden_verdicts_total",
        "Client API verdicts by environment, operation and code",
        &["env", "op", "code"],
    );
    for env in crate::domain::Environment::ALL {
        for op in VERDICT_OPS {
            for code in crate::domain::verdict::VerdictCode::ALL {
                verdicts.with_label_values(&[env.as_str(), op, code.as_str()]);
            }
        }
    }
    let signed = IntCounter::new(
        "keywarden_signed_responses_total",
        "Client answers signed because the request carried a nonce",
    )
    .expect("valid metric");
    (verdicts, registered(r, signed))
}

/// The license registry: lookups by result and the actors resident in memory.
pub(super) fn registry(r: &Registry) -> (IntCounterVec, IntGauge) {
    let lookups = counter(
        r,
        "keywarden_registry_lookups_total",
        "License registry lookups: hit, miss (loaded from the store) or negative (unknown key)",
        &["result"],
    );
    let resident = gauge(
        r,
        "keywarden_resident_licenses",
        "License actors resident in memory",
    );
    (lookups, resident)
}

/// Licenses per environment and state (set at scrape time from the catalog).
pub(super) fn licenses(r: &Registry) -> IntGaugeVec {
    let opts = Opts::new("keywarden_licenses", "Licenses by environment and state");
    registered(
        r,
        IntGaugeVec::new(opts, &["env", "status"]).expect("valid metric"),
    )
}

/// Store calls: latency, failures and the up gauge (up until a call fails).
pub(super) fn store(r: &Registry) -> (HistogramVec, IntCounterVec, IntGauge) {
    let duration = histogram(
        r,
        "keywarden_store_operation_duration_seconds",
        "Store operation latency by backend and operation",
        &["backend", "op"],
        0.000_010,
    );
    let errors = counter(
        r,
        "keywarden_store_errors_total",
        "Store operations that failed, by backend and operation",
        &["backend", "op"],
    );
    let up = gauge(
        r,
        "keywarden_store_up",
        "1 when the last store operation succeeded, 0 after a failure",
    );
    up.set(1);
    (duration, errors, up)
}

/// The write-behind heartbeat flush: lag, batch size and what waits.
pub(super) fn heartbeat(r: &Registry) -> (Gauge, Histogram, IntGauge) {
    let lag = Gauge::new(
        "keywarden_heartbeat_flush_lag_seconds",
        "Age of the oldest heartbeat written by the last flush",
    )
    .expect("valid metric");
    let batch = Histogram::with_opts(
        HistogramOpts::new(
            "keywarden_heartbeat_flush_batch_size",
            "Heartbeats written per flush",
        )
        .buckets(exponential_buckets(1.0, 4.0, 10).expect("valid buckets")),
    )
    .expect("valid metric");
    let pending = gauge(
        r,
        "keywarden_heartbeat_pending",
        "Heartbeats waiting for the next write-behind flush",
    );
    (registered(r, lag), registered(r, batch), pending)
}

/// Refusals and abuse hits. Series that alerts take increase()/rate() of exist
/// from the start, so the first event after a restart is not lost.
pub(super) fn abuse(r: &Registry) -> (IntCounterVec, IntCounterVec) {
    let rate_limited = counter(
        r,
        "keywarden_rate_limited_total",
        "Requests refused with RATE_LIMITED, by scope (ip or license)",
        &["scope"],
    );
    for scope in ["ip", "license", "login"] {
        rate_limited.with_label_values(&[scope]);
    }
    let abuse = counter(
        r,
        "keywarden_abuse_events_total",
        "Abuse rule hits by outcome (flagged, suspended, or updated: an open case grew)",
        &["outcome"],
    );
    for outcome in ["flagged", "suspended", "updated"] {
        abuse.with_label_values(&[outcome]);
    }
    (rate_limited, abuse)
}
