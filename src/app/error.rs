//! The one error type of the use-cases: what went wrong in product terms, so
//! each front door maps it to its own answer (`error.rs` for JSON,
//! `portal/error.rs` for pages) and a form can show every field's message.

use crate::domain::TransitionError;
use crate::engine::EngineError;
use crate::store::StoreError;

/// Field-level validation messages in the order the rules found them; the
/// first message per field wins (a form shows one message next to each field,
/// the API names the first field at fault).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(Vec<(&'static str, String)>);

impl FieldErrors {
    /// Records a message for `field` unless it already has one.
    pub fn add(&mut self, field: &'static str, msg: impl Into<String>) {
        if !self.has(field) {
            self.0.push((field, msg.into()));
        }
    }

    /// The message for `field`, or "" (templates show it as is).
    pub fn get(&self, field: &str) -> &str {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
            .unwrap_or("")
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|(f, _)| *f == field)
    }

    /// Every message, in the order recorded.
    pub fn messages(&self) -> Vec<&str> {
        self.0.iter().map(|(_, m)| m.as_str()).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first field at fault and its message.
    pub fn first(&self) -> Option<(&'static str, &str)> {
        self.0.first().map(|(f, m)| (*f, m.as_str()))
    }

    /// Moves a message to another field name (a form's name for the same value).
    pub fn rename(&mut self, from: &str, to: &'static str) {
        for (f, _) in self.0.iter_mut() {
            if *f == from {
                *f = to;
            }
        }
    }

    /// Adds every message of `other` (for fields that have none yet).
    pub fn merge(&mut self, other: FieldErrors) {
        for (f, m) in other.0 {
            self.add(f, m);
        }
    }

    /// `Ok(())` when no rule was broken, else the messages as an [`AppError`].
    pub fn into_result(self) -> Result<(), AppError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(AppError::Invalid(self))
        }
    }

    /// One message for one field.
    pub fn one_message(field: &'static str, msg: impl Into<String>) -> FieldErrors {
        let mut e = FieldErrors::default();
        e.add(field, msg);
        e
    }

    /// One message for one field, as an error.
    pub fn one(field: &'static str, msg: impl Into<String>) -> AppError {
        let mut e = FieldErrors::default();
        e.add(field, msg);
        AppError::Invalid(e)
    }
}

/// Why a use-case refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input broke a rule; nothing was changed.
    #[error("{}", .0.first().map(|(_, m)| m).unwrap_or("invalid input"))]
    Invalid(FieldErrors),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Transition(#[from] TransitionError),
    /// Past an API key's contract (issue 14 part 3).
    #[error("{0}")]
    OverQuota(crate::domain::contract::OverQuota),
    /// Too many attempts or a full queue: retry after this many seconds.
    #[error("too many requests; retry in {0} s")]
    RateLimited(u64),
    #[error("the license store is unavailable; retry shortly")]
    Unavailable(#[source] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// A refusal naming one field.
    pub fn field(field: &'static str, msg: impl Into<String>) -> AppError {
        FieldErrors::one(field, msg)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => AppError::Conflict(m),
            StoreError::NotFound(m) => AppError::NotFound(m),
            StoreError::Unavailable(_) => AppError::Unavailable(e),
            StoreError::Corrupt(m) => AppError::Internal(m),
        }
    }
}

impl From<EngineError> for AppError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Store(s) => s.into(),
            EngineError::RateLimited { retry_after_secs } => {
                AppError::RateLimited(retry_after_secs)
            }
            EngineError::Transition(t) => AppError::Transition(t),
            EngineError::NotFound => AppError::NotFound("license not found".into()),
            EngineError::Invalid { field, detail } => AppError::field(field, detail),
            EngineError::Busy => {
                AppError::Unavailable(StoreError::Unavailable("license actor is busy".into()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_message_per_field_wins_and_order_is_kept() {
        let mut e = FieldErrors::default();
        e.add("limit", "one");
        e.add("name", "bad name");
        e.add("limit", "two");
        assert_eq!(e.get("limit"), "one");
        assert_eq!(e.first(), Some(("limit", "one")));
        assert!(e.has("name") && !e.has("x") && !e.is_empty());
        assert_eq!(AppError::Invalid(e).to_string(), "one");
    }

    #[test]
    fn engine_refusals_keep_their_meaning() {
        let table: [(EngineError, &str); 4] = [
            (EngineError::NotFound, "NotFound"),
            (
                EngineError::RateLimited {
                    retry_after_secs: 2,
                },
                "RateLimited",
            ),
            (EngineError::Busy, "Unavailable"),
            (
                EngineError::Invalid {
                    field: "x",
                    detail: "y".into(),
                },
                "Invalid",
            ),
        ];
        for (e, want) in table {
            let got = format!("{:?}", AppError::from(e));
            assert!(got.starts_with(want), "{got}");
        }
    }
}
