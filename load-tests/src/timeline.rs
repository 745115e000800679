//! Figures over time: 1-second buckets of throughput and latency, and a
//! self-contained SVG report drawing them.

use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest latency tracked: 60 s in microseconds.
const MAX_LATENCY_US: u64 = 60_000_000;

/// Index of the 1-second bucket that `offset` (from the window start) falls in.
pub fn bucket_index(offset: Duration) -> usize {
    offset.as_secs() as usize
}

/// Number of 1-second buckets covering a window of `duration` (a partial last
/// second gets its own bucket).
pub fn bucket_count(duration: Duration) -> usize {
    let n = duration.as_secs() as usize;
    if duration.subsec_nanos() > 0 {
        n + 1
    } else {
        n.max(1)
    }
}

/// Latencies recorded per 1-second bucket of a measured window.
pub struct Timeline {
    buckets: Vec<Histogram<u64>>,
    /// Seconds covered by each bucket (the last one may be partial).
    widths: Vec<f64>,
}

impl Timeline {
    /// Empty buckets covering a window of `duration`.
    pub fn new(duration: Duration) -> Self {
        let n = bucket_count(duration);
        let total = duration.as_secs_f64();
        let widths = (0..n)
            .map(|i| (total - i as f64).clamp(0.0, 1.0))
            .map(|w| if w > 0.0 { w } else { 1.0 })
            .collect();
        Self {
            buckets: (0..n).map(|_| new_hist()).collect(),
            widths,
        }
    }

    /// Records an answer whose send was due `offset` after the window start;
    /// answers outside the window are ignored (returns whether it counted).
    pub fn record(&mut self, offset: Duration, latency_us: u64) -> bool {
        match self.buckets.get_mut(bucket_index(offset)) {
            Some(h) => {
                h.saturating_record(latency_us.max(1));
                true
            }
            None => false,
        }
    }

    /// Adds `other` (same window) into `self`.
    pub fn merge(&mut self, other: &Timeline) {
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            mine.add(theirs).expect("same histogram bounds");
        }
    }

    /// One summary per bucket.
    pub fn points(&self) -> Vec<Bucket> {
        self.buckets
            .iter()
            .zip(&self.widths)
            .enumerate()
            .map(|(i, (h, w))| {
                let n = h.len();
                let q = |q: f64| if n == 0 { 0 } else { h.value_at_quantile(q) };
                Bucket {
                    second: i,
                    requests: n,
                    rps: n as f64 / w,
                    p50_us: q(0.50),
                    p99_us: q(0.99),
                }
            })
            .collect()
    }
}

fn new_hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("histogram bounds")
}

/// The figures of one second of the window.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Bucket {
    /// Seconds since the window start.
    pub second: usize,
    /// Answers whose send was due in this second.
    pub requests: u64,
    /// Answers per second.
    pub rps: f64,
    /// Median latency, µs.
    pub p50_us: u64,
    /// 99th-percentile latency, µs.
    pub p99_us: u64,
}

const WIDTH: f64 = 720.0;
const CHART_H: f64 = 220.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const GAP: f64 = 70.0;

/// A self-contained SVG with two charts over time: throughput (req/s) and
/// p50/p99 latency (ms). `subtitle` is printed under the title.
pub fn svg(title: &str, subtitle: &str, points: &[Bucket]) -> String {
    let xs: Vec<f64> = (0..points.len()).map(|i| i as f64).collect();
    let rps: Vec<f64> = points.iter().map(|p| p.rps).collect();
    let p50: Vec<f64> = points.iter().map(|p| p.p50_us as f64 / 1000.0).collect();
    let p99: Vec<f64> = points.iter().map(|p| p.p99_us as f64 / 1000.0).collect();
    let seconds = |x: f64| format!("{x:.0}s");
    svg_charts(
        title,
        subtitle,
        &[
            Chart {
                label: "throughput (req/s)",
                xs: &xs,
                x_label: &seconds,
                series: &[("req/s", "#1f77b4", &rps)],
            },
            Chart {
                label: "latency (ms)",
                xs: &xs,
                x_label: &seconds,
                series: &[("p50", "#2ca02c", &p50), ("p99", "#d62728", &p99)],
            },
        ],
    )
}

/// One line chart of an SVG report.
pub struct Chart<'a> {
    /// Printed above the chart (what the y axis measures).
    pub label: &'a str,
    /// x of each point (ascending); points are placed in proportion.
    pub xs: &'a [f64],
    /// Tick label of an x value.
    pub x_label: &'a dyn Fn(f64) -> String,
    /// (name, colour, one value per x).
    pub series: &'a [(&'a str, &'a str, &'a [f64])],
}

/// A self-contained SVG (no external assets) with `charts` one under another.
pub fn svg_charts(title: &str, subtitle: &str, charts: &[Chart<'_>]) -> String {
    let n = charts.len() as f64;
    let height = TOP + n * CHART_H + (n - 1.0).max(0.0) * GAP + 50.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{LEFT}" y="18" font-size="15" font-weight="bold">{}</text>
<text x="{LEFT}" y="33" fill="#555">{}</text>"##,
        escape(title),
        escape(subtitle)
    );
    for (i, c) in charts.iter().enumerate() {
        chart(&mut s, TOP + 10.0 + i as f64 * (CHART_H + GAP), c);
    }
    s.push_str("</svg>\n");
    s
}

/// One chart with its axes, grid and one polyline per series.
fn chart(s: &mut String, top: f64, c: &Chart<'_>) {
    let plot_w = WIDTH - LEFT - RIGHT;
    let bottom = top + CHART_H;
    let n = c.xs.len();
    let max = c
        .series
        .iter()
        .flat_map(|(_, _, v)| v.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let y_max = nice_ceiling(max);
    let (x_min, x_max) = match (c.xs.first(), c.xs.last()) {
        (Some(a), Some(b)) => (*a, *b),
        _ => (0.0, 0.0),
    };
    let x_of = |i: usize| {
        if n <= 1 || x_max <= x_min {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * (c.xs[i] - x_min) / (x_max - x_min)
        }
    };
    let y_of = |v: f64| bottom - CHART_H * (v.max(0.0) / y_max).min(1.0);
    let _ = writeln!(
        s,
        r##"<g class="chart"><text x="{LEFT}" y="{:.1}" font-weight="bold">{}</text>"##,
        top - 6.0,
        escape(c.label)
    );
    for k in 0..=4 {
        let v = y_max * k as f64 / 4.0;
        let y = y_of(v);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + plot_w,
            LEFT - 6.0,
            y + 4.0,
            fmt_value(v)
        );
    }
    let ticks = n.min(10);
    for k in 0..ticks {
        let i = if ticks <= 1 {
            0
        } else {
            k * (n - 1) / (ticks - 1)
        };
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            x_of(i),
            bottom + 16.0,
            escape(&(c.x_label)(c.xs[i]))
        );
    }
    let _ = writeln!(
        s,
        r##"<line x1="{LEFT}" y1="{bottom:.1}" x2="{:.1}" y2="{bottom:.1}" stroke="#333"/><line x1="{LEFT}" y1="{top:.1}" x2="{LEFT}" y2="{bottom:.1}" stroke="#333"/>"##,
        LEFT + plot_w
    );
    for (j, (name, color, values)) in c.series.iter().enumerate() {
        let pts: Vec<String> = values
            .iter()
            .take(n)
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x_of(i), y_of(*v)))
            .collect();
        let _ = writeln!(
            s,
            r##"<polyline class="series" data-name="{}" fill="none" stroke="{color}" stroke-width="2" points="{}"/>"##,
            escape(name),
            pts.join(" ")
        );
        let lx = LEFT + plot_w - 90.0 * c.series.len() as f64 + 90.0 * j as f64;
        let _ = writeln!(
            s,
            r##"<rect x="{lx:.1}" y="{:.1}" width="10" height="10" fill="{color}"/><text x="{:.1}" y="{:.1}">{}</text>"##,
            top - 16.0,
            lx + 14.0,
            top - 7.0,
            escape(name)
        );
    }
    s.push_str("</g>\n");
}

/// A round number at least `v` (1, 2 or 5 times a power of ten).
fn nice_ceiling(v: f64) -> f64 {
    if !(v.is_finite() && v > 0.0) {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * p)
}

fn fmt_value(v: f64) -> String {
    if v >= 100.0 || v == 0.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_by_whole_seconds() {
        assert_eq!(bucket_index(Duration::ZERO), 0);
        assert_eq!(bucket_index(Duration::from_millis(999)), 0);
        assert_eq!(bucket_index(Duration::from_millis(1000)), 1);
        assert_eq!(bucket_index(Duration::from_millis(4500)), 4);
        assert_eq!(bucket_count(Duration::from_secs(5)), 5);
        assert_eq!(bucket_count(Duration::from_millis(5500)), 6);
        assert_eq!(bucket_count(Duration::from_millis(300)), 1);

        let mut t = Timeline::new(Duration::from_secs(3));
        assert!(t.record(Duration::from_millis(10), 100));
        assert!(t.record(Duration::from_millis(900), 300));
        assert!(t.record(Duration::from_millis(2100), 5000));
        assert!(!t.record(Duration::from_millis(3000), 1));
        let mut other = Timeline::new(Duration::from_secs(3));
        other.record(Duration::from_millis(1500), 200);
        t.merge(&other);
        let p = t.points();
        assert_eq!(p.len(), 3);
        assert_eq!(p.iter().map(|b| b.requests).collect::<Vec<_>>(), [2, 1, 1]);
        assert_eq!(p[0].rps, 2.0);
        assert!((99..=101).contains(&p[0].p50_us));
        assert!((299..=301).contains(&p[0].p99_us));
        assert!((4990..=5010).contains(&p[2].p99_us));
    }

    #[test]
    fn partial_last_second_is_scaled() {
        let mut t = Timeline::new(Duration::from_millis(1500));
        t.record(Duration::from_millis(1200), 10);
        let p = t.points();
        assert_eq!(p.len(), 2);
        assert_eq!(p[1].rps, 2.0);
    }

    #[test]
    fn svg_has_two_charts_with_a_point_per_bucket() {
        let points: Vec<Bucket> = (0..7)
            .map(|i| Bucket {
                second: i,
                requests: 100 * i as u64,
                rps: 100.0 * i as f64,
                p50_us: 500 + i as u64,
                p99_us: 2000 + 10 * i as u64,
            })
            .collect();
        let svg = svg("heartbeat-storm <test>", "rate & more", &points);
        assert!(svg.starts_with("<?xml"));
        assert!(svg.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("heartbeat-storm &lt;test&gt;"));
        assert!(svg.contains("rate &amp; more"));
        assert!(!svg.contains("href"), "no external assets");
        assert_eq!(svg.matches("<g class=\"chart\">").count(), 2);
        assert_eq!(svg.matches("<g ").count(), svg.matches("</g>").count());
        let lines: Vec<&str> = svg
            .lines()
            .filter(|l| l.contains("<polyline class=\"series\""))
            .collect();
        assert_eq!(lines.len(), 3, "req/s, p50, p99");
        for l in &lines {
            let pts = l
                .split("points=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            let pairs: Vec<&str> = pts.split(' ').collect();
            assert_eq!(pairs.len(), 7);
            for pair in pairs {
                let (x, y) = pair.split_once(',').unwrap();
                let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
                assert!((0.0..=WIDTH).contains(&x) && y >= 0.0);
            }
        }
        // An empty run still gives a well-formed document.
        let empty = super::svg("x", "", &[]);
        assert!(empty.contains("points=\"\""));
        assert!(empty.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(3.2), 5.0);
        assert_eq!(nice_ceiling(4800.0), 5000.0);
        assert_eq!(nice_ceiling(100.0), 100.0);
    }
}
