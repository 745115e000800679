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
    /// The client address of the request that made the change (admin and
    /// portal requests; none for background work and older entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
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
            ip: None,
        }
    }

    /// Records the address of the request that made the change.
    pub fn from_ip(mut self, ip: Option<impl ToString>) -> Self {
        self.ip = ip.map(|i| i.to_string());
        self
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

/// Who made a change, by kind: how the audit log's "Who" column and its CSV name them.
pub fn actor_kind(actor: &str) -> (&'static str, &str) {
    if let Some(email) = actor.strip_prefix("admin:") {
        ("admin", email)
    } else if let Some(email) = actor.strip_prefix("customer:") {
        ("customer", email)
    } else if let Some(key) = actor.strip_prefix("api-key:") {
        ("API key", key)
    } else if actor == "admin-api" {
        ("API key", "owner token")
    } else if actor == "client" {
        ("client", "client API")
    } else if actor.contains('@') {
        ("admin", actor)
    } else {
        ("system", actor)
    }
}

/// Words in an action that mark it for attention (the log's "warning" level).
const WARNING_WORDS: [&str; 11] = [
    "revoke",
    "suspend",
    "delete",
    "remove",
    "flag",
    "abuse",
    "deactivat",
    "inactivate",
    "rotated",
    "disabled",
    "failed",
];

/// The log's level of an action: `warning` for what takes something away or
/// stops it working, `info` for the rest.
pub fn level(action: &str) -> &'static str {
    if action.contains("unsuspend") || action.contains("reactivate") {
        "info"
    } else if WARNING_WORDS.iter().any(|w| action.contains(w)) {
        "warning"
    } else {
        "info"
    }
}

/// What an entry is about: its license, else the kind named by its action.
pub fn resource(e: &AuditEntry) -> String {
    match &e.license_key {
        Some(k) => format!("license {k}"),
        None => e
            .action
            .split('.')
            .next()
            .unwrap_or_default()
            .replace('_', " "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_are_named_by_kind() {
        let table = [
            ("admin:ann@example.com", ("admin", "ann@example.com")),
            ("customer:cy@example.com", ("customer", "cy@example.com")),
            ("api-key:ci (kw_ab12)", ("API key", "ci (kw_ab12)")),
            ("admin-api", ("API key", "owner token")),
            ("client", ("client", "client API")),
            ("old@example.com", ("admin", "old@example.com")),
            ("system", ("system", "system")),
            ("demo", ("system", "demo")),
        ];
        for (actor, want) in table {
            assert_eq!(actor_kind(actor), want, "{actor}");
        }
    }

    #[test]
    fn levels_and_resources_follow_the_action() {
        let table = [
            ("license.revoke", "warning"),
            ("product.revoke_all", "warning"),
            ("license.suspend", "warning"),
            ("activation.deactivated", "warning"),
            ("customer.deleted", "warning"),
            ("file.removed", "warning"),
            ("signing_key.rotated", "warning"),
            ("license.created", "info"),
            ("license.unsuspend", "info"),
            ("license.reactivate", "info"),
            ("settings.updated", "info"),
        ];
        for (action, want) in table {
            assert_eq!(level(action), want, "{action}");
        }
        let now = chrono::Utc::now();
        assert_eq!(
            resource(&AuditEntry::new("x", "license.created", Some("K-1"), now)),
            "license K-1"
        );
        assert_eq!(
            resource(&AuditEntry::new("x", "signing_key.rotated", None, now)),
            "signing key"
        );
    }
}
