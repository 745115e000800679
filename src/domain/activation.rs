//! A device bound to a license.

use super::Identifier;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Hardware id or domain: the portals show a different icon for each.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ActivationKind {
    #[default]
    Hwid,
    Domain,
}

impl ActivationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActivationKind::Hwid => "hwid",
            ActivationKind::Domain => "domain",
        }
    }
}

/// Deactivated records stay as history; activating again makes a new record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ActivationStatus {
    Active,
    Deactivated,
}

/// One binding of a device to a license, and its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Activation {
    pub id: Uuid,
    #[schema(value_type = String)]
    pub identifier: Identifier,
    pub kind: ActivationKind,
    pub status: ActivationStatus,
    pub activated_at: DateTime<Utc>,
    pub deactivated_at: Option<DateTime<Utc>>,
    /// Moved by heartbeats and validations through the write-behind flusher.
    pub last_seen: Option<DateTime<Utc>>,
    /// The client address that activated it, for the admin's activation list.
    pub ip: Option<String>,
}

impl Activation {
    /// A fresh, active binding.
    pub fn new(
        identifier: Identifier,
        kind: ActivationKind,
        now: DateTime<Utc>,
        ip: Option<String>,
    ) -> Self {
        Activation {
            id: Uuid::new_v4(),
            identifier,
            kind,
            status: ActivationStatus::Active,
            activated_at: now,
            deactivated_at: None,
            last_seen: None,
            ip,
        }
    }

    pub fn is_active(&self) -> bool {
        self.status == ActivationStatus::Active
    }
}
