//! JSON shapes of admin answers.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::domain::status::admin_actions;
use crate::domain::{Action, Activation, Customer, Environment, License, LicenseStatus};

/// A license as the admin API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LicenseView {
    pub key: String,
    pub environment: Environment,
    pub product_id: Uuid,
    pub generator_id: Option<Uuid>,
    pub customer_id: Option<Uuid>,
    pub status: LicenseStatus,
    pub activation_limit: i32,
    pub activations_in_use: usize,
    pub expires_at: Option<DateTime<Utc>>,
    #[schema(value_type = Object)]
    pub feature_flags: Map<String, Value>,
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
    pub eligibility: crate::domain::Eligibility,
    pub flagged: bool,
    /// The latest abuse case: severity, refused devices, review status and note.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub abuse_case: Option<crate::domain::abuse_case::AbuseCase>,
    pub ever_activated: bool,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The state actions legal from here (pages offer only these).
    pub allowed_actions: Vec<Action>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activations: Option<Vec<Activation>>,
}

impl LicenseView {
    /// `with_activations` adds the full activation history.
    pub fn new(l: &License, with_activations: bool) -> Self {
        LicenseView {
            key: l.key.to_string(),
            environment: l.environment,
            product_id: l.product_id,
            generator_id: l.generator_id,
            customer_id: l.customer_id,
            status: l.status,
            activation_limit: l.activation_limit.get(),
            activations_in_use: l.active_count(),
            expires_at: l.expires_at,
            feature_flags: l.feature_flags.clone(),
            metadata: l.metadata.clone(),
            flagged: l.flagged,
            abuse_case: l.abuse_case.clone(),
            ever_activated: l.ever_activated,
            eligibility: l.eligibility.clone(),
            version: l.version,
            created_at: l.created_at,
            updated_at: l.updated_at,
            allowed_actions: admin_actions(l.status),
            activations: with_activations.then(|| l.activations.clone()),
        }
    }
}

/// A customer without the password hash.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CustomerView {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub has_password: bool,
    pub created_at: DateTime<Utc>,
    /// `active`, `invited` (no password yet) or `disabled`.
    pub status: &'static str,
    pub last_sign_in: Option<DateTime<Utc>>,
}

impl From<&Customer> for CustomerView {
    fn from(c: &Customer) -> Self {
        CustomerView {
            id: c.id,
            email: c.email.clone(),
            name: c.name.clone(),
            has_password: c.password_hash.is_some(),
            created_at: c.created_at,
            status: c.status().as_str(),
            last_sign_in: c.last_sign_in,
        }
    }
}

/// A row of the license listing (from the catalog), with the actions legal from its state.
#[derive(Debug, Serialize)]
pub struct SummaryView<'a> {
    #[serde(flatten)]
    pub summary: &'a crate::engine::catalog::LicenseSummary,
    pub allowed_actions: Vec<Action>,
}

impl<'a> From<&'a crate::engine::catalog::LicenseSummary> for SummaryView<'a> {
    fn from(s: &'a crate::engine::catalog::LicenseSummary) -> Self {
        SummaryView {
            summary: s,
            allowed_actions: admin_actions(s.status),
        }
    }
}
