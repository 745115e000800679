//! Tests of the fit, the extrapolation, the Markdown, the SVG and the JSON shape.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use super::output::{Fit, ScaleReport, Step};
use super::render::{self as output, count_label};
use super::server::{DiskUsage, Listing};
use super::{check_sizes, ScaleArgs, EXTRAPOLATE_TO};
use crate::report::PhaseResult;
use crate::stats::Stats;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: ScaleArgs,
}

fn args(extra: &[&str]) -> ScaleArgs {
    let mut argv = vec![
        "t",
        "--server-bin",
        "/nonexistent/keywarden",
        "--data-dir",
        "/tmp/x",
    ];
    argv.extend_from_slice(extra);
    Cli::try_parse_from(argv).unwrap().args
}

/// A step whose figures grow linearly: RSS 100 MiB + 200 B/license,
/// start-up 0.4 s + 2 µs/license, data 300 B/license.
fn step(licenses: usize) -> Step {
    let n = licenses as f64;
    let mut stats = Stats::new();
    stats.record(800, 200, Some("VALID"));
    Step {
        licenses,
        seed_seconds: n / 30_000.0,
        activation_rps: 2500.0,
        activation_codes: BTreeMap::from([("VALID".to_string(), licenses as u64)]),
        stop_seconds: 0.2,
        startup_seconds: 0.4 + 2e-6 * n,
        rss_start_kib: Some(50_000),
        rss_indexed_kib: Some(((100.0 * 1024.0 * 1024.0 + 200.0 * n) / 1024.0) as u64),
        listing: Listing {
            path: "/admin/api/v1/production/licenses?q=AB".into(),
            total: Some(licenses as u64 / 500),
            rows: 25,
            samples_ms: vec![3.0, 1.0, 2.0],
            median_ms: 1.0 + n / 100_000.0,
        },
        validate: PhaseResult::from_stats("validate", "http://127.0.0.1:1", None, 64, 1.0, &stats),
        rss_after_validate_kib: Some(500_000),
        data_dir_bytes: (300.0 * n) as u64,
        data_dir: DiskUsage {
            files: 5 + licenses as u64,
            apparent_bytes: (400.0 * n) as u64,
            allocated_bytes: (300.0 * n) as u64,
        },
        outbox: DiskUsage {
            files: licenses as u64,
            apparent_bytes: (100.0 * n) as u64,
            allocated_bytes: (100.0 * n) as u64,
        },
    }
}

fn report(sizes: &[usize]) -> ScaleReport {
    let a = args(&[]);
    let mut r = ScaleReport::new(&a);
    r.steps = sizes.iter().map(|&n| step(n)).collect();
    r.finish();
    r
}

#[test]
fn least_squares_recovers_a_line() {
    let f = Fit::least_squares(&[(1.0, 5.0), (2.0, 7.0), (4.0, 11.0)]).unwrap();
    assert!((f.slope - 2.0).abs() < 1e-12 && (f.intercept - 3.0).abs() < 1e-12);
    assert!((f.r2 - 1.0).abs() < 1e-12);
    assert!((f.at(10.0) - 23.0).abs() < 1e-9);
    // Noisy points: the slope of the textbook example.
    let f = Fit::least_squares(&[(0.0, 1.0), (1.0, 3.0), (2.0, 2.0), (3.0, 5.0)]).unwrap();
    assert!((f.slope - 1.1).abs() < 1e-12 && (f.intercept - 1.1).abs() < 1e-12);
    assert!(f.r2 > 0.0 && f.r2 < 1.0);
    // Flat line: r² 1, slope 0.
    let f = Fit::least_squares(&[(1.0, 4.0), (3.0, 4.0)]).unwrap();
    assert_eq!((f.slope, f.intercept, f.r2), (0.0, 4.0, 1.0));
}

#[test]
fn least_squares_needs_two_distinct_sizes() {
    assert!(Fit::least_squares(&[]).is_none());
    assert!(Fit::least_squares(&[(1.0, 2.0)]).is_none());
    assert!(Fit::least_squares(&[(1.0, 2.0), (1.0, 3.0)]).is_none());
    assert!(Fit::least_squares(&[(1.0, f64::NAN), (2.0, 3.0)]).is_none());
}

#[test]
fn extrapolates_to_ten_million() {
    let r = report(&[100_000, 300_000, 1_000_000]);
    let e = &r.extrapolation;
    assert_eq!(e.licenses, EXTRAPOLATE_TO);
    // 100 MiB + 200 B × 10M = 100 MiB + 1907.3 MiB.
    let rss = e.rss_indexed_mib.unwrap();
    assert!((rss - (100.0 + 2e9 / 1048576.0)).abs() < 0.1, "{rss}");
    assert!((e.startup_seconds.unwrap() - 20.4).abs() < 1e-6);
    assert!((e.listing_median_ms.unwrap() - 101.0).abs() < 1e-6);
    assert!((e.data_dir_gib.unwrap() - 3e9 / 1073741824.0).abs() < 1e-6);
    let line = output::extrapolation_line(&r);
    assert!(line.contains("over 3 sizes"), "{line}");
    assert!(line.contains("+ 200 B/license"), "{line}");
    assert!(line.contains("+ 2.00 µs/license"), "{line}");
    assert!(
        line.contains("At 10000000 licenses: **RSS indexed ≈ 2.0 GiB, start-up ≈ 20 s"),
        "{line}"
    );
    // One size: no fit, and the line says so.
    let one = report(&[10_000]);
    assert!(one.fits.rss_indexed_kib.is_none() && one.extrapolation.rss_indexed_mib.is_none());
    assert!(output::extrapolation_line(&one).contains("at least two sizes"));
}

#[test]
fn markdown_has_a_row_per_size() {
    let r = report(&[10_000, 30_000]);
    let rows: Vec<&str> = r.markdown.lines().filter(|l| l.starts_with("| ")).collect();
    assert_eq!(rows.len(), 3, "{}", r.markdown);
    assert!(
        rows[1].starts_with(
            "| 10000 | 0.42 | 49 | 102 | 3 | 1.1 | 1 | 800 / 800 | 488 | 3 | 1 (10000) |"
        ),
        "{}",
        rows[1]
    );
    assert!(r.markdown.contains("Least-squares linear fit over 2 sizes"));
}

#[test]
fn json_shape() {
    let r = report(&[10_000, 30_000]);
    let v = serde_json::to_value(&r).unwrap();
    for field in [
        "date",
        "machine",
        "server",
        "settings",
        "steps",
        "fits",
        "extrapolation",
        "markdown",
    ] {
        assert!(v.get(field).is_some(), "missing {field}");
    }
    assert_eq!(v["server"]["bin"], "/nonexistent/keywarden");
    assert!(v["server"].get("commit").is_some() && v["server"].get("version").is_some());
    assert_eq!(
        v["settings"]["sizes"],
        serde_json::json!([100_000, 300_000, 1_000_000])
    );
    assert_eq!(v["settings"]["connections"], 64);
    assert_eq!(v["settings"]["validate_duration_s"], 10.0);
    let step = &v["steps"][1];
    for field in [
        "licenses",
        "seed_seconds",
        "activation_rps",
        "activation_codes",
        "stop_seconds",
        "startup_seconds",
        "rss_start_kib",
        "rss_indexed_kib",
        "listing",
        "validate",
        "rss_after_validate_kib",
        "data_dir_bytes",
        "data_dir",
        "outbox",
    ] {
        assert!(step.get(field).is_some(), "missing steps[].{field}");
    }
    assert_eq!(step["licenses"], 30_000);
    assert_eq!(step["listing"]["median_ms"], 1.3);
    assert!(step["validate"]["rps"].is_number() && step["validate"]["p99_us"].is_number());
    for fit in [
        "rss_indexed_kib",
        "startup_seconds",
        "listing_median_ms",
        "data_dir_bytes",
    ] {
        assert!(v["fits"][fit]["slope"].is_number(), "fits.{fit}");
    }
    assert_eq!(v["extrapolation"]["licenses"], 10_000_000);
    assert!(v["extrapolation"]["rss_indexed_mib"].is_number());
}

#[test]
fn svg_draws_four_charts_against_the_license_count() {
    let r = report(&[100_000, 300_000, 1_000_000]);
    let svg = output::svg(&r);
    assert!(svg.starts_with("<?xml") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<g class=\"chart\">").count(), 4);
    assert_eq!(svg.matches("<polyline class=\"series\"").count(), 6);
    for label in [">100k<", ">300k<", ">1M<"] {
        assert!(svg.contains(label), "{label}");
    }
    // x in proportion to the count: 300k is 2/9 of the way from 100k to 1M.
    let line = svg
        .lines()
        .find(|l| l.contains("data-name=\"start-up\""))
        .unwrap();
    let xs: Vec<f64> = line
        .split("points=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .split(' ')
        .map(|p| p.split_once(',').unwrap().0.parse().unwrap())
        .collect();
    let frac = (xs[1] - xs[0]) / (xs[2] - xs[0]);
    assert!((frac - 2.0 / 9.0).abs() < 0.01, "{frac}");
}

#[test]
fn options_and_sizes() {
    let a = args(&[]);
    assert_eq!(a.sizes, [100_000, 300_000, 1_000_000]);
    assert_eq!(a.out_dir, PathBuf::from("docs/load-reports"));
    assert_eq!((a.duration, a.connections), (Duration::from_secs(10), 64));
    let a = args(&["--sizes", "10000,30000", "--duration", "2s"]);
    assert_eq!(a.sizes, [10_000, 30_000]);
    assert!(a.check().is_ok());
    assert!(check_sizes(&[]).is_err());
    assert!(check_sizes(&[0, 10]).is_err());
    assert!(check_sizes(&[30, 10]).is_err());
    assert!(check_sizes(&[10, 10]).is_err());
    assert_eq!(count_label(100_000.0), "100k");
    assert_eq!(count_label(2_500_000.0), "2.5M");
    assert_eq!(count_label(999.0), "999");
}
