//! `keywarden-load scale`: grows one data folder through several license
//! counts and, at each, restarts the server and measures start-up time,
//! resident memory, the admin License Keys first page with a search, and
//! validate throughput; writes `scale.json` and `scale.svg` and fits the
//! growth to extrapolate to 10,000,000 licenses.

mod output;
mod render;
mod server;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use tokio::time::Instant;

use crate::api::Op;
use crate::duration;
use crate::report;
use crate::run::{self, LoadSpec, Mix};
use crate::seed::{self, SeedSpec};

pub use output::{ScaleReport, Step};
use server::Server;

/// Licenses the fit extrapolates to.
pub const EXTRAPOLATE_TO: usize = 10_000_000;

/// Options of `scale`.
#[derive(Args, Clone, Debug)]
pub struct ScaleArgs {
    /// The keywarden server binary.
    #[arg(long)]
    pub server_bin: PathBuf,
    /// The server's data directory (must be empty or absent); it grows through the sizes.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// License counts to measure at, ascending (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "100000,300000,1000000")]
    pub sizes: Vec<usize>,
    /// Where scale.json and scale.svg go.
    #[arg(long, default_value = "docs/load-reports")]
    pub out_dir: PathBuf,
    /// Directory for server logs and the keys file (default: a temp directory).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Measured validate window at each size.
    #[arg(long, default_value = "10s", value_parser = duration::parse)]
    pub duration: Duration,
    /// Unmeasured warm-up before each validate window.
    #[arg(long, default_value = "1s", value_parser = duration::parse)]
    pub warmup: Duration,
    /// Concurrent keep-alive connections (validate, and activating new keys).
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Search term of the License Keys first page (with status=active, sorted by expiry).
    #[arg(long, default_value = "AB")]
    pub search: String,
    /// Calls of the searched first page at each size (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub listing_calls: usize,
    /// Longest wait for GET /readyz to answer 200 after a start.
    #[arg(long, default_value = "900s", value_parser = duration::parse)]
    pub ready_timeout: Duration,
    /// Git commit the server binary was built from (default: HEAD of the current directory).
    #[arg(long)]
    pub server_commit: Option<String>,
    /// Activation limit of each license.
    #[arg(long, default_value_t = 5)]
    pub activation_limit: u32,
    /// Do not activate the new licenses (much faster seeding; validate then
    /// answers for licenses without a device, and no activation mails are written).
    #[arg(long)]
    pub no_activate: bool,
    /// Environment in the request paths.
    #[arg(long, default_value = "production")]
    pub env: String,
    /// Client runtime threads.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
}

impl ScaleArgs {
    /// Checks the sizes: at least one, none zero, strictly ascending.
    pub fn check(&self) -> Result<(), String> {
        check_sizes(&self.sizes)?;
        if self.connections == 0 || self.listing_calls == 0 {
            return Err("--connections and --listing-calls must be at least 1".into());
        }
        Ok(())
    }

    fn seed_spec(&self, licenses: usize) -> SeedSpec {
        SeedSpec {
            licenses,
            activation_limit: self.activation_limit,
            env: self.env.clone(),
            concurrency: self.connections,
        }
    }

    fn validate_spec(&self) -> LoadSpec {
        LoadSpec {
            connections: self.connections,
            duration: self.duration,
            warmup: self.warmup,
            mix: Mix::Validate,
            signed_fraction: 0.0,
            msgpack_fraction: 0.0,
            rate: None,
            zipf_s: 0.0,
            env: self.env.clone(),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Errors unless `sizes` is non-empty, without zero, strictly ascending.
pub fn check_sizes(sizes: &[usize]) -> Result<(), String> {
    if sizes.is_empty() || sizes.contains(&0) {
        return Err("--sizes needs at least one positive count".into());
    }
    if sizes.windows(2).any(|w| w[0] >= w[1]) {
        return Err(format!("--sizes must be strictly ascending, got {sizes:?}"));
    }
    Ok(())
}

/// What growing the folder to one size took.
struct Growth {
    seed_seconds: f64,
    activation_rps: f64,
    activation_codes: std::collections::BTreeMap<String, u64>,
}

/// Runs the whole report; every server started is stopped on every path
/// (gracefully between sizes, killed on errors).
pub async fn run(args: &ScaleArgs, work_dir: PathBuf) -> Result<ScaleReport, String> {
    args.check()?;
    for d in [&work_dir, &args.out_dir] {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    crate::bench::fresh_dir(&args.data_dir)?;
    let mut report = ScaleReport::new(args);
    let token = crate::bench::random_token();
    let mut keys: Vec<String> = Vec::new();
    let first = server::start(args, &work_dir, &token, "server-scale-seed.log").await?;
    let mut seeding = first.server;
    for &size in &args.sizes {
        let growth = grow(args, &seeding, &token, &mut keys, size).await?;
        seed::write_keys(&work_dir.join("scale-keys.txt"), &keys)?;
        let stop_seconds = seeding.stop().await?;
        let log = format!("server-scale-{size}.log");
        let started = server::start(args, &work_dir, &token, &log).await?;
        let step = measure(args, started, &token, &keys, growth, stop_seconds).await?;
        seeding = step.1;
        eprintln!("{}", render::step_line(&step.0));
        report.steps.push(step.0);
        report.write(&args.out_dir)?;
    }
    seeding.stop().await?;
    report.finish();
    report.write(&args.out_dir)?;
    Ok(report)
}

/// Creates licenses up to `size` on the running server and activates each new one once.
async fn grow(
    args: &ScaleArgs,
    server: &Server,
    token: &str,
    keys: &mut Vec<String>,
    size: usize,
) -> Result<Growth, String> {
    let spec = args.seed_spec(size - keys.len());
    let started = Instant::now();
    let new_keys = Arc::new(seed::create_licenses(&server.ep, token, &spec).await?);
    let seed_seconds = started.elapsed().as_secs_f64();
    let (activation_rps, activation_codes) = if args.no_activate {
        (0.0, Default::default())
    } else {
        eprintln!("activating {} new keys", new_keys.len());
        let a = seed::touch_all(&server.ep, new_keys.clone(), Op::Activate, &spec).await;
        eprintln!(
            "activation: {:.0} req/s, codes {}",
            a.rps,
            report::join(&a.codes)
        );
        (a.rps, a.codes)
    };
    keys.extend(new_keys.iter().cloned());
    Ok(Growth {
        seed_seconds,
        activation_rps,
        activation_codes,
    })
}

/// Measures one size on a freshly started server; returns the step and the
/// server (still running: the next size is seeded through it).
async fn measure(
    args: &ScaleArgs,
    started: server::Started,
    token: &str,
    keys: &[String],
    growth: Growth,
    stop_seconds: f64,
) -> Result<(Step, Server), String> {
    let server::Started {
        mut server,
        startup_seconds,
        rss_start_kib,
    } = started;
    let listing = server::listing(args, &server.ep, token).await?;
    let rss_indexed_kib = server.rss_kib();
    let keys = Arc::new(keys.to_vec());
    eprintln!("validate: {} keys, uniform", keys.len());
    let validate =
        run::run_phase("validate", &server.ep, keys.clone(), &args.validate_spec()).await?;
    server.check_alive()?;
    let data_dir = server::disk_usage(&args.data_dir);
    let step = Step {
        licenses: keys.len(),
        seed_seconds: growth.seed_seconds,
        activation_rps: growth.activation_rps,
        activation_codes: growth.activation_codes,
        stop_seconds,
        startup_seconds,
        rss_start_kib,
        listing,
        rss_indexed_kib,
        validate,
        rss_after_validate_kib: server.rss_kib(),
        data_dir_bytes: data_dir.allocated_bytes,
        data_dir,
        outbox: server::disk_usage(&args.data_dir.join("outbox")),
    };
    Ok((step, server))
}
