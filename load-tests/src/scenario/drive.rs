//! The scenarios' load loop: connections driven closed loop or open loop
//! (the pacer of `run`), each with a request generator ([`Gen`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::time::Instant;

use super::{ScenarioSpec, GUESS_IPS};
use crate::api::{self, ClientRequest, Encoding, Op};
use crate::http::{Client, Endpoint};
use crate::pacer::Pacer;
use crate::stats::Stats;
use crate::timeline::Timeline;

/// How long an open-loop connection may keep catching up after the window.
const OPEN_LOOP_GRACE: Duration = Duration::from_secs(2);

/// One request to send.
#[derive(Default)]
pub(super) struct Req {
    pub(super) op: Option<Op>,
    pub(super) key: String,
    pub(super) identifier: String,
    /// Index into [`GUESS_IPS`] for an `X-Forwarded-For` header.
    pub(super) ip: Option<usize>,
}

/// Chooses requests for one connection and watches their answers.
pub(super) trait Gen: Send + 'static {
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
pub(super) async fn drive<G: Gen>(
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
        match pacer {
            None => self.closed_loop(&mut gen, &mut stats, &mut tl).await,
            Some(pacer) => self.open_loop(&mut gen, &pacer, &mut stats, &mut tl).await,
        }
        Outcome {
            stats,
            timeline: tl,
            gen,
        }
    }

    /// Each request as soon as the previous answer arrived, until the window's
    /// end (each exchange bounded by the timeout).
    async fn closed_loop<G: Gen>(&mut self, gen: &mut G, stats: &mut Stats, tl: &mut Timeline) {
        let (start, end) = (self.window.start, self.window.end);
        while Instant::now() < end {
            gen.plan(&mut self.rng, &mut self.req);
            let sent = Instant::now();
            let answer = self.send().await;
            let done = Instant::now();
            if sent >= start && done <= end {
                account(stats, tl, &self.req, &answer, sent - start, done - sent);
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

    /// Same schedule as `run`: latency from the intended send time whenever
    /// the connection was still busy then.
    async fn open_loop<G: Gen>(
        &mut self,
        gen: &mut G,
        pacer: &Pacer,
        stats: &mut Stats,
        tl: &mut Timeline,
    ) {
        let (start, end) = (self.window.start, self.window.end);
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
                account(stats, tl, &self.req, &answer, intended - start, latency);
            }
            gen.observe(
                &self.req,
                answer.as_ref().ok().map(|(s, c)| (*s, c.as_deref())),
            );
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
