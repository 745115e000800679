//! Hourly counts of client traffic per environment (activations, validations,
//! failed validations), kept in the store so the dashboard's 7-day chart and
//! its last-24-hours figures survive restarts and sum every node. Nodes add what they counted since
//! their last flush; the backends add, never overwrite (CQL: counter columns).

use async_trait::async_trait;
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::domain::Environment;

/// One hour's counts (UTC hours).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCounts {
    /// Devices activated (new activations that succeeded).
    pub activations: u64,
    /// Validations and heartbeats answered.
    pub validations: u64,
    /// Of those, answered not valid.
    pub failed_validations: u64,
}

impl DayCounts {
    pub fn is_zero(&self) -> bool {
        *self == DayCounts::default()
    }

    /// Both added up.
    pub fn plus(self, o: DayCounts) -> DayCounts {
        DayCounts {
            activations: self.activations + o.activations,
            validations: self.validations + o.validations,
            failed_validations: self.failed_validations + o.failed_validations,
        }
    }
}

/// The part of [`super::Store`] that keeps hourly counts.
#[async_trait]
pub trait CountRows: Send + Sync {
    /// Adds `add` to `env`'s counts of the hour that starts at `hour`.
    async fn add_counts(
        &self,
        env: Environment,
        hour: NaiveDateTime,
        add: DayCounts,
    ) -> Result<(), StoreError>;
    /// The counts of the hours `from..=to` that have any, by hour.
    async fn read_counts(
        &self,
        env: Environment,
        from: NaiveDateTime,
        to: NaiveDateTime,
    ) -> Result<Vec<(NaiveDateTime, DayCounts)>, StoreError>;
}

/// How an hour is written as a key (sorts as time does).
pub const HOUR_FORMAT: &str = "%Y-%m-%dT%H:00";

/// The key of the hour holding `t`.
pub fn hour_key(t: NaiveDateTime) -> String {
    t.format(HOUR_FORMAT).to_string()
}

/// Reads [`hour_key`] back.
pub fn parse_hour(s: &str) -> Result<NaiveDateTime, StoreError> {
    // chrono wants minutes to read a time: the key's ":00" is read as them.
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .map_err(|e| StoreError::Corrupt(format!("hour key {s}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hour_keys_round_trip_and_sort_as_time() {
        let t = NaiveDateTime::parse_from_str("2026-12-06 07:00", "%Y-%m-%d %H:%M").unwrap();
        assert_eq!(hour_key(t), "2026-12-06T07:00");
        assert_eq!(parse_hour(&hour_key(t)).unwrap(), t);
        assert!(hour_key(t) < hour_key(t + chrono::Duration::hours(3)));
        assert!(parse_hour("yesterday").is_err());
    }
}
