//! What `scale` writes: `scale.json` (every figure per size, the fits and the
//! extrapolation), `scale.svg` (figures against the license count) and a
//! Markdown table with the extrapolation line.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde::Serialize;

use super::server::{DiskUsage, Listing};
use super::{render, ScaleArgs, EXTRAPOLATE_TO};
use crate::bench::Machine;
use crate::report::{self, PhaseResult};

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// The figures at one license count.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    /// Licenses in the store (each activated once as `dev-0`).
    pub licenses: usize,
    /// Seconds spent creating the licenses added for this size.
    pub seed_seconds: f64,
    /// Activations per second of the licenses added for this size.
    pub activation_rps: f64,
    /// Answer codes of those activations.
    pub activation_codes: BTreeMap<String, u64>,
    /// Graceful stop of the seeding server before the measured start, seconds.
    pub stop_seconds: f64,
    /// Process spawn until `GET /readyz` answered 200, seconds.
    pub startup_seconds: f64,
    /// VmRSS right after ready, KiB.
    pub rss_start_kib: Option<u64>,
    /// The searched, filtered, sorted License Keys first page (its first call
    /// waits for the catalog, which loads in the background after start).
    pub listing: Listing,
    /// VmRSS once the catalog is loaded (after the first page), KiB: what a
    /// node holding this many licenses needs before any is resident.
    pub rss_indexed_kib: Option<u64>,
    /// Closed-loop validate, keys uniform over every license.
    pub validate: PhaseResult,
    /// VmRSS after the validate window, KiB.
    pub rss_after_validate_kib: Option<u64>,
    /// Bytes allocated to the data directory's files (store and mail outbox).
    pub data_dir_bytes: u64,
    /// The whole data directory.
    pub data_dir: DiskUsage,
    /// Its mail outbox (`outbox/`: a mail file per activation notice).
    pub outbox: DiskUsage,
}

/// A least-squares line `y = intercept + slope × licenses`.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct Fit {
    /// y at zero licenses.
    pub intercept: f64,
    /// y per license.
    pub slope: f64,
    /// Coefficient of determination (1 = a perfect line).
    pub r2: f64,
}

impl Fit {
    /// The least-squares line through `points` (x, y); `None` with fewer than
    /// two distinct x or a non-finite value.
    pub fn least_squares(points: &[(f64, f64)]) -> Option<Fit> {
        let n = points.len() as f64;
        if points.iter().any(|(x, y)| !x.is_finite() || !y.is_finite()) {
            return None;
        }
        let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
        let my = points.iter().map(|p| p.1).sum::<f64>() / n;
        let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let syy: f64 = points.iter().map(|p| (p.1 - my).powi(2)).sum();
        if points.len() < 2 || sxx <= 0.0 {
            return None;
        }
        let slope = sxy / sxx;
        let r2 = if syy > 0.0 {
            (sxy * sxy) / (sxx * syy)
        } else {
            1.0
        };
        Some(Fit {
            intercept: my - slope * mx,
            slope,
            r2,
        })
    }

    /// y at `licenses`.
    pub fn at(&self, licenses: f64) -> f64 {
        self.intercept + self.slope * licenses
    }
}

/// The fits of the figures that grow with the license count.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Fits {
    /// VmRSS once the catalog is loaded, KiB.
    pub rss_indexed_kib: Option<Fit>,
    /// Start-up, seconds.
    pub startup_seconds: Option<Fit>,
    /// Median searched first page, ms.
    pub listing_median_ms: Option<Fit>,
    /// Data directory, bytes.
    pub data_dir_bytes: Option<Fit>,
}

/// The fits evaluated at [`EXTRAPOLATE_TO`] licenses.
#[derive(Clone, Debug, Serialize)]
pub struct Extrapolation {
    /// The license count.
    pub licenses: usize,
    /// VmRSS once the catalog is loaded, MiB.
    pub rss_indexed_mib: Option<f64>,
    /// Start-up, seconds.
    pub startup_seconds: Option<f64>,
    /// Median searched first page, ms.
    pub listing_median_ms: Option<f64>,
    /// Data directory, GiB.
    pub data_dir_gib: Option<f64>,
}

/// The server measured.
#[derive(Clone, Debug, Serialize)]
pub struct ServerInfo {
    /// The binary's path (canonical when it exists).
    pub bin: String,
    /// `keywarden --version`.
    pub version: Option<String>,
    /// Git commit it was built from, if known.
    pub commit: Option<String>,
    /// Where `commit` comes from.
    pub commit_source: String,
}

/// How the run was shaped.
#[derive(Clone, Debug, Serialize)]
pub struct Settings {
    /// License counts asked for.
    pub sizes: Vec<usize>,
    /// Validate window, seconds.
    pub validate_duration_s: f64,
    /// Warm-up before it, seconds.
    pub warmup_s: f64,
    /// Connections.
    pub connections: usize,
    /// Key choice of the validate window.
    pub keys: String,
    /// Searched first page calls per size.
    pub listing_calls: usize,
    /// The data directory grown through the sizes.
    pub data_dir: String,
}

/// Everything `scale.json` holds.
#[derive(Clone, Debug, Serialize)]
pub struct ScaleReport {
    /// UTC date and time of the run.
    pub date: String,
    /// Where the figures come from.
    pub machine: Machine,
    /// The server binary.
    pub server: ServerInfo,
    /// The run's options.
    pub settings: Settings,
    /// One entry per size measured so far.
    pub steps: Vec<Step>,
    /// Linear fits against the license count (`null` below two sizes).
    pub fits: Fits,
    /// The fits at 10,000,000 licenses.
    pub extrapolation: Extrapolation,
    /// The Markdown table and extrapolation line.
    pub markdown: String,
}

fn command_line(program: &Path, args: &[&str], dir: Option<&Path>) -> Option<String> {
    let mut cmd = Command::new(program);
    cmd.args(args);
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    let out = cmd.output().ok().filter(|o| o.status.success())?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!text.is_empty()).then_some(text)
}

impl ServerInfo {
    fn detect(args: &ScaleArgs) -> Self {
        let bin = std::fs::canonicalize(&args.server_bin).unwrap_or(args.server_bin.clone());
        let version = command_line(&bin, &["--version"], None);
        let (commit, commit_source) = match &args.server_commit {
            Some(c) => (Some(c.clone()), "--server-commit".to_string()),
            None => {
                let cwd = std::env::current_dir().unwrap_or_default();
                let git = Path::new("git");
                let head = command_line(git, &["rev-parse", "HEAD"], Some(&cwd));
                let source = format!("HEAD of {} (not checked against the binary)", cwd.display());
                (head, source)
            }
        };
        Self {
            bin: bin.display().to_string(),
            version,
            commit,
            commit_source,
        }
    }
}

impl ScaleReport {
    /// An empty report for `args`, with the machine and server facts.
    pub fn new(args: &ScaleArgs) -> Self {
        let date = command_line(Path::new("date"), &["-u", "+%Y-%m-%dT%H:%M:%SZ"], None);
        Self {
            date: date.unwrap_or_default(),
            machine: Machine::detect(),
            server: ServerInfo::detect(args),
            settings: Settings {
                sizes: args.sizes.clone(),
                validate_duration_s: args.duration.as_secs_f64(),
                warmup_s: args.warmup.as_secs_f64(),
                connections: args.connections,
                keys: if args.no_activate {
                    "uniform over every license, none activated (--no-activate)".into()
                } else {
                    "uniform over every license, each activated once as dev-0".into()
                },
                listing_calls: args.listing_calls,
                data_dir: args.data_dir.display().to_string(),
            },
            steps: Vec::new(),
            fits: Fits::default(),
            extrapolation: extrapolate(&Fits::default()),
            markdown: String::new(),
        }
    }

    /// Computes the fits, the extrapolation and the Markdown from the steps.
    pub fn finish(&mut self) {
        self.fits = fits(&self.steps);
        self.extrapolation = extrapolate(&self.fits);
        self.markdown = render::markdown(self);
    }

    /// Writes `scale.json` and `scale.svg` into `out_dir`.
    pub fn write(&mut self, out_dir: &Path) -> Result<(), String> {
        self.finish();
        report::write_json(&out_dir.join("scale.json"), self)?;
        let svg_path = out_dir.join("scale.svg");
        std::fs::write(&svg_path, render::svg(self))
            .map_err(|e| format!("{}: {e}", svg_path.display()))
    }
}

/// Fits each growing figure against the license count.
pub fn fits(steps: &[Step]) -> Fits {
    let line = |y: &dyn Fn(&Step) -> Option<f64>| {
        let points: Vec<(f64, f64)> = steps
            .iter()
            .filter_map(|s| y(s).map(|y| (s.licenses as f64, y)))
            .collect();
        Fit::least_squares(&points)
    };
    Fits {
        rss_indexed_kib: line(&|s| s.rss_indexed_kib.map(|k| k as f64)),
        startup_seconds: line(&|s| Some(s.startup_seconds)),
        listing_median_ms: line(&|s| Some(s.listing.median_ms)),
        data_dir_bytes: line(&|s| Some(s.data_dir_bytes as f64)),
    }
}

/// The fits at [`EXTRAPOLATE_TO`] licenses.
pub fn extrapolate(f: &Fits) -> Extrapolation {
    let n = EXTRAPOLATE_TO as f64;
    Extrapolation {
        licenses: EXTRAPOLATE_TO,
        rss_indexed_mib: f.rss_indexed_kib.map(|l| l.at(n) / 1024.0),
        startup_seconds: f.startup_seconds.map(|l| l.at(n)),
        listing_median_ms: f.listing_median_ms.map(|l| l.at(n)),
        data_dir_gib: f.data_dir_bytes.map(|l| l.at(n) / GIB),
    }
}
