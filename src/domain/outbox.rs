//! The outbox as records: a mail's delivery state and the rules every node
//! follows to send it once — who may claim it, when it is due again after a
//! failure (exponential backoff, capped), when it has failed for good, and
//! how its status reads on the Outbox page.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Delivery attempts before a mail is given up as failed.
pub const MAX_ATTEMPTS: u32 = 8;
/// The longest wait between two attempts.
pub const MAX_BACKOFF_SECS: i64 = 3600;
/// How long a claim holds: a node that dies mid-send loses its claim after this.
pub const CLAIM_SECS: i64 = 120;

/// Where a mail is in its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailStatus {
    /// Waiting for its (next) attempt.
    Queued,
    /// Claimed by a node that is sending it now.
    Sending,
    Sent,
    /// Given up after [`MAX_ATTEMPTS`].
    Failed,
}

/// One mail of the outbox. `body` has live tokens masked (admins read it);
/// `delivery_body`, the recipient's copy, is kept only while the mail is
/// unsent, in the pending copy, and never shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailRecord {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub to: String,
    pub subject: String,
    pub body: String,
    /// invite, reset, expiry, activation.
    pub kind: String,
    /// Identifies a mail that must be sent once (expiry reminders); "" for none.
    #[serde(default)]
    pub tag: String,
    pub status: MailStatus,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    #[serde(default)]
    pub last_error: String,
    #[serde(default)]
    pub claimed_by: String,
    pub claim_until: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    /// Delivered to the local mailbox folder (no SMTP configured), not over SMTP.
    #[serde(default)]
    pub local: bool,
    /// The pending copy's version; every conditional write moves it on.
    #[serde(default)]
    pub version: u64,
    #[serde(default)]
    pub delivery_body: Option<String>,
}

impl MailRecord {
    /// A new mail, due now.
    pub fn queued(id: Uuid, at: DateTime<Utc>, to: &str, subject: &str, kind: &str) -> Self {
        MailRecord {
            id,
            at,
            to: to.to_owned(),
            subject: subject.to_owned(),
            body: String::new(),
            kind: kind.to_owned(),
            tag: String::new(),
            status: MailStatus::Queued,
            attempts: 0,
            next_attempt_at: at,
            last_error: String::new(),
            claimed_by: String::new(),
            claim_until: None,
            sent_at: None,
            local: false,
            version: 0,
            delivery_body: None,
        }
    }

    /// Whether a node may claim it at `now`: queued and due, or claimed by a
    /// node whose claim ran out.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        match self.status {
            MailStatus::Queued => self.next_attempt_at <= now,
            MailStatus::Sending => self.claim_until.is_none_or(|u| u <= now),
            MailStatus::Sent | MailStatus::Failed => false,
        }
    }

    /// The mail as claimed by `node` at `now` (written conditionally on its version).
    pub fn claimed(&self, node: &str, now: DateTime<Utc>) -> MailRecord {
        MailRecord {
            status: MailStatus::Sending,
            claimed_by: node.to_owned(),
            claim_until: Some(now + Duration::seconds(CLAIM_SECS)),
            ..self.clone()
        }
    }

    /// The mail after it was delivered at `now`; the recipient's copy is dropped.
    pub fn delivered(&self, now: DateTime<Utc>, local: bool) -> MailRecord {
        MailRecord {
            status: MailStatus::Sent,
            attempts: self.attempts + 1,
            sent_at: Some(now),
            last_error: String::new(),
            claimed_by: String::new(),
            claim_until: None,
            local,
            delivery_body: None,
            ..self.clone()
        }
    }

    /// The mail after an attempt failed at `now` with `error`: queued again
    /// after [`backoff`], or failed for good after [`MAX_ATTEMPTS`] (then the
    /// recipient's copy is dropped).
    pub fn after_failure(&self, error: &str, now: DateTime<Utc>, base_secs: u64) -> MailRecord {
        let attempts = self.attempts + 1;
        let failed = attempts >= MAX_ATTEMPTS;
        MailRecord {
            status: if failed {
                MailStatus::Failed
            } else {
                MailStatus::Queued
            },
            attempts,
            next_attempt_at: now + backoff(attempts, base_secs),
            last_error: error.chars().take(500).collect(),
            claimed_by: String::new(),
            claim_until: None,
            delivery_body: if failed {
                None
            } else {
                self.delivery_body.clone()
            },
            ..self.clone()
        }
    }

    /// The status as the Outbox page shows it at `now`.
    pub fn shown(&self, now: DateTime<Utc>) -> String {
        match self.status {
            MailStatus::Sent if self.local => "sent (local mailbox folder, no SMTP)".into(),
            MailStatus::Sent => "sent".into(),
            MailStatus::Failed => format!("failed: {}", self.last_error),
            MailStatus::Sending => "sending".into(),
            MailStatus::Queued if self.attempts == 0 => "queued".into(),
            MailStatus::Queued => format!(
                "retrying in {}s (attempt {} of {MAX_ATTEMPTS} failed: {})",
                (self.next_attempt_at - now).num_seconds().max(0),
                self.attempts,
                self.last_error
            ),
        }
    }
}

/// The wait after the `attempts`-th failure: `base_secs` doubled per earlier
/// failure, at most [`MAX_BACKOFF_SECS`].
pub fn backoff(attempts: u32, base_secs: u64) -> Duration {
    let base = base_secs.clamp(1, MAX_BACKOFF_SECS as u64) as i64;
    let factor = 1i64 << attempts.saturating_sub(1).min(20);
    Duration::seconds(base.saturating_mul(factor).min(MAX_BACKOFF_SECS))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(now: DateTime<Utc>) -> MailRecord {
        let mut m = MailRecord::queued(Uuid::nil(), now, "a@b.c", "Hi", "reset");
        m.delivery_body = Some("live token".into());
        m
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let secs: Vec<i64> = (1..=6).map(|a| backoff(a, 30).num_seconds()).collect();
        assert_eq!(secs, [30, 60, 120, 240, 480, 960]);
        assert_eq!(backoff(8, 30).num_seconds(), MAX_BACKOFF_SECS);
        assert_eq!(backoff(40, 30).num_seconds(), MAX_BACKOFF_SECS);
        assert_eq!(backoff(1, 0).num_seconds(), 1);
    }

    #[test]
    fn a_claim_holds_until_it_runs_out() {
        let now = Utc::now();
        let m = mail(now);
        assert!(m.is_due(now));
        let c = m.claimed("node-a", now);
        assert_eq!(c.status, MailStatus::Sending);
        assert!(!c.is_due(now + Duration::seconds(CLAIM_SECS - 1)));
        assert!(c.is_due(now + Duration::seconds(CLAIM_SECS)));
        let sent = c.delivered(now, false);
        assert!(!sent.is_due(now + Duration::days(1)));
        assert_eq!(
            (sent.delivery_body.clone(), sent.shown(now)),
            (None, "sent".into())
        );
    }

    #[test]
    fn failures_back_off_then_give_up() {
        let now = Utc::now();
        let mut m = mail(now).claimed("n", now);
        for attempt in 1..MAX_ATTEMPTS {
            m = m.after_failure("421 busy", now, 10);
            assert_eq!((m.status, m.attempts), (MailStatus::Queued, attempt));
            assert!(!m.is_due(now), "not due before its backoff");
            assert!(m.is_due(now + backoff(attempt, 10)));
            assert!(m.delivery_body.is_some(), "kept for the next attempt");
            m = m.claimed("n", now);
        }
        assert!(mail(now)
            .after_failure("421 busy", now, 10)
            .shown(now)
            .starts_with("retrying in 10s (attempt 1 of 8 failed: 421 busy"));
        let m = m.after_failure("550 no", now, 10);
        assert_eq!(
            (m.status, m.delivery_body.as_deref()),
            (MailStatus::Failed, None)
        );
        assert_eq!(m.shown(now), "failed: 550 no");
        assert!(!m.is_due(now + Duration::days(1)));
    }
}
