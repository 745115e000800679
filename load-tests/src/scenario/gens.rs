//! The scenarios' request generators: heartbeats, activation churn and
//! unknown-key guessing.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::Rng;

use super::drive::{drive, Gen, Req};
use super::{ScenarioSpec, CHURN_IDENTIFIERS, GUESS_IPS, GUESS_REPEATED};
use crate::api::Op;
use crate::http::Endpoint;
use crate::run::SEEDED_IDENTIFIER;
use crate::stats::Stats;
use crate::timeline::Timeline;

/// Heartbeats of `dev-0` on uniformly random keys.
pub(super) struct Storm {
    pub(super) keys: Arc<Vec<String>>,
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
pub(super) struct Churn {
    pub(super) keys: Arc<Vec<String>>,
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
pub(super) struct Guess {
    tag: String,
    conn: usize,
    pub(super) fresh: u64,
    pub(super) repeated_sent: u64,
    pub(super) repeated_seen: [bool; GUESS_REPEATED],
    /// `(status, code)` counts of every answer (warm-up included).
    pub(super) answers: BTreeMap<String, u64>,
    pub(super) per_ip: BTreeMap<String, BTreeMap<String, u64>>,
    pub(super) errors: u64,
}

impl Guess {
    pub(super) fn new(tag: &str, conn: usize) -> Self {
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
