//! Per-environment settings an admin changes at run time (kept in the store).

use serde::{Deserialize, Serialize};

/// The abuse rule; also the per-environment setting kept in the store.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvSettings {
    pub grace_period_days: u32,
    pub abuse: AbuseSettings,
    /// Ask for the admin's password again before a license preview shows keys and files.
    #[serde(default)]
    pub reauth_preview: bool,
    /// Mail the key to the customer when a license is assigned or transferred to them.
    #[serde(default = "on")]
    pub mail_key_on_assign: bool,
    /// Security alerts (a new device on a license) go to every owner, even one
    /// who turned them off in the customer portal.
    #[serde(default)]
    pub security_alerts_mandatory: bool,
    /// Every admin must sign in with a second factor (read from production's
    /// settings only: admin accounts serve both environments).
    #[serde(default)]
    pub admin_two_factor_required: bool,
}

fn on() -> bool {
    true
}

impl EnvSettings {
    /// Every value outside what the pages allow, as (field, message), in field order.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.grace_period_days > 365 {
            out.push((
                "grace_period_days",
                "Grace period must be 0–365 days.".into(),
            ));
        }
        if !(1..=100).contains(&self.abuse.threshold) {
            out.push(("abuse.threshold", "Threshold must be 1–100 events.".into()));
        }
        if !(60..=7 * 86_400).contains(&self.abuse.window_secs) {
            out.push((
                "abuse.window_secs",
                "Window must be 1–10080 minutes (one week).".into(),
            ));
        }
        out
    }

    /// The first problem, if any (see [`EnvSettings::problems`]).
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        match self.problems().into_iter().next() {
            Some(p) => Err(p),
            None => Ok(()),
        }
    }

    pub fn grace(&self) -> chrono::Duration {
        chrono::Duration::days(i64::from(self.grace_period_days))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bound_is_checked() {
        let ok = EnvSettings {
            grace_period_days: 7,
            abuse: AbuseSettings::default(),
            reauth_preview: false,
            mail_key_on_assign: true,
            security_alerts_mandatory: false,
            admin_two_factor_required: false,
        };
        let with = |f: &dyn Fn(&mut EnvSettings)| {
            let mut s = ok.clone();
            f(&mut s);
            s.problems().into_iter().map(|(f, _)| f).collect::<Vec<_>>()
        };
        assert!(ok.check().is_ok());
        type Change<'a> = &'a dyn Fn(&mut EnvSettings);
        let table: [(Change, Vec<&str>); 8] = [
            (&|s| s.grace_period_days = 0, vec![]),
            (&|s| s.grace_period_days = 365, vec![]),
            (&|s| s.grace_period_days = 366, vec!["grace_period_days"]),
            (&|s| s.abuse.threshold = 0, vec!["abuse.threshold"]),
            (&|s| s.abuse.threshold = 101, vec!["abuse.threshold"]),
            (&|s| s.abuse.window_secs = 59, vec!["abuse.window_secs"]),
            (&|s| s.abuse.window_secs = 604_800, vec![]),
            (
                &|s| {
                    s.grace_period_days = 999;
                    s.abuse.window_secs = 0;
                },
                vec!["grace_period_days", "abuse.window_secs"],
            ),
        ];
        for (change, want) in table {
            assert_eq!(with(change), want);
        }
    }
}
