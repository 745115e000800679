//! The feature-definition rows of the product form: `f{i}_key`, `f{i}_label`,
//! `f{i}_type`, `f{i}_default`, `f{i}_description`. A row with neither key nor
//! label is ignored, so clearing a row removes that feature.

use crate::domain::features::{FeatureDef, FeatureKind, MAX_FEATURES};
use crate::portal::forms::Form;

/// Blank rows offered below the existing ones.
const BLANK_ROWS: usize = 3;

/// One feature row as typed.
#[derive(Default, Clone)]
pub struct FeatureRow {
    pub index: usize,
    pub key: String,
    pub label: String,
    pub kind: String,
    pub default: String,
    pub description: String,
}

impl FeatureRow {
    /// A stored definition as the form shows it.
    pub fn of(d: &FeatureDef) -> FeatureRow {
        FeatureRow {
            index: 0,
            key: d.key.clone(),
            label: d.label.clone(),
            kind: d.kind.as_str().into(),
            default: match &d.default {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            },
            description: d.description.clone(),
        }
    }

    pub fn is_blank(&self) -> bool {
        self.key.is_empty() && self.label.is_empty()
    }

    /// The definition the row describes; the domain checks the rest.
    pub fn def(&self) -> Result<FeatureDef, String> {
        let kind = FeatureKind::parse(&self.kind)
            .ok_or_else(|| format!("\"{}\" needs a type", self.key))?;
        let default = kind
            .value_from_text(&self.default)
            .map_err(|e| format!("default of \"{}\": {e}", self.key))?;
        Ok(FeatureDef {
            key: self.key.clone(),
            label: self.label.clone(),
            kind,
            default,
            description: self.description.clone(),
        })
    }
}

/// The rows a form sent (numbered from 0; the first missing number ends them).
pub fn feature_rows_from_form(form: &Form) -> Vec<FeatureRow> {
    (0..MAX_FEATURES + BLANK_ROWS)
        .take_while(|i| form.has(&format!("f{i}_key")))
        .map(|i| FeatureRow {
            index: i,
            key: form.get(&format!("f{i}_key")).into(),
            label: form.get(&format!("f{i}_label")).into(),
            kind: form.get(&format!("f{i}_type")).into(),
            default: form.get(&format!("f{i}_default")).into(),
            description: form.get(&format!("f{i}_description")).into(),
        })
        .filter(|r| !r.is_blank())
        .collect()
}

/// The rows numbered from 0, then blank rows to add more (none past the maximum).
pub fn with_blank_rows(mut rows: Vec<FeatureRow>) -> Vec<FeatureRow> {
    for (i, r) in rows.iter_mut().enumerate() {
        r.index = i;
    }
    let filled = rows.len();
    rows.extend(
        (filled..(filled + BLANK_ROWS).min(MAX_FEATURES)).map(|index| FeatureRow {
            index,
            kind: "boolean".into(),
            ..FeatureRow::default()
        }),
    );
    rows
}
