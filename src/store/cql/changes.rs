//! The change log on CQL: every license write, settings save and admin-row write
//! adds a row (in 10-second slots) so other nodes can drop or reload their copy;
//! each node reads back what the others wrote, skipping its own rows.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::statements::EnvStatements;
use super::{corrupt, CqlStore};
use crate::store::{Change, ChangeKind, StoreError};

/// A change-log row: at, id, node, key, kind.
type ChangeRow = (
    DateTime<Utc>,
    Uuid,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The change-log slot of a time: 10 seconds each.
fn slot(t: DateTime<Utc>) -> i64 {
    t.timestamp() / 10
}

impl CqlStore {
    /// Records that this node made a change of `kind` (to the license `key`, or
    /// "" for settings and admins).
    pub(super) async fn log_change(
        &self,
        st: &EnvStatements,
        key: &str,
        kind: ChangeKind,
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        let kind = kind.as_str();
        self.exec(
            &st.change_put,
            (
                slot(now),
                now,
                Uuid::new_v4(),
                self.node_id.as_str(),
                key,
                kind,
            ),
        )
        .await?;
        Ok(())
    }

    /// Changes other nodes logged at or after `since` (at most the last 30 slots).
    pub(super) async fn read_changes(
        &self,
        st: &EnvStatements,
        since: DateTime<Utc>,
    ) -> Result<Vec<Change>, StoreError> {
        let last = slot(Utc::now());
        let mut out = Vec::new();
        for s in slot(since).max(last - 30)..=last {
            let rows = self.rows(&st.change_get, (s, since)).await?;
            for row in rows.rows::<ChangeRow>().map_err(corrupt)? {
                out.extend(self.foreign_change(row.map_err(corrupt)?));
            }
        }
        Ok(out)
    }

    /// The change a row records, unless this node wrote it.
    fn foreign_change(&self, (at, id, node, key, kind): ChangeRow) -> Option<Change> {
        if node.as_deref() == Some(self.node_id.as_str()) {
            return None;
        }
        let kind = ChangeKind::parse(kind.as_deref());
        let key = match kind {
            ChangeKind::License | ChangeKind::Deleted => key?,
            ChangeKind::Settings | ChangeKind::Admins => String::new(),
        };
        Some(Change { at, id, key, kind })
    }
}
