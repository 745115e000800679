//! `keywarden-load`: load generator and benchmark driver for Keywarden.
//!
//! Every target must be a loopback address; every loop is bounded in time.

mod api;
mod bare;
mod bench;
mod cycles;
mod duration;
mod guessing;
mod http;
mod options;
mod pacer;
mod portal;
mod report;
mod resident;
mod run;
mod scale;
mod scenario;
mod seed;
mod stats;
mod timeline;
mod zipf;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::api::Op;
use crate::http::Endpoint;
use crate::options::{LoadArgs, SeedArgs};
use crate::report::Comparison;
use crate::run::{LoadSpec, Mix};

/// Load generator for the Keywarden license-key server.
#[derive(Parser)]
#[command(name = "keywarden-load", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the bare baseline endpoint (a fixed verdict for every request).
    Bare {
        /// Loopback address to listen on.
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: SocketAddr,
        /// Worker threads (default: number of CPUs).
        #[arg(long)]
        workers: Option<usize>,
    },
    /// Create licenses through the admin API, write their keys, activate each.
    Seed {
        /// Server base URL (loopback).
        #[arg(long)]
        target: String,
        /// Admin bearer token.
        #[arg(long, env = "KEYWARDEN_ADMIN_TOKEN", hide_env_values = true)]
        token: String,
        /// File to write the keys to, one per line.
        #[arg(long)]
        out: PathBuf,
        /// Do not activate the keys after creating them.
        #[arg(long)]
        no_activate: bool,
        #[command(flatten)]
        seed: SeedArgs,
    },
    /// Drive the baseline (if given) and then the target; print a table.
    Run {
        /// Server base URL (loopback).
        #[arg(long)]
        target: String,
        /// Keys file written by `seed`.
        #[arg(long)]
        keys: PathBuf,
        /// Bare endpoint base URL, run first with the same shape.
        #[arg(long)]
        baseline: Option<String>,
        #[command(flatten)]
        load: LoadArgs,
        /// Which requests to send.
        #[arg(long, value_enum, default_value = "validate")]
        mix: Mix,
        /// Share of requests carrying a nonce (signed answers).
        #[arg(long, default_value_t = 0.0)]
        signed_fraction: f64,
        /// Share of requests sent as MessagePack (default: 0.5 for mixed, 0 for validate).
        #[arg(long)]
        msgpack_fraction: Option<f64>,
        /// Open loop at this total rate (requests/s) instead of closed loop.
        #[arg(long)]
        rate: Option<f64>,
        /// Environment in the request paths.
        #[arg(long, default_value = "production")]
        env: String,
        /// Also write the figures as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Start the bare endpoint and the server, seed, run every scenario, print Markdown.
    Bench {
        /// The keywarden server binary.
        #[arg(long)]
        server_bin: PathBuf,
        /// The server's data directory (must be empty or absent).
        #[arg(long)]
        data_dir: PathBuf,
        /// Directory for logs and the keys file (default: a temp directory).
        #[arg(long)]
        work_dir: Option<PathBuf>,
        /// Also measure resident memory with this many licenses (e.g. 1000000).
        #[arg(long)]
        resident: Option<usize>,
        #[command(flatten)]
        seed: SeedArgs,
        #[command(flatten)]
        load: LoadArgs,
        /// Write the figures as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Write the Markdown summary to this file.
        #[arg(long)]
        markdown: Option<PathBuf>,
    },
    /// Start a server (or use a running one: --target) and run one named
    /// scenario; write NAME.json and NAME.svg.
    Scenario(scenario::ScenarioArgs),
    /// Heartbeats alone, then beside attackers posting wrong passwords to the
    /// customer sign-in and password-change forms; writes password-guessing.json and SVGs.
    PasswordGuessing(guessing::GuessArgs),
    /// Activate and deactivate one license N times; compare the first and last cycles.
    HistoryCycles(cycles::CycleArgs),
    /// Grow one data folder through several license counts; at each, restart
    /// the server and record start-up, RSS, a searched first page and validate
    /// throughput; write scale.json and scale.svg and extrapolate to 10M.
    Scale(scale::ScaleArgs),
    /// Start the server, create N licenses, validate each once, report its memory.
    Resident {
        /// The keywarden server binary.
        #[arg(long)]
        server_bin: PathBuf,
        /// The server's data directory (must be empty or absent).
        #[arg(long)]
        data_dir: PathBuf,
        /// Directory for logs (default: a temp directory).
        #[arg(long)]
        work_dir: Option<PathBuf>,
        /// Activate each key as well (a write per key: much slower).
        #[arg(long)]
        activate: bool,
        #[command(flatten)]
        seed: SeedArgs,
        /// Client runtime threads.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Write the figures as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
    },
}

fn main() {
    if let Err(e) = dispatch(Cli::parse().command) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// Runs `fut` on a tokio runtime with `threads` workers, stopping on Ctrl-C
/// or SIGTERM (dropping the future stops any child processes it started).
fn block_on<T>(threads: usize, fut: impl Future<Output = Result<T, String>>) -> Result<T, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    rt.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).map_err(|e| format!("SIGTERM: {e}"))?;
        tokio::select! {
            r = fut => r,
            _ = tokio::signal::ctrl_c() => Err("interrupted".to_string()),
            _ = term.recv() => Err("terminated".to_string()),
        }
    })
}

fn default_work_dir() -> PathBuf {
    std::env::temp_dir().join(format!("keywarden-load-{}", std::process::id()))
}

fn dispatch(command: Command) -> Result<(), String> {
    match command {
        Command::Bare { listen, workers } => {
            let workers = workers
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            bare::serve(listen, workers)
        }
        Command::Seed {
            target,
            token,
            out,
            no_activate,
            seed,
        } => {
            let ep = Endpoint::parse(&target)?;
            let spec = seed.spec();
            block_on(1, async move {
                let keys = seed::create_licenses(&ep, &token, &spec).await?;
                seed::write_keys(&out, &keys)?;
                println!("wrote {} keys to {}", keys.len(), out.display());
                if !no_activate {
                    let a = seed::touch_all(&ep, Arc::new(keys), Op::Activate, &spec).await;
                    println!(
                        "activated with identifier {}: {:.0} req/s, p99 {} µs, codes {}, statuses {}, errors {}",
                        run::SEEDED_IDENTIFIER,
                        a.rps,
                        a.p99_us,
                        report::join(&a.codes),
                        report::join(&a.statuses),
                        a.errors
                    );
                }
                Ok(())
            })
        }
        Command::Run {
            target,
            keys,
            baseline,
            load,
            mix,
            signed_fraction,
            msgpack_fraction,
            rate,
            env,
            json,
        } => {
            let target = Endpoint::parse(&target)?;
            let baseline = baseline.as_deref().map(Endpoint::parse).transpose()?;
            let keys = Arc::new(seed::read_keys(&keys)?);
            let spec = LoadSpec {
                signed_fraction,
                msgpack_fraction: msgpack_fraction.unwrap_or(match mix {
                    Mix::Mixed => 0.5,
                    Mix::Validate => 0.0,
                }),
                rate,
                ..load.spec(mix, &env)
            };
            let mut scenario = mix.name().to_string();
            if spec.signed_fraction > 0.0 {
                scenario += &format!(" signed {:.0} %", spec.signed_fraction * 100.0);
            }
            let comparison = block_on(load.threads, async move {
                let b = match &baseline {
                    Some(ep) => Some(run::run_phase("baseline", ep, keys.clone(), &spec).await?),
                    None => None,
                };
                let t = run::run_phase("target", &target, keys, &spec).await?;
                Ok(Comparison::new(&scenario, b, t))
            })?;
            println!("{}", comparison.text());
            if let Some(path) = json {
                report::write_json(&path, &comparison)?;
            }
            Ok(())
        }
        Command::Bench {
            server_bin,
            data_dir,
            work_dir,
            resident,
            seed,
            load,
            json,
            markdown,
        } => {
            let spec = bench::BenchSpec {
                server_bin,
                data_dir,
                work_dir: work_dir.unwrap_or_else(default_work_dir),
                seed: seed.spec(),
                load: load.spec(Mix::Validate, &seed.env),
                resident,
                client_threads: load.threads,
            };
            let report = block_on(load.threads, async { bench::bench(&spec).await })?;
            println!("{}", report.markdown);
            if let Some(path) = json {
                report::write_json(&path, &report)?;
            }
            if let Some(path) = markdown {
                std::fs::write(&path, &report.markdown)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
            Ok(())
        }
        Command::Scenario(args) => {
            let spec = args.spec(default_work_dir())?;
            let report = block_on(args.threads, async { scenario::run(&spec).await })?;
            print!("{}", report.summary);
            if report.ok {
                Ok(())
            } else {
                Err(format!(
                    "{}: {}",
                    args.name.as_str(),
                    report.failures.join("; ")
                ))
            }
        }
        Command::HistoryCycles(args) => {
            let work_dir = args.work_dir.clone().unwrap_or_else(default_work_dir);
            print!("{}", block_on(1, cycles::run(&args, work_dir))?);
            Ok(())
        }
        Command::Scale(args) => {
            args.check()?;
            let work_dir = args.work_dir.clone().unwrap_or_else(default_work_dir);
            let report = block_on(args.threads, scale::run(&args, work_dir))?;
            print!("{}", report.markdown);
            println!(
                "wrote {} and {}",
                args.out_dir.join("scale.json").display(),
                args.out_dir.join("scale.svg").display()
            );
            Ok(())
        }
        Command::PasswordGuessing(args) => {
            let work_dir = args.work_dir.clone().unwrap_or_else(default_work_dir);
            let report = block_on(args.threads, guessing::run(&args, work_dir))?;
            print!("{}", report.summary);
            if report.ok {
                Ok(())
            } else {
                Err(format!("password-guessing: {}", report.failures.join("; ")))
            }
        }
        Command::Resident {
            server_bin,
            data_dir,
            work_dir,
            activate,
            seed,
            threads,
            json,
        } => {
            let spec = resident::ResidentSpec {
                server_bin,
                data_dir,
                work_dir: work_dir.unwrap_or_else(default_work_dir),
                seed: seed.spec(),
                activate,
            };
            let report = block_on(threads, async { resident::resident(&spec).await })?;
            println!(
                "{}",
                serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
            );
            if let Some(path) = json {
                report::write_json(&path, &report)?;
            }
            Ok(())
        }
    }
}
