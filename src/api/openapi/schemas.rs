//! Shapes of answers that handlers build in place (`json!`) or that borrow,
//! described here for the OpenAPI document. The schemathesis run in the test
//! command checks every answer against them, so a drift fails the tests.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{Action, Environment, LicenseStatus, VerdictCode};

/// Every failed request: a stable code, a sentence for people, and the field at fault (400s).
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorDoc {
    /// BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, INVALID_TRANSITION,
    /// CONFLICT, QUOTA_EXCEEDED, IDEMPOTENCY_KEY_REUSED, RATE_LIMITED,
    /// PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, STORE_UNAVAILABLE.
    #[schema(example = "NOT_FOUND")]
    pub code: String,
    pub detail: String,
    /// The request field at fault, when one is.
    #[schema(nullable = false)]
    pub field: Option<String>,
}

/// A row of the license listing.
#[derive(Serialize, ToSchema)]
pub struct LicenseRow {
    pub key: String,
    pub product_id: Uuid,
    pub customer_id: Option<Uuid>,
    pub status: LicenseStatus,
    pub activation_limit: i32,
    pub activations_in_use: u32,
    pub ever_activated: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The state actions legal from here.
    pub allowed_actions: Vec<Action>,
}

/// One page of the license listing.
#[derive(Serialize, ToSchema)]
pub struct LicensePage {
    pub items: Vec<LicenseRow>,
    /// Licenses matching the filters, on every page.
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

/// One page of a license's past activations.
#[derive(Serialize, ToSchema)]
pub struct HistoryPage {
    pub items: Vec<crate::domain::Activation>,
    pub page: u32,
    pub per_page: u32,
}

/// The keys a bulk create made.
#[derive(Serialize, ToSchema)]
pub struct BulkCreated {
    pub count: u64,
    pub keys: Vec<String>,
}

/// The new owner token (shown once).
#[derive(Serialize, ToSchema)]
pub struct NewToken {
    pub token: String,
}

/// A queued event.
#[derive(Serialize, ToSchema)]
pub struct Queued {
    #[schema(example = "webhook.test")]
    pub queued: String,
}

/// A mail of the outbox (tokens in bodies masked).
#[derive(Serialize, ToSchema)]
pub struct OutboxMail {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub kind: String,
    pub tag: String,
    /// queued, sending, sent or failed.
    pub status: String,
    pub attempts: u32,
    /// The delivery state in words.
    pub delivery: String,
    pub last_error: String,
    pub sent_at: Option<DateTime<Utc>>,
}

/// An API key as listed (never its token).
#[derive(Serialize, ToSchema)]
pub struct ApiKeyDoc {
    pub id: Uuid,
    pub name: String,
    /// Absent (null): every environment.
    pub environment: Option<Environment>,
    pub permissions: Vec<crate::domain::api_key::Permission>,
    /// The token's first characters, e.g. `kw_live_ab12`.
    pub prefix: String,
    /// active, expired or revoked.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_used_ip: Option<String>,
}

/// A new API key: as listed, plus its token (in this answer only).
#[derive(Serialize, ToSchema)]
pub struct NewApiKey {
    #[serde(flatten)]
    pub key: ApiKeyDoc,
    pub token: String,
}

/// A contract with its usage.
#[derive(Serialize, ToSchema)]
#[schema(as = Contract)]
pub struct ContractDoc {
    pub id: Uuid,
    pub api_key_id: Uuid,
    pub environment: Environment,
    pub product_id: Uuid,
    pub limit: u64,
    pub used: u64,
    pub remaining: u64,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

/// The body of every client call (JSON or MessagePack).
#[derive(Serialize, ToSchema)]
pub struct ClientRequestDoc {
    /// The license key.
    pub key: String,
    /// The device (1–200 printable characters).
    pub identifier: String,
    /// activate only: what the identifier names, `hwid` (default) or `domain`.
    #[schema(nullable = false)]
    pub kind: Option<String>,
    /// Echoed in a signed answer (at most 256 characters).
    #[schema(nullable = false)]
    pub nonce: Option<String>,
}

/// A client answer: the verdict, and the license's facts when the key is known.
#[derive(Serialize, ToSchema)]
pub struct ClientAnswerDoc {
    pub valid: bool,
    pub code: VerdictCode,
    pub detail: String,
    #[schema(nullable = false)]
    pub status: Option<LicenseStatus>,
    /// null: lifetime.
    pub expires_at: Option<DateTime<Utc>>,
    #[schema(nullable = false)]
    pub activation_limit: Option<i32>,
    #[schema(nullable = false)]
    pub activations: Option<u64>,
    #[schema(value_type = Object, required = false)]
    pub feature_flags: Option<serde_json::Value>,
    /// When the answer was made.
    pub timestamp: DateTime<Utc>,
    /// The request's nonce, when it sent one (the answer is then signed).
    #[schema(nullable = false)]
    pub nonce: Option<String>,
}

/// The offline answer: the verdict, and the signed file when the device may use the license.
#[derive(Serialize, ToSchema)]
pub struct OfflineAnswerDoc {
    pub valid: bool,
    pub code: VerdictCode,
    pub detail: String,
    /// Present only when the device may use the license.
    #[schema(value_type = Object, required = false)]
    pub file: Option<serde_json::Value>,
}

/// An environment's response-signing public key.
#[derive(Serialize, ToSchema)]
pub struct PublicKeyDoc {
    pub environment: Environment,
    #[schema(example = "Ed25519")]
    pub algorithm: String,
    pub key_id: String,
    /// Base64 of the 32 raw key bytes.
    pub public_key: String,
    pub pem: String,
    /// Every key a client may meet: the current one (signs now), then keys a
    /// rotation retired, until the offline files they signed have expired.
    pub keys: Vec<PublishedKeyDoc>,
}

/// One key of the list.
#[derive(Serialize, ToSchema)]
pub struct PublishedKeyDoc {
    pub key_id: String,
    pub public_key: String,
    pub pem: String,
    #[schema(example = "current")]
    pub status: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Absent for the current key.
    #[schema(required = false)]
    pub retired_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Absent for the current key.
    #[schema(required = false)]
    pub verify_until: Option<chrono::DateTime<chrono::Utc>>,
}

/// A background job started (its progress is on the Background Jobs page).
#[derive(Serialize, ToSchema)]
pub struct JobStarted {
    pub job_id: uuid::Uuid,
    pub title: String,
    /// Licenses the job will go through.
    pub total: u32,
}

/// The key a signing-key rotation made current.
#[derive(Serialize, ToSchema)]
pub struct RotatedKey {
    pub key_id: String,
}

/// Where a key mail went.
#[derive(Serialize, ToSchema)]
pub struct KeyMailed {
    pub mailed_to: String,
}
