//! Option groups shared by several subcommands.

use std::time::Duration;

use clap::Args;

use crate::duration;
use crate::run::{LoadSpec, Mix};
use crate::seed::SeedSpec;

/// Options of seeding.
#[derive(Args, Clone)]
pub struct SeedArgs {
    /// Licenses to create.
    #[arg(long, default_value_t = 100_000)]
    pub licenses: usize,
    /// Activation limit of each license.
    #[arg(long, default_value_t = 5)]
    pub activation_limit: u32,
    /// Concurrent connections for activating or validating every key.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Environment in the request paths.
    #[arg(long, default_value = "production")]
    pub env: String,
}

impl SeedArgs {
    pub fn spec(&self) -> SeedSpec {
        SeedSpec {
            licenses: self.licenses,
            activation_limit: self.activation_limit,
            env: self.env.clone(),
            concurrency: self.concurrency,
        }
    }
}

/// Options shared by every load phase.
#[derive(Args, Clone)]
pub struct LoadArgs {
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Measured window per phase (e.g. 10s, 500ms).
    #[arg(long, default_value = "10s", value_parser = duration::parse)]
    pub duration: Duration,
    /// Unmeasured warm-up before each window.
    #[arg(long, default_value = "1s", value_parser = duration::parse)]
    pub warmup: Duration,
    /// Zipf exponent of key popularity (0 = uniform).
    #[arg(long, default_value_t = 1.0)]
    pub zipf_s: f64,
    /// Per-request timeout.
    #[arg(long, default_value = "10s", value_parser = duration::parse)]
    pub timeout: Duration,
    /// Client runtime threads.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
}

impl LoadArgs {
    pub fn spec(&self, mix: Mix, env: &str) -> LoadSpec {
        LoadSpec {
            connections: self.connections,
            duration: self.duration,
            warmup: self.warmup,
            mix,
            signed_fraction: 0.0,
            msgpack_fraction: 0.0,
            rate: None,
            zipf_s: self.zipf_s,
            env: env.to_string(),
            timeout: self.timeout,
        }
    }
}
