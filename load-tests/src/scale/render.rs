//! The Markdown table with its extrapolation line, the progress line of a
//! size, and `scale.svg` (figures against the license count).

use std::fmt::Write as _;

use super::output::{ScaleReport, Step};
use super::EXTRAPOLATE_TO;
use crate::timeline::{self, Chart};

const MIB: f64 = 1024.0 * 1024.0;

fn mib(kib: Option<u64>) -> String {
    kib.map_or("-".into(), |k| format!("{:.0}", k as f64 / 1024.0))
}

/// `100k`, `1M`, `2.5M`, `999`.
pub fn count_label(n: f64) -> String {
    if n >= 1e6 {
        format!("{}M", trim(n / 1e6))
    } else if n >= 1e3 {
        format!("{}k", trim(n / 1e3))
    } else {
        format!("{n:.0}")
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// One line per size, printed as the run goes.
pub fn step_line(s: &Step) -> String {
    format!(
        "scale: {} licenses: start-up {:.2} s, RSS {} MiB, indexed {} MiB, first page {:.1} ms (first call {:.0} ms), validate {:.0} req/s (p99 {} µs), RSS {} MiB after",
        s.licenses,
        s.startup_seconds,
        mib(s.rss_start_kib),
        mib(s.rss_indexed_kib),
        s.listing.median_ms,
        first_call(s),
        s.validate.rps,
        s.validate.p99_us,
        mib(s.rss_after_validate_kib)
    )
}

/// The first call of the searched first page after start, ms (it waits for the catalog).
fn first_call(s: &Step) -> f64 {
    s.listing.samples_ms.first().copied().unwrap_or(0.0)
}

/// The Markdown table and the extrapolation line.
pub fn markdown(r: &ScaleReport) -> String {
    let mut out = String::from(
        "| licenses | start-up (s) | RSS after start (MiB) | RSS indexed (MiB) | first page after start (ms) | first page, searched (ms, median) | validate req/s | p50 / p99 µs | RSS after validate (MiB) | data on disk (MiB) | of it mails (files) |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for s in &r.steps {
        let _ = writeln!(
            out,
            "| {} | {:.2} | {} | {} | {:.0} | {:.1} | {:.0} | {} / {} | {} | {:.0} | {:.0} ({}) |",
            s.licenses,
            s.startup_seconds,
            mib(s.rss_start_kib),
            mib(s.rss_indexed_kib),
            first_call(s),
            s.listing.median_ms,
            s.validate.rps,
            s.validate.p50_us,
            s.validate.p99_us,
            mib(s.rss_after_validate_kib),
            s.data_dir_bytes as f64 / MIB,
            s.outbox.allocated_bytes as f64 / MIB,
            s.outbox.files
        );
    }
    out.push('\n');
    out.push_str(&extrapolation_line(r));
    out.push('\n');
    out
}

/// `Linear fit ... → 10,000,000 licenses: ...`, or why there is none.
pub fn extrapolation_line(r: &ScaleReport) -> String {
    let (f, e) = (&r.fits, &r.extrapolation);
    let (Some(rss), Some(up)) = (f.rss_indexed_kib, f.startup_seconds) else {
        return "Extrapolation: needs at least two sizes.".into();
    };
    let mut parts = vec![
        format!(
            "RSS indexed ≈ {:.0} MiB + {:.0} B/license (r² {:.3})",
            rss.intercept / 1024.0,
            rss.slope * 1024.0,
            rss.r2
        ),
        format!(
            "start-up ≈ {:.2} s + {:.2} µs/license (r² {:.3})",
            up.intercept,
            up.slope * 1e6,
            up.r2
        ),
    ];
    let mut at = vec![
        format!(
            "RSS indexed ≈ {:.1} GiB",
            e.rss_indexed_mib.unwrap_or(0.0) / 1024.0
        ),
        format!(
            "start-up ≈ {:.0} s",
            e.startup_seconds.unwrap_or(0.0).max(0.0)
        ),
    ];
    if let (Some(d), Some(gib)) = (f.data_dir_bytes, e.data_dir_gib) {
        parts.push(format!("data ≈ {:.0} B/license", d.slope));
        at.push(format!("data ≈ {gib:.1} GiB"));
    }
    if let Some(ms) = e.listing_median_ms {
        at.push(format!("searched first page ≈ {ms:.0} ms"));
    }
    format!(
        "Least-squares linear fit over {} sizes: {}. At {} licenses: **{}**.",
        r.steps.len(),
        parts.join("; "),
        EXTRAPOLATE_TO,
        at.join(", ")
    )
}

/// Resident memory, start-up, first page and validate throughput against the license count.
pub fn svg(r: &ScaleReport) -> String {
    let xs: Vec<f64> = r.steps.iter().map(|s| s.licenses as f64).collect();
    let col = |f: &dyn Fn(&Step) -> f64| r.steps.iter().map(f).collect::<Vec<f64>>();
    let kib = |k: Option<u64>| k.unwrap_or(0) as f64 / 1024.0;
    let rss_start = col(&|s| kib(s.rss_start_kib));
    let rss_indexed = col(&|s| kib(s.rss_indexed_kib));
    let rss_after = col(&|s| kib(s.rss_after_validate_kib));
    let startup = col(&|s| s.startup_seconds);
    let page = col(&|s| s.listing.median_ms);
    let rps = col(&|s| s.validate.rps);
    let label = |x: f64| count_label(x);
    let chart = |label_text, series| Chart {
        label: label_text,
        xs: &xs,
        x_label: &label,
        series,
    };
    let subtitle = format!(
        "{} · {} · validate {:.0} s closed loop, {} connections, uniform keys",
        r.date, r.server.bin, r.settings.validate_duration_s, r.settings.connections
    );
    timeline::svg_charts(
        "keywarden scale: figures vs licenses",
        &subtitle,
        &[
            chart(
                "resident memory (MiB)",
                &[
                    ("after start", "#1f77b4", &rss_start),
                    ("indexed", "#17becf", &rss_indexed),
                    ("after validate", "#ff7f0e", &rss_after),
                ],
            ),
            chart(
                "start-up to /readyz 200 (s)",
                &[("start-up", "#2ca02c", &startup)],
            ),
            chart(
                "License Keys first page, searched (ms, median)",
                &[("first page", "#9467bd", &page)],
            ),
            chart("validate throughput (req/s)", &[("req/s", "#d62728", &rps)]),
        ],
    )
}
