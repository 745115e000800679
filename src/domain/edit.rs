//! What an admin's change does to a license, as pure rules: which changes a
//! license accepts in its state (a revoked license cannot be edited; the state
//! machine decides actions and assignment), what each change sets (extending the
//! expiry renews an expired license), and the audit entry that records it.
//!
//! The engine's actor only loads the license, calls [`AdminChange::apply_to`]
//! and commits what it returns; nothing here reads a clock or the store.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::fields::FieldError;
use super::{
    Action, ActivationLimit, AuditEntry, Eligibility, Identifier, License, LicenseStatus,
    TransitionError,
};

/// The editable fields of a license; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct LicenseEdit {
    pub activation_limit: Option<ActivationLimit>,
    /// `Some(None)` makes the license lifetime.
    pub expires_at: Option<Option<DateTime<Utc>>>,
    pub feature_flags: Option<Map<String, Value>>,
    pub metadata: Option<Map<String, Value>>,
    /// Which releases the owner may download.
    pub eligibility: Option<Eligibility>,
}

/// A change made by an admin (or the system) to one license, and who made it:
/// the admin API and both portals ask for these, the engine commits them.
#[derive(Debug, Clone)]
pub enum AdminChange {
    Action {
        action: Action,
        who: String,
    },
    Edit {
        edit: LicenseEdit,
        who: String,
    },
    Assign {
        customer_id: Uuid,
        who: String,
    },
    Deactivate {
        identifier: Identifier,
        who: String,
    },
    Delete {
        who: String,
    },
    /// The owner's account was deleted: the license keeps its state and devices
    /// and shows as unassigned.
    Disown {
        who: String,
    },
    /// An admin reviews the license's open abuse case (the flag goes either way).
    ReviewCase {
        decision: super::abuse_case::Decision,
        note: String,
        who: String,
    },
}

/// Why an admin change was refused; a refused change changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The state machine does not allow the move.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The change does not fit the license (named field and reason).
    #[error(transparent)]
    Field(#[from] FieldError),
}

impl AdminChange {
    /// Whether the change removes the license (committed as a delete, not an update).
    pub fn is_delete(&self) -> bool {
        matches!(self, AdminChange::Delete { .. })
    }

    /// The license after this change at `now`, and the audit entry that records
    /// it. `license` itself is left as it is; the caller commits the result.
    pub fn apply_to(
        &self,
        license: &License,
        now: DateTime<Utc>,
    ) -> Result<(License, AuditEntry), EditError> {
        let key = Some(license.key.as_str());
        let mut next = license.clone();
        let entry = match self {
            AdminChange::Action { action, who } => {
                next.apply(*action, now)?;
                AuditEntry::new(who.as_str(), format!("license.{action}"), key, now)
                    .change(license.status, next.status)
            }
            AdminChange::Assign { customer_id, who } => {
                next.apply(Action::Assign, now)?;
                next.customer_id = Some(*customer_id);
                let before = license.customer_id.map(|c| c.to_string());
                AuditEntry::new(who.as_str(), "license.assign", key, now)
                    .change(before.unwrap_or_default(), customer_id)
            }
            AdminChange::Edit { edit, who } => {
                edit.apply_to(&mut next, now)?;
                AuditEntry::new(who.as_str(), "license.edited", key, now)
                    .change(summary(license), summary(&next))
            }
            AdminChange::Deactivate { identifier, who } => {
                next.deactivate_device(identifier, now).ok_or_else(|| {
                    FieldError::new(
                        "identifier",
                        format!("no active activation for {identifier}"),
                    )
                })?;
                AuditEntry::new(who.as_str(), "activation.deactivated", key, now)
                    .detail(identifier.to_string())
            }
            AdminChange::Disown { who } => {
                next.customer_id = None;
                next.touch(now);
                let before = license.customer_id.map(|c| c.to_string());
                AuditEntry::new(who.as_str(), "license.unassigned", key, now)
                    .change(before.unwrap_or_default(), "")
            }
            AdminChange::ReviewCase {
                decision,
                note,
                who,
            } => review_case(license, &mut next, *decision, note, who, now)?,
            AdminChange::Delete { who } => {
                AuditEntry::new(who.as_str(), "license.deleted", key, now)
                    .change(license.status, "deleted")
            }
        };
        Ok((next, entry))
    }
}

/// Reviews `next`'s open case; a confirmation may suspend or revoke in the
/// same change (refused, with nothing changed, where the state machine says no).
fn review_case(
    license: &License,
    next: &mut License,
    decision: super::abuse_case::Decision,
    note: &str,
    who: &str,
    now: DateTime<Utc>,
) -> Result<AuditEntry, EditError> {
    use super::abuse_case::Decision;
    let case = next
        .abuse_case
        .as_mut()
        .ok_or_else(|| FieldError::new("abuse_case", "this license has no abuse case"))?;
    case.review(decision, note, who, now)
        .map_err(|e| FieldError::new("abuse_case", e.to_string()))?;
    next.flagged = false;
    let action = match decision {
        Decision::Dismiss => "abuse_case.dismissed".to_owned(),
        Decision::Confirm(None) => "abuse_case.confirmed".to_owned(),
        Decision::Confirm(Some(a)) => {
            next.apply(a, now)?;
            format!("abuse_case.confirmed_{a}")
        }
    };
    next.touch(now);
    Ok(
        AuditEntry::new(who, action, Some(license.key.as_str()), now)
            .change(license.status, next.status)
            .detail(note.trim()),
    )
}

impl LicenseEdit {
    /// Sets the edited fields on `license` and marks it changed. Refused for a
    /// revoked license (before anything is set); an expiry that has not passed
    /// (or none: lifetime) renews an expired license.
    fn apply_to(&self, license: &mut License, now: DateTime<Utc>) -> Result<(), EditError> {
        let status = license.status;
        if status == LicenseStatus::Revoked {
            return Err(FieldError::new("status", "a revoked license cannot be edited").into());
        }
        if let Some(limit) = self.activation_limit {
            license.activation_limit = limit;
        }
        if let Some(flags) = &self.feature_flags {
            license.feature_flags = flags.clone();
        }
        if let Some(meta) = &self.metadata {
            license.metadata = meta.clone();
        }
        if let Some(e) = &self.eligibility {
            license.eligibility = e.clone();
        }
        if let Some(exp) = self.expires_at {
            license.expires_at = exp;
            if status == LicenseStatus::Expired && exp.is_none_or(|e| e > now) {
                license.apply(Action::Renew, now)?;
            }
        }
        license.touch(now);
        Ok(())
    }
}

/// What an edit's audit entry records before and after: the edited fields
/// (metadata by size only, it may be large).
fn summary(l: &License) -> String {
    serde_json::json!({
        "status": l.status,
        "activation_limit": l.activation_limit,
        "expires_at": l.expires_at,
        "feature_flags": l.feature_flags,
        "metadata_bytes": serde_json::to_vec(&l.metadata).map(|v| v.len()).unwrap_or(0),
    })
    .to_string()
}

#[cfg(test)]
mod tests;
