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
    /// Set by an admin: the account cannot sign in (its licenses keep working).
    #[serde(default)]
    pub disabled: bool,
}

/// Where an account stands, as the Customers page shows and filters it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerStatus {
    /// Has a password and may sign in.
    Active,
    /// Created by an admin or an assignment; no password set yet.
    Invited,
    /// An admin disabled sign-in.
    Disabled,
}

impl CustomerStatus {
    /// Every status, in the order the filter lists them.
    pub const ALL: [CustomerStatus; 3] = [
        CustomerStatus::Active,
        CustomerStatus::Invited,
        CustomerStatus::Disabled,
    ];

    /// The word in URLs and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerStatus::Active => "active",
            CustomerStatus::Invited => "invited",
            CustomerStatus::Disabled => "disabled",
        }
    }

    /// The status a word names.
    pub fn parse(word: &str) -> Option<CustomerStatus> {
        Self::ALL.into_iter().find(|s| s.as_str() == word)
    }
}

fn utc() -> String {
    "UTC".into()
}

fn yes() -> bool {
    true
}

impl Customer {
    /// Disabled wins over everything; otherwise a password makes an account active.
    pub fn status(&self) -> CustomerStatus {
        match (self.disabled, self.password_hash.is_some()) {
            (true, _) => CustomerStatus::Disabled,
            (false, true) => CustomerStatus::Active,
            (false, false) => CustomerStatus::Invited,
        }
    }

    /// The name, or the email for an account without one.
    pub fn label(&self) -> &str {
        if self.name.is_empty() {
            &self.email
        } else {
            &self.name
        }
    }

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
            disabled: false,
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
    fn status_follows_disabled_then_password() {
        let now = Utc::now();
        let mut c = Customer::new("a@b.co".into(), String::new(), now);
        let table = [
            (false, None, CustomerStatus::Invited),
            (false, Some("h"), CustomerStatus::Active),
            (true, None, CustomerStatus::Disabled),
            (true, Some("h"), CustomerStatus::Disabled),
        ];
        for (disabled, hash, want) in table {
            c.disabled = disabled;
            c.password_hash = hash.map(String::from);
            assert_eq!(c.status(), want, "{disabled} {hash:?}");
            assert_eq!(CustomerStatus::parse(want.as_str()), Some(want));
        }
        assert_eq!(CustomerStatus::parse("gone"), None);
        assert_eq!(c.label(), "a@b.co");
    }

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
