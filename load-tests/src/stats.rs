//! Per-connection counters and latency histograms, merged after a phase.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::api::Op;

/// Highest latency the histogram tracks exactly: 60 s in microseconds.
const MAX_LATENCY_US: u64 = 60_000_000;
/// Error messages kept as samples.
const MAX_ERROR_SAMPLES: usize = 5;

/// Counters of one connection (or of a whole phase once merged).
pub struct Stats {
    /// Latencies in microseconds.
    pub hist: Histogram<u64>,
    /// Responses received in the measured window.
    pub responses: u64,
    /// Answer `code` counts (`-` for bodies without a code).
    pub codes: Vec<(String, u64)>,
    /// HTTP status counts.
    pub statuses: Vec<(u16, u64)>,
    /// Requests sent per operation, indexed by [`Op::index`].
    pub ops: [u64; 4],
    /// Requests that carried a nonce.
    pub signed: u64,
    /// Requests sent as MessagePack.
    pub msgpack: u64,
    /// Transport or protocol errors.
    pub errors: u64,
    /// A few error messages.
    pub error_samples: Vec<String>,
    /// Open loop only: scheduled sends abandoned at the end because the
    /// connection was too far behind.
    pub unsent: u64,
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

impl Stats {
    /// Empty counters.
    pub fn new() -> Self {
        Self {
            hist: Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("histogram bounds"),
            responses: 0,
            codes: Vec::new(),
            statuses: Vec::new(),
            ops: [0; 4],
            signed: 0,
            msgpack: 0,
            errors: 0,
            error_samples: Vec::new(),
            unsent: 0,
        }
    }

    /// Records a response: its latency, status and answer code.
    pub fn record(&mut self, latency_us: u64, status: u16, code: Option<&str>) {
        self.hist.saturating_record(latency_us.max(1));
        self.responses += 1;
        bump(&mut self.statuses, status, |s| *s == status);
        let code = code.unwrap_or("-");
        bump(&mut self.codes, code, |c| c == code);
    }

    /// Records a request sent.
    pub fn sent(&mut self, op: Op, signed: bool, msgpack: bool) {
        self.ops[op.index()] += 1;
        self.signed += u64::from(signed);
        self.msgpack += u64::from(msgpack);
    }

    /// Records a failed exchange.
    pub fn error(&mut self, message: impl ToString) {
        self.errors += 1;
        if self.error_samples.len() < MAX_ERROR_SAMPLES {
            let message = message.to_string();
            if !self.error_samples.contains(&message) {
                self.error_samples.push(message);
            }
        }
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &Stats) {
        self.hist.add(&other.hist).expect("same histogram bounds");
        self.responses += other.responses;
        for (s, n) in &other.statuses {
            add(&mut self.statuses, *s, *n, |x| x == s);
        }
        for (c, n) in &other.codes {
            add(&mut self.codes, c.as_str(), *n, |x| x == c);
        }
        for (mine, theirs) in self.ops.iter_mut().zip(other.ops) {
            *mine += theirs;
        }
        self.signed += other.signed;
        self.msgpack += other.msgpack;
        self.errors += other.errors;
        self.unsent += other.unsent;
        for e in &other.error_samples {
            if self.error_samples.len() < MAX_ERROR_SAMPLES && !self.error_samples.contains(e) {
                self.error_samples.push(e.clone());
            }
        }
    }

    /// Answer codes, sorted by name.
    pub fn code_map(&self) -> BTreeMap<String, u64> {
        self.codes.iter().cloned().collect()
    }

    /// HTTP statuses, sorted.
    pub fn status_map(&self) -> BTreeMap<String, u64> {
        self.statuses
            .iter()
            .map(|(s, n)| (s.to_string(), *n))
            .collect()
    }

    /// Requests per operation, leaving out operations never sent.
    pub fn op_map(&self) -> BTreeMap<String, u64> {
        Op::ALL
            .iter()
            .filter(|op| self.ops[op.index()] > 0)
            .map(|op| (op.name().to_string(), self.ops[op.index()]))
            .collect()
    }
}

fn bump<K, Q>(list: &mut Vec<(K, u64)>, key: Q, eq: impl Fn(&K) -> bool)
where
    Q: Into<K>,
{
    add(list, key, 1, eq);
}

fn add<K, Q>(list: &mut Vec<(K, u64)>, key: Q, n: u64, eq: impl Fn(&K) -> bool)
where
    Q: Into<K>,
{
    match list.iter_mut().find(|(k, _)| eq(k)) {
        Some((_, count)) => *count += n,
        None => list.push((key.into(), n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_and_merge() {
        let mut a = Stats::new();
        a.record(100, 200, Some("VALID"));
        a.record(0, 429, None);
        a.sent(Op::Validate, true, false);
        a.error("boom");
        let mut b = Stats::new();
        b.record(300, 200, Some("VALID"));
        b.record(300, 200, Some("NOT_FOUND"));
        b.error("boom");
        b.sent(Op::Heartbeat, false, true);
        a.merge(&b);
        assert_eq!(a.responses, 4);
        assert_eq!(a.code_map()["VALID"], 2);
        assert_eq!(a.code_map()["-"], 1);
        assert_eq!(a.status_map()["200"], 3);
        assert_eq!(a.op_map().len(), 2);
        assert_eq!((a.errors, a.error_samples.len()), (2, 1));
        assert_eq!(a.hist.len(), 4);
        assert_eq!(a.hist.min(), 1);
    }
}
