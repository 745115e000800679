//! Reading licenses on CQL: one partition for a key, the whole-table scan
//! behind the admin listing and the catalog load, and the expiry sweep's read
//! of `licenses_by_status`.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use futures_util::TryStreamExt;

use super::indexes::BUCKETS;
use super::rows::{assemble, LicenseRow};
use super::statements::EnvStatements;
use super::{corrupt, down, CqlStore};
use crate::domain::{Customer, Environment, License, LicenseKey, LicenseStatus, Product};
use crate::store::listing::{due_for_expiry, license_page};
use crate::store::{LicenseQuery, Page, StoreError};

impl CqlStore {
    /// The license stored under `key`, with its active activations.
    pub(super) async fn read_license(
        &self,
        st: &EnvStatements,
        key: &str,
    ) -> Result<Option<License>, StoreError> {
        let rows = self.rows(&st.license_get, (key,)).await?;
        let all: Vec<LicenseRow> = rows
            .rows::<LicenseRow>()
            .map_err(corrupt)?
            .collect::<Result<_, _>>()
            .map_err(corrupt)?;
        assemble(all)
    }

    /// Every license of an environment (admin listing, catalog load), paged from the driver.
    pub(super) async fn scan(&self, st: &EnvStatements) -> Result<Vec<License>, StoreError> {
        let pager = self
            .session
            .execute_iter(st.license_scan.clone(), ())
            .await
            .map_err(down)?;
        let mut stream = pager
            .rows_stream::<(
                String,
                Option<i64>,
                Option<Vec<u8>>,
                Option<Vec<u8>>,
                Option<DateTime<Utc>>,
            )>()
            .map_err(corrupt)?;
        let mut parts: HashMap<String, Vec<LicenseRow>> = HashMap::new();
        while let Some(row) = stream.try_next().await.map_err(down)? {
            let (key, v, b, a, s) = row;
            parts.entry(key).or_default().push((v, b, a, s));
        }
        let mut out = Vec::with_capacity(parts.len());
        for (_, rows) in parts {
            if let Some(l) = assemble(rows)? {
                out.push(l);
            }
        }
        Ok(out)
    }

    /// One page of the environment's licenses, names resolved.
    pub(super) async fn license_page(
        &self,
        env: Environment,
        query: &LicenseQuery,
    ) -> Result<Page<License>, StoreError> {
        let st = self.env(env);
        let licenses = self.scan(st).await?;
        let products: Vec<Product> = self.all_blobs(&st.product_all, (env.as_str(),)).await?;
        let customers: Vec<Customer> = self.all_blobs(&self.global.customer_all, ()).await?;
        Ok(license_page(query, licenses, products, customers))
    }

    /// Keys the expiry sweep should expire now: candidates from
    /// `licenses_by_status` (the states that can expire, every bucket) instead of
    /// a scan of every license; each candidate's record is read to confirm, so
    /// an index row a failed index write left behind never expires a license
    /// that is no longer due.
    pub(super) async fn due_for_expiry(
        &self,
        st: &EnvStatements,
        now: DateTime<Utc>,
        grace: Duration,
    ) -> Result<Vec<LicenseKey>, StoreError> {
        let mut candidates = Vec::new();
        for status in LicenseStatus::ALL.into_iter().filter(|s| s.can_expire()) {
            for bucket in 0..BUCKETS as i32 {
                let pager = self
                    .session
                    .execute_iter(st.by_status_scan.clone(), (status.as_str(), bucket))
                    .await
                    .map_err(down)?;
                let mut rows = pager
                    .rows_stream::<(String, Option<DateTime<Utc>>)>()
                    .map_err(corrupt)?;
                while let Some((key, expires)) = rows.try_next().await.map_err(down)? {
                    if expires.is_some_and(|e| e + grace <= now) {
                        candidates.push(key);
                    }
                }
            }
        }
        let mut confirmed = Vec::new();
        for key in candidates {
            if let Some(l) = self.read_license(st, &key).await? {
                confirmed.push(l);
            }
        }
        Ok(due_for_expiry(confirmed, now, grace))
    }
}
