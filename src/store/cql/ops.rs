//! The `Store` operations on CQL.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use futures_util::future::join_all;
use futures_util::TryStreamExt;
use scylla::response::query_result::QueryResult;
use scylla::statement::batch::{Batch, BatchType};
use scylla::value::{CqlTimestamp, CqlValue, Row};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use super::statements::EnvStatements;
use super::{corrupt, down, CqlStore};
use crate::domain::{
    Activation, AuditEntry, Customer, EnvSettings, Environment, Generator, License, LicenseKey,
    Product,
};
use crate::store::{
    AuditQuery, Change, LicenseQuery, LicenseWrite, Page, SeenAt, Store, StoreError,
};

const BUCKETS: u64 = 16;
/// How many days back an unfiltered audit listing looks.
const AUDIT_DAYS: i64 = 60;
/// Parallel requests for multi-partition work (bulk inserts, flushes).
const FANOUT: usize = 32;

fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, StoreError> {
    rmp_serde::to_vec_named(v).map_err(corrupt)
}

fn decode<T: DeserializeOwned>(b: &[u8]) -> Result<T, StoreError> {
    rmp_serde::from_slice(b).map_err(corrupt)
}

/// Stable bucket of a key for the bucketed index tables (FNV-1a).
fn bucket(key: &str) -> i32 {
    let h = key.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    });
    (h % BUCKETS) as i32
}

fn ts(t: DateTime<Utc>) -> CqlValue {
    CqlValue::Timestamp(CqlTimestamp(t.timestamp_millis()))
}

/// The license fields without activations (those are clustering rows).
fn body(l: &License) -> Result<Vec<u8>, StoreError> {
    let mut head = l.clone();
    head.activations = Vec::new();
    encode(&head)
}

/// Whether a conditional statement or batch was applied.
fn applied(result: QueryResult) -> Result<bool, StoreError> {
    let rows = result.into_rows_result().map_err(corrupt)?;
    let row: Option<Row> = rows.maybe_first_row::<Row>().map_err(corrupt)?;
    Ok(matches!(
        row.and_then(|r| r.columns.into_iter().next()).flatten(),
        Some(CqlValue::Boolean(true))
    ))
}

fn blobs(result: QueryResult) -> Result<Vec<Vec<u8>>, StoreError> {
    let rows = result.into_rows_result().map_err(corrupt)?;
    let mut out = Vec::new();
    for r in rows.rows::<(Option<Vec<u8>>,)>().map_err(corrupt)? {
        if let (Some(b),) = r.map_err(corrupt)? {
            out.push(b);
        }
    }
    Ok(out)
}

type LicenseRow = (
    Option<i64>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<DateTime<Utc>>,
);

/// Rebuilds a license from its partition's rows.
fn assemble(rows: Vec<LicenseRow>) -> Result<Option<License>, StoreError> {
    let Some(head) = rows.iter().find_map(|r| r.1.as_ref()) else {
        return Ok(None);
    };
    let mut license: License = decode(head)?;
    if let Some(v) = rows.iter().find_map(|r| r.0) {
        license.version = v as u64;
    }
    for (_, _, act, seen) in &rows {
        if let Some(a) = act {
            let mut a: Activation = decode(a)?;
            if !a.is_active() {
                // History lives in activation_history (a row `migrate` has not moved yet).
                continue;
            }
            if let Some(s) = seen {
                if a.last_seen.is_none_or(|prev| prev < *s) {
                    a.last_seen = Some(*s);
                }
            }
            license.activations.push(a);
        }
    }
    license.activations.sort_by_key(|a| (a.activated_at, a.id));
    Ok(Some(license))
}

impl CqlStore {
    async fn read_license(
        &self,
        st: &EnvStatements,
        key: &str,
    ) -> Result<Option<License>, StoreError> {
        let result = self
            .session
            .execute_unpaged(&st.license_get, (key,))
            .await
            .map_err(down)?;
        let rows = result.into_rows_result().map_err(corrupt)?;
        let all: Vec<LicenseRow> = rows
            .rows::<LicenseRow>()
            .map_err(corrupt)?
            .collect::<Result<_, _>>()
            .map_err(corrupt)?;
        assemble(all)
    }

    /// Index rows, audit and change log: written after the license partition committed.
    async fn after_write(
        &self,
        st: &EnvStatements,
        before: Option<&License>,
        after: Option<&License>,
        audit: Option<&AuditEntry>,
        key: &str,
    ) -> Result<(), StoreError> {
        let s = &self.session;
        if let Some(b) = before {
            let moved = after.is_none_or(|a| a.status != b.status || a.expires_at != b.expires_at);
            if moved {
                s.execute_unpaged(&st.by_status_del, (b.status.as_str(), bucket(key), key))
                    .await
                    .map_err(down)?;
            }
            if b.customer_id.is_some() && after.is_none_or(|a| a.customer_id != b.customer_id) {
                s.execute_unpaged(&st.by_customer_del, (b.customer_id, key))
                    .await
                    .map_err(down)?;
            }
            if after.is_none() {
                s.execute_unpaged(&st.by_product_del, (b.product_id, bucket(key), key))
                    .await
                    .map_err(down)?;
            }
        }
        if let Some(a) = after {
            if before.is_none_or(|b| b.status != a.status || b.expires_at != a.expires_at) {
                s.execute_unpaged(
                    &st.by_status_put,
                    (a.status.as_str(), bucket(key), key, a.expires_at),
                )
                .await
                .map_err(down)?;
            }
            if let Some(c) = a
                .customer_id
                .filter(|c| before.is_none_or(|b| b.customer_id != Some(*c)))
            {
                s.execute_unpaged(&st.by_customer_put, (c, key))
                    .await
                    .map_err(down)?;
            }
            if before.is_none() {
                s.execute_unpaged(&st.by_product_put, (a.product_id, bucket(key), key))
                    .await
                    .map_err(down)?;
            }
        }
        if let Some(e) = audit {
            self.write_audit(st, e).await?;
        }
        let now = Utc::now();
        let kind = if after.is_some() {
            "license"
        } else {
            "deleted"
        };
        s.execute_unpaged(
            &st.change_put,
            (
                now.timestamp() / 10,
                now,
                Uuid::new_v4(),
                self.node_id.as_str(),
                key,
                kind,
            ),
        )
        .await
        .map_err(down)?;
        Ok(())
    }

    async fn write_audit(&self, st: &EnvStatements, e: &AuditEntry) -> Result<(), StoreError> {
        let b = encode(e)?;
        let day = e.at.format("%Y-%m-%d").to_string();
        self.session
            .execute_unpaged(&st.audit_day_put, (day, e.at, e.id, &b))
            .await
            .map_err(down)?;
        if let Some(k) = &e.license_key {
            self.session
                .execute_unpaged(&st.audit_license_put, (k.as_str(), e.at, e.id, &b))
                .await
                .map_err(down)?;
        }
        Ok(())
    }

    async fn insert_one(&self, st: &EnvStatements, l: &License) -> Result<bool, StoreError> {
        let r = self
            .session
            .execute_unpaged(
                &st.license_insert,
                (
                    l.key.as_str(),
                    l.version as i64,
                    l.status.as_str(),
                    l.product_id,
                    l.customer_id,
                    l.expires_at,
                    l.created_at,
                    body(l)?,
                ),
            )
            .await
            .map_err(down)?;
        if !applied(r)? {
            return Ok(false);
        }
        for a in l.activations.iter().filter(|a| a.is_active()) {
            self.session
                .execute_unpaged(&st.activation_put, (encode(a)?, l.key.as_str(), a.id))
                .await
                .map_err(down)?;
        }
        let history: Vec<Activation> = l
            .activations
            .iter()
            .filter(|a| !a.is_active())
            .cloned()
            .collect();
        self.put_history(st, l.key.as_str(), &history).await?;
        Ok(true)
    }

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
                self.session
                    .execute_unpaged(&st.last_seen, (s.at, key, a.id))
                    .await
                    .map_err(down)?;
            }
        }
        Ok(())
    }

    /// Every license of an environment (admin listing and expiry sweep), paged from the driver.
    async fn scan(&self, st: &EnvStatements) -> Result<Vec<License>, StoreError> {
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

    /// The record in the first row's blob column, if any (one-row lookups).
    async fn one_blob<T: DeserializeOwned>(
        &self,
        op: &'static str,
        stmt: &scylla::statement::prepared::PreparedStatement,
        values: impl scylla::serialize::row::SerializeRow,
    ) -> Result<Option<T>, StoreError> {
        self.timed(op, async {
            let r = self
                .session
                .execute_unpaged(stmt, values)
                .await
                .map_err(down)?;
            blobs(r)?.first().map(|b| decode(b)).transpose()
        })
        .await
    }

    async fn all_blobs<T: DeserializeOwned>(
        &self,
        stmt: &scylla::statement::prepared::PreparedStatement,
        values: impl scylla::serialize::row::SerializeRow,
    ) -> Result<Vec<T>, StoreError> {
        let pager = self
            .session
            .execute_iter(stmt.clone(), values)
            .await
            .map_err(down)?;
        let mut stream = pager.rows_stream::<(Option<Vec<u8>>,)>().map_err(corrupt)?;
        let mut out = Vec::new();
        while let Some((b,)) = stream.try_next().await.map_err(down)? {
            if let Some(b) = b {
                out.push(decode(&b)?);
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl Store for CqlStore {
    fn backend(&self) -> &'static str {
        "cql"
    }

    async fn get_license(
        &self,
        env: Environment,
        key: &LicenseKey,
    ) -> Result<Option<License>, StoreError> {
        self.timed(
            "get_license",
            self.read_license(self.env(env), key.as_str()),
        )
        .await
    }

    async fn insert_licenses(
        &self,
        env: Environment,
        licenses: &[License],
        audit: &[AuditEntry],
    ) -> Result<(), StoreError> {
        let st = self.env(env);
        self.timed("insert_licenses", async {
            let mut results: Vec<Result<bool, StoreError>> = Vec::with_capacity(licenses.len());
            for chunk in licenses.chunks(FANOUT) {
                results.extend(join_all(chunk.iter().map(|l| self.insert_one(st, l))).await);
            }
            let mut inserted = Vec::new();
            let mut failure = None;
            for (i, r) in results.into_iter().enumerate() {
                match r {
                    Ok(true) => inserted.push(i),
                    Ok(false) => {
                        failure.get_or_insert(StoreError::Conflict(format!(
                            "license key {} already exists",
                            licenses[i].key.masked()
                        )));
                    }
                    Err(e) => {
                        failure.get_or_insert(e);
                    }
                }
            }
            if let Some(err) = failure {
                // All or nothing: take back what this call inserted.
                for i in inserted {
                    let _ = self
                        .session
                        .execute_unpaged(&st.license_delete, (licenses[i].key.as_str(),))
                        .await;
                }
                return Err(err);
            }
            let by_key: HashMap<&str, &AuditEntry> = audit
                .iter()
                .filter_map(|a| a.license_key.as_deref().map(|k| (k, a)))
                .collect();
            for chunk in licenses.chunks(FANOUT) {
                let done = join_all(chunk.iter().map(|l| {
                    self.after_write(
                        st,
                        None,
                        Some(l),
                        by_key.get(l.key.as_str()).copied(),
                        l.key.as_str(),
                    )
                }))
                .await;
                done.into_iter().collect::<Result<Vec<()>, StoreError>>()?;
            }
            Ok(())
        })
        .await
    }

    async fn update_license(
        &self,
        env: Environment,
        write: LicenseWrite<'_>,
    ) -> Result<(), StoreError> {
        let st = self.env(env);
        self.timed("update_license", async {
            let l = write.license;
            let key = l.key.as_str();
            let before = self.read_license(st, key).await?;
            let mut batch = Batch::new(BatchType::Unlogged);
            batch.append_statement(st.license_update.clone());
            let mut values: Vec<Vec<Option<CqlValue>>> = vec![vec![
                Some(CqlValue::BigInt(l.version as i64)),
                Some(CqlValue::Text(l.status.as_str().into())),
                l.customer_id.map(CqlValue::Uuid),
                l.expires_at.map(ts),
                Some(CqlValue::Blob(body(l)?)),
                Some(CqlValue::Text(key.into())),
                Some(CqlValue::BigInt(write.expected_version as i64)),
            ]];
            // Every activation whose record changed goes in the same conditional batch;
            // deactivated ones leave the partition there (their history row follows).
            let changed: Vec<&Activation> = l
                .activations
                .iter()
                .filter(|a| a.is_active())
                .filter(|a| write.touched.iter().any(|t| t.id == a.id) || before.as_ref().is_none_or(|b| !b.activations.iter().any(|x| x.id == a.id && x.status == a.status)))
                .collect();
            for a in changed {
                batch.append_statement(st.activation_put.clone());
                values.push(vec![Some(CqlValue::Blob(encode(a)?)), Some(CqlValue::Text(key.into())), Some(CqlValue::Uuid(a.id))]);
            }
            let (_, retired) = write.split_history();
            for a in &retired {
                batch.append_statement(st.activation_delete.clone());
                values.push(vec![Some(CqlValue::Text(key.into())), Some(CqlValue::Uuid(a.id))]);
            }
            let result = self.session.batch(&batch, values).await.map_err(down)?;
            if !applied(result)? {
                return Err(match before {
                    None => StoreError::NotFound("license not found".into()),
                    Some(b) => StoreError::Conflict(format!("license changed meanwhile (version {} not {})", b.version, write.expected_version)),
                });
            }
            if let Err(e) = self.put_history(st, key, &retired).await {
                tracing::warn!(error = %e, key = %l.key.masked(), "license committed; activation history write failed");
            }
            if let Err(e) = self.after_write(st, before.as_ref(), Some(l), Some(write.audit), key).await {
                tracing::warn!(error = %e, key = %l.key.masked(), "license committed; index, audit or change log write failed");
            }
            Ok(())
        })
        .await
    }

    async fn delete_license(
        &self,
        env: Environment,
        key: &LicenseKey,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let st = self.env(env);
        self.timed("delete_license", async {
            let mut before = None;
            for _ in 0..5 {
                let Some(current) = self.read_license(st, key.as_str()).await? else {
                    return Ok(false);
                };
                let r = self
                    .session
                    .execute_unpaged(&st.license_retire, (key.as_str(), current.version as i64))
                    .await
                    .map_err(down)?;
                if applied(r)? {
                    before = Some(current);
                    break;
                }
            }
            if before.is_none() {
                return Err(StoreError::Conflict("license kept changing while being deleted".into()));
            }
            self.session.execute_unpaged(&st.license_delete, (key.as_str(),)).await.map_err(down)?;
            self.session.execute_unpaged(&st.history_delete, (key.as_str(),)).await.map_err(down)?;
            if let Err(e) = self.after_write(st, before.as_ref(), None, Some(audit), key.as_str()).await {
                tracing::warn!(error = %e, key = %key.masked(), "license deleted; index, audit or change log write failed");
            }
            Ok(true)
        })
        .await
    }

    async fn activation_history(
        &self,
        env: Environment,
        key: &LicenseKey,
        page: u32,
        per_page: u32,
    ) -> Result<Vec<Activation>, StoreError> {
        let st = self.env(env);
        self.timed(
            "activation_history",
            self.history_page(st, key.as_str(), page, per_page),
        )
        .await
    }

    async fn touch_last_seen(&self, env: Environment, batch: &[SeenAt]) -> Result<(), StoreError> {
        let st = self.env(env);
        self.timed("touch_last_seen", async {
            let mut by_key: HashMap<&str, Vec<&SeenAt>> = HashMap::new();
            for s in batch {
                by_key.entry(s.key.as_str()).or_default().push(s);
            }
            let groups: Vec<(&str, Vec<&SeenAt>)> = by_key.into_iter().collect();
            for chunk in groups.chunks(FANOUT) {
                let done = join_all(
                    chunk
                        .iter()
                        .map(|(key, seen)| self.touch_one(st, key, seen)),
                )
                .await;
                done.into_iter().collect::<Result<Vec<()>, StoreError>>()?;
            }
            Ok(())
        })
        .await
    }

    async fn list_licenses(
        &self,
        env: Environment,
        query: &LicenseQuery,
    ) -> Result<Page<License>, StoreError> {
        let st = self.env(env);
        self.timed("list_licenses", async {
            let licenses = self.scan(st).await?;
            let products = self
                .all_blobs::<Product>(&st.product_all, (env.as_str(),))
                .await?
                .into_iter()
                .map(|p| (p.id, p))
                .collect();
            let customers = self
                .all_blobs::<Customer>(&self.global.customer_all, ())
                .await?
                .into_iter()
                .map(|c| (c.id, c))
                .collect();
            Ok(query.apply(licenses, &products, &customers))
        })
        .await
    }

    async fn licenses_due_for_expiry(
        &self,
        env: Environment,
        now: DateTime<Utc>,
        grace: Duration,
    ) -> Result<Vec<LicenseKey>, StoreError> {
        let st = self.env(env);
        self.timed("licenses_due_for_expiry", async {
            Ok(self
                .scan(st)
                .await?
                .into_iter()
                .filter(|l| l.status.can_expire() && l.is_past_grace(now, grace))
                .map(|l| l.key)
                .collect())
        })
        .await
    }

    async fn put_product(
        &self,
        env: Environment,
        product: &Product,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let st = self.env(env);
        self.timed("put_product", async {
            self.session
                .execute_unpaged(
                    &st.product_put,
                    (env.as_str(), product.id, encode(product)?),
                )
                .await
                .map_err(down)?;
            self.write_audit(st, audit).await
        })
        .await
    }

    async fn get_product(&self, env: Environment, id: Uuid) -> Result<Option<Product>, StoreError> {
        let st = self.env(env);
        self.one_blob("get_product", &st.product_get, (env.as_str(), id))
            .await
    }

    async fn list_products(&self, env: Environment) -> Result<Vec<Product>, StoreError> {
        let st = self.env(env);
        self.timed("list_products", async {
            let mut v: Vec<Product> = self.all_blobs(&st.product_all, (env.as_str(),)).await?;
            v.sort_by_key(|p| p.name.to_lowercase());
            Ok(v)
        })
        .await
    }

    async fn put_generator(
        &self,
        env: Environment,
        generator: &Generator,
    ) -> Result<(), StoreError> {
        let st = self.env(env);
        self.timed("put_generator", async {
            self.session
                .execute_unpaged(
                    &st.generator_put,
                    (env.as_str(), generator.id, encode(generator)?),
                )
                .await
                .map_err(down)?;
            Ok(())
        })
        .await
    }

    async fn get_generator(
        &self,
        env: Environment,
        id: Uuid,
    ) -> Result<Option<Generator>, StoreError> {
        let st = self.env(env);
        self.one_blob("get_generator", &st.generator_get, (env.as_str(), id))
            .await
    }

    async fn list_generators(&self, env: Environment) -> Result<Vec<Generator>, StoreError> {
        let st = self.env(env);
        self.timed("list_generators", async {
            let mut v: Vec<Generator> = self.all_blobs(&st.generator_all, (env.as_str(),)).await?;
            v.sort_by_key(|g| g.created_at);
            Ok(v)
        })
        .await
    }

    async fn insert_customer(&self, customer: &Customer) -> Result<(), StoreError> {
        self.timed("insert_customer", async {
            let g = &self.global;
            let r = self
                .session
                .execute_unpaged(&g.email_claim, (customer.email.as_str(), customer.id))
                .await
                .map_err(down)?;
            if !applied(r)? {
                return Err(StoreError::Conflict(format!(
                    "a customer with email {} already exists",
                    customer.email
                )));
            }
            self.session
                .execute_unpaged(&g.customer_insert, (customer.id, encode(customer)?))
                .await
                .map_err(down)?;
            Ok(())
        })
        .await
    }

    async fn update_customer(&self, customer: &Customer) -> Result<(), StoreError> {
        if self.get_customer(customer.id).await?.is_none() {
            return Err(StoreError::NotFound(format!("no customer {}", customer.id)));
        }
        self.timed("update_customer", async {
            self.session
                .execute_unpaged(
                    &self.global.customer_insert,
                    (customer.id, encode(customer)?),
                )
                .await
                .map_err(down)?;
            Ok(())
        })
        .await
    }

    async fn get_customer(&self, id: Uuid) -> Result<Option<Customer>, StoreError> {
        self.one_blob("get_customer", &self.global.customer_get, (id,))
            .await
    }

    async fn get_customer_by_email(&self, email: &str) -> Result<Option<Customer>, StoreError> {
        let id = self
            .timed("get_customer_by_email", async {
                let r = self
                    .session
                    .execute_unpaged(&self.global.email_get, (email,))
                    .await
                    .map_err(down)?;
                let rows = r.into_rows_result().map_err(corrupt)?;
                Ok(rows
                    .maybe_first_row::<(Option<Uuid>,)>()
                    .map_err(corrupt)?
                    .and_then(|r| r.0))
            })
            .await?;
        match id {
            Some(id) => self.get_customer(id).await,
            None => Ok(None),
        }
    }

    async fn list_customers(&self) -> Result<Vec<Customer>, StoreError> {
        self.timed("list_customers", async {
            let mut v: Vec<Customer> = self.all_blobs(&self.global.customer_all, ()).await?;
            v.sort_by(|a, b| a.email.cmp(&b.email));
            Ok(v)
        })
        .await
    }

    async fn append_audit(&self, env: Environment, entry: &AuditEntry) -> Result<(), StoreError> {
        self.timed("append_audit", self.write_audit(self.env(env), entry))
            .await
    }

    async fn list_audit(
        &self,
        env: Environment,
        query: &AuditQuery,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let st = self.env(env);
        self.timed("list_audit", async {
            let limit = if query.limit == 0 { 100 } else { query.limit };
            let keep = |e: &AuditEntry| query.action.as_ref().is_none_or(|a| &e.action == a);
            let mut out: Vec<AuditEntry> = Vec::new();
            if let Some(k) = &query.license_key {
                let r = self
                    .session
                    .execute_unpaged(&st.audit_license_get, (k.as_str(), 10_000i32))
                    .await
                    .map_err(down)?;
                for b in blobs(r)? {
                    let e: AuditEntry = decode(&b)?;
                    if keep(&e) {
                        out.push(e);
                    }
                }
            } else {
                let today = Utc::now();
                for d in 0..AUDIT_DAYS {
                    let day = (today - Duration::days(d)).format("%Y-%m-%d").to_string();
                    let r = self
                        .session
                        .execute_unpaged(&st.audit_day_get, (day, 10_000i32))
                        .await
                        .map_err(down)?;
                    for b in blobs(r)? {
                        let e: AuditEntry = decode(&b)?;
                        if keep(&e) {
                            out.push(e);
                        }
                    }
                    if out.len() >= limit {
                        break;
                    }
                }
            }
            out.sort_by(|a, b| b.at.cmp(&a.at).then(b.id.cmp(&a.id)));
            out.truncate(limit);
            Ok(out)
        })
        .await
    }

    async fn get_settings(&self, env: Environment) -> Result<Option<EnvSettings>, StoreError> {
        let st = self.env(env);
        self.one_blob("get_settings", &st.settings_get, ("settings",))
            .await
    }

    async fn put_settings(
        &self,
        env: Environment,
        settings: &EnvSettings,
    ) -> Result<(), StoreError> {
        let st = self.env(env);
        self.timed("put_settings", async {
            self.session
                .execute_unpaged(&st.settings_put, ("settings", encode(settings)?))
                .await
                .map_err(down)?;
            Ok(())
        })
        .await
    }

    async fn get_secret(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.timed("get_secret", async {
            let r = self
                .session
                .execute_unpaged(&self.global.secret_get, (name,))
                .await
                .map_err(down)?;
            Ok(blobs(r)?.into_iter().next())
        })
        .await
    }

    async fn list_secrets(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.timed("list_secrets", async {
            let pager = self
                .session
                .execute_iter(self.global.secret_all.clone(), ())
                .await
                .map_err(down)?;
            let mut stream = pager
                .rows_stream::<(String, Option<Vec<u8>>)>()
                .map_err(corrupt)?;
            let mut out = Vec::new();
            while let Some((name, value)) = stream.try_next().await.map_err(down)? {
                out.push((name, value.unwrap_or_default()));
            }
            Ok(out)
        })
        .await
    }

    async fn put_secret_if_absent(&self, name: &str, value: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.session
            .execute_unpaged(&self.global.secret_put_if_absent, (name, value))
            .await
            .map_err(down)?;
        self.get_secret(name)
            .await?
            .ok_or_else(|| StoreError::Unavailable(format!("secret {name} vanished")))
    }

    async fn put_secret(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        self.timed("put_secret", async {
            self.session
                .execute_unpaged(&self.global.secret_put, (name, value))
                .await
                .map_err(down)?;
            Ok(())
        })
        .await
    }

    async fn changes_since(
        &self,
        env: Environment,
        since: DateTime<Utc>,
    ) -> Result<Vec<Change>, StoreError> {
        let st = self.env(env);
        self.timed("changes_since", async {
            let now = Utc::now();
            let first = since.timestamp() / 10;
            let last = now.timestamp() / 10;
            let mut out = Vec::new();
            for slot in first.max(last - 30)..=last {
                let r = self
                    .session
                    .execute_unpaged(&st.change_get, (slot, since))
                    .await
                    .map_err(down)?;
                let rows = r.into_rows_result().map_err(corrupt)?;
                for row in rows
                    .rows::<(
                        DateTime<Utc>,
                        Uuid,
                        Option<String>,
                        Option<String>,
                        Option<String>,
                    )>()
                    .map_err(corrupt)?
                {
                    let (at, id, node, key, kind) = row.map_err(corrupt)?;
                    if node.as_deref() == Some(self.node_id.as_str()) {
                        continue;
                    }
                    if let Some(key) = key {
                        out.push(Change {
                            at,
                            id,
                            key,
                            deleted: kind.as_deref() == Some("deleted"),
                        });
                    }
                }
            }
            Ok(out)
        })
        .await
    }
}
