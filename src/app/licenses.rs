//! Creating licenses: one place for both front doors and the background jobs.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::domain::{
    Action, ActivationLimit, Environment, Generator, License, LicenseKey, LicenseStatus,
};
use crate::engine::Engine;
use crate::error::ApiError;

/// The fields a new license may override; everything else comes from its generator.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub customer_id: Option<Uuid>,
    pub activation_limit: Option<ActivationLimit>,
    pub expires_at: Option<DateTime<Utc>>,
    pub feature_flags: Option<Map<String, Value>>,
    pub metadata: Map<String, Value>,
}

/// Makes `count` new licenses from a generator (fresh CSPRNG keys, no duplicates in the batch).
pub fn make_licenses(
    env: Environment,
    generator: &Generator,
    o: &Overrides,
    count: usize,
    now: DateTime<Utc>,
) -> Vec<License> {
    let mut rng = rand::rngs::OsRng;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let raw = generator.format.generate(&mut rng);
        let Ok(key) = LicenseKey::parse(&raw) else {
            continue;
        };
        if !seen.insert(raw) {
            continue;
        }
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
            version: 0,
            created_at: now,
            updated_at: now,
            activations: Vec::new(),
            eligibility: Default::default(),
        };
        if let Some(c) = o.customer_id {
            // Assigning a fresh license always succeeds; it also starts the validity.
            let _ = l.apply(Action::Assign, now);
            l.customer_id = Some(c);
        }
        l.version = 1;
        out.push(l);
    }
    out
}

/// Creates licenses, retrying with fresh keys in the (astronomically rare) case of a collision.
pub async fn create_licenses(
    engine: &Engine,
    env: Environment,
    generator: &Generator,
    o: &Overrides,
    count: usize,
    who: &str,
) -> Result<Vec<License>, ApiError> {
    let mut last = None;
    for _ in 0..3 {
        let batch = make_licenses(env, generator, o, count, Utc::now());
        match engine.create_licenses(env, &batch, who).await {
            Ok(()) => return Ok(batch),
            Err(crate::engine::EngineError::Store(crate::store::StoreError::Conflict(m))) => {
                last = Some(m)
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict(last.unwrap_or_default()))
}
