//! key-guessing: unknown keys from a few client IPs against the default
//! unknown-key limits; refused guesses must cost no store reads.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use serde_json::{json, Value};

use super::checks::store_reads;
use super::drive::drive;
use super::gens::Guess;
use super::phases::Ctx;
use super::target::Running;
use super::{Outcome, GUESS_IPS, GUESS_REPEATED};

/// Every connection's tallies added up.
#[derive(Default)]
struct Totals {
    fresh: u64,
    repeated_sent: u64,
    errors: u64,
    repeated_seen: HashSet<usize>,
    answers: BTreeMap<String, u64>,
    per_ip: BTreeMap<String, BTreeMap<String, u64>>,
}

impl Totals {
    fn of(gens: &[Guess]) -> Self {
        let mut t = Totals::default();
        for g in gens {
            t.fresh += g.fresh;
            t.repeated_sent += g.repeated_sent;
            t.errors += g.errors;
            t.repeated_seen
                .extend((0..GUESS_REPEATED).filter(|i| g.repeated_seen[*i]));
            for (k, n) in &g.answers {
                *t.answers.entry(k.clone()).or_default() += n;
            }
            for (ip, m) in &g.per_ip {
                let e = t.per_ip.entry(ip.clone()).or_default();
                for (k, n) in m {
                    *e.entry(k.clone()).or_default() += n;
                }
            }
        }
        t
    }

    /// Answers whose `status code` label matches `pred`.
    fn count(&self, pred: impl Fn(&str) -> bool) -> u64 {
        self.answers
            .iter()
            .filter(|(k, _)| pred(k))
            .map(|(_, n)| n)
            .sum()
    }
}

pub(super) async fn run(ctx: &Ctx<'_>, server: &Running) -> Result<Outcome, String> {
    let (spec, ep) = (ctx.spec, &server.ep);
    let tag = format!("{:08X}", rand::random::<u32>());
    let before = store_reads(ep).await?;
    eprintln!("running {}", spec.name.as_str());
    let (stats, tl, gens) = drive(ep, spec, spec.rate, |c| Guess::new(&tag, c)).await?;
    let after = store_reads(ep).await?;
    let reads = after - before;
    let t = Totals::of(&gens);
    let distinct = t.fresh + t.repeated_seen.len() as u64;
    let sent = t.fresh + t.repeated_sent;
    let limited = t.count(|k| k.starts_with("429") || k.ends_with("RATE_LIMITED"));
    let not_found = t.count(|k| k.ends_with("NOT_FOUND"));
    let per_key = reads / (distinct.max(1) as f64);
    let mut out = Outcome::new(spec.rate, stats, tl);
    let _ = writeln!(
        out.summary,
        "all answers (warm-up included): {sent} sent, {limited} rate-limited, {not_found} NOT_FOUND, {} errors; by answer: {:?}",
        t.errors, t.answers
    );
    let _ = writeln!(
        out.summary,
        "store get_license reads: {reads:.0} for {distinct} distinct keys ({} fresh + {} repeated keys sent {} times) = {per_key:.3} reads per distinct key, {:.3} per request",
        t.fresh,
        t.repeated_seen.len(),
        t.repeated_sent,
        reads / (sent.max(1) as f64)
    );
    if limited == 0 {
        out.failures.push("nothing was rate-limited".to_string());
    }
    // Every store read must be one the limit allowed: a NOT_FOUND answer.
    // Refused guesses must not reach the store.
    let extra = reads - not_found as f64;
    let _ = writeln!(
        out.summary,
        "store reads beyond the answered NOT_FOUNDs: {extra:.0} (refused guesses cost no reads)"
    );
    if extra > (not_found as f64 * 0.05).max(5.0) {
        out.failures.push(format!(
            "{extra:.0} store reads for guesses that were refused"
        ));
    }
    out.details = details(&t, limited, not_found, (before, after, per_key));
    Ok(out)
}

fn details(t: &Totals, limited: u64, not_found: u64, reads: (f64, f64, f64)) -> Value {
    let (before, after, per_key) = reads;
    json!({
        "client_ips": GUESS_IPS,
        "answers": t.answers,
        "answers_per_ip": t.per_ip,
        "rate_limited": limited,
        "not_found": not_found,
        "transport_errors": t.errors,
        "requests_sent": t.fresh + t.repeated_sent,
        "fresh_keys": t.fresh,
        "repeated_keys": t.repeated_seen.len(),
        "repeated_key_requests": t.repeated_sent,
        "distinct_keys": t.fresh + t.repeated_seen.len() as u64,
        "store_get_license_reads_before": before,
        "store_get_license_reads_after": after,
        "store_get_license_reads": after - before,
        "reads_per_distinct_key": per_key,
    })
}
