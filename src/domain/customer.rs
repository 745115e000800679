//! Customer accounts: global, one person across both environments.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A license owner. The password hash is argon2 (PHC string) when set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    #[serde(default)]
    pub password_hash: Option<String>,
    pub created_at: DateTime<Utc>,
    /// IANA zone every portal date is shown in.
    #[serde(default = "utc")]
    pub timezone: String,
    /// Expiry reminders 30, 14 and 7 days before.
    #[serde(default = "yes")]
    pub notify_expiry: bool,
    /// A mail when a new device is activated on one of their licenses.
    #[serde(default = "yes")]
    pub notify_activations: bool,
    #[serde(default)]
    pub last_sign_in: Option<DateTime<Utc>>,
    /// The portal's colour theme.
    #[serde(default)]
    pub theme: super::theme::Theme,
}

fn utc() -> String {
    "UTC".into()
}

fn yes() -> bool {
    true
}

impl Customer {
    /// A new account with the default preferences and no password yet.
    pub fn new(email: String, name: String, now: DateTime<Utc>) -> Customer {
        Customer {
            id: Uuid::new_v4(),
            email,
            name,
            password_hash: None,
            created_at: now,
            timezone: utc(),
            notify_expiry: true,
            notify_activations: true,
            last_sign_in: None,
            theme: Default::default(),
        }
    }
}

/// Lower-cases and checks an email address (one `@`, a dot in the domain, ≤ 254 chars).
pub fn normalize_email(raw: &str) -> Result<String, String> {
    let e = raw.trim().to_lowercase();
    let ok = e.len() <= 254
        && e.split('@').count() == 2
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(e)
    } else {
        Err("must be a valid email address".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalize_email(" Ann@Example.COM ").unwrap(),
            "ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@x.com",
            "a@b",
            "a b@c.com",
            "a@@b.com",
            "a@.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }
}
