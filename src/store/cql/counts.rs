//! [`crate::store::CountRows`] on CQL: a counter row per environment and hour
//! (`daily_counts` in the global keyspace), so nodes add without racing.

use async_trait::async_trait;
use chrono::NaiveDateTime;
use futures_util::TryStreamExt;
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;

use super::files::prep;
use super::{corrupt, down, CqlStore};
use crate::domain::Environment;
use crate::store::counts::{hour_key, parse_hour, CountRows, DayCounts};
use crate::store::StoreError;

pub(super) struct CountStatements {
    add: PreparedStatement,
    range: PreparedStatement,
}

impl CountStatements {
    pub(super) async fn prepare(s: &Session, prefix: &str) -> Result<Self, StoreError> {
        let g = format!("{prefix}_global");
        Ok(CountStatements {
            add: prep(s, format!("UPDATE {g}.traffic_counts SET activations = activations + ?, validations = validations + ?, failed_validations = failed_validations + ? WHERE env = ? AND hour = ?")).await?,
            range: prep(s, format!("SELECT hour, activations, validations, failed_validations FROM {g}.traffic_counts WHERE env = ? AND hour >= ? AND hour <= ?")).await?,
        })
    }
}

/// A count as a CQL counter (counters are signed 64-bit).
fn counter(n: u64) -> scylla::value::Counter {
    scylla::value::Counter(i64::try_from(n).unwrap_or(i64::MAX))
}

#[async_trait]
impl CountRows for CqlStore {
    async fn add_counts(
        &self,
        env: Environment,
        hour: NaiveDateTime,
        add: DayCounts,
    ) -> Result<(), StoreError> {
        self.timed("add_counts", async {
            let values = (
                counter(add.activations),
                counter(add.validations),
                counter(add.failed_validations),
                env.as_str(),
                hour_key(hour),
            );
            self.exec(&self.counts.add, values).await
        })
        .await
    }

    async fn read_counts(
        &self,
        env: Environment,
        from: NaiveDateTime,
        to: NaiveDateTime,
    ) -> Result<Vec<(NaiveDateTime, DayCounts)>, StoreError> {
        self.timed("read_counts", async {
            let pager = self
                .session
                .execute_iter(
                    self.counts.range.clone(),
                    (env.as_str(), hour_key(from), hour_key(to)),
                )
                .await
                .map_err(down)?;
            type Row = (
                String,
                Option<scylla::value::Counter>,
                Option<scylla::value::Counter>,
                Option<scylla::value::Counter>,
            );
            let mut rows = pager.rows_stream::<Row>().map_err(corrupt)?;
            let n = |c: Option<scylla::value::Counter>| c.map_or(0, |c| c.0.max(0) as u64);
            let mut out = Vec::new();
            while let Some((hour, a, v, f)) = rows.try_next().await.map_err(down)? {
                out.push((
                    parse_hour(&hour)?,
                    DayCounts {
                        activations: n(a),
                        validations: n(v),
                        failed_validations: n(f),
                    },
                ));
            }
            Ok(out)
        })
        .await
    }
}
