//! The heartbeat flush on CQL: `last_seen` is a plain column of each activation
//! row, written without the version guard (it is not a state change), so a
//! flush never conflicts with an activation limit check.

use std::collections::HashMap;

use super::statements::EnvStatements;
use super::{fan_out, CqlStore};
use crate::store::{SeenAt, StoreError};

impl CqlStore {
    /// Writes a flush's heartbeats, grouped by license, many licenses at once.
    pub(super) async fn touch_all(
        &self,
        st: &EnvStatements,
        batch: &[SeenAt],
    ) -> Result<(), StoreError> {
        let mut by_key: HashMap<&str, Vec<&SeenAt>> = HashMap::new();
        for s in batch {
            by_key.entry(s.key.as_str()).or_default().push(s);
        }
        let groups: Vec<(&str, Vec<&SeenAt>)> = by_key.into_iter().collect();
        fan_out(&groups, |(key, seen)| self.touch_one(st, key, seen)).await
    }

    /// Moves `last_seen` of the license's active activations named in `seen`.
    async fn touch_one(
        &self,
        st: &EnvStatements,
        key: &str,
        seen: &[&SeenAt],
    ) -> Result<(), StoreError> {
        let Some(l) = self.read_license(st, key).await? else {
            return Ok(());
        };
        for s in seen {
            if let Some(a) = l
                .activations
                .iter()
                .find(|a| a.is_active() && a.identifier == s.identifier)
            {
                self.exec(&st.last_seen, (s.at, key, a.id)).await?;
            }
        }
        Ok(())
    }
}
