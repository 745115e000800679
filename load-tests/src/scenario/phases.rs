//! Seeding, the heartbeat-storm and activation-churn phases, and writing a
//! scenario's report (JSON, SVG, summary).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use serde_json::{json, Value};
use tokio::time::Instant;

use super::checks::read_activations;
use super::drive::drive;
use super::gens::{Churn, Storm};
use super::target::Running;
use super::{Name, Outcome, ScenarioReport, ScenarioSpec, CHURN_IDENTIFIERS, STORM_RATE};
use crate::api::Op;
use crate::report::{self, PhaseResult};
use crate::run::SEEDED_IDENTIFIER;
use crate::seed::{self, SeedSpec};
use crate::timeline;

/// What every phase works with once the server is seeded.
pub(super) struct Ctx<'a> {
    pub spec: &'a ScenarioSpec,
    pub seed: SeedSpec,
    /// The seeded license keys.
    pub keys: Arc<Vec<String>>,
    pub seed_seconds: f64,
}

/// Creates the scenario's licenses through the admin API (and activates each
/// as `dev-0` for the heartbeat scenarios).
pub(super) async fn seed<'a>(spec: &'a ScenarioSpec, server: &Running) -> Result<Ctx<'a>, String> {
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
    let (ep, token) = (&server.ep, &server.token);
    let seeded = Instant::now();
    let keys = Arc::new(if licenses > 0 {
        seed::create_licenses(ep, token, &seed_spec).await?
    } else {
        Vec::new()
    });
    if matches!(spec.name, Name::HeartbeatStorm | Name::PortalBrowsing) {
        eprintln!("activating {} keys as {SEEDED_IDENTIFIER}", keys.len());
        let a = seed::touch_all(ep, keys.clone(), Op::Activate, &seed_spec).await;
        eprintln!("activation: codes {}", report::join(&a.codes));
    }
    Ok(Ctx {
        spec,
        seed: seed_spec,
        keys,
        seed_seconds: seeded.elapsed().as_secs_f64(),
    })
}

/// heartbeat-storm: heartbeats on uniformly random keys, open loop.
pub(super) async fn storm(ctx: &Ctx<'_>, server: &Running) -> Result<Outcome, String> {
    let (spec, keys) = (ctx.spec, &ctx.keys);
    let rate = Some(spec.rate.unwrap_or(STORM_RATE));
    eprintln!("running {}", spec.name.as_str());
    let (stats, tl, _) = drive(&server.ep, spec, rate, |_| Storm { keys: keys.clone() }).await?;
    let valid = stats.code_map().get("VALID").copied().unwrap_or(0);
    let mut out = Outcome::new(rate, stats, tl);
    out.details = json!({"devices": keys.len(), "valid_answers": valid});
    Ok(out)
}

/// activation-churn: activations racing near the limit, then every license
/// read back through the admin API.
pub(super) async fn churn(ctx: &Ctx<'_>, server: &Running) -> Result<Outcome, String> {
    let (spec, keys) = (ctx.spec, &ctx.keys);
    eprintln!("running {}", spec.name.as_str());
    let (stats, tl, _) = drive(&server.ep, spec, spec.rate, |_| Churn {
        keys: keys.clone(),
    })
    .await?;
    let seen = read_activations(&server.ep, &server.token, &spec.env, keys).await?;
    let over: Vec<Value> = seen
        .iter()
        .filter(|(_, used, limit)| limit.is_some_and(|l| *used > l))
        .map(|(k, used, limit)| json!({"key": k, "activations_in_use": used, "activation_limit": limit}))
        .collect();
    let mut in_use_histogram: BTreeMap<u64, u64> = BTreeMap::new();
    for (_, used, _) in &seen {
        *in_use_histogram.entry(*used).or_default() += 1;
    }
    let mut out = Outcome::new(spec.rate, stats, tl);
    let _ = writeln!(
        out.summary,
        "licenses checked: {}, activations in use -> licenses: {:?}, over their limit: {}",
        seen.len(),
        in_use_histogram,
        over.len()
    );
    if !over.is_empty() {
        out.failures.push(format!(
            "{} licenses exceed their activation limit",
            over.len()
        ));
    }
    out.details = json!({
        "identifiers_per_license": CHURN_IDENTIFIERS,
        "activation_limit": ctx.seed.activation_limit,
        "licenses_checked": seen.len(),
        "activations_in_use_histogram": in_use_histogram,
        "over_limit": over,
    });
    Ok(out)
}

/// The summary's first line and the SVG's subtitle.
fn head_and_subtitle(name: &str, result: &PhaseResult, rate: Option<f64>) -> (String, String) {
    let at = rate.map(|r| format!(" at {r:.0}/s")).unwrap_or_default();
    let head = format!(
        "{name}: {} loop{at}, {} connections, {:.1} s: {} answers, {:.0} req/s, p50 {} µs, p99 {} µs, p99.9 {} µs, max {} µs; codes {}; statuses {}; errors {}; unsent {}",
        result.mode,
        result.connections,
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
    let subtitle = format!(
        "{} loop{at}, {} connections, {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
        result.mode,
        result.connections,
        result.rps,
        result.p50_us as f64 / 1000.0,
        result.p99_us as f64 / 1000.0
    );
    (head, subtitle)
}

/// Assembles the report, writes `NAME.json`, `NAME.svg` (and a second chart if any).
pub(super) fn finish(
    ctx: &Ctx<'_>,
    o: Outcome,
    memory: Value,
    url: &str,
    external: bool,
) -> Result<ScenarioReport, String> {
    let (spec, name) = (ctx.spec, ctx.spec.name.as_str());
    let secs = spec.duration.as_secs_f64();
    let result = PhaseResult::from_stats(name, url, o.rate, spec.connections, secs, &o.stats);
    let mut summary = o.summary;
    if let (Some(a), Some(b)) = (
        memory["rss_after_seed_kib"].as_u64(),
        memory["rss_end_kib"].as_u64(),
    ) {
        let _ = writeln!(
            summary,
            "server RSS: {:.0} MiB after seeding {} licenses, {:.0} MiB at the end",
            a as f64 / 1024.0,
            ctx.keys.len(),
            b as f64 / 1024.0
        );
    }
    let (head, subtitle) = head_and_subtitle(name, &result, o.rate);
    let how = if external {
        "already running"
    } else {
        "started by this run"
    };
    summary.insert_str(0, &format!("{head}\ntarget: {url} ({how})\n"));
    if o.failures.is_empty() {
        summary.push_str("checks: ok\n");
    } else {
        let _ = writeln!(summary, "checks FAILED: {}", o.failures.join("; "));
    }
    let mut details = o.details;
    if let Some(obj) = details.as_object_mut() {
        obj.insert("server_memory".into(), memory);
    }
    let report = ScenarioReport {
        scenario: name.to_string(),
        target: url.to_string(),
        external,
        ok: o.failures.is_empty(),
        failures: o.failures,
        licenses: ctx.keys.len(),
        seed_seconds: ctx.seed_seconds,
        warmup_s: spec.warmup.as_secs_f64(),
        result,
        timeline: o.tl.points(),
        details,
        summary,
    };
    let title = format!("keywarden {name} @ {url}");
    let svg = timeline::svg(&title, &subtitle, &report.timeline);
    write_outputs(spec, &report, svg, o.extra_svg)?;
    Ok(report)
}

fn write_outputs(
    spec: &ScenarioSpec,
    report: &ScenarioReport,
    svg: String,
    extra_svg: Option<(String, String)>,
) -> Result<(), String> {
    let name = spec.name.as_str();
    let json_path = spec.out_dir.join(format!("{name}.json"));
    report::write_json(&json_path, report)?;
    let svg_path = spec.out_dir.join(format!("{name}.svg"));
    std::fs::write(&svg_path, svg).map_err(|e| format!("{}: {e}", svg_path.display()))?;
    if let Some((file, svg)) = extra_svg {
        let p = spec.out_dir.join(file);
        std::fs::write(&p, svg).map_err(|e| format!("{}: {e}", p.display()))?;
        eprintln!("wrote {}", p.display());
    }
    eprintln!("wrote {} and {}", json_path.display(), svg_path.display());
    Ok(())
}
