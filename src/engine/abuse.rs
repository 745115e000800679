//! The abuse rule's memory: which devices were refused for the limit, and when.

use std::collections::{HashSet, VecDeque};

use chrono::{DateTime, Duration, Utc};

use crate::config::AbuseSettings;
use crate::domain::abuse_case::AbuseEvent;
use crate::domain::Identifier;

/// Refusals within the rule's window, oldest first. Pure: time is passed in.
#[derive(Debug, Default)]
pub struct AbuseWindow {
    refusals: VecDeque<(DateTime<Utc>, Identifier)>,
}

/// Most refusals remembered per license, whatever the window.
const MAX_REMEMBERED: usize = 1024;

impl AbuseWindow {
    /// Records a refusal; over the threshold, the distinct devices refused in
    /// the window (each at its latest refusal, oldest first).
    pub fn refused_events(
        &mut self,
        identifier: Identifier,
        now: DateTime<Utc>,
        rule: &AbuseSettings,
    ) -> Option<Vec<AbuseEvent>> {
        if !rule.enabled {
            return None;
        }
        let cutoff = now - Duration::seconds(rule.window_secs as i64);
        while self.refusals.front().is_some_and(|(t, _)| *t < cutoff) {
            self.refusals.pop_front();
        }
        if self.refusals.len() >= MAX_REMEMBERED {
            self.refusals.pop_front();
        }
        self.refusals.push_back((now, identifier));
        let distinct: HashSet<&Identifier> = self.refusals.iter().map(|(_, i)| i).collect();
        if distinct.len() <= rule.threshold as usize {
            return None;
        }
        let mut seen = HashSet::new();
        let mut events: Vec<AbuseEvent> = self
            .refusals
            .iter()
            .rev()
            .filter(|(_, i)| seen.insert(i.clone()))
            .map(|(at, i)| AbuseEvent {
                at: *at,
                identifier: i.clone(),
            })
            .collect();
        events.reverse();
        Some(events)
    }

    /// Forgets every refusal.
    pub fn clear(&mut self) {
        self.refusals.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(threshold: u32) -> AbuseSettings {
        AbuseSettings {
            enabled: true,
            threshold,
            window_secs: 3600,
            auto_suspend: false,
        }
    }

    fn id(s: &str) -> Identifier {
        Identifier::parse(s).unwrap()
    }

    impl AbuseWindow {
        /// The distinct-device count of a firing (what the tables check).
        fn refused(
            &mut self,
            i: Identifier,
            now: DateTime<Utc>,
            r: &AbuseSettings,
        ) -> Option<usize> {
            self.refused_events(i, now, r).map(|e| e.len())
        }
    }

    #[test]
    fn fires_only_above_the_threshold_of_distinct_devices() {
        let mut w = AbuseWindow::default();
        let now = Utc::now();
        assert_eq!(w.refused(id("a"), now, &rule(2)), None);
        assert_eq!(
            w.refused(id("a"), now, &rule(2)),
            None,
            "same device twice counts once"
        );
        assert_eq!(w.refused(id("b"), now, &rule(2)), None);
        assert_eq!(w.refused(id("c"), now, &rule(2)), Some(3));
    }

    #[test]
    fn old_refusals_leave_the_window() {
        let mut w = AbuseWindow::default();
        let t0 = Utc::now();
        w.refused(id("a"), t0, &rule(1));
        assert_eq!(w.refused(id("b"), t0 + Duration::hours(2), &rule(1)), None);
    }

    #[test]
    fn a_disabled_rule_never_fires() {
        let mut w = AbuseWindow::default();
        let mut r = rule(1);
        r.enabled = false;
        for i in 0..10 {
            assert_eq!(w.refused(id(&format!("d{i}")), Utc::now(), &r), None);
        }
    }
}
