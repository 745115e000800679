//! The whole benchmark in one go: child processes for the bare endpoint and
//! the server, seeding, the scenarios, resident memory and a Markdown table.

use std::fmt::Write as _;
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::api::Op;
use crate::http::{Client, Endpoint};
use crate::report::{self, Comparison, PhaseResult};
use crate::resident::{resident, ResidentReport, ResidentSpec};
use crate::run::{self, LoadSpec, Mix};
use crate::seed::{self, SeedSpec};

/// Longest wait for a child to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Options of `bench`.
#[derive(Clone, Debug)]
pub struct BenchSpec {
    /// The `keywarden` binary.
    pub server_bin: PathBuf,
    /// The server's data directory (must be empty or absent).
    pub data_dir: PathBuf,
    /// Where logs and the keys file go.
    pub work_dir: PathBuf,
    /// How to seed.
    pub seed: SeedSpec,
    /// Shape shared by all phases (mix, signing and rate are set per scenario).
    pub load: LoadSpec,
    /// Also measure resident memory with this many licenses.
    pub resident: Option<usize>,
    /// Client runtime threads (reported only).
    pub client_threads: usize,
}

/// Facts about the machine the figures come from.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    /// Output of `nproc`.
    pub nproc: usize,
    /// `model name` from /proc/cpuinfo.
    pub cpu_model: String,
    /// MemTotal, GiB.
    pub mem_total_gib: f64,
    /// Kernel release.
    pub kernel: String,
    /// UTC date of the run.
    pub date: String,
}

/// Everything `bench` measured.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// Where the figures come from.
    pub machine: Machine,
    /// Seconds spent creating the licenses.
    pub seed_seconds: f64,
    /// The activation of every seeded key.
    pub activation: PhaseResult,
    /// Each scenario against the bare endpoint and the server.
    pub scenarios: Vec<Comparison>,
    /// Server VmRSS after the scenarios, KiB.
    pub server_rss_kib: Option<u64>,
    /// The resident-memory measurement, if asked for.
    pub resident: Option<ResidentReport>,
    /// The Markdown summary.
    pub markdown: String,
}

/// A child process killed (and reaped) when dropped.
pub(crate) struct ChildGuard {
    name: String,
    child: Child,
    log: PathBuf,
}

impl ChildGuard {
    fn spawn(name: &str, mut cmd: Command, log: PathBuf) -> Result<Self, String> {
        let out = File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd.spawn().map_err(|e| format!("starting {name}: {e}"))?;
        eprintln!("started {name} (pid {}), log {}", child.id(), log.display());
        Ok(Self {
            name: name.to_string(),
            child,
            log,
        })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Errors if the child has exited.
    pub(crate) fn check_alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!(
                "{} exited ({status}); see {}",
                self.name,
                self.log.display()
            )),
            Err(e) => Err(format!("{}: {e}", self.name)),
        }
    }

    /// Waits until `addr` accepts connections.
    async fn wait_ready(&mut self, addr: SocketAddr) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok(());
            }
            self.check_alive()?;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!(
            "{} did not listen on {addr} within {READY_TIMEOUT:?}",
            self.name
        ))
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!("stopped {} (pid {})", self.name, self.child.id());
    }
}

/// A loopback port that was free a moment ago.
fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// Creates `dir` or checks that it is empty, so figures start from nothing.
pub(crate) fn fresh_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if entries.next().is_some() {
        return Err(format!("{}: data directory is not empty", dir.display()));
    }
    Ok(())
}

/// Starts the bare endpoint (this binary's `bare` subcommand).
async fn start_bare(work_dir: &Path) -> Result<(ChildGuard, Endpoint), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let addr = loopback(free_port()?);
    let mut cmd = Command::new(exe);
    cmd.arg("bare").arg("--listen").arg(addr.to_string());
    let mut child = ChildGuard::spawn("bare endpoint", cmd, work_dir.join("bare.log"))?;
    child.wait_ready(addr).await?;
    Ok((child, Endpoint::parse(&format!("http://{addr}"))?))
}

/// Starts `keywarden serve` with a fixed admin token.
pub(crate) async fn start_server(
    server_bin: &Path,
    data_dir: &Path,
    work_dir: &Path,
    token: &str,
    log_name: &str,
) -> Result<(ChildGuard, Endpoint), String> {
    start_server_with(server_bin, data_dir, work_dir, token, log_name, true, &[]).await
}

/// Starts `keywarden serve` like [`start_server`]; the unknown-key limits are
/// only lifted when `lift_unknown_key` is set, and `extra_env` is added.
pub(crate) async fn start_server_with(
    server_bin: &Path,
    data_dir: &Path,
    work_dir: &Path,
    token: &str,
    log_name: &str,
    lift_unknown_key: bool,
    extra_env: &[(&str, &str)],
) -> Result<(ChildGuard, Endpoint), String> {
    fresh_dir(data_dir)?;
    let server = ServerCmd {
        bin: server_bin,
        data_dir,
        token,
        lift_unknown_key,
        extra_env,
    };
    let (mut child, addr) = spawn_server(&server, &work_dir.join(log_name))?;
    child.wait_ready(addr).await?;
    Ok((child, Endpoint::parse(&format!("http://{addr}"))?))
}

/// How to start `keywarden serve`.
pub(crate) struct ServerCmd<'a> {
    /// The `keywarden` binary.
    pub bin: &'a Path,
    /// Its data directory (not checked here: it may hold an earlier run's data).
    pub data_dir: &'a Path,
    /// Admin API bearer token.
    pub token: &'a str,
    /// Lift the unknown-key limits too.
    pub lift_unknown_key: bool,
    /// Added to the environment.
    pub extra_env: &'a [(&'a str, &'a str)],
}

/// Spawns `keywarden serve` on a free loopback port without waiting for it;
/// returns the child and the address it will listen on.
pub(crate) fn spawn_server(
    server: &ServerCmd<'_>,
    log: &Path,
) -> Result<(ChildGuard, SocketAddr), String> {
    let (server_bin, data_dir, token) = (server.bin, server.data_dir, server.token);
    let addr = loopback(free_port()?);
    let mut cmd = Command::new(server_bin);
    cmd.arg("serve")
        .arg("--listen")
        .arg(addr.to_string())
        .arg("--data-dir")
        .arg(data_dir)
        .env("KEYWARDEN_ADMIN_TOKEN", token)
        // Zipf traffic sends thousands of requests a second to the hottest keys:
        // lift the per-license and per-IP limits so the benchmark measures the engine.
        .env("KEYWARDEN_LIMITS__LICENSE_PER_SECOND", "1000000")
        .env("KEYWARDEN_LIMITS__LICENSE_BURST", "1000000")
        .env("KEYWARDEN_LOG__LEVEL", "warn");
    if server.lift_unknown_key {
        cmd.env("KEYWARDEN_LIMITS__UNKNOWN_KEY_PER_MINUTE", "1000000")
            .env("KEYWARDEN_LIMITS__UNKNOWN_KEY_BURST", "1000000");
    }
    cmd.envs(server.extra_env.iter().copied());
    let child = ChildGuard::spawn("keywarden", cmd, log.to_path_buf())?;
    Ok((child, addr))
}

pub(crate) fn random_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// VmRSS of `pid` in KiB.
pub fn vm_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// `process_resident_memory_bytes` from the server's /metrics, if exported.
pub async fn metrics_rss_bytes(endpoint: &Endpoint) -> Option<u64> {
    let mut client = Client::new(endpoint.clone(), Duration::from_secs(10));
    let resp = client.request("GET", "/metrics", &[], b"").await.ok()?;
    if resp.status != 200 {
        return None;
    }
    let text = std::str::from_utf8(resp.body).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("process_resident_memory_bytes "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|v| v as u64)
}

impl Machine {
    /// Reads the machine's facts from /proc and `nproc`.
    pub fn detect() -> Self {
        let nproc = Command::new("nproc")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
            .unwrap_or(0);
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_kib: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0.0);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        let date = Command::new("date")
            .args(["-u", "+%Y-%m-%d"])
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        Self {
            nproc,
            cpu_model,
            mem_total_gib: mem_kib / 1024.0 / 1024.0,
            kernel,
            date,
        }
    }
}

/// Runs `spec` against the baseline, then the target.
async fn compare(
    scenario: &str,
    baseline: &Endpoint,
    target: &Endpoint,
    keys: &Arc<Vec<String>>,
    spec: &LoadSpec,
) -> Result<Comparison, String> {
    eprintln!("running {scenario}: baseline");
    let b = run::run_phase("baseline", baseline, keys.clone(), spec).await?;
    eprintln!("running {scenario}: target");
    let t = run::run_phase("target", target, keys.clone(), spec).await?;
    let c = Comparison::new(scenario, Some(b), t);
    println!("{}", c.text());
    Ok(c)
}

/// Runs the whole benchmark; children are stopped whatever happens.
pub async fn bench(spec: &BenchSpec) -> Result<BenchReport, String> {
    let machine = Machine::detect();
    std::fs::create_dir_all(&spec.work_dir)
        .map_err(|e| format!("{}: {e}", spec.work_dir.display()))?;
    let token = random_token();
    let (bare, bare_ep) = start_bare(&spec.work_dir).await?;
    let (mut server, server_ep) = start_server(
        &spec.server_bin,
        &spec.data_dir,
        &spec.work_dir,
        &token,
        "server.log",
    )
    .await?;

    let seed_started = Instant::now();
    let keys = seed::create_licenses(&server_ep, &token, &spec.seed).await?;
    let seed_seconds = seed_started.elapsed().as_secs_f64();
    let keys_file = spec.work_dir.join("keys.txt");
    seed::write_keys(&keys_file, &keys)?;
    let keys = Arc::new(keys);
    eprintln!("activating {} keys", keys.len());
    let activation = seed::touch_all(&server_ep, keys.clone(), Op::Activate, &spec.seed).await;
    eprintln!(
        "activation: {:.0} req/s, codes {}",
        activation.rps,
        report::join(&activation.codes)
    );
    server.check_alive()?;

    let mut scenarios = Vec::new();
    let plain = LoadSpec {
        mix: Mix::Validate,
        signed_fraction: 0.0,
        msgpack_fraction: 0.0,
        rate: None,
        ..spec.load.clone()
    };
    let validate = compare("validate", &bare_ep, &server_ep, &keys, &plain).await?;
    let peak = validate.target.rps;
    scenarios.push(validate);
    let signed = LoadSpec {
        signed_fraction: 1.0,
        ..plain.clone()
    };
    scenarios.push(compare("validate signed", &bare_ep, &server_ep, &keys, &signed).await?);
    let mixed = LoadSpec {
        mix: Mix::Mixed,
        msgpack_fraction: 0.5,
        ..plain.clone()
    };
    scenarios.push(compare("mixed", &bare_ep, &server_ep, &keys, &mixed).await?);
    if peak >= 2.0 {
        let open = LoadSpec {
            rate: Some((peak / 2.0).round()),
            ..plain.clone()
        };
        scenarios.push(compare("validate @ half peak", &bare_ep, &server_ep, &keys, &open).await?);
    }
    server.check_alive()?;
    let server_rss_kib = vm_rss_kib(server.pid());
    drop(server);
    drop(bare);

    let resident = match spec.resident {
        Some(n) => {
            let mut data_dir = spec.data_dir.clone().into_os_string();
            data_dir.push("-resident");
            let rspec = ResidentSpec {
                server_bin: spec.server_bin.clone(),
                data_dir: data_dir.into(),
                work_dir: spec.work_dir.clone(),
                seed: SeedSpec {
                    licenses: n,
                    ..spec.seed.clone()
                },
                activate: false,
            };
            Some(resident(&rspec).await?)
        }
        None => None,
    };

    let mut report = BenchReport {
        machine,
        seed_seconds,
        activation,
        scenarios,
        server_rss_kib,
        resident,
        markdown: String::new(),
    };
    report.markdown = markdown(&report, spec);
    Ok(report)
}

/// The benchmark as Markdown, ready for BENCHMARKS.md.
fn markdown(r: &BenchReport, spec: &BenchSpec) -> String {
    let m = &r.machine;
    let l = &spec.load;
    let mut out = String::new();
    let _ = writeln!(out, "### Keywarden load benchmark ({})\n", m.date);
    let _ = writeln!(
        out,
        "Machine: `nproc` = {}, {}, {:.1} GiB RAM, Linux {}. Server, bare endpoint and \
         load generator share the machine.\n",
        m.nproc, m.cpu_model, m.mem_total_gib, m.kernel
    );
    let _ = writeln!(
        out,
        "Load: `keywarden-load bench`, {} keep-alive connections on {} client thread(s), \
         {:.0} s per phase after {:.0} s warm-up, keys drawn Zipf (s = {}) over {} licenses. \
         \"bare\" is an actix-web endpoint answering a fixed verdict (the ceiling); \
         \"vs bare\" is keywarden req/s ÷ bare req/s. Open loop latency counts from the \
         scheduled send time.\n",
        l.connections,
        spec.client_threads,
        l.duration.as_secs_f64(),
        l.warmup.as_secs_f64(),
        l.zipf_s,
        spec.seed.licenses
    );
    out.push_str(&report::markdown_rows(&r.scenarios));
    let _ = writeln!(
        out,
        "\nScenarios: *validate* = validate only, JSON, unsigned; *validate signed* = every \
         request carries a nonce; *mixed* = 60 % validate, 30 % heartbeat, 5 % activate, \
         5 % deactivate, half JSON half MessagePack; *validate @ half peak* = open loop at \
         half the closed-loop validate rate.\n"
    );
    let a = &r.activation;
    let _ = writeln!(
        out,
        "Seeding: {} licenses created in {:.1} s; activating each once ran at {:.0} req/s \
         (p99 {} µs; {}).",
        spec.seed.licenses,
        r.seed_seconds,
        a.rps,
        a.p99_us,
        report::join(&a.codes)
    );
    if let Some(kib) = r.server_rss_kib {
        let _ = writeln!(
            out,
            "Server resident memory after the runs: {:.1} MiB (VmRSS).",
            kib as f64 / 1024.0
        );
    }
    if let Some(res) = &r.resident {
        let _ = writeln!(
            out,
            "Resident memory with {} licenses, each validated once: VmRSS {:.1} MiB at start, \
             {:.1} MiB after creation, {:.1} MiB after validation ≈ {:.0} bytes per license{}.",
            res.licenses,
            res.rss_start_kib as f64 / 1024.0,
            res.rss_after_seed_kib as f64 / 1024.0,
            res.rss_after_validate_kib as f64 / 1024.0,
            res.bytes_per_license,
            res.metrics_rss_bytes
                .map(|b| format!(
                    " (/metrics process_resident_memory_bytes: {:.1} MiB)",
                    b as f64 / 1048576.0
                ))
                .unwrap_or_default()
        );
    }
    out
}
