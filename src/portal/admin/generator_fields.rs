//! The generator form of the Generators page (`templates/admin/generators.html`):
//! what was typed, kept so a refused form shows it again, and its decoding into
//! the app's terms. The rules themselves live in `app::products`.

use crate::app::products::GeneratorInput;
use crate::domain::fields::{json_object_text, MAX_FEATURE_FLAGS_BYTES};
use crate::domain::key::{KeyFormat, CHARSETS, CHUNK_CHARSET};
use crate::domain::{ActivationLimit, Generator};
use crate::portal::forms::{FieldErrors, Form};

/// The generator form as typed.
#[derive(Default, Clone)]
pub struct GeneratorFields {
    pub id: String,
    pub product_id: String,
    pub name: String,
    pub kind: String,
    pub prefix: String,
    pub suffix: String,
    pub segments: String,
    pub segment_len: String,
    pub separator: String,
    /// A name from `CHARSETS`, or "custom" (then `charset_custom` holds the characters).
    pub charset_preset: String,
    pub charset_custom: String,
    pub pattern: String,
    pub activation_limit: String,
    pub validity_days: String,
    pub feature_flags: String,
}

impl GeneratorFields {
    /// The form showing a saved generator.
    pub fn of(g: &Generator) -> GeneratorFields {
        let mut v = GeneratorFields {
            id: g.id.to_string(),
            product_id: g.product_id.to_string(),
            name: g.name.clone(),
            activation_limit: g.activation_limit.get().to_string(),
            validity_days: g.validity_days.map(|d| d.to_string()).unwrap_or_default(),
            feature_flags: if g.feature_flags.is_empty() {
                String::new()
            } else {
                serde_json::to_string(&g.feature_flags).unwrap_or_default()
            },
            ..GeneratorFields::default()
        };
        match &g.format {
            KeyFormat::Uuid { prefix, suffix } => {
                v.kind = "uuid".into();
                v.prefix = prefix.clone();
                v.suffix = suffix.clone();
            }
            KeyFormat::Chunked {
                segments,
                segment_len,
                separator,
                prefix,
                suffix,
                charset,
            } => {
                v.kind = "chunked".into();
                match CHARSETS.iter().find(|(_, _, chars)| chars == charset) {
                    Some((name, _, _)) => v.charset_preset = (*name).into(),
                    None => {
                        v.charset_preset = "custom".into();
                        v.charset_custom = charset.clone();
                    }
                }
                v.segments = segments.to_string();
                v.segment_len = segment_len.to_string();
                v.separator = separator.clone();
                v.prefix = prefix.clone();
                v.suffix = suffix.clone();
            }
            KeyFormat::Pattern { pattern, prefix } => {
                v.kind = "pattern".into();
                v.pattern = pattern.clone();
                v.prefix = prefix.clone();
            }
        }
        v
    }

    /// The new-generator form: a chunked 4×5 format and 5 activations.
    pub fn blank() -> GeneratorFields {
        GeneratorFields {
            kind: "chunked".into(),
            segments: "4".into(),
            segment_len: "5".into(),
            separator: "-".into(),
            charset_preset: "safe".into(),
            activation_limit: "5".into(),
            ..GeneratorFields::default()
        }
    }

    /// What the form sent (the separator as typed: a space is a separator).
    pub fn from_form(f: &Form) -> GeneratorFields {
        let g = |n: &str| f.get(n).to_owned();
        GeneratorFields {
            id: g("id"),
            product_id: g("product_id"),
            name: g("name"),
            kind: g("kind"),
            prefix: g("prefix"),
            suffix: g("suffix"),
            segments: g("segments"),
            segment_len: g("segment_len"),
            separator: f.raw("separator").to_owned(),
            charset_preset: g("charset_preset"),
            charset_custom: g("charset_custom"),
            pattern: g("pattern"),
            activation_limit: g("activation_limit"),
            validity_days: g("validity_days"),
            feature_flags: g("feature_flags"),
        }
    }

    /// The key format the form describes, checked; `None` leaves a message on `format`.
    fn parse_format(&self, errors: &mut FieldErrors) -> Option<KeyFormat> {
        let f = match self.kind.as_str() {
            "uuid" => KeyFormat::Uuid {
                prefix: self.prefix.clone(),
                suffix: self.suffix.clone(),
            },
            "chunked" => {
                let (Ok(segments), Ok(segment_len)) =
                    (self.segments.parse::<u8>(), self.segment_len.parse::<u8>())
                else {
                    errors.add(
                        "format",
                        "Segments and segment length must be whole numbers (1–255).",
                    );
                    return None;
                };
                let charset = match self.charset_preset.as_str() {
                    "" => CHUNK_CHARSET.to_owned(),
                    "custom" => self.charset_custom.trim().to_owned(),
                    name => match CHARSETS.iter().find(|(n, _, _)| *n == name) {
                        Some((_, _, chars)) => (*chars).to_owned(),
                        None => {
                            errors.add("format", "Choose a character set from the list.");
                            return None;
                        }
                    },
                };
                KeyFormat::Chunked {
                    segments,
                    segment_len,
                    separator: self.separator.clone(),
                    prefix: self.prefix.clone(),
                    suffix: self.suffix.clone(),
                    charset,
                }
            }
            "pattern" => KeyFormat::Pattern {
                pattern: self.pattern.clone(),
                prefix: self.prefix.clone(),
            },
            _ => {
                errors.add("format", "Choose UUID, chunked or custom pattern.");
                return None;
            }
        };
        match f.validate() {
            Ok(()) => Some(f),
            Err(e) => {
                errors.add("format", format!("Format: {e}."));
                None
            }
        }
    }

    /// Decodes the form: the format (a new generator's only), limit, validity and flags.
    pub fn decode(&self, editing: bool, errors: &mut FieldErrors) -> GeneratorInput {
        let format = if editing {
            None
        } else {
            self.parse_format(errors)
        };
        let limit = self
            .activation_limit
            .parse::<i64>()
            .ok()
            .and_then(|n| ActivationLimit::new(n).ok())
            .unwrap_or_else(|| {
                errors.add(
                    "activation_limit",
                    "Activation limit must be -1 (unlimited) or 1–10000.",
                );
                ActivationLimit::default()
            });
        let validity_days = match self.validity_days.as_str() {
            "" => None,
            d => Some(d.parse::<u32>().unwrap_or(0)),
        };
        let feature_flags = json_object_text(
            "feature_flags",
            &self.feature_flags,
            MAX_FEATURE_FLAGS_BYTES,
        )
        .unwrap_or_else(|e| {
            errors.add("feature_flags", format!("Feature flags {}.", e.message));
            Default::default()
        });
        GeneratorInput {
            id: self.id.parse().ok(),
            product_id: self.product_id.parse().ok(),
            name: self.name.clone(),
            format,
            activation_limit: limit,
            validity_days,
            feature_flags,
            who: String::new(),
        }
    }
}
