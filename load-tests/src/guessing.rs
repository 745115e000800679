//! The `password-guessing` scenario (security review item 4: "password hashing
//! blocks request workers; the current-password check is unlimited"). Devices
//! heartbeat alone in open loop (phase 1), then the same heartbeats run while
//! attackers post wrong passwords as fast as they can (phase 2), half to the
//! customer sign-in form and half to a signed-in customer's password change.
//! Reported: heartbeat p50/p99 of both phases and their ratio, and how many
//! guesses reached a password check, were refused (429) or got anything else.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use serde_json::json;
use tokio::time::Instant;

mod attack;

use attack::{Tally, Target, Victim};

use crate::api::Op;
use crate::bench::{self, ChildGuard};
use crate::http::{Client, Endpoint};
use crate::portal;
use crate::report::{self, PhaseResult};
use crate::scenario::{self, Name, ScenarioReport, ScenarioSpec, PORTAL_PASSWORD};
use crate::seed::{self, SeedSpec};
use crate::stats::Stats;
use crate::timeline::{self, Timeline};

const NAME: &str = "password-guessing";
/// Highest phase-2 / phase-1 heartbeat p99 the check accepts.
const TARGET_RATIO: f64 = 2.0;
/// Limits set with `--lift-limits`: every guess reaches the password pool.
const LIFTED: [(&str, &str); 4] = [
    ("KEYWARDEN_LIMITS__LOGIN_PER_MINUTE", "1000000"),
    ("KEYWARDEN_LIMITS__LOGIN_BURST", "1000000"),
    ("KEYWARDEN_LIMITS__ACCOUNT_FAILURES_PER_HOUR", "1000000"),
    ("KEYWARDEN_LIMITS__ACCOUNT_FAILURES_BURST", "1000000"),
];

/// Options of `password-guessing`.
#[derive(Args, Clone, Debug)]
pub struct GuessArgs {
    /// The keywarden server binary.
    #[arg(long)]
    pub server_bin: PathBuf,
    /// The server's data directory (must be empty or absent).
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Where password-guessing.json and the SVGs go.
    #[arg(long, default_value = ".")]
    pub out_dir: PathBuf,
    /// Directory for the server log (default: a temp directory).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Measured window of each phase (e.g. 10s).
    #[arg(long, default_value = "10s", value_parser = crate::duration::parse)]
    pub duration: Duration,
    /// Unmeasured warm-up before each window.
    #[arg(long, default_value = "1s", value_parser = crate::duration::parse)]
    pub warmup: Duration,
    /// Heartbeats per second (open loop), in both phases.
    #[arg(long, default_value_t = 2000.0)]
    pub rate: f64,
    /// Concurrent guessers in phase 2 (even ones sign in, odd ones change the password).
    #[arg(long, default_value_t = 8)]
    pub attackers: usize,
    /// Keep-alive connections of the heartbeats.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Licenses created and activated once each (the heartbeating devices).
    #[arg(long, default_value_t = 20_000)]
    pub licenses: usize,
    /// Lift the per-IP and per-account failure limits (only the password pool bounds hashing).
    #[arg(long)]
    pub lift_limits: bool,
    /// Per-request timeout.
    #[arg(long, default_value = "10s", value_parser = crate::duration::parse)]
    pub timeout: Duration,
    /// Client runtime threads.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Environment in the request paths.
    #[arg(long, default_value = "production")]
    pub env: String,
}

/// The started, seeded server and the account under attack.
struct Prepared {
    server: ChildGuard,
    ep: Endpoint,
    keys: Arc<Vec<String>>,
    victim: Arc<Victim>,
    seed_seconds: f64,
}

/// Starts the server, creates and activates the devices' licenses, creates the
/// customer with a known password and signs it in (before any guess, so the
/// failure limits do not refuse it).
async fn prepare(a: &GuessArgs, work_dir: &std::path::Path) -> Result<Prepared, String> {
    let token = bench::random_token();
    let env: &[(&str, &str)] = if a.lift_limits { &LIFTED } else { &[] };
    let log = format!("server-{NAME}.log");
    let (server, ep) = bench::start_server_with(
        &a.server_bin,
        &a.data_dir,
        work_dir,
        &token,
        &log,
        true,
        env,
    )
    .await?;
    let seed_spec = SeedSpec {
        licenses: a.licenses,
        activation_limit: 5,
        env: a.env.clone(),
        concurrency: 64,
    };
    let seeded = Instant::now();
    let keys = Arc::new(seed::create_licenses(&ep, &token, &seed_spec).await?);
    let act = seed::touch_all(&ep, keys.clone(), Op::Activate, &seed_spec).await;
    eprintln!(
        "activated {} devices: codes {}",
        keys.len(),
        report::join(&act.codes)
    );
    let email = format!(
        "guess-victim-{:06x}@example.com",
        rand::random::<u32>() & 0xff_ffff
    );
    let mut c = Client::new(ep.clone(), Duration::from_secs(30));
    let body = json!({"email": email, "name": "Guessing Victim", "password": PORTAL_PASSWORD});
    portal::api(&mut c, &token, "POST", "/admin/api/v1/customers", &body).await?;
    let session = portal::sign_in(&ep, "/portal", &email, PORTAL_PASSWORD).await?;
    Ok(Prepared {
        server,
        ep,
        keys,
        victim: Arc::new(Victim { email, session }),
        seed_seconds: seeded.elapsed().as_secs_f64(),
    })
}

/// Runs the scenario; writes `password-guessing.json`, `.svg` (heartbeats) and
/// `-guesses.svg`. `Err` only for failures to run (a failed check is `ok: false`).
pub async fn run(a: &GuessArgs, work_dir: PathBuf) -> Result<ScenarioReport, String> {
    for d in [&work_dir, &a.out_dir] {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    if a.attackers == 0 || a.licenses == 0 {
        return Err("need at least one attacker and one license".into());
    }
    let Prepared {
        mut server,
        ep,
        keys,
        victim,
        seed_seconds,
    } = prepare(a, &work_dir).await?;
    server.check_alive()?;
    let rss_after_seed_kib = bench::vm_rss_kib(server.pid());
    // The heartbeat-storm load of `scenario` (it reads the window, connections,
    // timeout and environment of this spec).
    let spec = ScenarioSpec {
        name: Name::HeartbeatStorm,
        server: scenario::Server::Start {
            bin: a.server_bin.clone(),
            data_dir: a.data_dir.clone(),
        },
        work_dir: work_dir.clone(),
        out_dir: a.out_dir.clone(),
        duration: a.duration,
        warmup: a.warmup,
        rate: Some(a.rate),
        connections: a.connections,
        licenses: Some(a.licenses),
        activation_limit: None,
        timeout: a.timeout,
        env: a.env.clone(),
        think: Duration::ZERO,
    };
    let (rate, secs) = (Some(a.rate), a.duration.as_secs_f64());
    eprintln!("phase 1: heartbeats alone at {:.0}/s", a.rate);
    let (alone, _) = scenario::heartbeats(&ep, &spec, rate, &keys).await?;
    let alone = PhaseResult::from_stats(
        "heartbeats alone",
        &ep.url(),
        rate,
        a.connections,
        secs,
        &alone,
    );
    eprintln!("phase 2: the same heartbeats + {} attackers", a.attackers);
    let window = (
        Instant::now() + Duration::from_millis(200),
        a.warmup,
        a.duration,
    );
    let tasks: Vec<_> = (0..a.attackers)
        .map(|i| {
            let t = Target::of(i);
            let f = attack::attack(ep.clone(), a.timeout, t, i, victim.clone(), window);
            (t, tokio::spawn(f))
        })
        .collect();
    let guesses = async {
        let mut out = Vec::new();
        for (t, task) in tasks {
            out.push((t, task.await.map_err(|e| format!("attacker failed: {e}"))?));
        }
        Ok::<_, String>(out)
    };
    let (storm, tallies) = tokio::join!(scenario::heartbeats(&ep, &spec, rate, &keys), guesses);
    let (stats, tl) = storm?;
    let tallies = tallies?;
    server.check_alive()?;
    let rss_end_kib = bench::vm_rss_kib(server.pid());
    drop(server);
    let with = PhaseResult::from_stats(NAME, &ep.url(), rate, a.connections, secs, &stats);
    let memory = json!({"rss_after_seed_kib": rss_after_seed_kib, "rss_end_kib": rss_end_kib});
    let mut report = finish(a, keys.len(), alone, with, &tallies, memory);
    report.seed_seconds = seed_seconds;
    report.timeline = tl.points();
    write(a, &report, &tallies)?;
    Ok(report)
}

/// The report: checks, summary table and details.
fn finish(
    a: &GuessArgs,
    devices: usize,
    alone: PhaseResult,
    with: PhaseResult,
    tallies: &[(Target, Tally)],
    memory: serde_json::Value,
) -> ScenarioReport {
    let secs = a.duration.as_secs_f64();
    let ratio = |x: u64, y: u64| if y == 0 { 0.0 } else { x as f64 / y as f64 };
    let (r50, r99) = (
        ratio(with.p50_us, alone.p50_us),
        ratio(with.p99_us, alone.p99_us),
    );
    let (login, l) = attack::figures(Target::Login, tallies, secs);
    let (profile, p) = attack::figures(Target::Profile, tallies, secs);
    let total = l.add(p);
    let valid = with.codes.get("VALID").copied().unwrap_or(0);
    let accepted: u64 = tallies
        .iter()
        .map(|(_, t)| t.stats.status_map().get("303").copied().unwrap_or(0))
        .sum();
    let mut failures = Vec::new();
    if r99 > TARGET_RATIO {
        failures.push(format!(
            "heartbeat p99 rose {r99:.2}× under guessing (target ≤ {TARGET_RATIO}×)"
        ));
    }
    if valid == 0 {
        failures.push("no heartbeat answered VALID".into());
    }
    if total.sent == 0 {
        failures.push("the attackers sent no guess".into());
    }
    if accepted > 0 {
        failures.push(format!("{accepted} wrong passwords were accepted (303)"));
    }
    let limits = if a.lift_limits { "lifted" } else { "default" };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{NAME}: heartbeats open loop at {:.0}/s over {devices} devices; {} attackers ({} sign-in, {} password change); {limits} failure limits; {secs:.1} s per phase",
        a.rate,
        a.attackers,
        a.attackers.div_ceil(2),
        a.attackers / 2
    );
    s.push_str("| heartbeats | p50 µs | p99 µs | answers | codes |\n|---|---:|---:|---:|---|\n");
    for (label, r, x) in [
        ("alone (phase 1)", &alone, None),
        ("with guessing (phase 2)", &with, Some((r50, r99))),
    ] {
        let (f50, f99) = x.map_or((String::new(), String::new()), |(a, b)| {
            (format!(" ({a:.2}×)"), format!(" ({b:.2}×)"))
        });
        let _ = writeln!(
            s,
            "| {label} | {}{f50} | {}{f99} | {} | {} |",
            r.p50_us,
            r.p99_us,
            r.requests,
            report::join(&r.codes)
        );
    }
    s.push_str("| guesses (window) | answered | checked (wrong password) | 429 | other | checked/s |\n|---|---:|---:|---:|---:|---:|\n");
    l.row(&mut s, "POST /portal/login (checked = 401)", secs);
    p.row(
        &mut s,
        "POST /portal/profile/password (checked = 400)",
        secs,
    );
    total.row(&mut s, "total", secs);
    s.push_str(&if failures.is_empty() {
        "checks: ok\n".to_string()
    } else {
        format!("checks FAILED: {}\n", failures.join("; "))
    });
    let mut guess_tl = Timeline::new(a.duration);
    tallies
        .iter()
        .for_each(|(_, t)| guess_tl.merge(&t.timeline));
    let details = json!({
        "devices": devices,
        "valid_heartbeats": valid,
        "heartbeats_alone": alone,
        "heartbeat_p50_ratio": r50,
        "heartbeat_p99_ratio": r99,
        "target_p99_ratio": TARGET_RATIO,
        "attackers": a.attackers,
        "failure_limits": limits,
        "guesses": total,
        "checked_per_second": total.checked as f64 / secs.max(1e-9),
        "login": login,
        "password_change": profile,
        "guesses_timeline": guess_tl.points(),
        "server_memory": memory,
    });
    ScenarioReport {
        scenario: NAME.into(),
        target: with.url.clone(),
        external: false,
        ok: failures.is_empty(),
        failures,
        licenses: devices,
        seed_seconds: 0.0,
        warmup_s: a.warmup.as_secs_f64(),
        result: with,
        timeline: Vec::new(),
        details,
        summary: s,
    }
}

/// Writes `NAME.json`, `NAME.svg` (heartbeats) and `NAME-guesses.svg` (guess latency).
fn write(
    a: &GuessArgs,
    report: &ScenarioReport,
    tallies: &[(Target, Tally)],
) -> Result<(), String> {
    let secs = a.duration.as_secs_f64();
    let sub = |what: String, r: &PhaseResult| {
        let (p50, p99) = (r.p50_us as f64 / 1000.0, r.p99_us as f64 / 1000.0);
        format!(
            "{what}: {:.0} req/s, p50 {p50:.2} ms, p99 {p99:.2} ms",
            r.rps
        )
    };
    let svg = timeline::svg(
        &format!("keywarden {NAME}: heartbeats"),
        &sub(
            format!("open loop at {:.0}/s, {} attackers", a.rate, a.attackers),
            &report.result,
        ),
        &report.timeline,
    );
    let mut stats = Stats::new();
    let mut tl = Timeline::new(a.duration);
    for (_, t) in tallies {
        stats.merge(&t.stats);
        tl.merge(&t.timeline);
    }
    let g = PhaseResult::from_stats("guesses", "", None, a.attackers, secs, &stats);
    let guess_svg = timeline::svg(
        &format!("keywarden {NAME}: guesses"),
        &sub(format!("{} attackers, back to back", a.attackers), &g),
        &tl.points(),
    );
    let out = |f: &str| a.out_dir.join(f);
    report::write_json(&out(&format!("{NAME}.json")), report)?;
    for (f, text) in [
        (format!("{NAME}.svg"), svg),
        (format!("{NAME}-guesses.svg"), guess_svg),
    ] {
        std::fs::write(out(&f), text).map_err(|e| format!("{f}: {e}"))?;
    }
    eprintln!(
        "wrote {NAME}.json, {NAME}.svg and {NAME}-guesses.svg to {}",
        a.out_dir.display()
    );
    Ok(())
}
