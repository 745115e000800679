//! Named scenarios (`keywarden-load scenario NAME`): each starts its own
//! server (or uses a running one given by `--target`), seeds what it needs
//! through the admin API, drives one load phase, checks what it is about and
//! writes `NAME.json` and `NAME.svg` (throughput and latency over time,
//! 1-second buckets).

mod args;
mod browsing;
mod checks;
mod drive;
mod gens;
mod keyguess;
mod phases;
mod target;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::report::PhaseResult;
use crate::timeline::Bucket;

pub use args::ScenarioArgs;
pub(crate) use gens::heartbeats;
pub use target::{Admin, Server};

/// Default open-loop rate of `heartbeat-storm`.
const STORM_RATE: f64 = 5000.0;
/// Identifiers `activation-churn` activates and deactivates on each license.
const CHURN_IDENTIFIERS: usize = 5;
/// Client IPs `key-guessing` pretends to come from (documentation range).
const GUESS_IPS: [&str; 4] = ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"];
/// Unknown keys `key-guessing` sends again and again.
const GUESS_REPEATED: usize = 16;
/// Default heartbeat rate under `portal-browsing`.
const BROWSE_STORM_RATE: f64 = 2000.0;
/// The admin `portal-browsing` signs in as.
pub(crate) const PORTAL_ADMIN: &str = "load-admin@keywarden.local";
pub(crate) const PORTAL_PASSWORD: &str = "load-test-password";

/// The store-read counter `key-guessing` watches.
const STORE_READS: &str = "keywarden_store_operation_duration_seconds_count";

/// The scenarios.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Name {
    /// 20,000 licenses × 1 device heartbeating at a steady open-loop rate.
    HeartbeatStorm,
    /// Activations and deactivations racing near each license's limit.
    ActivationChurn,
    /// Unknown keys from a few client IPs against the default unknown-key limits.
    KeyGuessing,
    /// Signed-in admins and customers paging and searching the portals while
    /// devices heartbeat at a steady open-loop rate.
    PortalBrowsing,
}

impl Name {
    /// The name on the command line and in file names.
    pub fn as_str(self) -> &'static str {
        match self {
            Name::HeartbeatStorm => "heartbeat-storm",
            Name::ActivationChurn => "activation-churn",
            Name::KeyGuessing => "key-guessing",
            Name::PortalBrowsing => "portal-browsing",
        }
    }
}

/// Options of `scenario`.
#[derive(Clone, Debug)]
pub struct ScenarioSpec {
    /// Which scenario.
    pub name: Name,
    /// The server to start, or the running one to measure.
    pub server: Server,
    /// Where the server log goes.
    pub work_dir: PathBuf,
    /// Where `NAME.json` and `NAME.svg` go.
    pub out_dir: PathBuf,
    /// Measured window.
    pub duration: Duration,
    /// Unmeasured time before the window.
    pub warmup: Duration,
    /// Open loop at this rate; closed loop when `None` (heartbeat-storm: 5,000/s).
    pub rate: Option<f64>,
    /// Concurrent connections.
    pub connections: usize,
    /// Licenses to create (default per scenario).
    pub licenses: Option<usize>,
    /// Activation limit (default: 3 for activation-churn, 5 otherwise).
    pub activation_limit: Option<u32>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Environment in the request paths.
    pub env: String,
    /// portal-browsing: pause of each session between page views.
    pub think: Duration,
}

/// What `scenario` writes to `NAME.json`.
#[derive(Debug, Serialize)]
pub struct ScenarioReport {
    /// Scenario name.
    pub scenario: String,
    /// Base URL measured (a started server's loopback port, or `--target`).
    pub target: String,
    /// Whether the target was already running (`--target`) rather than started here.
    pub external: bool,
    /// Whether every check passed.
    pub ok: bool,
    /// The checks that failed.
    pub failures: Vec<String>,
    /// Licenses seeded.
    pub licenses: usize,
    /// Seconds spent seeding.
    pub seed_seconds: f64,
    /// Warm-up before the window, seconds.
    pub warmup_s: f64,
    /// The measured window.
    pub result: PhaseResult,
    /// 1-second buckets of the window.
    pub timeline: Vec<Bucket>,
    /// Scenario-specific figures.
    pub details: Value,
    /// Human-readable summary (also printed).
    pub summary: String,
}

/// What one scenario's phase measured and concluded.
struct Outcome {
    /// Open-loop rate of the measured load (`None`: closed loop).
    rate: Option<f64>,
    stats: crate::stats::Stats,
    tl: crate::timeline::Timeline,
    /// Scenario-specific figures (`details` in the JSON).
    details: Value,
    /// Lines for the summary, after its head.
    summary: String,
    failures: Vec<String>,
    /// A second chart: (file name, SVG).
    extra_svg: Option<(String, String)>,
}

impl Outcome {
    fn new(rate: Option<f64>, stats: crate::stats::Stats, tl: crate::timeline::Timeline) -> Self {
        Self {
            rate,
            stats,
            tl,
            details: Value::Null,
            summary: String::new(),
            failures: Vec::new(),
            extra_svg: None,
        }
    }
}

/// Runs the scenario, writes its JSON and SVG; `Err` only for failures to
/// run (a failed check is `ok: false` in the report).
pub async fn run(spec: &ScenarioSpec) -> Result<ScenarioReport, String> {
    for d in [&spec.work_dir, &spec.out_dir] {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    let mut server = target::connect(spec).await?;
    let ctx = phases::seed(spec, &server).await?;
    server.check_alive()?;
    // Memory with every seeded license resident (heartbeat-storm and
    // portal-browsing activate each one, which loads its actor).
    let rss_after_seed_kib = server.rss_kib();
    let outcome = match spec.name {
        Name::PortalBrowsing => browsing::run(&ctx, &server).await?,
        Name::HeartbeatStorm => phases::storm(&ctx, &server).await?,
        Name::ActivationChurn => phases::churn(&ctx, &server).await?,
        Name::KeyGuessing => keyguess::run(&ctx, &server).await?,
    };
    server.check_alive()?;
    let memory = serde_json::json!({
        "rss_after_seed_kib": rss_after_seed_kib,
        "rss_end_kib": server.rss_kib(),
        "resident_licenses": ctx.keys.len(),
    });
    let (url, external) = (server.ep.url(), server.external());
    drop(server);
    phases::finish(&ctx, outcome, memory, &url, external)
}
