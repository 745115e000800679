//! Feature definitions of a product: the flags its licenses may carry, with a
//! label people read, a type the flags are checked against, and a default.
//!
//! A product without definitions keeps free-form flags (as before definitions
//! existed); once it has some, a license's flags must use defined keys with
//! values of the defined type, so a typo cannot silently unlock nothing.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Most definitions one product holds.
pub const MAX_FEATURES: usize = 50;
/// Longest feature key, in characters.
pub const MAX_KEY: usize = 64;

/// The value type of a feature flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FeatureKind {
    Boolean,
    Number,
    String,
}

impl FeatureKind {
    /// Every kind, in the order a form offers them.
    pub const ALL: [FeatureKind; 3] = [
        FeatureKind::Boolean,
        FeatureKind::Number,
        FeatureKind::String,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FeatureKind::Boolean => "boolean",
            FeatureKind::Number => "number",
            FeatureKind::String => "string",
        }
    }

    /// Parses the name a form or the API sends.
    pub fn parse(s: &str) -> Option<FeatureKind> {
        FeatureKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether a JSON value is of this kind.
    pub fn admits(self, v: &Value) -> bool {
        matches!(
            (self, v),
            (FeatureKind::Boolean, Value::Bool(_))
                | (FeatureKind::Number, Value::Number(_))
                | (FeatureKind::String, Value::String(_))
        )
    }

    /// Reads a form's text as a value of this kind (`true`/`false`, a number, any text).
    pub fn value_from_text(self, text: &str) -> Result<Value, String> {
        let t = text.trim();
        match self {
            FeatureKind::Boolean => match t {
                "true" | "on" | "yes" => Ok(Value::Bool(true)),
                "false" | "off" | "no" | "" => Ok(Value::Bool(false)),
                _ => Err(format!("\"{t}\" is not true or false")),
            },
            FeatureKind::Number => {
                if t.is_empty() {
                    return Ok(Value::from(0));
                }
                serde_json::from_str::<serde_json::Number>(t)
                    .map(Value::Number)
                    .map_err(|_| format!("\"{t}\" is not a number"))
            }
            FeatureKind::String => Ok(Value::String(t.to_owned())),
        }
    }
}

/// One flag a product's licenses may carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FeatureDef {
    /// The flag's name in `feature_flags` (`[a-z0-9_.-]`, 1–64).
    pub key: String,
    /// What people read in both portals.
    pub label: String,
    #[serde(rename = "type")]
    pub kind: FeatureKind,
    /// The value a new license gets when neither its generator nor the request sets one.
    #[schema(value_type = Object)]
    pub default: Value,
    #[serde(default)]
    pub description: String,
}

/// Checks a product's definitions: keys well formed and unique, labels 1–100
/// characters, defaults of the declared type, at most [`MAX_FEATURES`].
pub fn check_definitions(defs: &[FeatureDef]) -> Result<(), String> {
    if defs.len() > MAX_FEATURES {
        return Err(format!("at most {MAX_FEATURES} features per product"));
    }
    for (i, d) in defs.iter().enumerate() {
        let ok_key = !d.key.is_empty()
            && d.key.chars().count() <= MAX_KEY
            && d.key.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-')
            });
        if !ok_key {
            return Err(format!(
                "feature key \"{}\" must be 1–{MAX_KEY} of a-z, 0-9, _ . -",
                d.key
            ));
        }
        if defs[..i].iter().any(|o| o.key == d.key) {
            return Err(format!("feature key \"{}\" is defined twice", d.key));
        }
        let label = d.label.trim().chars().count();
        if label == 0 || label > 100 || d.label.chars().any(char::is_control) {
            return Err(format!(
                "the label of \"{}\" must be 1–100 characters",
                d.key
            ));
        }
        if d.description.chars().count() > 500 {
            return Err(format!(
                "the description of \"{}\" must be at most 500 characters",
                d.key
            ));
        }
        if !d.kind.admits(&d.default) {
            return Err(format!(
                "the default of \"{}\" must be a {}",
                d.key,
                d.kind.as_str()
            ));
        }
    }
    Ok(())
}

/// Checks a license's (or generator's) flags against the product's
/// definitions; no definitions means free-form flags.
pub fn check_flags(defs: &[FeatureDef], flags: &Map<String, Value>) -> Result<(), String> {
    if defs.is_empty() {
        return Ok(());
    }
    for (k, v) in flags {
        match defs.iter().find(|d| &d.key == k) {
            None => {
                let known: Vec<&str> = defs.iter().map(|d| d.key.as_str()).collect();
                return Err(format!(
                    "\"{k}\" is not a feature of this product (defined: {})",
                    known.join(", ")
                ));
            }
            Some(d) if !d.kind.admits(v) => {
                return Err(format!("\"{k}\" must be a {}", d.kind.as_str()));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// The flags a new license starts with: what was given, completed by the defaults.
pub fn with_defaults(defs: &[FeatureDef], flags: &Map<String, Value>) -> Map<String, Value> {
    let mut out = flags.clone();
    for d in defs {
        out.entry(d.key.clone())
            .or_insert_with(|| d.default.clone());
    }
    out
}

/// A flag as people read it: the definition's label (else the key) and the value.
pub fn labelled(defs: &[FeatureDef], flags: &Map<String, Value>) -> Vec<(String, String)> {
    flags
        .iter()
        .map(|(k, v)| {
            let label = defs
                .iter()
                .find(|d| &d.key == k)
                .map_or_else(|| k.clone(), |d| d.label.clone());
            let shown = match v {
                Value::Bool(true) => "yes".to_owned(),
                Value::Bool(false) => "no".to_owned(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (label, shown)
        })
        .collect()
}

#[cfg(test)]
#[path = "features_tests.rs"]
mod tests;
