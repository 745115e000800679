//! The `Store` trait on CQL: each call picks its environment's statements, is
//! timed, and hands over to the part that knows its tables (licenses, license
//! writes, last_seen, audit, changes, customers, admins, secrets).

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::rows::encode;
use super::CqlStore;
use crate::domain::{
    Activation, AdminUser, AuditEntry, Customer, EnvSettings, Environment, Generator, License,
    LicenseKey, Product,
};
use crate::store::listing::{customers_by_email, generators_by_age, products_by_name};
use crate::store::{
    AuditQuery, Change, ChangeKind, LicenseQuery, LicenseWrite, Page, SeenAt, Store, StoreError,
};

#[async_trait]
impl Store for CqlStore {
    fn backend(&self) -> &'static str {
        "cql"
    }

    fn shared_by_nodes(&self) -> bool {
        true
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
        self.timed(
            "insert_licenses",
            self.insert_all(self.env(env), licenses, audit),
        )
        .await
    }

    async fn update_license(
        &self,
        env: Environment,
        write: LicenseWrite<'_>,
    ) -> Result<(), StoreError> {
        self.timed("update_license", self.update(self.env(env), write))
            .await
    }

    async fn delete_license(
        &self,
        env: Environment,
        key: &LicenseKey,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        self.timed("delete_license", self.delete(self.env(env), key, audit))
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
        self.timed("touch_last_seen", self.touch_all(self.env(env), batch))
            .await
    }

    async fn list_licenses(
        &self,
        env: Environment,
        query: &LicenseQuery,
    ) -> Result<Page<License>, StoreError> {
        self.timed("list_licenses", self.license_page(env, query))
            .await
    }

    async fn scan_licenses(
        &self,
        env: Environment,
        sink: &mut (dyn crate::store::LicenseSink + Send),
    ) -> Result<(), StoreError> {
        let all = self
            .timed("list_licenses", self.scan(self.env(env)))
            .await?;
        sink.expect(all.len() as u64);
        let mut all = all.into_iter().peekable();
        while all.peek().is_some() {
            sink.batch(all.by_ref().take(crate::store::SCAN_BATCH).collect());
        }
        Ok(())
    }

    async fn licenses_due_for_expiry(
        &self,
        env: Environment,
        now: DateTime<Utc>,
        grace: Duration,
    ) -> Result<Vec<LicenseKey>, StoreError> {
        self.timed(
            "licenses_due_for_expiry",
            self.due_for_expiry(self.env(env), now, grace),
        )
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
            let values = (env.as_str(), product.id, encode(product)?);
            self.exec(&st.product_put, values).await?;
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
        let values = (env.as_str(),);
        self.listed("list_products", &st.product_all, values, products_by_name)
            .await
    }

    async fn put_generator(
        &self,
        env: Environment,
        generator: &Generator,
    ) -> Result<(), StoreError> {
        let st = self.env(env);
        self.timed("put_generator", async {
            let values = (env.as_str(), generator.id, encode(generator)?);
            self.exec(&st.generator_put, values).await
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
        let values = (env.as_str(),);
        self.listed(
            "list_generators",
            &st.generator_all,
            values,
            generators_by_age,
        )
        .await
    }

    async fn insert_customer(&self, customer: &Customer) -> Result<(), StoreError> {
        self.timed("insert_customer", self.add_customer(customer))
            .await
    }

    async fn update_customer(&self, customer: &Customer) -> Result<(), StoreError> {
        if self.get_customer(customer.id).await?.is_none() {
            return Err(StoreError::NotFound(format!("no customer {}", customer.id)));
        }
        self.timed("update_customer", self.write_customer(customer))
            .await
    }

    async fn get_customer(&self, id: Uuid) -> Result<Option<Customer>, StoreError> {
        self.one_blob("get_customer", &self.global.customer_get, (id,))
            .await
    }

    async fn get_customer_by_email(&self, email: &str) -> Result<Option<Customer>, StoreError> {
        let id = self
            .timed("get_customer_by_email", self.customer_id_by_email(email))
            .await?;
        match id {
            Some(id) => self.get_customer(id).await,
            None => Ok(None),
        }
    }

    async fn list_customers(&self) -> Result<Vec<Customer>, StoreError> {
        let stmt = &self.global.customer_all;
        self.listed("list_customers", stmt, (), customers_by_email)
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
        self.timed("list_audit", self.read_audit(self.env(env), query))
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
            self.exec(&st.settings_put, ("settings", encode(settings)?))
                .await?;
            self.log_change(st, "", ChangeKind::Settings).await
        })
        .await
    }

    async fn list_admins(&self) -> Result<Vec<AdminUser>, StoreError> {
        self.timed("list_admins", self.read_admins()).await
    }

    async fn put_admin(
        &self,
        admin: &AdminUser,
        expected: Option<u64>,
    ) -> Result<AdminUser, StoreError> {
        self.timed("put_admin", async {
            let stored = self.write_admin(admin, expected).await?;
            self.log_admin_change().await?;
            Ok(stored)
        })
        .await
    }

    async fn delete_admin(&self, id: Uuid, expected_version: u64) -> Result<(), StoreError> {
        self.timed("delete_admin", async {
            self.remove_admin(id, expected_version).await?;
            self.log_admin_change().await
        })
        .await
    }

    async fn get_secret(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.timed("get_secret", self.read_secret(name)).await
    }

    async fn list_secrets(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.timed("list_secrets", self.read_secrets()).await
    }

    async fn put_secret_if_absent(&self, name: &str, value: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.claim_secret(name, value).await?;
        self.get_secret(name)
            .await?
            .ok_or_else(|| StoreError::Unavailable(format!("secret {name} vanished")))
    }

    async fn put_secret(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        self.timed("put_secret", self.write_secret(name, value))
            .await
    }

    async fn swap_secret(&self, name: &str, old: &[u8], new: &[u8]) -> Result<bool, StoreError> {
        self.timed("put_secret", self.cas_secret(name, old, new))
            .await
    }

    async fn changes_since(
        &self,
        env: Environment,
        since: DateTime<Utc>,
    ) -> Result<Vec<Change>, StoreError> {
        self.timed("changes_since", self.read_changes(self.env(env), since))
            .await
    }
}
