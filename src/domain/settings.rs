//! Per-environment settings an admin changes at run time (kept in the store).

use serde::{Deserialize, Serialize};

/// The abuse rule; also the per-environment setting kept in the store.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct AbuseSettings {
    pub enabled: bool,
    pub threshold: u32,
    pub window_secs: u64,
    pub auto_suspend: bool,
}

impl Default for AbuseSettings {
    fn default() -> Self {
        AbuseSettings {
            enabled: true,
            threshold: 5,
            window_secs: 3600,
            auto_suspend: false,
        }
    }
}

/// Grace period and the abuse rule for one environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvSettings {
    pub grace_period_days: u32,
    pub abuse: AbuseSettings,
    /// Ask for the admin's password again before a license preview shows keys and files.
    #[serde(default)]
    pub reauth_preview: bool,
}

impl EnvSettings {
    /// Refuses values outside what the pages allow.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.grace_period_days > 365 {
            return Err(("grace_period_days", "must be between 0 and 365".into()));
        }
        if !(1..=100).contains(&self.abuse.threshold) {
            return Err(("abuse.threshold", "must be between 1 and 100".into()));
        }
        if !(60..=7 * 86_400).contains(&self.abuse.window_secs) {
            return Err(("abuse.window_secs", "must be between 60 and 604800".into()));
        }
        Ok(())
    }

    pub fn grace(&self) -> chrono::Duration {
        chrono::Duration::days(i64::from(self.grace_period_days))
    }
}
