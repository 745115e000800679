//! portal-browsing: heartbeats alone, then the same heartbeats while signed-in
//! admins and customers view portal pages (src/portal.rs).

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use super::drive::drive;
use super::gens::Storm;
use super::phases::Ctx;
use super::target::Running;
use super::{Outcome, BROWSE_STORM_RATE};
use crate::portal::{self, Pages, Sessions};
use crate::report::{self, PhaseResult};
use crate::timeline;

/// Runs both phases and checks them.
pub(super) async fn run(ctx: &Ctx<'_>, server: &Running) -> Result<Outcome, String> {
    let (spec, keys, ep) = (ctx.spec, &ctx.keys, &server.ep);
    let rate = Some(spec.rate.unwrap_or(BROWSE_STORM_RATE));
    let sessions = portal::prepare(ep, &server.token, &spec.env, keys, &server.admin).await?;
    eprintln!("baseline: heartbeats alone");
    let (base_stats, _, _) = drive(ep, spec, rate, |_| Storm { keys: keys.clone() }).await?;
    let secs = spec.duration.as_secs_f64();
    let baseline = PhaseResult::from_stats(
        "heartbeats alone",
        &ep.url(),
        rate,
        spec.connections,
        secs,
        &base_stats,
    );
    eprintln!(
        "running {}: {} admin and {} customer sessions browsing",
        spec.name.as_str(),
        sessions.admins.len(),
        sessions.customers.len()
    );
    let window = (
        Instant::now() + Duration::from_millis(200),
        spec.warmup,
        spec.duration,
    );
    let storm = drive(ep, spec, rate, |_| Storm { keys: keys.clone() });
    let browse = portal::browse(ep, spec.timeout, spec.think, &sessions, window);
    let (storm, pages) = tokio::join!(storm, browse);
    let (stats, tl, _) = storm?;
    let mut out = Outcome::new(rate, stats, tl);
    report_pages(ctx, server, &sessions, &pages?, baseline, &mut out);
    Ok(out)
}

/// Page figures, the heartbeat ratios, the checks, the pages chart and details.
fn report_pages(
    ctx: &Ctx<'_>,
    server: &Running,
    sessions: &Sessions,
    pages: &Pages,
    baseline: PhaseResult,
    out: &mut Outcome,
) {
    let (spec, name) = (ctx.spec, ctx.spec.name.as_str());
    let n = sessions.admins.len() + sessions.customers.len();
    let secs = spec.duration.as_secs_f64();
    let page_result = PhaseResult::from_stats(
        "portal pages",
        &server.ep.url(),
        None,
        n,
        secs,
        &pages.stats,
    );
    let _ = writeln!(
        out.summary,
        "portal pages (closed loop, {n} sessions): {} pages, {:.0} pages/s, p50 {} µs, p99 {} µs, max {} µs; statuses {}; by page: {}",
        page_result.requests,
        page_result.rps,
        page_result.p50_us,
        page_result.p99_us,
        page_result.max_us,
        report::join(&page_result.statuses),
        report::join(&pages.by_page)
    );
    check_pages(&page_result, server.external(), &mut out.failures);
    let valid = out.stats.code_map().get("VALID").copied().unwrap_or(0);
    if valid == 0 {
        out.failures.push("no heartbeat answered VALID".into());
    }
    compare_heartbeats(&baseline, out, spec.connections, secs);
    out.extra_svg = Some(pages_chart(name, &server.ep.url(), n, &page_result, pages));
    out.details = json!({
        "devices": ctx.keys.len(),
        "valid_heartbeats": valid,
        "admin_sessions": sessions.admins.len(),
        "customer_sessions": sessions.customers.len(),
        "pages": page_result,
        "think_ms": spec.think.as_millis() as u64,
        "heartbeats_alone": baseline,
        "pages_by_path": pages.by_page,
        "pages_timeline": pages.timeline.points(),
    });
}

/// The page latency chart: (file name, SVG).
fn pages_chart(
    name: &str,
    url: &str,
    n: usize,
    page_result: &PhaseResult,
    pages: &Pages,
) -> (String, String) {
    let subtitle = format!(
        "closed loop, {n} sessions, {:.0} pages/s, p50 {:.2} ms, p99 {:.2} ms",
        page_result.rps,
        page_result.p50_us as f64 / 1000.0,
        page_result.p99_us as f64 / 1000.0
    );
    let title = format!("keywarden {name}: portal pages @ {}", url);
    let svg = timeline::svg(&title, &subtitle, &pages.timeline.points());
    (format!("{name}-pages.svg"), svg)
}

/// Heartbeat p50/p99 alone vs with browsing (same run), as ratios.
fn compare_heartbeats(baseline: &PhaseResult, out: &mut Outcome, connections: usize, secs: f64) {
    let with = PhaseResult::from_stats("", "", out.rate, connections, secs, &out.stats);
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let _ = writeln!(
        out.summary,
        "heartbeats alone (same run): p50 {} µs, p99 {} µs; with browsing: p50 {} µs ({:.2}×), p99 {} µs ({:.2}×)",
        baseline.p50_us,
        baseline.p99_us,
        with.p50_us,
        ratio(with.p50_us, baseline.p50_us),
        with.p99_us,
        ratio(with.p99_us, baseline.p99_us),
    );
}

/// Every page must answer 200; redirects behind a load balancer usually mean
/// the answering node did not know the session.
fn check_pages(pages: &PhaseResult, external: bool, failures: &mut Vec<String>) {
    let bad: u64 = pages
        .statuses
        .iter()
        .filter(|(k, _)| k.as_str() != "200")
        .map(|(_, n)| *n)
        .sum();
    if bad == 0 && pages.requests > 0 {
        return;
    }
    let redirects: u64 = pages
        .statuses
        .iter()
        .filter(|(k, _)| k.starts_with('3'))
        .map(|(_, n)| *n)
        .sum();
    let mut msg = format!("{bad} portal pages did not answer 200");
    if external && redirects > 0 {
        msg += &format!(
            " ({redirects} redirects, most likely to the sign-in page: the node that \
             answered did not know the session; with several nodes and no stickiness \
             every node must see every session)"
        );
    }
    failures.push(msg);
}
