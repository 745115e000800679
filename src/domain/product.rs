//! Products and the generators that make their keys.

use super::features::FeatureDef;
use super::key::KeyFormat;
use super::{ActivationLimit, Environment};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// Something a vendor sells; licenses belong to exactly one product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Product {
    pub id: Uuid,
    pub environment: Environment,
    pub name: String,
    pub description: String,
    /// An inactive product gets no new licenses; existing ones keep working.
    pub active: bool,
    pub default_generator_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// The flags its licenses may carry (empty: free-form flags). Stored
    /// products written before definitions existed read as empty.
    #[serde(default)]
    pub features: Vec<FeatureDef>,
    /// Where an owner renews an expiring or expired license (empty: none).
    #[serde(default)]
    pub renew_url: String,
    /// Where an owner buys a new license when there is no renewal page.
    #[serde(default)]
    pub buy_url: String,
}

/// A recipe for new licenses: key format plus the defaults they start with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Generator {
    pub id: Uuid,
    pub environment: Environment,
    pub product_id: Uuid,
    pub name: String,
    /// The key format (prefix, groups, alphabet…).
    #[schema(value_type = Object)]
    pub format: KeyFormat,
    #[schema(value_type = i32)]
    pub activation_limit: ActivationLimit,
    /// Days of validity from assignment; None means lifetime.
    pub validity_days: Option<u32>,
    #[schema(value_type = Object)]
    pub feature_flags: Map<String, Value>,
    pub created_at: DateTime<Utc>,
}

/// Checks a product or generator name: 1–100 characters after trimming.
pub fn check_name(name: &str, min: usize) -> Result<String, String> {
    let n = name.trim();
    let len = n.chars().count();
    if len < min || len > 100 {
        return Err(format!("must be {min} to 100 characters"));
    }
    if n.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(n.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(check_name("  Pro  ", 1).unwrap(), "Pro");
        assert!(check_name("", 1).is_err());
        assert!(check_name("ab", 3).is_err());
        assert!(check_name(&"x".repeat(101), 1).is_err());
    }

    /// Products stored before feature definitions existed read as having none.
    #[test]
    fn a_product_stored_without_features_reads() {
        #[derive(Serialize)]
        struct Before {
            id: Uuid,
            environment: Environment,
            name: String,
            description: String,
            active: bool,
            default_generator_id: Option<Uuid>,
            created_at: DateTime<Utc>,
        }
        let old = Before {
            id: Uuid::new_v4(),
            environment: Environment::Production,
            name: "Old".into(),
            description: String::new(),
            active: true,
            default_generator_id: None,
            created_at: Utc::now(),
        };
        let bytes = rmp_serde::to_vec_named(&old).unwrap();
        let p: Product = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!((p.name.as_str(), p.features.len()), ("Old", 0));
    }
}

/// A link an owner sees to pay for more time: "Renew" (the product's renewal
/// page) or "Buy" (its store page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub label: &'static str,
    pub url: String,
}

/// How long before the expiry an owner is offered a renewal.
pub const OFFER_DAYS: i64 = 30;

impl Product {
    /// The offer on a license of this product in `status` expiring at
    /// `expires_at`: only when it expired, or expires within [`OFFER_DAYS`]
    /// (a revoked or lifetime license gets none).
    pub fn offer_for(
        &self,
        status: super::LicenseStatus,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<Offer> {
        use super::LicenseStatus as S;
        let due = match (status, expires_at) {
            (S::Revoked, _) | (_, None) => false,
            (S::Expired, Some(_)) => true,
            (_, Some(t)) => t <= now + chrono::Duration::days(OFFER_DAYS),
        };
        let (label, url) = match (self.renew_url.trim(), self.buy_url.trim()) {
            ("", "") => return None,
            ("", buy) => ("Buy", buy),
            (renew, _) => ("Renew", renew),
        };
        due.then(|| Offer {
            label,
            url: url.to_owned(),
        })
    }
}

#[cfg(test)]
mod offer_tests {
    use super::*;
    use crate::domain::LicenseStatus as S;
    use chrono::Duration;

    #[test]
    fn offers_follow_state_expiry_and_the_urls_set() {
        let now = Utc::now();
        let mut p = Product {
            id: Uuid::nil(),
            environment: crate::domain::Environment::Production,
            name: "P".into(),
            description: String::new(),
            active: true,
            default_generator_id: None,
            created_at: now,
            features: Vec::new(),
            renew_url: "https://s.test/renew".into(),
            buy_url: "https://s.test/buy".into(),
        };
        let soon = Some(now + Duration::days(10));
        let later = Some(now + Duration::days(60));
        let past = Some(now - Duration::days(1));
        let table = [
            (S::Active, soon, Some("Renew")),
            (S::Active, later, None),
            (S::Active, None, None),
            (S::Expired, past, Some("Renew")),
            (S::Suspended, soon, Some("Renew")),
            (S::Revoked, past, None),
        ];
        for (status, exp, want) in table {
            assert_eq!(
                p.offer_for(status, exp, now).map(|o| o.label),
                want,
                "{status:?}"
            );
        }
        p.renew_url.clear();
        let o = p.offer_for(S::Expired, past, now).unwrap();
        assert_eq!((o.label, o.url.as_str()), ("Buy", "https://s.test/buy"));
        p.buy_url.clear();
        assert_eq!(p.offer_for(S::Expired, past, now), None);
    }
}
