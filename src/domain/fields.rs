//! Free-form JSON fields of a license: feature flags and metadata.

use serde_json::{Map, Value};

/// Largest metadata object, measured as compact JSON.
pub const MAX_METADATA_BYTES: usize = 10 * 1024;
/// Largest feature-flag object, measured as compact JSON.
pub const MAX_FEATURE_FLAGS_BYTES: usize = 10 * 1024;

/// A JSON field failed its rule; `field` names it for the form or the API error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        FieldError {
            field,
            message: message.into(),
        }
    }
}

/// Accepts a JSON object (or null, meaning empty) no larger than `max` bytes.
pub fn json_object(
    field: &'static str,
    value: Option<&Value>,
    max: usize,
) -> Result<Map<String, Value>, FieldError> {
    match value {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => {
            let size = serde_json::to_vec(map)
                .map(|v| v.len())
                .unwrap_or(usize::MAX);
            if size > max {
                return Err(FieldError::new(
                    field,
                    format!(
                        "must be at most {} KB of JSON (got {size} bytes)",
                        max / 1024
                    ),
                ));
            }
            Ok(map.clone())
        }
        Some(_) => Err(FieldError::new(field, "must be a JSON object")),
    }
}

/// Parses a text box's JSON (the admin form) with the same rules.
pub fn json_object_text(
    field: &'static str,
    text: &str,
    max: usize,
) -> Result<Map<String, Value>, FieldError> {
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| FieldError::new(field, format!("is not valid JSON: {e}")))?;
    json_object(field, Some(&value), max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_pass_and_other_values_are_refused() {
        assert!(json_object("metadata", Some(&json!({"a": 1})), MAX_METADATA_BYTES).is_ok());
        assert!(json_object("metadata", None, MAX_METADATA_BYTES)
            .unwrap()
            .is_empty());
        let err = json_object("metadata", Some(&json!([1])), MAX_METADATA_BYTES).unwrap_err();
        assert_eq!(err.field, "metadata");
    }

    #[test]
    fn metadata_over_ten_kilobytes_is_refused() {
        let big = json!({"blob": "x".repeat(MAX_METADATA_BYTES)});
        let err = json_object("metadata", Some(&big), MAX_METADATA_BYTES).unwrap_err();
        assert!(err.message.contains("10 KB"));
    }

    #[test]
    fn text_that_is_not_json_names_the_field() {
        let err = json_object_text("feature_flags", "{oops", MAX_FEATURE_FLAGS_BYTES).unwrap_err();
        assert_eq!(err.field, "feature_flags");
        assert!(err.message.contains("not valid JSON"));
    }
}
