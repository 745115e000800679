//! [`crate::store::CountRows`] on the embedded backend: one row per hour
//! (`YYYY-MM-DDTHH:00`) in the environment's file, added to in a write transaction.

use async_trait::async_trait;
use chrono::NaiveDateTime;
use redb::{ReadableTable, TableDefinition};

use super::files::open_read;
use super::tables::{decode, encode, unavailable, Records};
use super::EmbeddedStore;
use crate::domain::Environment;
use crate::store::counts::{hour_key, parse_hour, CountRows, DayCounts};
use crate::store::StoreError;

const DAILY_COUNTS: Records = TableDefinition::new("traffic_counts");

#[async_trait]
impl CountRows for EmbeddedStore {
    async fn add_counts(
        &self,
        env: Environment,
        hour: NaiveDateTime,
        add: DayCounts,
    ) -> Result<(), StoreError> {
        self.write("add_counts", self.env_writer(env), move |txn| {
            let mut t = txn.open_table(DAILY_COUNTS).map_err(unavailable)?;
            let key = hour_key(hour);
            let now: DayCounts = match t.get(key.as_str()).map_err(unavailable)? {
                Some(v) => decode(v.value())?,
                None => DayCounts::default(),
            };
            t.insert(key.as_str(), encode(&now.plus(add))?.as_slice())
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn read_counts(
        &self,
        env: Environment,
        from: NaiveDateTime,
        to: NaiveDateTime,
    ) -> Result<Vec<(NaiveDateTime, DayCounts)>, StoreError> {
        self.run("read_counts", self.env_db(env), move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let Some(t) = open_read(&txn, DAILY_COUNTS)? else {
                return Ok(Vec::new());
            };
            let (lo, hi) = (hour_key(from), hour_key(to));
            let mut out = Vec::new();
            for row in t.range(lo.as_str()..=hi.as_str()).map_err(unavailable)? {
                let (k, v) = row.map_err(unavailable)?;
                out.push((parse_hour(k.value())?, decode(v.value())?));
            }
            Ok(out)
        })
        .await
    }
}
