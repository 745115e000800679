//! The checks `Settings::load` runs once the layers are merged: one per section,
//! each refusing the first value the server cannot run with and naming its key.

use super::public_url::check_public_url;
use super::{
    AbuseSettings, ConfigError, CqlSettings, EngineSettings, LimitSettings, LogSettings,
    PortalSettings, ServerSettings, Settings,
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

impl ServerSettings {
    fn check(&self) -> Result<(), ConfigError> {
        refuse_if(
            self.body_limit_bytes < 256,
            "server.body_limit_bytes",
            "must be at least 256",
        )
    }
}

impl EngineSettings {
    fn check(&self) -> Result<(), ConfigError> {
        refuse_if(
            self.heartbeat_flush_ms == 0,
            "engine.heartbeat_flush_ms",
            "must be greater than 0",
        )
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
        refuse_if(
            !(1..=1000).contains(&self.sessions_per_account),
            "limits.sessions_per_account",
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
    refuse_if(
        !(1..=100).contains(&abuse.threshold),
        "abuse.threshold",
        "must be between 1 and 100",
    )
}

impl CqlSettings {
    fn check(&self) -> Result<(), ConfigError> {
        refuse_if(
            !matches!(
                self.consistency.as_str(),
                "one" | "quorum" | "local_one" | "local_quorum" | "all"
            ),
            "store.cql.consistency",
            "must be one, quorum, local_one, local_quorum or all",
        )?;
        refuse_if(
            !matches!(self.serial_consistency.as_str(), "serial" | "local_serial"),
            "store.cql.serial_consistency",
            "must be serial or local_serial",
        )?;
        refuse_if(
            self.changes_poll_ms == 0 || self.changes_poll_ms > 5000,
            "store.cql.changes_poll_ms",
            "must be 1 to 5000 (changes must reach every node within 5 s)",
        )
    }
}

impl PortalSettings {
    fn check(&self) -> Result<(), ConfigError> {
        refuse_if(
            !(1..=65_536).contains(&self.max_upload_mb),
            "portal.max_upload_mb",
            "must be 1 to 65536",
        )
    }
}

impl LogSettings {
    fn check(&self) -> Result<(), ConfigError> {
        refuse_if(
            !matches!(self.format.as_str(), "text" | "json"),
            "log.format",
            "must be \"text\" or \"json\"",
        )
    }
}
