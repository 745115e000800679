//! Load phases: connections sending client-API requests in a closed or open loop.

use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use tokio::time::Instant;

use crate::api::{self, ClientRequest, Encoding, Op};
use crate::http::{Client, Endpoint};
use crate::pacer::Pacer;
use crate::report::PhaseResult;
use crate::stats::Stats;
use crate::zipf::Zipf;

/// Identifier that `seed` activates on every key.
pub const SEEDED_IDENTIFIER: &str = "dev-0";
/// Most activations one connection remembers for later deactivation.
const MAX_REMEMBERED: usize = 10_000;
/// How long an open-loop connection may keep catching up after the window.
const OPEN_LOOP_GRACE: Duration = Duration::from_secs(2);
/// Time allowed for deactivating this run's leftover activations.
const CLEANUP_TIME: Duration = Duration::from_secs(5);

/// Which requests a phase sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mix {
    /// Validate only.
    Validate,
    /// 60 % validate, 30 % heartbeat, 5 % activate, 5 % deactivate.
    Mixed,
}

impl Mix {
    /// The mix's name.
    pub fn name(self) -> &'static str {
        match self {
            Mix::Validate => "validate",
            Mix::Mixed => "mixed",
        }
    }
}

/// The shape of one load phase.
#[derive(Clone, Debug)]
pub struct LoadSpec {
    /// Concurrent keep-alive connections.
    pub connections: usize,
    /// Measured window.
    pub duration: Duration,
    /// Unmeasured time before the window.
    pub warmup: Duration,
    /// Which operations to send.
    pub mix: Mix,
    /// Share of requests carrying a nonce (signed answers).
    pub signed_fraction: f64,
    /// Share of requests sent as MessagePack.
    pub msgpack_fraction: f64,
    /// Open loop at this total rate (requests/s); closed loop when `None`.
    pub rate: Option<f64>,
    /// Zipf exponent of key popularity.
    pub zipf_s: f64,
    /// Environment in the request path.
    pub env: String,
    /// Per-exchange timeout.
    pub timeout: Duration,
}

/// Everything a connection task shares with the others.
struct Shared {
    endpoint: Endpoint,
    keys: Arc<Vec<String>>,
    spec: LoadSpec,
    zipf: Zipf,
    paths: [String; 4],
    /// Distinguishes this phase's activation identifiers from other runs'.
    tag: String,
    /// Start of the schedule (connections begin here).
    t0: Instant,
    /// Start of the measured window.
    start: Instant,
    /// End of the measured window.
    end: Instant,
    /// Open loop: the send schedule.
    pacer: Option<Arc<Pacer>>,
}

/// Runs one phase against `endpoint` and summarises it under `label`.
pub async fn run_phase(
    label: &str,
    endpoint: &Endpoint,
    keys: Arc<Vec<String>>,
    spec: &LoadSpec,
) -> Result<PhaseResult, String> {
    if keys.is_empty() {
        return Err("no keys to send".into());
    }
    if spec.connections == 0 {
        return Err("need at least one connection".into());
    }
    if let Some(rate) = spec.rate {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(format!("rate must be positive, got {rate}"));
        }
    }
    let zipf = Zipf::new(keys.len() as u64, spec.zipf_s)?;
    let t0 = Instant::now() + Duration::from_millis(200);
    let start = t0 + spec.warmup;
    let end = start + spec.duration;
    let pacer = spec
        .rate
        .map(|rate| Pacer::start(t0.into_std(), end.into_std(), rate, spec.connections));
    let shared = Arc::new(Shared {
        endpoint: endpoint.clone(),
        keys,
        spec: spec.clone(),
        zipf,
        paths: Op::ALL.map(|op| op.path(&spec.env)),
        tag: format!("{:08x}", rand::thread_rng().next_u32()),
        t0,
        start,
        end,
        pacer,
    });
    let tasks: Vec<_> = (0..spec.connections)
        .map(|id| tokio::spawn(Worker::new(id, shared.clone()).run()))
        .collect();
    let mut total = Stats::new();
    for task in tasks {
        let stats = task
            .await
            .map_err(|e| format!("connection task failed: {e}"))?;
        total.merge(&stats);
    }
    Ok(PhaseResult::from_stats(
        label,
        &endpoint.url(),
        spec.rate,
        spec.connections,
        spec.duration.as_secs_f64(),
        &total,
    ))
}

/// One request to send.
struct Planned {
    op: Op,
    key: usize,
    /// Index into `Worker::active` for a deactivation.
    active_slot: Option<usize>,
    encoding: Encoding,
    signed: bool,
}

/// What came back, reduced to what is counted.
struct Outcome {
    status: u16,
    valid: bool,
    code: Option<String>,
}

/// One connection's request/response loop.
struct Worker {
    id: usize,
    shared: Arc<Shared>,
    client: Client,
    rng: StdRng,
    stats: Stats,
    /// `(key index, identifier)` pairs this connection activated.
    active: Vec<(usize, String)>,
    next_identifier: u64,
    body: Vec<u8>,
    identifier: String,
    nonce: String,
}

impl Worker {
    fn new(id: usize, shared: Arc<Shared>) -> Self {
        let client = Client::new(shared.endpoint.clone(), shared.spec.timeout);
        Self {
            id,
            shared,
            client,
            rng: StdRng::from_entropy(),
            stats: Stats::new(),
            active: Vec::new(),
            next_identifier: 0,
            body: Vec::with_capacity(256),
            identifier: String::new(),
            nonce: String::new(),
        }
    }

    async fn run(mut self) -> Stats {
        if let Err(e) = self.client.connect().await {
            self.stats.error(format!("connect: {e}"));
        }
        tokio::time::sleep_until(self.shared.t0).await;
        match self.shared.pacer.clone() {
            None => self.closed_loop().await,
            Some(pacer) => self.open_loop(&pacer).await,
        }
        self.cleanup().await;
        self.stats
    }

    /// Sends as fast as answers come until the window ends.
    async fn closed_loop(&mut self) {
        let (start, end) = (self.shared.start, self.shared.end);
        while Instant::now() < end {
            let plan = self.plan();
            let sent = Instant::now();
            let outcome = self.send(&plan).await;
            let done = Instant::now();
            self.track_activation(&plan, &outcome);
            if sent >= start && done <= end {
                self.account(&plan, outcome, done - sent);
            } else if outcome.is_err() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }

    /// Sends on the pacer's schedule: this connection's sends are numbers
    /// `id, id + c, id + 2c, ...` of `c` connections.
    ///
    /// Latency is measured from the scheduled time whenever the connection
    /// was still busy with an earlier request at that time, so a stalled
    /// server is charged for the queueing it caused (no coordinated
    /// omission). When the connection was idle and waited for the pacer,
    /// latency runs from the actual send, so the pacer's ~100 µs granularity
    /// is not counted against the server.
    async fn open_loop(&mut self, pacer: &Pacer) {
        let sh = self.shared.clone();
        let c = sh.spec.connections as u64;
        let hard_end = sh.end + OPEN_LOOP_GRACE;
        // Bounded: `total` sends at most, and none started after `hard_end`.
        for g in (self.id as u64..pacer.total).step_by(c as usize) {
            if Instant::now() >= hard_end {
                self.stats.unsent += (pacer.total - g).div_ceil(c);
                break;
            }
            let intended = Instant::from_std(pacer.due(g));
            let reference = if pacer.is_released(g) {
                intended
            } else {
                pacer.wait(self.id, g).await;
                Instant::now()
            };
            let plan = self.plan();
            let outcome = self.send(&plan).await;
            self.track_activation(&plan, &outcome);
            if intended >= sh.start {
                self.account(&plan, outcome, Instant::now() - reference);
            }
        }
    }

    /// Deactivates what this connection activated, so runs can repeat.
    async fn cleanup(&mut self) {
        let deadline = Instant::now() + CLEANUP_TIME;
        while let Some((key, identifier)) = self.active.pop() {
            if Instant::now() >= deadline {
                break;
            }
            let req = ClientRequest {
                key: &self.shared.keys[key],
                identifier: &identifier,
                kind: None,
                nonce: None,
            };
            api::encode(&req, Encoding::Json, &mut self.body);
            let path = &self.shared.paths[Op::Deactivate.index()];
            let headers = [("Content-Type", "application/json")];
            if self
                .client
                .request("POST", path, &headers, &self.body)
                .await
                .is_err()
            {
                break;
            }
        }
    }

    /// Chooses the next request.
    fn plan(&mut self) -> Planned {
        let spec = &self.shared.spec;
        let mut op = match spec.mix {
            Mix::Validate => Op::Validate,
            Mix::Mixed => match self.rng.gen_range(0..100) {
                0..=59 => Op::Validate,
                60..=89 => Op::Heartbeat,
                90..=94 => Op::Activate,
                _ => Op::Deactivate,
            },
        };
        let mut active_slot = None;
        let key = if op == Op::Deactivate {
            if self.active.is_empty() {
                op = Op::Validate;
                self.shared.zipf.sample_index(&mut self.rng)
            } else {
                let slot = self.rng.gen_range(0..self.active.len());
                active_slot = Some(slot);
                self.active[slot].0
            }
        } else {
            self.shared.zipf.sample_index(&mut self.rng)
        };
        let encoding = if self.rng.gen_bool(spec.msgpack_fraction.clamp(0.0, 1.0)) {
            Encoding::MsgPack
        } else {
            Encoding::Json
        };
        let signed = self.rng.gen_bool(spec.signed_fraction.clamp(0.0, 1.0));
        Planned {
            op,
            key,
            active_slot,
            encoding,
            signed,
        }
    }

    /// Encodes and sends `plan`, reducing the answer to an [`Outcome`].
    async fn send(&mut self, plan: &Planned) -> Result<Outcome, String> {
        use std::fmt::Write as _;
        self.identifier.clear();
        match (plan.op, plan.active_slot) {
            (Op::Activate, _) => {
                self.next_identifier += 1;
                let _ = write!(
                    self.identifier,
                    "load-{}-{}-{}",
                    self.shared.tag, self.id, self.next_identifier
                );
            }
            (Op::Deactivate, Some(slot)) => self.identifier.push_str(&self.active[slot].1),
            _ => self.identifier.push_str(SEEDED_IDENTIFIER),
        }
        self.nonce.clear();
        if plan.signed {
            let _ = write!(self.nonce, "{:032x}", self.rng.gen::<u128>());
        }
        let req = ClientRequest {
            key: &self.shared.keys[plan.key],
            identifier: &self.identifier,
            kind: (plan.op == Op::Activate).then_some("hwid"),
            nonce: plan.signed.then_some(self.nonce.as_str()),
        };
        api::encode(&req, plan.encoding, &mut self.body);
        let ct = plan.encoding.content_type();
        let headers = [("Content-Type", ct), ("Accept", ct)];
        let path = &self.shared.paths[plan.op.index()];
        let resp = self
            .client
            .request("POST", path, &headers, &self.body)
            .await
            .map_err(|e| e.to_string())?;
        let verdict = api::decode_verdict(resp.body, resp.msgpack);
        let valid = verdict.as_ref().and_then(|v| v.valid).unwrap_or(false);
        let code = verdict.and_then(|v| v.code).map(|c| c.into_owned());
        Ok(Outcome {
            status: resp.status,
            valid,
            code,
        })
    }

    /// Counts a measured exchange and updates the activation list.
    fn account(&mut self, plan: &Planned, outcome: Result<Outcome, String>, latency: Duration) {
        self.stats
            .sent(plan.op, plan.signed, plan.encoding == Encoding::MsgPack);
        match outcome {
            Ok(o) => {
                let latency_us = latency.as_micros().min(u128::from(u64::MAX)) as u64;
                self.stats.record(latency_us, o.status, o.code.as_deref());
            }
            Err(e) => self.stats.error(e),
        }
    }

    /// Remembers a successful activation; forgets a deactivated identifier.
    fn track_activation(&mut self, plan: &Planned, outcome: &Result<Outcome, String>) {
        let Ok(o) = outcome else { return };
        if o.status != 200 {
            return;
        }
        let valid = o.valid;
        match (plan.op, plan.active_slot) {
            (Op::Activate, _) if valid && self.active.len() < MAX_REMEMBERED => {
                self.active.push((plan.key, self.identifier.clone()));
            }
            (Op::Deactivate, Some(slot)) => {
                self.active.swap_remove(slot);
            }
            _ => {}
        }
    }
}
