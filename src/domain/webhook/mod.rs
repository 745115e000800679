//! Webhooks (issue 14 part 1): which events exist, what an endpoint asks for,
//! and a delivery's life (claimed once across nodes, retried on a schedule,
//! failed for good at its end). Signing is in `sign.rs`, the address rules in
//! `target.rs`; both are pure.

pub mod delivery;
pub mod sign;
pub mod target;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Environment;

pub use delivery::{Attempt, Delivery, DeliveryStatus, RetrySchedule};

/// Every event a webhook endpoint may receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum EventType {
    #[serde(rename = "license.created")]
    LicenseCreated,
    #[serde(rename = "license.assigned")]
    LicenseAssigned,
    #[serde(rename = "license.updated")]
    LicenseUpdated,
    #[serde(rename = "license.activated")]
    LicenseActivated,
    #[serde(rename = "license.deactivated")]
    LicenseDeactivated,
    #[serde(rename = "license.suspended")]
    LicenseSuspended,
    #[serde(rename = "license.unsuspended")]
    LicenseUnsuspended,
    #[serde(rename = "license.inactivated")]
    LicenseInactivated,
    #[serde(rename = "license.reactivated")]
    LicenseReactivated,
    #[serde(rename = "license.expired")]
    LicenseExpired,
    #[serde(rename = "license.revoked")]
    LicenseRevoked,
    #[serde(rename = "license.deleted")]
    LicenseDeleted,
    #[serde(rename = "activation.failed")]
    ActivationFailed,
    #[serde(rename = "abuse.detected")]
    AbuseDetected,
    #[serde(rename = "customer.created")]
    CustomerCreated,
    #[serde(rename = "product.created")]
    ProductCreated,
    #[serde(rename = "webhook.test")]
    WebhookTest,
}

impl EventType {
    /// Every event, in the order pages list them.
    pub const ALL: [EventType; 17] = [
        EventType::LicenseCreated,
        EventType::LicenseAssigned,
        EventType::LicenseUpdated,
        EventType::LicenseActivated,
        EventType::LicenseDeactivated,
        EventType::LicenseSuspended,
        EventType::LicenseUnsuspended,
        EventType::LicenseInactivated,
        EventType::LicenseReactivated,
        EventType::LicenseExpired,
        EventType::LicenseRevoked,
        EventType::LicenseDeleted,
        EventType::ActivationFailed,
        EventType::AbuseDetected,
        EventType::CustomerCreated,
        EventType::ProductCreated,
        EventType::WebhookTest,
    ];

    /// The name receivers see in `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::LicenseCreated => "license.created",
            EventType::LicenseAssigned => "license.assigned",
            EventType::LicenseUpdated => "license.updated",
            EventType::LicenseActivated => "license.activated",
            EventType::LicenseDeactivated => "license.deactivated",
            EventType::LicenseSuspended => "license.suspended",
            EventType::LicenseUnsuspended => "license.unsuspended",
            EventType::LicenseInactivated => "license.inactivated",
            EventType::LicenseReactivated => "license.reactivated",
            EventType::LicenseExpired => "license.expired",
            EventType::LicenseRevoked => "license.revoked",
            EventType::LicenseDeleted => "license.deleted",
            EventType::ActivationFailed => "activation.failed",
            EventType::AbuseDetected => "abuse.detected",
            EventType::CustomerCreated => "customer.created",
            EventType::ProductCreated => "product.created",
            EventType::WebhookTest => "webhook.test",
        }
    }

    /// The event a name means.
    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// The events an audit entry's action stands for: the audit log is the
    /// event source, written in the same step as the change it records.
    pub fn from_audit(action: &str) -> &'static [EventType] {
        use EventType::*;
        match action {
            "license.created" => &[LicenseCreated],
            "license.assign" => &[LicenseAssigned],
            "license.edited" | "license.renew" => &[LicenseUpdated],
            "activation.created" => &[LicenseActivated],
            "activation.deactivated" => &[LicenseDeactivated],
            "license.suspend" => &[LicenseSuspended],
            "license.unsuspend" => &[LicenseUnsuspended],
            "license.inactivate" => &[LicenseInactivated],
            "license.reactivate" => &[LicenseReactivated],
            "license.expire" => &[LicenseExpired],
            "license.revoke" => &[LicenseRevoked],
            "license.deleted" => &[LicenseDeleted],
            "license.auto_suspended" => &[AbuseDetected, LicenseSuspended],
            "license.abuse_flagged" => &[AbuseDetected],
            "product.created" => &[ProductCreated],
            _ => &[],
        }
    }
}

/// Where an endpoint's events come from and go to. `events` empty means all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    pub id: Uuid,
    pub environment: Environment,
    pub url: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub events: Vec<EventType>,
    pub enabled: bool,
    /// Signing secrets, newest first; older ones sign until their `until`.
    pub secrets: Vec<Secret>,
    /// Since when every delivery has failed (None: the last one succeeded).
    #[serde(default)]
    pub failing_since: Option<DateTime<Utc>>,
    /// Why the server disabled it ("" when enabled or disabled by an admin).
    #[serde(default)]
    pub disabled_reason: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Moves on with every write (conditional writes across nodes).
    #[serde(default)]
    pub version: u64,
}

/// One signing secret (`whsec_` + base64) and, once rotated out, its last moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Secret {
    pub secret: String,
    pub until: Option<DateTime<Utc>>,
}

impl Endpoint {
    /// Whether it wants `event` (a test event goes to every endpoint asked).
    pub fn wants(&self, event: EventType) -> bool {
        event == EventType::WebhookTest || self.events.is_empty() || self.events.contains(&event)
    }

    /// The secrets that sign at `now`: the current one and those in their overlap.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<&str> {
        self.secrets
            .iter()
            .filter(|s| s.until.is_none_or(|u| u > now))
            .map(|s| s.secret.as_str())
            .collect()
    }

    /// A new current secret; the old ones keep signing for `overlap`.
    pub fn rotate(&mut self, new_secret: String, now: DateTime<Utc>, overlap: chrono::Duration) {
        for s in &mut self.secrets {
            let end = now + overlap;
            s.until = Some(s.until.map_or(end, |u| u.min(end)));
        }
        self.secrets.retain(|s| s.until.is_none_or(|u| u > now));
        self.secrets.insert(
            0,
            Secret {
                secret: new_secret,
                until: None,
            },
        );
    }

    /// After a delivery: whether it failed, and whether the endpoint must now be
    /// disabled (every delivery failed for `disable_after`).
    pub fn after_delivery(
        &mut self,
        ok: bool,
        now: DateTime<Utc>,
        disable_after: chrono::Duration,
    ) -> bool {
        if ok {
            self.failing_since = None;
            return false;
        }
        let since = *self.failing_since.get_or_insert(now);
        if self.enabled && now - since >= disable_after {
            self.enabled = false;
            self.disabled_reason = format!(
                "disabled by the server: every delivery failed since {}",
                since.format("%Y-%m-%d %H:%M UTC")
            );
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests;
