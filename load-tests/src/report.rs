//! Results of load phases: summaries, text tables, JSON and Markdown.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::stats::Stats;

/// The figures of one load phase against one endpoint.
#[derive(Clone, Debug, Serialize)]
pub struct PhaseResult {
    /// `baseline` or `target`.
    pub label: String,
    /// Base URL driven.
    pub url: String,
    /// `closed` or `open` loop.
    pub mode: String,
    /// Open loop: requested total rate, requests/s.
    pub rate: Option<f64>,
    /// Concurrent connections.
    pub connections: usize,
    /// Measured window, seconds.
    pub duration_s: f64,
    /// Responses received in the window.
    pub requests: u64,
    /// Responses per second.
    pub rps: f64,
    /// Latency percentiles and extremes, microseconds.
    pub p50_us: u64,
    /// 90th percentile, µs.
    pub p90_us: u64,
    /// 99th percentile, µs.
    pub p99_us: u64,
    /// 99.9th percentile, µs.
    pub p999_us: u64,
    /// Largest latency, µs.
    pub max_us: u64,
    /// Mean latency, µs.
    pub mean_us: f64,
    /// Counts of answer `code`s.
    pub codes: BTreeMap<String, u64>,
    /// Counts of HTTP statuses.
    pub statuses: BTreeMap<String, u64>,
    /// Requests sent per operation.
    pub ops: BTreeMap<String, u64>,
    /// Requests that carried a nonce.
    pub signed: u64,
    /// Requests sent as MessagePack.
    pub msgpack: u64,
    /// Transport or protocol errors.
    pub errors: u64,
    /// A few error messages.
    pub error_samples: Vec<String>,
    /// Open loop: scheduled sends abandoned because the client fell behind.
    pub unsent: u64,
}

impl PhaseResult {
    /// Summarises merged `stats` over a window of `duration_s` seconds.
    pub fn from_stats(
        label: &str,
        url: &str,
        rate: Option<f64>,
        connections: usize,
        duration_s: f64,
        stats: &Stats,
    ) -> Self {
        let h = &stats.hist;
        let q = |q: f64| {
            if h.is_empty() {
                0
            } else {
                h.value_at_quantile(q)
            }
        };
        Self {
            label: label.to_string(),
            url: url.to_string(),
            mode: if rate.is_some() { "open" } else { "closed" }.to_string(),
            rate,
            connections,
            duration_s,
            requests: stats.responses,
            rps: stats.responses as f64 / duration_s.max(1e-9),
            p50_us: q(0.5),
            p90_us: q(0.9),
            p99_us: q(0.99),
            p999_us: q(0.999),
            max_us: h.max(),
            mean_us: if h.is_empty() { 0.0 } else { h.mean() },
            codes: stats.code_map(),
            statuses: stats.status_map(),
            ops: stats.op_map(),
            signed: stats.signed,
            msgpack: stats.msgpack,
            errors: stats.errors,
            error_samples: stats.error_samples.clone(),
            unsent: stats.unsent,
        }
    }
}

/// A target phase next to its baseline phase of the same shape.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// Scenario name, e.g. `validate`.
    pub scenario: String,
    /// The bare endpoint's figures, when a baseline was given.
    pub baseline: Option<PhaseResult>,
    /// The server's figures.
    pub target: PhaseResult,
    /// target req/s divided by baseline req/s.
    pub ratio: Option<f64>,
}

impl Comparison {
    /// Pairs a target with its (optional) baseline.
    pub fn new(scenario: &str, baseline: Option<PhaseResult>, target: PhaseResult) -> Self {
        let ratio = baseline
            .as_ref()
            .filter(|b| b.rps > 0.0)
            .map(|b| target.rps / b.rps);
        Self {
            scenario: scenario.to_string(),
            baseline,
            target,
            ratio,
        }
    }

    /// A plain-text table of both phases.
    pub fn text(&self) -> String {
        let t = &self.target;
        let mut out = String::new();
        let shape = match t.rate {
            Some(r) => format!("open loop at {r:.0} req/s"),
            None => "closed loop".to_string(),
        };
        let _ = writeln!(
            out,
            "\n== {} ({shape}, {} connections, {:.1} s) ==",
            self.scenario, t.connections, t.duration_s
        );
        let _ = writeln!(
            out,
            "{:<9} {:<24} {:>10} {:>11} {:>8} {:>8} {:>9} {:>9} {:>7}",
            "", "url", "requests", "req/s", "p50 µs", "p99 µs", "p999 µs", "max µs", "errors"
        );
        for p in self.baseline.iter().chain(std::iter::once(t)) {
            let _ = writeln!(
                out,
                "{:<9} {:<24} {:>10} {:>11.0} {:>8} {:>8} {:>9} {:>9} {:>7}",
                p.label,
                p.url,
                p.requests,
                p.rps,
                p.p50_us,
                p.p99_us,
                p.p999_us,
                p.max_us,
                p.errors
            );
        }
        if let Some(r) = self.ratio {
            let _ = writeln!(out, "ratio target/baseline req/s: {r:.3}");
        }
        for p in self.baseline.iter().chain(std::iter::once(t)) {
            let _ = writeln!(out, "{:<9} codes:    {}", p.label, join(&p.codes));
            let _ = writeln!(out, "{:<9} statuses: {}", p.label, join(&p.statuses));
            let _ = writeln!(
                out,
                "{:<9} sent:     {} (signed {}, msgpack {})",
                p.label,
                join(&p.ops),
                p.signed,
                p.msgpack
            );
            if p.unsent > 0 {
                let _ = writeln!(
                    out,
                    "{:<9} unsent:   {} (client fell behind)",
                    p.label, p.unsent
                );
            }
            for e in &p.error_samples {
                let _ = writeln!(out, "{:<9} error:    {e}", p.label);
            }
        }
        out
    }
}

/// `A=1, B=2`, or `-` when empty.
pub fn join(map: &BTreeMap<String, u64>) -> String {
    if map.is_empty() {
        return "-".into();
    }
    map.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes `value` as pretty JSON to `path`.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    std::fs::write(path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))
}

/// One Markdown table row per phase of each comparison.
pub fn markdown_rows(comparisons: &[Comparison]) -> String {
    let mut out = String::from(
        "| scenario | endpoint | mode | req/s | vs bare | p50 µs | p99 µs | p99.9 µs | errors + non-2xx | answers |\n\
         |---|---|---|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for c in comparisons {
        for p in c.baseline.iter().chain(std::iter::once(&c.target)) {
            let mode = match p.rate {
                Some(r) => format!("open {r:.0}/s"),
                None => "closed".into(),
            };
            let ratio = match (p.label.as_str(), c.ratio) {
                ("target", Some(r)) => format!("{r:.2}"),
                _ => String::new(),
            };
            let endpoint = if p.label == "baseline" {
                "bare"
            } else {
                "keywarden"
            };
            let errors = p.errors
                + p.statuses
                    .iter()
                    .filter(|(s, _)| !s.starts_with('2'))
                    .map(|(_, n)| n)
                    .sum::<u64>();
            let _ = writeln!(
                out,
                "| {} | {endpoint} | {mode} | {:.0} | {ratio} | {} | {} | {} | {errors} | {} |",
                c.scenario,
                p.rps,
                p.p50_us,
                p.p99_us,
                p.p999_us,
                join(&p.codes)
            );
        }
    }
    out
}
