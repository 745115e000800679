//! Audit entries: who changed what, when, with the state before and after.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One change. Entries about licenses, activations, products and customers are never purged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// `admin-api`, `client`, `system`, or an admin's email.
    pub actor: String,
    /// e.g. `license.created`, `license.suspend`, `activation.created`.
    pub action: String,
    pub license_key: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub detail: String,
}

impl AuditEntry {
    /// A new entry stamped `now`.
    pub fn new(
        actor: impl Into<String>,
        action: impl Into<String>,
        license_key: Option<&str>,
        now: DateTime<Utc>,
    ) -> Self {
        AuditEntry {
            id: Uuid::new_v4(),
            at: now,
            actor: actor.into(),
            action: action.into(),
            license_key: license_key.map(str::to_owned),
            before: None,
            after: None,
            detail: String::new(),
        }
    }

    /// Records the state before and after.
    pub fn change(mut self, before: impl ToString, after: impl ToString) -> Self {
        self.before = Some(before.to_string());
        self.after = Some(after.to_string());
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }
}
