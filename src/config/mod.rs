//! Layered settings: `config/default.toml` (or `KEYWARDEN_CONFIG`), then `KEYWARDEN_<SECTION>__<KEY>`.
//!
//! Unknown keys are refused so a typo stops start-up with the key named.

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::path::PathBuf;

mod checks;
mod error;
mod public_url;
use error::describe;
pub use error::ConfigError;

/// Environment variables with the `KEYWARDEN_` prefix that are not settings.
pub const BOOTSTRAP_VARS: &[&str] = &[
    "ADMIN_TOKEN",
    "ADMIN_EMAIL",
    "ADMIN_PASSWORD",
    "CONFIG",
    "TEST_CQL",
];

/// Everything configurable, one struct per file section.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub server: ServerSettings,
    pub store: StoreSettings,
    pub engine: EngineSettings,
    pub limits: LimitSettings,
    pub licensing: LicensingSettings,
    pub abuse: AbuseSettings,
    pub log: LogSettings,
    pub mail: MailSettings,
    pub portal: PortalSettings,
    pub jobs: JobSettings,
    pub webhooks: WebhookSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    pub listen: String,
    pub workers: usize,
    pub body_limit_bytes: usize,
    pub trusted_proxies: Vec<IpAddr>,
    pub shutdown_timeout_secs: u64,
    /// The address people and mail use to reach this server (`https://licenses.example.com`):
    /// the only source of absolute URLs the server writes (mail links, download links,
    /// code samples). Never taken from a request header. Empty at start: filled from the
    /// listen address, with a warning outside `--demo`.
    pub public_url: String,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            listen: "127.0.0.1:8080".into(),
            workers: 0,
            body_limit_bytes: 64 * 1024,
            trusted_proxies: Vec::new(),
            shutdown_timeout_secs: 10,
            public_url: String::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSettings {
    pub kind: StoreKind,
    pub data_dir: PathBuf,
    pub cache_mb: usize,
    pub cql: CqlSettings,
}

/// The ScyllaDB (CQL) backend's connection.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CqlSettings {
    pub nodes: Vec<String>,
    pub keyspace_prefix: String,
    /// Replication map `migrate` writes into CREATE KEYSPACE.
    pub replication: String,
    pub username: String,
    pub password: String,
    /// Encrypt client-to-node traffic (OpenSSL).
    pub tls: bool,
    /// PEM file of the CA that signed the nodes' certificates (empty: the system's roots).
    pub tls_ca_file: String,
    /// Check the node certificate (leave on outside a lab).
    pub tls_verify: bool,
    /// one, quorum, local_one, local_quorum (default) or all.
    pub consistency: String,
    /// serial (default) or local_serial, for conditional writes.
    pub serial_consistency: String,
    pub request_timeout_ms: u64,
    pub connect_timeout_ms: u64,
    /// How often the change log is read for other nodes' changes.
    pub changes_poll_ms: u64,
}

impl Default for CqlSettings {
    fn default() -> Self {
        CqlSettings {
            nodes: vec!["127.0.0.1:9042".into()],
            keyspace_prefix: "keywarden".into(),
            replication: "{'class': 'SimpleStrategy', 'replication_factor': 1}".into(),
            username: String::new(),
            password: String::new(),
            tls: false,
            tls_ca_file: String::new(),
            tls_verify: true,
            consistency: "local_quorum".into(),
            serial_consistency: "serial".into(),
            request_timeout_ms: 5000,
            connect_timeout_ms: 5000,
            changes_poll_ms: 1000,
        }
    }
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings {
            kind: StoreKind::Embedded,
            data_dir: "./data".into(),
            cache_mb: 64,
            cql: CqlSettings::default(),
        }
    }
}

/// Which backend serves the `Store` trait.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Embedded,
    /// ScyllaDB or Cassandra through the CQL protocol.
    Scylla,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineSettings {
    pub registry_capacity: u64,
    pub registry_idle_secs: u64,
    pub negative_cache_capacity: u64,
    pub negative_cache_ttl_secs: u64,
    pub heartbeat_flush_ms: u64,
    pub last_seen_precision_secs: u64,
    pub expiry_sweep_secs: u64,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            registry_capacity: 2_000_000,
            registry_idle_secs: 900,
            negative_cache_capacity: 200_000,
            negative_cache_ttl_secs: 60,
            heartbeat_flush_ms: 1000,
            last_seen_precision_secs: 60,
            expiry_sweep_secs: 60,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitSettings {
    pub license_per_second: u32,
    pub license_burst: u32,
    pub unknown_key_per_minute: u32,
    pub unknown_key_burst: u32,
    /// Failed password or token checks one client IP may make per minute, and its burst.
    pub login_per_minute: u32,
    pub login_burst: u32,
    /// Failed password checks against one account per hour, from any address, and its burst.
    pub account_failures_per_hour: u32,
    pub account_failures_burst: u32,
    /// Password hashes computed at once (sign-ins, password changes); the rest wait.
    /// 0: half the cores, at least one (measured: on 2 cores, two at once doubled
    /// the heartbeat p99 of one at a time under a guessing storm).
    pub password_hash_concurrency: usize,
    /// Password checks that may wait for a free slot; past it, 429 at once.
    pub password_hash_queue: usize,
    /// Sessions one account may hold per portal; a new sign-in ends the oldest.
    pub sessions_per_account: usize,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            license_per_second: 50,
            license_burst: 100,
            unknown_key_per_minute: 60,
            unknown_key_burst: 20,
            login_per_minute: 10,
            login_burst: 5,
            account_failures_per_hour: 30,
            account_failures_burst: 10,
            password_hash_concurrency: 0,
            password_hash_queue: 32,
            sessions_per_account: 10,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LicensingSettings {
    pub grace_period_days: u32,
}

impl Default for LicensingSettings {
    fn default() -> Self {
        LicensingSettings {
            grace_period_days: 7,
        }
    }
}

/// The abuse rule (a domain type: the per-environment setting kept in the store).
pub use crate::domain::settings::AbuseSettings;

/// The customer portal.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PortalSettings {
    /// How long a signed download link works.
    pub download_link_secs: u64,
    /// Largest product file an admin may upload, in MiB (streamed to disk, never held in memory).
    pub max_upload_mb: u64,
}

impl Default for PortalSettings {
    fn default() -> Self {
        PortalSettings {
            download_link_secs: 900,
            max_upload_mb: 512,
        }
    }
}

/// Background jobs (bulk generation): any node runs a job while it holds its
/// lease; another node takes it over once the lease runs out.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobSettings {
    /// How long a node's hold on a job lasts without renewal (renewed every step
    /// and every third of it): how long a dead node's job waits to be taken over.
    pub lease_secs: u64,
    /// How often every node looks for running jobs whose lease ran out.
    pub poll_secs: u64,
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            lease_secs: 15,
            poll_secs: 2,
        }
    }
}

/// Webhook delivery (issue 14 part 1): what targets are allowed, how long a
/// request may take, the retry schedule, when a failing endpoint is disabled.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookSettings {
    /// Allow `http://` endpoint URLs (only https by default).
    pub allow_http: bool,
    /// Allow targets that resolve to loopback, private, link-local or metadata addresses.
    pub allow_private_targets: bool,
    /// A delivery attempt's whole time limit (connect, send, answer).
    pub timeout_secs: u64,
    /// Waits between attempts after a failure; after the last one the delivery failed.
    pub retry_schedule_secs: Vec<u64>,
    /// An endpoint whose deliveries all failed for this long is disabled (admins are
    /// mailed); 0 disables it at its first failed attempt.
    pub disable_after_hours: u64,
    /// How long a rotated-out secret keeps signing, beside the new one.
    pub rotation_overlap_hours: u64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            allow_http: false,
            allow_private_targets: false,
            timeout_secs: 10,
            retry_schedule_secs: vec![5, 300, 1800, 7200, 18000, 36000],
            disable_after_hours: 120,
            rotation_overlap_hours: 24,
        }
    }
}

/// Outgoing mail of the customer portal (invitations, password resets, reminders).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailSettings {
    /// Folder every message is written to (empty: `<data_dir>/outbox`); the admin
    /// portal's Outbox page lists it.
    pub outbox_dir: String,
    /// `smtp://user:pass@host:port` or `smtps://…`: also deliver over SMTP (empty: folder only).
    pub smtp_url: String,
    pub from: String,
    /// Old name of `server.public_url`, still read when that one is empty.
    pub public_url: String,
    /// How often expiry reminders are looked for.
    pub reminder_interval_secs: u64,
    /// Wait before the first retry of a failed delivery, doubled per failure
    /// (at most an hour; a mail fails for good after 8 attempts).
    pub retry_base_secs: u64,
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            outbox_dir: String::new(),
            smtp_url: String::new(),
            from: "Keywarden <no-reply@keywarden.local>".into(),
            public_url: String::new(),
            reminder_interval_secs: 3600,
            retry_base_secs: 30,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    pub format: String,
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            format: "text".into(),
            level: "info".into(),
        }
    }
}

impl Settings {
    /// Loads defaults, then the file (if present), then the environment.
    pub fn load(file: Option<PathBuf>) -> Result<Settings, ConfigError> {
        let file = file
            .or_else(|| std::env::var_os("KEYWARDEN_CONFIG").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("config/default.toml"));
        let settings: Settings = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(&file))
            .merge(
                Env::prefixed("KEYWARDEN_")
                    .ignore(BOOTSTRAP_VARS)
                    .split("__"),
            )
            .extract()
            .map_err(|e| ConfigError::new(describe(e)))?;
        let mut settings = settings;
        settings.take_mail_public_url();
        settings.check()?;
        Ok(settings)
    }
}

#[cfg(test)]
mod tests;
