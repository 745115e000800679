//! Offline license files for air-gapped machines: a signed payload bound to one device.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::EnvSigner;
use crate::domain::{Environment, Identifier, License, LicenseStatus};

/// How long an offline file stays good after it is issued.
pub const OFFLINE_VALIDITY_HOURS: i64 = 24;

/// What the file asserts. A verifier checks the signature, then status, then
/// `valid_until` (with a small clock tolerance), then the identifier.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OfflinePayload {
    pub format: String,
    pub environment: Environment,
    pub key: String,
    pub product_id: String,
    pub identifier: String,
    pub status: LicenseStatus,
    pub expires_at: Option<DateTime<Utc>>,
    pub grace_period_days: u32,
    pub activation_limit: i32,
    pub activations: usize,
    pub feature_flags: Map<String, Value>,
    pub issued_at: DateTime<Utc>,
    /// The file itself stops being valid 24 hours after issue.
    pub valid_until: DateTime<Utc>,
    /// When the server last validated this license online (the issue time).
    pub last_validated_at: DateTime<Utc>,
}

/// The file as served: base64 payload, base64 signature, algorithm and key id.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OfflineFile {
    pub format: String,
    pub algorithm: String,
    pub key_id: String,
    pub environment: Environment,
    pub payload: String,
    pub signature: String,
}

/// Builds and signs a file for `identifier` on `license`.
pub fn issue(
    signer: &EnvSigner,
    license: &License,
    identifier: &Identifier,
    grace_period_days: u32,
    now: DateTime<Utc>,
) -> OfflineFile {
    let payload = OfflinePayload {
        format: "keywarden-offline-v1".into(),
        environment: license.environment,
        key: license.key.as_str().into(),
        product_id: license.product_id.to_string(),
        identifier: identifier.as_str().into(),
        status: license.status,
        expires_at: license.expires_at,
        grace_period_days,
        activation_limit: license.activation_limit.get(),
        activations: license.active_count(),
        feature_flags: license.feature_flags.clone(),
        issued_at: now,
        valid_until: now + Duration::hours(OFFLINE_VALIDITY_HOURS),
        last_validated_at: now,
    };
    let bytes = serde_json::to_vec(&payload).unwrap_or_default();
    OfflineFile {
        format: "keywarden-offline-v1".into(),
        algorithm: "Ed25519".into(),
        key_id: signer.key_id.clone(),
        environment: license.environment,
        signature: signer.sign(&bytes),
        payload: B64.encode(&bytes),
    }
}
