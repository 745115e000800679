//! Named scenarios (`keywarden-load scenario NAME`): each starts its own
//! server, seeds what it needs, drives one load phase, checks what it is
//! about and writes `NAME.json` and `NAME.svg` (throughput and latency over
//! time, 1-second buckets).

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::api::{self, ClientRequest, Encoding, Op};
use crate::bench;
use crate::http::{Client, Endpoint};
use crate::pacer::Pacer;
use crate::portal;
use crate::report::{self, PhaseResult};
use crate::run::SEEDED_IDENTIFIER;
use crate::seed::{self, SeedSpec};
use crate::stats::Stats;
use crate::timeline::{self, Bucket, Timeline};

/// How long an open-loop connection may keep catching up after the window.
const OPEN_LOOP_GRACE: Duration = Duration::from_secs(2);
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
    /// The `keywarden` binary.
    pub server_bin: PathBuf,
    /// The server's data directory (must be empty or absent).
    pub data_dir: PathBuf,
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

/// One request to send.
#[derive(Default)]
struct Req {
    op: Option<Op>,
    key: String,
    identifier: String,
    /// Index into [`GUESS_IPS`] for an `X-Forwarded-For` header.
    ip: Option<usize>,
}

/// Chooses requests for one connection and watches their answers.
trait Gen: Send + 'static {
    fn plan(&mut self, rng: &mut StdRng, req: &mut Req);
    /// Every answer, measured or not (`None` for a transport error).
    fn observe(&mut self, _req: &Req, _answer: Option<(u16, Option<&str>)>) {}
}

/// Timing of a phase.
struct Window {
    t0: Instant,
    start: Instant,
    end: Instant,
    duration: Duration,
}

/// Everything a connection returns.
struct Outcome<G> {
    stats: Stats,
    timeline: Timeline,
    gen: G,
}

/// Drives `connections` connections with generators made by `make`, closed
/// loop or open loop at `rate`; returns merged stats, timeline and the generators.
async fn drive<G: Gen>(
    endpoint: &Endpoint,
    spec: &ScenarioSpec,
    rate: Option<f64>,
    make: impl Fn(usize) -> G,
) -> Result<(Stats, Timeline, Vec<G>), String> {
    if spec.connections == 0 {
        return Err("need at least one connection".into());
    }
    if let Some(rate) = rate {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(format!("rate must be positive, got {rate}"));
        }
    }
    let t0 = Instant::now() + Duration::from_millis(200);
    let start = t0 + spec.warmup;
    let end = start + spec.duration;
    let window = Arc::new(Window {
        t0,
        start,
        end,
        duration: spec.duration,
    });
    let pacer =
        rate.map(|rate| Pacer::start(t0.into_std(), end.into_std(), rate, spec.connections));
    let path = Arc::new(BTreeMap::from(
        Op::ALL.map(|op| (op.name(), op.path(&spec.env))),
    ));
    let tasks: Vec<_> = (0..spec.connections)
        .map(|id| {
            let mut conn = Conn {
                id,
                connections: spec.connections,
                client: Client::new(endpoint.clone(), spec.timeout),
                window: window.clone(),
                paths: path.clone(),
                rng: StdRng::from_entropy(),
                body: Vec::with_capacity(256),
                req: Req::default(),
            };
            let gen = make(id);
            let pacer = pacer.clone();
            tokio::spawn(async move { conn.run(gen, pacer).await })
        })
        .collect();
    let mut stats = Stats::new();
    let mut tl = Timeline::new(spec.duration);
    let mut gens = Vec::new();
    for task in tasks {
        let o = task
            .await
            .map_err(|e| format!("connection task failed: {e}"))?;
        stats.merge(&o.stats);
        tl.merge(&o.timeline);
        gens.push(o.gen);
    }
    Ok((stats, tl, gens))
}

/// One connection.
struct Conn {
    id: usize,
    connections: usize,
    client: Client,
    window: Arc<Window>,
    paths: Arc<BTreeMap<&'static str, String>>,
    rng: StdRng,
    body: Vec<u8>,
    req: Req,
}

impl Conn {
    async fn run<G: Gen>(&mut self, mut gen: G, pacer: Option<Arc<Pacer>>) -> Outcome<G> {
        let mut stats = Stats::new();
        let mut tl = Timeline::new(self.window.duration);
        if let Err(e) = self.client.connect().await {
            stats.error(format!("connect: {e}"));
        }
        tokio::time::sleep_until(self.window.t0).await;
        let (start, end) = (self.window.start, self.window.end);
        match pacer {
            None => {
                // Bounded by the window's end (each exchange by the timeout).
                while Instant::now() < end {
                    gen.plan(&mut self.rng, &mut self.req);
                    let sent = Instant::now();
                    let answer = self.send().await;
                    let done = Instant::now();
                    if sent >= start && done <= end {
                        account(
                            &mut stats,
                            &mut tl,
                            &self.req,
                            &answer,
                            sent - start,
                            done - sent,
                        );
                    }
                    let failed = answer.is_err();
                    gen.observe(
                        &self.req,
                        answer.as_ref().ok().map(|(s, c)| (*s, c.as_deref())),
                    );
                    if failed {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            Some(pacer) => {
                // Same schedule as `run`: latency from the intended send time
                // whenever the connection was still busy then.
                let c = self.connections as u64;
                let hard_end = end + OPEN_LOOP_GRACE;
                for g in (self.id as u64..pacer.total).step_by(self.connections) {
                    if Instant::now() >= hard_end {
                        stats.unsent += (pacer.total - g).div_ceil(c);
                        break;
                    }
                    let intended = Instant::from_std(pacer.due(g));
                    let reference = if pacer.is_released(g) {
                        intended
                    } else {
                        pacer.wait(self.id, g).await;
                        Instant::now()
                    };
                    gen.plan(&mut self.rng, &mut self.req);
                    let answer = self.send().await;
                    if intended >= start && intended < end {
                        let latency = Instant::now() - reference;
                        account(
                            &mut stats,
                            &mut tl,
                            &self.req,
                            &answer,
                            intended - start,
                            latency,
                        );
                    }
                    gen.observe(
                        &self.req,
                        answer.as_ref().ok().map(|(s, c)| (*s, c.as_deref())),
                    );
                }
            }
        }
        Outcome {
            stats,
            timeline: tl,
            gen,
        }
    }

    async fn send(&mut self) -> Result<(u16, Option<String>), String> {
        let op = self.req.op.unwrap_or(Op::Validate);
        let r = ClientRequest {
            key: &self.req.key,
            identifier: &self.req.identifier,
            kind: (op == Op::Activate).then_some("hwid"),
            nonce: None,
        };
        api::encode(&r, Encoding::Json, &mut self.body);
        let mut headers = vec![
            ("Content-Type", "application/json"),
            ("Accept", "application/json"),
        ];
        if let Some(ip) = self.req.ip {
            headers.push(("X-Forwarded-For", GUESS_IPS[ip % GUESS_IPS.len()]));
        }
        let resp = self
            .client
            .request("POST", &self.paths[op.name()], &headers, &self.body)
            .await
            .map_err(|e| e.to_string())?;
        let code = api::decode_verdict(resp.body, resp.msgpack)
            .and_then(|v| v.code)
            .map(|c| c.into_owned());
        Ok((resp.status, code))
    }
}

fn account(
    stats: &mut Stats,
    tl: &mut Timeline,
    req: &Req,
    answer: &Result<(u16, Option<String>), String>,
    offset: Duration,
    latency: Duration,
) {
    stats.sent(req.op.unwrap_or(Op::Validate), false, false);
    match answer {
        Ok((status, code)) => {
            let us = latency.as_micros().min(u128::from(u64::MAX)) as u64;
            stats.record(us, *status, code.as_deref());
            tl.record(offset, us);
        }
        Err(e) => stats.error(e),
    }
}

/// Heartbeats of `dev-0` on uniformly random keys.
struct Storm {
    keys: Arc<Vec<String>>,
}

impl Gen for Storm {
    fn plan(&mut self, rng: &mut StdRng, req: &mut Req) {
        req.op = Some(Op::Heartbeat);
        req.key.clear();
        req.key
            .push_str(&self.keys[rng.gen_range(0..self.keys.len())]);
        req.identifier.clear();
        req.identifier.push_str(SEEDED_IDENTIFIER);
    }
}

/// Heartbeats of `dev-0` on uniformly random `keys` (the heartbeat-storm load)
/// over `spec`'s window, for scenarios in other files (password-guessing).
pub(crate) async fn heartbeats(
    endpoint: &Endpoint,
    spec: &ScenarioSpec,
    rate: Option<f64>,
    keys: &Arc<Vec<String>>,
) -> Result<(Stats, Timeline), String> {
    let (stats, tl, _) = drive(endpoint, spec, rate, |_| Storm { keys: keys.clone() }).await?;
    Ok((stats, tl))
}

/// Activates or deactivates one of a few identifiers on a random license.
struct Churn {
    keys: Arc<Vec<String>>,
}

impl Gen for Churn {
    fn plan(&mut self, rng: &mut StdRng, req: &mut Req) {
        // Slightly more activations than deactivations keeps licenses at their limit.
        req.op = Some(if rng.gen_bool(0.55) {
            Op::Activate
        } else {
            Op::Deactivate
        });
        req.key.clear();
        req.key
            .push_str(&self.keys[rng.gen_range(0..self.keys.len())]);
        req.identifier.clear();
        let _ = write!(
            req.identifier,
            "churn-{}",
            rng.gen_range(0..CHURN_IDENTIFIERS)
        );
    }
}

/// Unknown keys: half from a small repeated set, half never sent before.
struct Guess {
    tag: String,
    conn: usize,
    fresh: u64,
    repeated_sent: u64,
    repeated_seen: [bool; GUESS_REPEATED],
    /// `(status, code)` counts of every answer (warm-up included).
    answers: BTreeMap<String, u64>,
    per_ip: BTreeMap<String, BTreeMap<String, u64>>,
    errors: u64,
}

impl Guess {
    fn new(tag: &str, conn: usize) -> Self {
        Self {
            tag: tag.to_string(),
            conn,
            fresh: 0,
            repeated_sent: 0,
            repeated_seen: [false; GUESS_REPEATED],
            answers: BTreeMap::new(),
            per_ip: BTreeMap::new(),
            errors: 0,
        }
    }
}

impl Gen for Guess {
    fn plan(&mut self, rng: &mut StdRng, req: &mut Req) {
        req.op = Some(Op::Validate);
        req.ip = Some(rng.gen_range(0..GUESS_IPS.len()));
        req.key.clear();
        if rng.gen_bool(0.5) {
            let i = rng.gen_range(0..GUESS_REPEATED);
            self.repeated_seen[i] = true;
            self.repeated_sent += 1;
            let _ = write!(req.key, "GUESS-{}-R{i:02}", self.tag);
        } else {
            self.fresh += 1;
            let _ = write!(req.key, "GUESS-{}-F{}-{}", self.tag, self.conn, self.fresh);
        }
        req.identifier.clear();
        req.identifier.push_str("guess-device");
    }

    fn observe(&mut self, req: &Req, answer: Option<(u16, Option<&str>)>) {
        let Some((status, code)) = answer else {
            self.errors += 1;
            return;
        };
        let label = format!("{status} {}", code.unwrap_or("-"));
        *self.answers.entry(label.clone()).or_default() += 1;
        let ip = GUESS_IPS[req.ip.unwrap_or(0) % GUESS_IPS.len()].to_string();
        *self.per_ip.entry(ip).or_default().entry(label).or_default() += 1;
    }
}

/// Sum of the `name{...}` samples of a Prometheus text whose labels include all of `labels`.
pub fn metric_value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        let (label_text, value) = match rest.strip_prefix('{') {
            Some(r) => match r.split_once('}') {
                Some((l, v)) => (l, v),
                None => continue,
            },
            None if rest.starts_with(' ') => ("", rest),
            None => continue,
        };
        let all = labels.iter().all(|(k, v)| {
            label_text
                .split(',')
                .any(|kv| kv.trim() == format!("{k}=\"{v}\""))
        });
        if !all {
            continue;
        }
        if let Some(v) = value
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok())
        {
            *found.get_or_insert(0.0) += v;
        }
    }
    found
}

async fn store_reads(ep: &Endpoint) -> Result<f64, String> {
    let mut client = Client::new(ep.clone(), Duration::from_secs(10));
    let resp = client
        .request("GET", "/metrics", &[], b"")
        .await
        .map_err(|e| format!("GET /metrics: {e}"))?;
    if resp.status != 200 {
        return Err(format!("GET /metrics: HTTP {}", resp.status));
    }
    let text = String::from_utf8_lossy(resp.body);
    // A counter not yet touched may be absent: that is zero reads.
    Ok(metric_value(
        &text,
        STORE_READS,
        &[("backend", "embedded"), ("op", "get_license")],
    )
    .unwrap_or(0.0))
}

/// Reads `activations_in_use` and `activation_limit` of each key through the admin API.
async fn read_activations(
    ep: &Endpoint,
    token: &str,
    env: &str,
    keys: &[String],
) -> Result<Vec<(String, u64, Option<u64>)>, String> {
    let mut client = Client::new(ep.clone(), Duration::from_secs(30));
    let auth = format!("Bearer {token}");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Accept", "application/json"),
    ];
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        let path = format!("/admin/api/v1/{env}/licenses/{key}");
        let resp = client
            .request("GET", &path, &headers, b"")
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        if resp.status != 200 {
            let text = String::from_utf8_lossy(&resp.body[..resp.body.len().min(300)]);
            return Err(format!("GET {path}: HTTP {}: {text}", resp.status));
        }
        let v: Value = serde_json::from_slice(resp.body)
            .map_err(|e| format!("GET {path}: answer is not JSON: {e}"))?;
        let field = |name: &str| {
            v.get(name)
                .or_else(|| v.get("license").and_then(|l| l.get(name)))
                .cloned()
        };
        let in_use = field("activations_in_use")
            .and_then(|x| x.as_u64())
            .ok_or_else(|| format!("GET {path}: no activations_in_use in {v}"))?;
        let limit = field("activation_limit").and_then(|x| x.as_u64());
        out.push((key.clone(), in_use, limit));
    }
    Ok(out)
}

/// Runs the scenario, writes its JSON and SVG; `Err` only for failures to
/// run (a failed check is `ok: false` in the report).
pub async fn run(spec: &ScenarioSpec) -> Result<ScenarioReport, String> {
    std::fs::create_dir_all(&spec.work_dir)
        .map_err(|e| format!("{}: {e}", spec.work_dir.display()))?;
    std::fs::create_dir_all(&spec.out_dir)
        .map_err(|e| format!("{}: {e}", spec.out_dir.display()))?;
    let name = spec.name.as_str();
    let token = bench::random_token();
    let guessing = spec.name == Name::KeyGuessing;
    let trusted = [("KEYWARDEN_SERVER__TRUSTED_PROXIES", r#"["127.0.0.1"]"#)];
    let portal_env = [
        ("KEYWARDEN_ADMIN_EMAIL", PORTAL_ADMIN),
        ("KEYWARDEN_ADMIN_PASSWORD", PORTAL_PASSWORD),
        ("KEYWARDEN_LIMITS__LOGIN_PER_MINUTE", "100000"),
        ("KEYWARDEN_LIMITS__LOGIN_BURST", "100000"),
    ];
    let (mut server, ep) = bench::start_server_with(
        &spec.server_bin,
        &spec.data_dir,
        &spec.work_dir,
        &token,
        &format!("server-{name}.log"),
        !guessing,
        match spec.name {
            Name::KeyGuessing => &trusted[..],
            Name::PortalBrowsing => &portal_env[..],
            _ => &[],
        },
    )
    .await?;

    let licenses = spec.licenses.unwrap_or(match spec.name {
        Name::HeartbeatStorm | Name::PortalBrowsing => 20_000,
        Name::ActivationChurn => 200,
        Name::KeyGuessing => 0,
    });
    let seed_spec = SeedSpec {
        licenses,
        activation_limit: spec.activation_limit.unwrap_or(match spec.name {
            Name::ActivationChurn => 3,
            _ => 5,
        }),
        env: spec.env.clone(),
        concurrency: 64,
    };
    let seeded = Instant::now();
    let keys = Arc::new(if licenses > 0 {
        seed::create_licenses(&ep, &token, &seed_spec).await?
    } else {
        Vec::new()
    });
    if matches!(spec.name, Name::HeartbeatStorm | Name::PortalBrowsing) {
        eprintln!("activating {} keys as {SEEDED_IDENTIFIER}", keys.len());
        let a = seed::touch_all(&ep, keys.clone(), Op::Activate, &seed_spec).await;
        eprintln!("activation: codes {}", report::join(&a.codes));
    }
    let seed_seconds = seeded.elapsed().as_secs_f64();
    server.check_alive()?;
    // Memory with every seeded license resident (heartbeat-storm and
    // portal-browsing activate each one, which loads its actor).
    let rss_after_seed_kib = bench::vm_rss_kib(server.pid());

    let mut failures = Vec::new();
    let mut summary = String::new();
    let mut extra_svg = None;
    let (rate, stats, tl, details) = match spec.name {
        Name::PortalBrowsing => {
            let rate = Some(spec.rate.unwrap_or(BROWSE_STORM_RATE));
            let sessions = portal::prepare(&ep, &token, &spec.env, &keys).await?;
            eprintln!("baseline: heartbeats alone");
            let (base_stats, _, _) =
                drive(&ep, spec, rate, |_| Storm { keys: keys.clone() }).await?;
            let baseline = PhaseResult::from_stats(
                "heartbeats alone",
                &ep.url(),
                rate,
                spec.connections,
                spec.duration.as_secs_f64(),
                &base_stats,
            );
            eprintln!(
                "running {name}: {} admin and {} customer sessions browsing",
                sessions.admins.len(),
                sessions.customers.len()
            );
            let window = (
                Instant::now() + Duration::from_millis(200),
                spec.warmup,
                spec.duration,
            );
            let storm = drive(&ep, spec, rate, |_| Storm { keys: keys.clone() });
            let browse = portal::browse(&ep, spec.timeout, spec.think, &sessions, window);
            let (storm, pages) = tokio::join!(storm, browse);
            let (stats, tl, _) = storm?;
            let pages = pages?;
            let page_result = PhaseResult::from_stats(
                "portal pages",
                &ep.url(),
                None,
                sessions.admins.len() + sessions.customers.len(),
                spec.duration.as_secs_f64(),
                &pages.stats,
            );
            let _ = writeln!(
                summary,
                "portal pages (closed loop, {} sessions): {} pages, {:.0} pages/s, p50 {} µs, p99 {} µs, max {} µs; statuses {}; by page: {}",
                sessions.admins.len() + sessions.customers.len(),
                page_result.requests,
                page_result.rps,
                page_result.p50_us,
                page_result.p99_us,
                page_result.max_us,
                report::join(&page_result.statuses),
                report::join(&pages.by_page)
            );
            let bad: u64 = page_result
                .statuses
                .iter()
                .filter(|(k, _)| k.as_str() != "200")
                .map(|(_, n)| *n)
                .sum();
            if bad > 0 || page_result.requests == 0 {
                failures.push(format!("{bad} portal pages did not answer 200"));
            }
            let valid = stats.code_map().get("VALID").copied().unwrap_or(0);
            if valid == 0 {
                failures.push("no heartbeat answered VALID".into());
            }
            let with = PhaseResult::from_stats(
                "",
                "",
                rate,
                spec.connections,
                spec.duration.as_secs_f64(),
                &stats,
            );
            let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
            let _ = writeln!(
                summary,
                "heartbeats alone (same run): p50 {} µs, p99 {} µs; with browsing: p50 {} µs ({:.2}×), p99 {} µs ({:.2}×)",
                baseline.p50_us,
                baseline.p99_us,
                with.p50_us,
                ratio(with.p50_us, baseline.p50_us),
                with.p99_us,
                ratio(with.p99_us, baseline.p99_us),
            );
            extra_svg = Some((
                format!("{name}-pages.svg"),
                timeline::svg(
                    &format!("keywarden {name}: portal pages"),
                    &format!(
                        "closed loop, {} sessions, {:.0} pages/s, p50 {:.2} ms, p99 {:.2} ms",
                        sessions.admins.len() + sessions.customers.len(),
                        page_result.rps,
                        page_result.p50_us as f64 / 1000.0,
                        page_result.p99_us as f64 / 1000.0
                    ),
                    &pages.timeline.points(),
                ),
            ));
            let details = json!({
                "devices": keys.len(),
                "valid_heartbeats": valid,
                "admin_sessions": sessions.admins.len(),
                "customer_sessions": sessions.customers.len(),
                "pages": page_result,
                "think_ms": spec.think.as_millis() as u64,
                "heartbeats_alone": baseline,
                "pages_by_path": pages.by_page,
                "pages_timeline": pages.timeline.points(),
            });
            (rate, stats, tl, details)
        }
        Name::HeartbeatStorm => {
            let rate = Some(spec.rate.unwrap_or(STORM_RATE));
            eprintln!("running {name}");
            let (stats, tl, _) = drive(&ep, spec, rate, |_| Storm { keys: keys.clone() }).await?;
            let valid = stats.code_map().get("VALID").copied().unwrap_or(0);
            let details = json!({"devices": keys.len(), "valid_answers": valid});
            (rate, stats, tl, details)
        }
        Name::ActivationChurn => {
            eprintln!("running {name}");
            let (stats, tl, _) =
                drive(&ep, spec, spec.rate, |_| Churn { keys: keys.clone() }).await?;
            let seen = read_activations(&ep, &token, &spec.env, &keys).await?;
            let over: Vec<Value> = seen
                .iter()
                .filter(|(_, used, limit)| limit.is_some_and(|l| *used > l))
                .map(|(k, used, limit)| json!({"key": k, "activations_in_use": used, "activation_limit": limit}))
                .collect();
            let mut in_use_histogram: BTreeMap<u64, u64> = BTreeMap::new();
            for (_, used, _) in &seen {
                *in_use_histogram.entry(*used).or_default() += 1;
            }
            let _ = writeln!(
                summary,
                "licenses checked: {}, activations in use -> licenses: {:?}, over their limit: {}",
                seen.len(),
                in_use_histogram,
                over.len()
            );
            if !over.is_empty() {
                failures.push(format!(
                    "{} licenses exceed their activation limit",
                    over.len()
                ));
            }
            let details = json!({
                "identifiers_per_license": CHURN_IDENTIFIERS,
                "activation_limit": seed_spec.activation_limit,
                "licenses_checked": seen.len(),
                "activations_in_use_histogram": in_use_histogram,
                "over_limit": over,
            });
            (spec.rate, stats, tl, details)
        }
        Name::KeyGuessing => {
            let tag = format!("{:08X}", rand::random::<u32>());
            let before = store_reads(&ep).await?;
            eprintln!("running {name}");
            let (stats, tl, gens) = drive(&ep, spec, spec.rate, |c| Guess::new(&tag, c)).await?;
            let after = store_reads(&ep).await?;
            let reads = after - before;
            let mut repeated_seen: HashSet<usize> = HashSet::new();
            let (mut fresh, mut repeated_sent, mut errors) = (0, 0, 0);
            let mut answers: BTreeMap<String, u64> = BTreeMap::new();
            let mut per_ip: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
            for g in &gens {
                fresh += g.fresh;
                repeated_sent += g.repeated_sent;
                errors += g.errors;
                repeated_seen.extend((0..GUESS_REPEATED).filter(|i| g.repeated_seen[*i]));
                for (k, n) in &g.answers {
                    *answers.entry(k.clone()).or_default() += n;
                }
                for (ip, m) in &g.per_ip {
                    let e = per_ip.entry(ip.clone()).or_default();
                    for (k, n) in m {
                        *e.entry(k.clone()).or_default() += n;
                    }
                }
            }
            let distinct = fresh + repeated_seen.len() as u64;
            let sent = fresh + repeated_sent;
            let limited = answers
                .iter()
                .filter(|(k, _)| k.starts_with("429") || k.ends_with("RATE_LIMITED"))
                .map(|(_, n)| n)
                .sum::<u64>();
            let not_found = answers
                .iter()
                .filter(|(k, _)| k.ends_with("NOT_FOUND"))
                .map(|(_, n)| n)
                .sum::<u64>();
            let per_key = reads / (distinct.max(1) as f64);
            let _ = writeln!(
                summary,
                "all answers (warm-up included): {sent} sent, {limited} rate-limited, {not_found} NOT_FOUND, {errors} errors; by answer: {answers:?}"
            );
            let _ = writeln!(
                summary,
                "store get_license reads: {reads:.0} for {distinct} distinct keys ({fresh} fresh + {} repeated keys sent {repeated_sent} times) = {per_key:.3} reads per distinct key, {:.3} per request",
                repeated_seen.len(),
                reads / (sent.max(1) as f64)
            );
            if limited == 0 {
                failures.push("nothing was rate-limited".to_string());
            }
            // Every store read must be one the limit allowed: a NOT_FOUND answer.
            // Refused guesses must not reach the store.
            let extra = reads - not_found as f64;
            let _ = writeln!(
                summary,
                "store reads beyond the answered NOT_FOUNDs: {extra:.0} (refused guesses cost no reads)"
            );
            if extra > (not_found as f64 * 0.05).max(5.0) {
                failures.push(format!(
                    "{extra:.0} store reads for guesses that were refused"
                ));
            }
            let details = json!({
                "client_ips": GUESS_IPS,
                "answers": answers,
                "answers_per_ip": per_ip,
                "rate_limited": limited,
                "not_found": not_found,
                "transport_errors": errors,
                "requests_sent": sent,
                "fresh_keys": fresh,
                "repeated_keys": repeated_seen.len(),
                "repeated_key_requests": repeated_sent,
                "distinct_keys": distinct,
                "store_get_license_reads_before": before,
                "store_get_license_reads_after": after,
                "store_get_license_reads": reads,
                "reads_per_distinct_key": per_key,
            });
            (spec.rate, stats, tl, details)
        }
    };
    server.check_alive()?;
    let rss_end_kib = bench::vm_rss_kib(server.pid());
    drop(server);
    let memory = json!({
        "rss_after_seed_kib": rss_after_seed_kib,
        "rss_end_kib": rss_end_kib,
        "resident_licenses": keys.len(),
    });
    if let (Some(a), Some(b)) = (rss_after_seed_kib, rss_end_kib) {
        let _ = writeln!(
            summary,
            "server RSS: {:.0} MiB after seeding {} licenses, {:.0} MiB at the end",
            a as f64 / 1024.0,
            keys.len(),
            b as f64 / 1024.0
        );
    }

    let result = PhaseResult::from_stats(
        name,
        &ep.url(),
        rate,
        spec.connections,
        spec.duration.as_secs_f64(),
        &stats,
    );
    let points = tl.points();
    let head = format!(
        "{name}: {} loop{}, {} connections, {:.1} s: {} answers, {:.0} req/s, p50 {} µs, p99 {} µs, p99.9 {} µs, max {} µs; codes {}; statuses {}; errors {}; unsent {}",
        result.mode,
        rate.map(|r| format!(" at {r:.0}/s")).unwrap_or_default(),
        spec.connections,
        result.duration_s,
        result.requests,
        result.rps,
        result.p50_us,
        result.p99_us,
        result.p999_us,
        result.max_us,
        report::join(&result.codes),
        report::join(&result.statuses),
        result.errors,
        result.unsent,
    );
    summary.insert_str(0, &format!("{head}\n"));
    if failures.is_empty() {
        summary.push_str("checks: ok\n");
    } else {
        let _ = writeln!(summary, "checks FAILED: {}", failures.join("; "));
    }
    let subtitle = format!(
        "{} loop{}, {} connections, {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
        result.mode,
        rate.map(|r| format!(" at {r:.0}/s")).unwrap_or_default(),
        spec.connections,
        result.rps,
        result.p50_us as f64 / 1000.0,
        result.p99_us as f64 / 1000.0
    );
    let report = ScenarioReport {
        scenario: name.to_string(),
        ok: failures.is_empty(),
        failures,
        licenses: keys.len(),
        seed_seconds,
        warmup_s: spec.warmup.as_secs_f64(),
        result,
        timeline: points,
        details: {
            let mut d = details;
            if let Some(obj) = d.as_object_mut() {
                obj.insert("server_memory".into(), memory);
            }
            d
        },
        summary,
    };
    let json_path = spec.out_dir.join(format!("{name}.json"));
    report::write_json(&json_path, &report)?;
    let svg_path = spec.out_dir.join(format!("{name}.svg"));
    std::fs::write(
        &svg_path,
        timeline::svg(&format!("keywarden {name}"), &subtitle, &report.timeline),
    )
    .map_err(|e| format!("{}: {e}", svg_path.display()))?;
    if let Some((file, svg)) = extra_svg {
        let p = spec.out_dir.join(file);
        std::fs::write(&p, svg).map_err(|e| format!("{}: {e}", p.display()))?;
        eprintln!("wrote {}", p.display());
    }
    eprintln!("wrote {} and {}", json_path.display(), svg_path.display());
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_labelled_counter() {
        let text = "# TYPE x counter\n\
            keywarden_store_operation_duration_seconds_count{backend=\"embedded\",op=\"get_license\"} 42\n\
            keywarden_store_operation_duration_seconds_count{backend=\"embedded\",op=\"put_license\"} 7\n\
            keywarden_store_operation_duration_seconds_sum{backend=\"embedded\",op=\"get_license\"} 0.5\n";
        let labels = [("op", "get_license"), ("backend", "embedded")];
        assert_eq!(metric_value(text, STORE_READS, &labels), Some(42.0));
        assert_eq!(metric_value(text, STORE_READS, &[("op", "nope")]), None);
        assert_eq!(metric_value("up 1\n", "up", &[]), Some(1.0));
    }
}
