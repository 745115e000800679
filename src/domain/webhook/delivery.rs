//! A webhook delivery: one event for one endpoint, with its attempts. It is
//! claimed by one node at a time (a claim runs out, so a node that dies
//! mid-send leaves it to another), retried on a schedule with jitter, and
//! failed for good when the schedule ends. Its attempt list is capped, so the
//! record every attempt rewrites does not grow with history.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::EventType;
use crate::domain::Environment;

/// How long a claim holds (longer than a request's timeout).
pub const CLAIM_SECS: i64 = 60;
/// Attempts kept on a delivery's record (the newest).
pub const KEPT_ATTEMPTS: usize = 12;
/// Bytes of a receiver's answer kept per attempt.
pub const KEPT_RESPONSE_BYTES: usize = 1024;

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its (next) attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// The schedule ended without a 2xx.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }
}

/// One try: when, what came back, how long it took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attempt {
    pub number: u32,
    pub at: DateTime<Utc>,
    /// HTTP status, or None when no answer came (refused, timeout, blocked).
    pub status_code: Option<u16>,
    pub latency_ms: u64,
    /// The first 1 KB of the answer, or what went wrong.
    pub response: String,
}

/// One event for one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub environment: Environment,
    pub event: EventType,
    /// The signed body, fixed when the event happened.
    pub payload: String,
    pub created_at: DateTime<Utc>,
    pub status: DeliveryStatus,
    pub attempts: Vec<Attempt>,
    /// Attempts made so far (the list keeps only the newest).
    pub attempt_count: u32,
    /// Attempts since the schedule (re)started: a manual retry starts it again.
    #[serde(default)]
    pub scheduled: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub claimed_by: String,
    pub claim_until: Option<DateTime<Utc>>,
    /// The pending copy's version; every conditional write moves it on.
    #[serde(default)]
    pub version: u64,
}

/// Waits between attempts: the first is immediate; after the last the
/// delivery has failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(pub Vec<u64>);

impl Default for RetrySchedule {
    /// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h.
    fn default() -> Self {
        RetrySchedule(vec![5, 300, 1800, 7200, 18000, 36000])
    }
}

impl RetrySchedule {
    /// The wait after failed attempt number `n` (1-based) since the schedule
    /// started, with up to ±10 % jitter (`jitter` in -1.0..=1.0); None: no more.
    pub fn wait_after(&self, n: u32, jitter: f64) -> Option<Duration> {
        let base = *self.0.get(n.checked_sub(1)? as usize)? as f64;
        let ms = (base * 1000.0 * (1.0 + 0.1 * jitter.clamp(-1.0, 1.0))).max(0.0);
        Some(Duration::milliseconds(ms as i64))
    }
}

impl Delivery {
    /// A new delivery of `payload`, due now. Its id is derived from the endpoint
    /// and the event, so two nodes creating it write one row.
    pub fn new(
        endpoint_id: Uuid,
        environment: Environment,
        event: EventType,
        event_id: Uuid,
        payload: String,
        now: DateTime<Utc>,
    ) -> Self {
        let mut name = endpoint_id.as_bytes().to_vec();
        name.extend_from_slice(event.as_str().as_bytes());
        Delivery {
            id: Uuid::new_v5(&event_id, &name),
            endpoint_id,
            environment,
            event,
            payload,
            created_at: now,
            status: DeliveryStatus::Pending,
            attempts: Vec::new(),
            attempt_count: 0,
            scheduled: 0,
            next_attempt_at: Some(now),
            claimed_by: String::new(),
            claim_until: None,
            version: 0,
        }
    }

    /// The Standard Webhooks message id: the same on every retry.
    pub fn message_id(&self) -> String {
        format!("msg_{}", self.id.simple())
    }

    /// Whether a node may claim it now.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.status == DeliveryStatus::Pending
            && self.next_attempt_at.is_some_and(|t| t <= now)
            && self.claim_until.is_none_or(|c| c <= now)
    }

    /// This delivery claimed by `node` until the claim runs out.
    pub fn claimed(&self, node: &str, now: DateTime<Utc>) -> Delivery {
        Delivery {
            claimed_by: node.to_owned(),
            claim_until: Some(now + Duration::seconds(CLAIM_SECS)),
            ..self.clone()
        }
    }

    /// After an attempt: delivered on 2xx, else due again per `schedule`, or
    /// failed when it has run out.
    pub fn after_attempt(
        &self,
        mut attempt: Attempt,
        schedule: &RetrySchedule,
        jitter: f64,
    ) -> Delivery {
        let mut next = self.clone();
        next.attempt_count += 1;
        next.scheduled += 1;
        attempt.number = next.attempt_count;
        attempt.response = cut(&attempt.response, KEPT_RESPONSE_BYTES);
        let ok = attempt.status_code.is_some_and(|c| (200..300).contains(&c));
        let at = attempt.at;
        next.attempts.push(attempt);
        let extra = next.attempts.len().saturating_sub(KEPT_ATTEMPTS);
        next.attempts.drain(..extra);
        next.claimed_by.clear();
        next.claim_until = None;
        match (ok, schedule.wait_after(next.scheduled, jitter)) {
            (true, _) => {
                next.status = DeliveryStatus::Delivered;
                next.next_attempt_at = None;
            }
            (false, Some(wait)) => next.next_attempt_at = Some(at + wait),
            (false, None) => {
                next.status = DeliveryStatus::Failed;
                next.next_attempt_at = None;
            }
        }
        next
    }

    /// An attempt that cannot be made (the endpoint was deleted or disabled):
    /// recorded, and the delivery failed at once rather than retried.
    pub fn abandoned(&self, attempt: Attempt) -> Delivery {
        let mut next = self.after_attempt(attempt, &RetrySchedule(Vec::new()), 0.0);
        next.status = DeliveryStatus::Failed;
        next.next_attempt_at = None;
        next
    }

    /// An admin's retry: due now, with a fresh schedule.
    pub fn retried(&self, now: DateTime<Utc>) -> Delivery {
        Delivery {
            status: DeliveryStatus::Pending,
            next_attempt_at: Some(now),
            scheduled: 0,
            claimed_by: String::new(),
            claim_until: None,
            ..self.clone()
        }
    }

    /// The last attempt, if any.
    pub fn last(&self) -> Option<&Attempt> {
        self.attempts.last()
    }
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}
