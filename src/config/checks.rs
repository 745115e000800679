//! The checks `Settings::load` runs once the layers are merged: one per section,
//! each refusing the first value the server cannot run with and naming its key.

use super::public_url::check_public_url;
use super::{
    AbuseSettings, ConfigError, CqlSettings, EngineSettings, JobSettings, LimitSettings,
    LogSettings, PortalSettings, ServerSettings, Settings, WebhookSettings,
};

impl Settings {
    /// Refuses values the server cannot run with, naming the first bad key.
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        self.server.check()?;
        self.engine.check()?;
        self.limits.check()?;
        check_abuse(&self.abuse)?;
        self.store.cql.check()?;
        self.portal.check()?;
        self.jobs.check()?;
        self.webhooks.check()?;
        if !self.server.public_url.trim().is_empty() {
            check_public_url(&self.server.public_url)
                .map_err(|why| bad("server.public_url", &why))?;
        }
        self.log.check()
    }
}

/// The error naming a bad setting `key` and why.
fn bad(key: &str, why: &str) -> ConfigError {
    ConfigError::new(format!("{key}: {why}"))
}

/// `Err(bad(key, why))` when `failed`.
fn refuse_if(failed: bool, key: &str, why: &str) -> Result<(), ConfigError> {
    if failed {
        Err(bad(key, why))
    } else {
        Ok(())
    }
}

/// Refuses `value` outside `range`.
fn within<T: PartialOrd>(
    key: &str,
    value: T,
    range: std::ops::RangeInclusive<T>,
    why: &str,
) -> Result<(), ConfigError> {
    refuse_if(!range.contains(&value), key, why)
}

/// Refuses `value` unless it is one of `allowed`.
fn one_of(key: &str, value: &str, allowed: &[&str], why: &str) -> Result<(), ConfigError> {
    refuse_if(!allowed.contains(&value), key, why)
}

impl JobSettings {
    fn check(&self) -> Result<(), ConfigError> {
        within(
            "jobs.lease_secs",
            self.lease_secs,
            2..=3600,
            "must be 2 to 3600 seconds",
        )?;
        within(
            "jobs.poll_secs",
            self.poll_secs,
            1..=self.lease_secs,
            "must be 1 second to jobs.lease_secs",
        )
    }
}

impl WebhookSettings {
    fn check(&self) -> Result<(), ConfigError> {
        within(
            "webhooks.timeout_secs",
            self.timeout_secs,
            1..=60,
            "must be 1 to 60 seconds",
        )?;
        let n = self.retry_schedule_secs.len();
        refuse_if(
            n > 20,
            "webhooks.retry_schedule_secs",
            "must have at most 20 waits",
        )?;
        let too_long = self.retry_schedule_secs.iter().any(|s| *s > 7 * 86_400);
        refuse_if(
            too_long,
            "webhooks.retry_schedule_secs",
            "each wait must be at most 7 days",
        )?;
        within(
            "webhooks.disable_after_hours",
            self.disable_after_hours,
            0..=8760,
            "must be 0 to 8760 hours",
        )?;
        within(
            "webhooks.rotation_overlap_hours",
            self.rotation_overlap_hours,
            0..=720,
            "must be 0 to 720 hours",
        )
    }
}

impl ServerSettings {
    fn check(&self) -> Result<(), ConfigError> {
        let key = "server.body_limit_bytes";
        refuse_if(self.body_limit_bytes < 256, key, "must be at least 256")
    }
}

impl EngineSettings {
    fn check(&self) -> Result<(), ConfigError> {
        let key = "engine.heartbeat_flush_ms";
        refuse_if(self.heartbeat_flush_ms == 0, key, "must be greater than 0")
    }
}

impl LimitSettings {
    fn check(&self) -> Result<(), ConfigError> {
        let rate = |key: &str, per: u32, burst: u32| {
            refuse_if(per == 0 || burst == 0, key, "rates must be greater than 0")
        };
        rate(
            "limits.license_per_second",
            self.license_per_second,
            self.license_burst,
        )?;
        rate(
            "limits.login_per_minute",
            self.login_per_minute,
            self.login_burst,
        )?;
        rate(
            "limits.account_failures_per_hour",
            self.account_failures_per_hour,
            self.account_failures_burst,
        )?;
        refuse_if(
            self.password_hash_concurrency > 64,
            "limits.password_hash_concurrency",
            "must be 0 (half the cores) to 64",
        )?;
        let sessions = self.sessions_per_account;
        within(
            "limits.sessions_per_account",
            sessions,
            1..=1000,
            "must be 1 to 1000",
        )?;
        rate(
            "limits.unknown_key_per_minute",
            self.unknown_key_per_minute,
            self.unknown_key_burst,
        )
    }
}

/// The abuse rule's threshold is a percentage (the type lives in domain).
fn check_abuse(abuse: &AbuseSettings) -> Result<(), ConfigError> {
    let why = "must be between 1 and 100";
    within("abuse.threshold", abuse.threshold, 1..=100, why)
}

impl CqlSettings {
    fn check(&self) -> Result<(), ConfigError> {
        one_of(
            "store.cql.consistency",
            &self.consistency,
            &["one", "quorum", "local_one", "local_quorum", "all"],
            "must be one, quorum, local_one, local_quorum or all",
        )?;
        one_of(
            "store.cql.serial_consistency",
            &self.serial_consistency,
            &["serial", "local_serial"],
            "must be serial or local_serial",
        )?;
        within(
            "store.cql.changes_poll_ms",
            self.changes_poll_ms,
            1..=5000,
            "must be 1 to 5000 (changes must reach every node within 5 s)",
        )
    }
}

impl PortalSettings {
    fn check(&self) -> Result<(), ConfigError> {
        let why = "must be 1 to 65536";
        within("portal.max_upload_mb", self.max_upload_mb, 1..=65_536, why)
    }
}

impl LogSettings {
    fn check(&self) -> Result<(), ConfigError> {
        let why = "must be \"text\" or \"json\"";
        one_of("log.format", &self.format, &["text", "json"], why)
    }
}
