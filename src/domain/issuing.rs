//! Issuing licenses: what a batch of new licenses looks like, from a
//! generator and the fields a request overrides. Pure (the caller brings the
//! clock and the random source), so the plan is tested without a store.

use chrono::{DateTime, Utc};
use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{Action, ActivationLimit, Environment, Generator, License, LicenseKey, LicenseStatus};

/// The fields a new license may override; everything else comes from its generator.
/// Kept in a background job's row, so it is (de)serialisable.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Overrides {
    pub customer_id: Option<Uuid>,
    pub activation_limit: Option<ActivationLimit>,
    pub expires_at: Option<DateTime<Utc>>,
    pub feature_flags: Option<Map<String, Value>>,
    pub metadata: Map<String, Value>,
}

/// `count` new licenses from a generator: fresh keys (no duplicate in the batch),
/// the generator's defaults unless overridden, and, when a customer is given,
/// assigned to them (which starts the validity period).
pub fn make_licenses(
    env: Environment,
    generator: &Generator,
    o: &Overrides,
    count: usize,
    now: DateTime<Utc>,
    rng: &mut (impl RngCore + CryptoRng),
) -> Vec<License> {
    let keys = fresh_keys(generator, count, rng);
    licenses_from_keys(env, generator, o, &keys, now)
}

/// `count` fresh keys in the generator's format, no duplicate among them: the
/// plan a background job records before it inserts, so a takeover reuses them.
pub fn fresh_keys(
    generator: &Generator,
    count: usize,
    rng: &mut (impl RngCore + CryptoRng),
) -> Vec<LicenseKey> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let raw = generator.format.generate(rng);
        let Ok(key) = LicenseKey::parse(&raw) else {
            continue;
        };
        if seen.insert(raw) {
            out.push(key);
        }
    }
    out
}

/// The licenses a plan of keys stands for: the same keys and `now` give the
/// same licenses, so a job resumed on another node makes exactly what was planned.
pub fn licenses_from_keys(
    env: Environment,
    generator: &Generator,
    o: &Overrides,
    keys: &[LicenseKey],
    now: DateTime<Utc>,
) -> Vec<License> {
    keys.iter()
        .map(|k| one(env, generator, o, k.clone(), now))
        .collect()
}

fn one(
    env: Environment,
    generator: &Generator,
    o: &Overrides,
    key: LicenseKey,
    now: DateTime<Utc>,
) -> License {
    let mut l = License {
        key,
        environment: env,
        product_id: generator.product_id,
        generator_id: Some(generator.id),
        customer_id: None,
        status: LicenseStatus::Available,
        activation_limit: o.activation_limit.unwrap_or(generator.activation_limit),
        expires_at: o.expires_at,
        validity_days: generator.validity_days,
        feature_flags: o
            .feature_flags
            .clone()
            .unwrap_or_else(|| generator.feature_flags.clone()),
        metadata: o.metadata.clone(),
        ever_activated: false,
        flagged: false,
        abuse_case: None,
        version: 0,
        created_at: now,
        updated_at: now,
        activations: Vec::new(),
        eligibility: Default::default(),
    };
    if let Some(c) = o.customer_id {
        give_to(&mut l, c);
    }
    l.version = 1;
    l
}

/// A fresh license given to its first owner: assigned, its validity started
/// at its creation (an import finds the owner only when its step runs).
pub fn give_to(l: &mut License, customer: uuid::Uuid) {
    // Assigning a fresh license always succeeds; it also starts the validity.
    let _ = l.apply(Action::Assign, l.created_at);
    l.customer_id = Some(customer);
}

/// Whether a validity period (days from assignment) is one a generator may have.
pub fn valid_validity_days(days: Option<u32>) -> bool {
    days.is_none_or(|d| (1..=MAX_VALIDITY_DAYS).contains(&d))
}

/// The longest validity a generator may give (100 years).
pub const MAX_VALIDITY_DAYS: u32 = 36_500;

/// A generator for tests of what it issues: production, 3 seats, no expiry,
/// no flags, the default key format.
#[cfg(test)]
pub fn test_generator() -> Generator {
    Generator {
        id: Uuid::new_v4(),
        environment: Environment::Production,
        product_id: Uuid::new_v4(),
        name: "Default".into(),
        format: crate::domain::key::KeyFormat::default(),
        activation_limit: ActivationLimit::new(3).unwrap_or_default(),
        validity_days: None,
        feature_flags: Default::default(),
        created_at: Utc::now(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generator(validity_days: Option<u32>) -> Generator {
        Generator {
            validity_days,
            feature_flags: serde_json::json!({"pro": true})
                .as_object()
                .unwrap()
                .clone(),
            ..test_generator()
        }
    }

    /// One row of the plan table: generator validity and overrides in, what the license looks like out.
    struct Case {
        validity: Option<u32>,
        o: Overrides,
        status: LicenseStatus,
        limit: i32,
        expiry_days: Option<i64>,
        pro: bool,
    }

    fn cases(customer: Uuid, flags: Map<String, Value>) -> Vec<Case> {
        let plain = |validity| Case {
            validity,
            o: Overrides::default(),
            status: LicenseStatus::Available,
            limit: 3,
            expiry_days: None,
            pro: true,
        };
        let assigned = Overrides {
            customer_id: Some(customer),
            ..Default::default()
        };
        let overridden = Overrides {
            activation_limit: Some(ActivationLimit::new(-1).unwrap()),
            expires_at: Some(Utc::now() + chrono::Duration::days(9)),
            feature_flags: Some(flags),
            ..Default::default()
        };
        vec![
            plain(None),
            plain(Some(30)),
            Case {
                o: assigned,
                status: LicenseStatus::Assigned,
                expiry_days: Some(30),
                ..plain(Some(30))
            },
            Case {
                o: overridden,
                limit: -1,
                expiry_days: Some(9),
                pro: false,
                ..plain(None)
            },
        ]
    }

    #[test]
    fn a_plan_follows_the_generator_unless_overridden() {
        let now = Utc::now();
        let flags = serde_json::json!({"pro": false})
            .as_object()
            .unwrap()
            .clone();
        for c in cases(Uuid::new_v4(), flags) {
            let g = generator(c.validity);
            let made = make_licenses(
                Environment::Staging,
                &g,
                &c.o,
                1,
                now,
                &mut rand::rngs::OsRng,
            );
            let l = &made[0];
            let expiry = c
                .expiry_days
                .map(|d| (now + chrono::Duration::days(d)).date_naive());
            assert_eq!(l.status, c.status, "{:?}", c.o);
            assert_eq!(l.activation_limit.get(), c.limit);
            assert_eq!(l.expires_at.map(|t| t.date_naive()), expiry);
            assert_eq!(l.feature_flags["pro"], Value::Bool(c.pro));
            assert_eq!(l.customer_id, c.o.customer_id);
            assert_eq!(l.version, 1);
            assert_eq!(
                (l.environment, l.generator_id),
                (Environment::Staging, Some(g.id))
            );
        }
    }

    #[test]
    fn a_batch_has_no_duplicate_key() {
        let g = generator(None);
        let made = make_licenses(
            Environment::Production,
            &g,
            &Overrides::default(),
            500,
            Utc::now(),
            &mut rand::rngs::OsRng,
        );
        let keys: std::collections::HashSet<_> =
            made.iter().map(|l| l.key.as_str().to_owned()).collect();
        assert_eq!((made.len(), keys.len()), (500, 500));
    }

    #[test]
    fn validity_is_one_day_to_a_hundred_years_or_lifetime() {
        for (days, ok) in [
            (None, true),
            (Some(0), false),
            (Some(1), true),
            (Some(36_500), true),
            (Some(36_501), false),
        ] {
            assert_eq!(valid_validity_days(days), ok, "{days:?}");
        }
    }
}
