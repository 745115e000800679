//! Why a store call failed, worded once for both backends, and the metrics
//! every store call reports.

use std::time::Instant;

use uuid::Uuid;

/// Why a store call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A conditional write lost (version moved on, key or email taken).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    /// The backend cannot be reached or refused the operation; retry later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A record could not be decoded; the data folder needs attention.
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

/// The refusals both backends give, worded once so they answer alike.
impl StoreError {
    /// A new license's key is taken; `masked_key` is the key as logs may show it.
    pub(crate) fn key_taken(masked_key: &str) -> Self {
        StoreError::Conflict(format!("license key {masked_key} already exists"))
    }

    /// A compare-and-set lost: the stored version is `found`, not `expected`.
    pub(crate) fn version_moved(found: u64, expected: u64) -> Self {
        StoreError::Conflict(format!(
            "license changed meanwhile (version {found} not {expected})"
        ))
    }

    /// A license to replace is not there.
    pub(crate) fn license_not_found() -> Self {
        StoreError::NotFound("license not found".into())
    }

    /// A new customer's email is taken.
    pub(crate) fn email_taken(email: &str) -> Self {
        StoreError::Conflict(format!("a customer with email {email} already exists"))
    }

    /// A conditional admin row write lost: the row moved on, was removed, or exists.
    pub(crate) fn admin_moved(id: Uuid) -> Self {
        StoreError::Conflict(format!("admin {id} changed meanwhile"))
    }

    /// Whether the backend itself failed (an outage), not the request.
    fn is_outage(&self) -> bool {
        matches!(self, StoreError::Unavailable(_) | StoreError::Corrupt(_))
    }
}

/// Records one store call of `backend`: its latency, and on an outage the error
/// counter and the up gauge (any other answer sets the gauge up again). Both
/// backends report through this, so dashboards read them the same way.
pub(crate) fn observe<T>(
    backend: &'static str,
    op: &'static str,
    started: Instant,
    result: &Result<T, StoreError>,
) {
    let m = crate::metrics::metrics();
    m.store_duration
        .with_label_values(&[backend, op])
        .observe(started.elapsed().as_secs_f64());
    match result {
        Err(e) if e.is_outage() => {
            m.store_errors.with_label_values(&[backend, op]).inc();
            m.store_up.set(0);
        }
        _ => m.store_up.set(1),
    }
}
