//! An abuse case: what the abuse rule opens when it fires on a license (the
//! refused devices that tripped it and how bad it looks), and an admin's
//! review of it (confirmed, with a suspension or revocation in the same
//! step, or dismissed), with a note. Only the license's latest case is kept
//! on its record (bounded); every case is in the audit log.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Identifier;

/// Most events a case keeps.
pub const MAX_EVENTS: usize = 20;

/// How bad a case looks, from how far the refused devices went past the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    /// Twice the threshold or more is high, one and a half times medium.
    pub fn of(distinct: usize, threshold: u32) -> Severity {
        let t = threshold.max(1) as usize;
        if distinct >= 2 * t {
            Severity::High
        } else if 2 * distinct >= 3 * t {
            Severity::Medium
        } else {
            Severity::Low
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

/// Where a review stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    Open,
    Confirmed,
    Dismissed,
}

impl CaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Open => "open",
            CaseStatus::Confirmed => "confirmed",
            CaseStatus::Dismissed => "dismissed",
        }
    }
}

/// One refused device that counted towards the rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbuseEvent {
    pub at: DateTime<Utc>,
    pub identifier: Identifier,
}

/// A license's abuse case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbuseCase {
    pub opened_at: DateTime<Utc>,
    pub severity: Severity,
    /// Distinct devices refused within the window when the rule fired.
    pub distinct: usize,
    /// What the rule did: `flagged` or `suspended`.
    pub outcome: String,
    /// The newest refused devices, at most [`MAX_EVENTS`].
    pub events: Vec<AbuseEvent>,
    pub status: CaseStatus,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub reviewed_by: String,
    #[serde(default)]
    pub reviewed_at: Option<DateTime<Utc>>,
}

/// What a reviewer decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Abuse it is; optionally suspend or revoke the license at once.
    Confirm(Option<super::Action>),
    /// A false alarm: the flag goes.
    Dismiss,
}

impl Decision {
    /// `dismiss`, `confirm`, `confirm_suspend` or `confirm_revoke`.
    pub fn parse(word: &str) -> Option<Decision> {
        use super::Action;
        match word {
            "dismiss" => Some(Decision::Dismiss),
            "confirm" => Some(Decision::Confirm(None)),
            "confirm_suspend" => Some(Decision::Confirm(Some(Action::Suspend))),
            "confirm_revoke" => Some(Decision::Confirm(Some(Action::Revoke))),
            _ => None,
        }
    }
}

/// Why a review is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    #[error("this license has no abuse case")]
    NoCase,
    #[error("this case was reviewed already ({0})")]
    Reviewed(&'static str),
    #[error("the note must be at most 1000 characters")]
    NoteTooLong,
}

impl AbuseCase {
    /// A case for a firing of the rule at `now`.
    pub fn open(
        events: Vec<AbuseEvent>,
        distinct: usize,
        threshold: u32,
        outcome: &str,
        now: DateTime<Utc>,
    ) -> AbuseCase {
        let skip = events.len().saturating_sub(MAX_EVENTS);
        AbuseCase {
            opened_at: now,
            severity: Severity::of(distinct, threshold),
            distinct,
            outcome: outcome.to_owned(),
            events: events.into_iter().skip(skip).collect(),
            status: CaseStatus::Open,
            note: String::new(),
            reviewed_by: String::new(),
            reviewed_at: None,
        }
    }

    /// Adds devices refused after the case opened (the rule fired again on
    /// the flagged license): new identifiers count, the newest events stay,
    /// the severity follows. Returns whether anything was new.
    pub fn grow(&mut self, events: Vec<AbuseEvent>, threshold: u32) -> bool {
        let mut added = 0;
        for e in events {
            if self.has_new(std::slice::from_ref(&e)) {
                added += 1;
                self.events.push(e);
            }
        }
        let skip = self.events.len().saturating_sub(MAX_EVENTS);
        self.events.drain(..skip);
        self.distinct += added;
        self.severity = Severity::of(self.distinct, threshold);
        added > 0
    }

    /// Whether any of `events` is a device this case has not recorded.
    pub fn has_new(&self, events: &[AbuseEvent]) -> bool {
        events
            .iter()
            .any(|e| self.events.iter().all(|x| x.identifier != e.identifier))
    }

    /// Records a review; only an open case can be reviewed.
    pub fn review(
        &mut self,
        d: Decision,
        note: &str,
        who: &str,
        now: DateTime<Utc>,
    ) -> Result<(), CaseError> {
        if self.status != CaseStatus::Open {
            return Err(CaseError::Reviewed(self.status.as_str()));
        }
        if note.chars().count() > 1000 {
            return Err(CaseError::NoteTooLong);
        }
        self.status = match d {
            Decision::Dismiss => CaseStatus::Dismissed,
            Decision::Confirm(_) => CaseStatus::Confirmed,
        };
        self.note = note.trim().to_owned();
        self.reviewed_by = who.to_owned();
        self.reviewed_at = Some(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Action;

    fn ev(n: usize) -> Vec<AbuseEvent> {
        let now = Utc::now();
        (0..n)
            .map(|i| AbuseEvent {
                at: now,
                identifier: Identifier::parse(&format!("dev-{i}")).unwrap(),
            })
            .collect()
    }

    #[test]
    fn severity_grows_with_the_overshoot() {
        let table = [
            (6, 5, Severity::Low),
            (8, 5, Severity::Medium),
            (10, 5, Severity::High),
            (3, 0, Severity::High),
        ];
        for (distinct, threshold, want) in table {
            assert_eq!(
                Severity::of(distinct, threshold),
                want,
                "{distinct}/{threshold}"
            );
        }
    }

    #[test]
    fn a_case_keeps_the_newest_events_and_is_reviewed_once() {
        let now = Utc::now();
        let mut c = AbuseCase::open(ev(30), 30, 5, "flagged", now);
        assert_eq!(c.events.len(), MAX_EVENTS);
        assert_eq!(c.events[0].identifier.as_str(), "dev-10");
        assert_eq!(c.status, CaseStatus::Open);
        assert_eq!(
            c.review(Decision::Dismiss, &"x".repeat(1001), "a", now),
            Err(CaseError::NoteTooLong)
        );
        assert_eq!(
            c.status,
            CaseStatus::Open,
            "a refused review changes nothing"
        );
        c.review(
            Decision::Confirm(Some(Action::Suspend)),
            " shared on a forum ",
            "admin:a",
            now,
        )
        .unwrap();
        assert_eq!(
            (c.status, c.note.as_str()),
            (CaseStatus::Confirmed, "shared on a forum")
        );
        assert_eq!(
            c.review(Decision::Dismiss, "", "b", now),
            Err(CaseError::Reviewed("confirmed"))
        );
    }

    #[test]
    fn a_case_grows_with_new_devices_only() {
        let now = Utc::now();
        let mut c = AbuseCase::open(ev(4), 4, 3, "flagged", now);
        assert_eq!(c.severity, Severity::Low);
        assert!(!c.grow(ev(4), 3), "the same devices add nothing");
        let more: Vec<AbuseEvent> = ev(8).into_iter().skip(4).collect();
        assert!(c.grow(more, 3));
        assert_eq!((c.distinct, c.severity), (8, Severity::High));
    }

    #[test]
    fn decisions_parse_from_their_words() {
        let table = [
            ("dismiss", Some(Decision::Dismiss)),
            ("confirm", Some(Decision::Confirm(None))),
            (
                "confirm_suspend",
                Some(Decision::Confirm(Some(Action::Suspend))),
            ),
            (
                "confirm_revoke",
                Some(Decision::Confirm(Some(Action::Revoke))),
            ),
            ("delete", None),
        ];
        for (w, want) in table {
            assert_eq!(Decision::parse(w), want, "{w}");
        }
    }
}
