//! Every CQL statement Keywarden runs, prepared once per keyspace at start.

use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;

use super::down;
use crate::domain::Environment;
use crate::store::StoreError;

async fn prep(session: &Session, cql: String) -> Result<PreparedStatement, StoreError> {
    session
        .prepare(cql.clone())
        .await
        .map_err(|e| down(format!("preparing `{cql}`: {e}")))
}

/// Statements on the global keyspace.
pub struct GlobalStatements {
    pub customer_insert: PreparedStatement,
    pub customer_get: PreparedStatement,
    pub customer_all: PreparedStatement,
    pub email_claim: PreparedStatement,
    pub email_get: PreparedStatement,
    pub email_release: PreparedStatement,
    pub customer_delete: PreparedStatement,
    pub secret_get: PreparedStatement,
    pub secret_all: PreparedStatement,
    pub secret_put: PreparedStatement,
    pub secret_put_if_absent: PreparedStatement,
    pub secret_swap: PreparedStatement,
    pub admin_all: PreparedStatement,
    pub admin_insert: PreparedStatement,
    pub admin_update: PreparedStatement,
    pub admin_delete: PreparedStatement,
}

impl GlobalStatements {
    pub async fn prepare(s: &Session, prefix: &str) -> Result<Self, StoreError> {
        let ks = format!("{prefix}_global");
        Ok(GlobalStatements {
            customer_insert: prep(
                s,
                format!("INSERT INTO {ks}.customers (id, body) VALUES (?, ?)"),
            )
            .await?,
            customer_get: prep(s, format!("SELECT body FROM {ks}.customers WHERE id = ?")).await?,
            customer_all: prep(s, format!("SELECT body FROM {ks}.customers")).await?,
            email_claim: prep(
                s,
                format!(
                    "INSERT INTO {ks}.customers_by_email (email, id) VALUES (?, ?) IF NOT EXISTS"
                ),
            )
            .await?,
            email_get: prep(
                s,
                format!("SELECT id FROM {ks}.customers_by_email WHERE email = ?"),
            )
            .await?,
            email_release: prep(
                s,
                format!("DELETE FROM {ks}.customers_by_email WHERE email = ? IF id = ?"),
            )
            .await?,
            customer_delete: prep(s, format!("DELETE FROM {ks}.customers WHERE id = ?")).await?,
            secret_get: prep(s, format!("SELECT value FROM {ks}.secrets WHERE name = ?")).await?,
            secret_all: prep(s, format!("SELECT name, value FROM {ks}.secrets")).await?,
            secret_put: prep(
                s,
                format!("INSERT INTO {ks}.secrets (name, value) VALUES (?, ?)"),
            )
            .await?,
            secret_put_if_absent: prep(
                s,
                format!("INSERT INTO {ks}.secrets (name, value) VALUES (?, ?) IF NOT EXISTS"),
            )
            .await?,
            secret_swap: prep(
                s,
                format!("UPDATE {ks}.secrets SET value = ? WHERE name = ? IF value = ?"),
            )
            .await?,
            admin_all: prep(s, format!("SELECT version, body FROM {ks}.admins")).await?,
            admin_insert: prep(
                s,
                format!(
                    "INSERT INTO {ks}.admins (id, version, body) VALUES (?, ?, ?) IF NOT EXISTS"
                ),
            )
            .await?,
            admin_update: prep(
                s,
                format!("UPDATE {ks}.admins SET version = ?, body = ? WHERE id = ? IF version = ?"),
            )
            .await?,
            admin_delete: prep(
                s,
                format!("DELETE FROM {ks}.admins WHERE id = ? IF version = ?"),
            )
            .await?,
        })
    }
}

/// Statements on one environment's keyspace.
pub struct EnvStatements {
    pub license_get: PreparedStatement,
    pub license_insert: PreparedStatement,
    pub license_update: PreparedStatement,
    pub activation_put: PreparedStatement,
    pub license_delete: PreparedStatement,
    pub license_retire: PreparedStatement,
    pub last_seen: PreparedStatement,
    pub license_scan: PreparedStatement,
    pub by_product_put: PreparedStatement,
    pub by_product_del: PreparedStatement,
    pub by_customer_put: PreparedStatement,
    pub by_customer_del: PreparedStatement,
    pub by_status_put: PreparedStatement,
    pub by_status_del: PreparedStatement,
    /// Keys and expiries of one state's bucket (the expiry sweep).
    pub by_status_scan: PreparedStatement,
    pub product_put: PreparedStatement,
    pub product_get: PreparedStatement,
    pub product_all: PreparedStatement,
    pub generator_put: PreparedStatement,
    pub generator_get: PreparedStatement,
    pub generator_all: PreparedStatement,
    pub audit_day_put: PreparedStatement,
    pub audit_license_put: PreparedStatement,
    pub audit_day_until: PreparedStatement,
    pub audit_license_get: PreparedStatement,
    pub change_put: PreparedStatement,
    pub change_get: PreparedStatement,
    pub settings_get: PreparedStatement,
    pub settings_put: PreparedStatement,
    pub activation_delete: PreparedStatement,
    pub history_put: PreparedStatement,
    pub history_get: PreparedStatement,
    pub history_delete: PreparedStatement,
}

impl EnvStatements {
    pub async fn prepare(s: &Session, prefix: &str, env: Environment) -> Result<Self, StoreError> {
        let ks = format!("{prefix}_{env}");
        let mut license_scan = prep(
            s,
            format!("SELECT key, version, body, activation, last_seen FROM {ks}.licenses"),
        )
        .await?;
        license_scan.set_page_size(2000);
        Ok(EnvStatements {
            license_get: prep(s, format!("SELECT version, body, activation, last_seen FROM {ks}.licenses WHERE key = ?")).await?,
            license_insert: prep(s, format!(
                "INSERT INTO {ks}.licenses (key, version, status, product_id, customer_id, expires_at, created_at, body) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS"
            )).await?,
            license_update: prep(s, format!(
                "UPDATE {ks}.licenses SET version = ?, status = ?, customer_id = ?, expires_at = ?, body = ? \
                 WHERE key = ? IF version = ?"
            )).await?,
            activation_put: prep(s, format!("UPDATE {ks}.licenses SET activation = ? WHERE key = ? AND activation_id = ?")).await?,
            license_delete: prep(s, format!("DELETE FROM {ks}.licenses WHERE key = ?")).await?,
            // CQL has no conditional partition delete: retire the license under its
            // version guard first, then drop the partition.
            license_retire: prep(s, format!("UPDATE {ks}.licenses SET body = null, status = null WHERE key = ? IF version = ?")).await?,
            last_seen: prep(s, format!("UPDATE {ks}.licenses SET last_seen = ? WHERE key = ? AND activation_id = ?")).await?,
            license_scan,
            by_product_put: prep(s, format!("INSERT INTO {ks}.licenses_by_product (product_id, bucket, key) VALUES (?, ?, ?)")).await?,
            by_product_del: prep(s, format!("DELETE FROM {ks}.licenses_by_product WHERE product_id = ? AND bucket = ? AND key = ?")).await?,
            by_customer_put: prep(s, format!("INSERT INTO {ks}.licenses_by_customer (customer_id, key) VALUES (?, ?)")).await?,
            by_customer_del: prep(s, format!("DELETE FROM {ks}.licenses_by_customer WHERE customer_id = ? AND key = ?")).await?,
            by_status_put: prep(s, format!("INSERT INTO {ks}.licenses_by_status (status, bucket, key, expires_at) VALUES (?, ?, ?, ?)")).await?,
            by_status_del: prep(s, format!("DELETE FROM {ks}.licenses_by_status WHERE status = ? AND bucket = ? AND key = ?")).await?,
            by_status_scan: prep(s, format!("SELECT key, expires_at FROM {ks}.licenses_by_status WHERE status = ? AND bucket = ?")).await?,
            product_put: prep(s, format!("INSERT INTO {ks}.products (env, id, body) VALUES (?, ?, ?)")).await?,
            product_get: prep(s, format!("SELECT body FROM {ks}.products WHERE env = ? AND id = ?")).await?,
            product_all: prep(s, format!("SELECT body FROM {ks}.products WHERE env = ?")).await?,
            generator_put: prep(s, format!("INSERT INTO {ks}.generators (env, id, body) VALUES (?, ?, ?)")).await?,
            generator_get: prep(s, format!("SELECT body FROM {ks}.generators WHERE env = ? AND id = ?")).await?,
            generator_all: prep(s, format!("SELECT body FROM {ks}.generators WHERE env = ?")).await?,
            audit_day_put: prep(s, format!("INSERT INTO {ks}.audit_by_day (day, at, id, body) VALUES (?, ?, ?, ?)")).await?,
            audit_license_put: prep(s, format!("INSERT INTO {ks}.audit_by_license (license_key, at, id, body) VALUES (?, ?, ?, ?)")).await?,
            audit_day_until: prep(s, format!("SELECT body FROM {ks}.audit_by_day WHERE day = ? AND at <= ? LIMIT ?")).await?,
            audit_license_get: prep(s, format!("SELECT body FROM {ks}.audit_by_license WHERE license_key = ? LIMIT ?")).await?,
            change_put: prep(s, format!("INSERT INTO {ks}.changes (slot, at, id, node, key, kind) VALUES (?, ?, ?, ?, ?, ?)")).await?,
            change_get: prep(s, format!("SELECT at, id, node, key, kind FROM {ks}.changes WHERE slot = ? AND at >= ?")).await?,
            settings_get: prep(s, format!("SELECT body FROM {ks}.settings WHERE name = ?")).await?,
            settings_put: prep(s, format!("INSERT INTO {ks}.settings (name, body) VALUES (?, ?)")).await?,
            activation_delete: prep(s, format!("DELETE FROM {ks}.licenses WHERE key = ? AND activation_id = ?")).await?,
            history_put: prep(s, format!("INSERT INTO {ks}.activation_history (key, deactivated_at, activation_id, activation) VALUES (?, ?, ?, ?)")).await?,
            history_get: prep(s, format!("SELECT activation FROM {ks}.activation_history WHERE key = ? LIMIT ?")).await?,
            history_delete: prep(s, format!("DELETE FROM {ks}.activation_history WHERE key = ?")).await?,
        })
    }
}
