//! Key formats: how a generator makes keys (UUID, chunked, pattern) and which
//! formats are strong enough to use. Apart from key parsing, which every request
//! needs; formats matter only when licenses are made.

use rand::{CryptoRng, Rng};
use serde::{Deserialize, Serialize};

use super::LicenseKey;

/// How a generator makes keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum KeyFormat {
    /// UUID v4, optionally wrapped in a prefix and suffix.
    Uuid {
        #[serde(default)]
        prefix: String,
        #[serde(default)]
        suffix: String,
    },
    /// Segments of random characters, like `ABCDE-12345-FGHIJ-67890`.
    Chunked {
        #[serde(default = "default_segments")]
        segments: u8,
        #[serde(default = "default_segment_len")]
        segment_len: u8,
        #[serde(default = "default_separator")]
        separator: String,
        #[serde(default)]
        prefix: String,
        #[serde(default)]
        suffix: String,
        #[serde(default = "default_charset")]
        charset: String,
    },
    /// A pattern where `#` is a digit, `@` a letter, `*` a letter or digit; other characters stay.
    Pattern {
        pattern: String,
        #[serde(default)]
        prefix: String,
    },
}

fn default_segments() -> u8 {
    4
}
fn default_segment_len() -> u8 {
    5
}
fn default_separator() -> String {
    "-".into()
}
fn default_charset() -> String {
    CHUNK_CHARSET.into()
}

/// Upper-case letters and digits without the look-alikes 0/O and 1/I.
pub const CHUNK_CHARSET: &str = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const DIGITS: &[u8] = b"0123456789";

impl Default for KeyFormat {
    fn default() -> Self {
        KeyFormat::Chunked {
            segments: default_segments(),
            segment_len: default_segment_len(),
            separator: default_separator(),
            prefix: String::new(),
            suffix: String::new(),
            charset: default_charset(),
        }
    }
}

impl KeyFormat {
    /// Short name for lists ("UUID", "Chunked", "Custom pattern").
    pub fn label(&self) -> &'static str {
        match self {
            KeyFormat::Uuid { .. } => "UUID",
            KeyFormat::Chunked { .. } => "Chunked",
            KeyFormat::Pattern { .. } => "Custom pattern",
        }
    }

    /// Checks that every key this format makes would parse and be long enough to resist guessing.
    pub fn validate(&self) -> Result<(), String> {
        let sample = self.generate(&mut rand::rngs::OsRng);
        LicenseKey::parse(&sample).map_err(|e| format!("format makes invalid keys: {e}"))?;
        let entropy_chars = match self {
            KeyFormat::Uuid { .. } => 32,
            KeyFormat::Chunked {
                segments,
                segment_len,
                charset,
                ..
            } => {
                if charset.is_empty() || !charset.is_ascii() {
                    return Err("charset must be non-empty ASCII".into());
                }
                usize::from(*segments) * usize::from(*segment_len)
            }
            KeyFormat::Pattern { pattern, .. } => pattern
                .chars()
                .filter(|c| matches!(c, '#' | '@' | '*'))
                .count(),
        };
        if entropy_chars < 12 {
            return Err("a key needs at least 12 random characters".into());
        }
        Ok(())
    }

    /// Makes one key from a cryptographically secure generator.
    pub fn generate<R: Rng + CryptoRng>(&self, rng: &mut R) -> String {
        match self {
            KeyFormat::Uuid { prefix, suffix } => {
                let bytes: [u8; 16] = rng.gen();
                let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
                format!("{prefix}{id}{suffix}")
            }
            KeyFormat::Chunked {
                segments,
                segment_len,
                separator,
                prefix,
                suffix,
                charset,
            } => {
                let chars = charset.as_bytes();
                let mut out = String::with_capacity(prefix.len() + 32);
                out.push_str(prefix);
                for s in 0..*segments {
                    if s > 0 {
                        out.push_str(separator);
                    }
                    for _ in 0..*segment_len {
                        out.push(chars[rng.gen_range(0..chars.len())] as char);
                    }
                }
                out.push_str(suffix);
                out
            }
            KeyFormat::Pattern { pattern, prefix } => {
                let mut out = prefix.clone();
                let alnum: Vec<u8> = LETTERS.iter().chain(DIGITS).copied().collect();
                for c in pattern.chars() {
                    let pick = |set: &[u8], rng: &mut R| set[rng.gen_range(0..set.len())] as char;
                    out.push(match c {
                        '#' => pick(DIGITS, rng),
                        '@' => pick(LETTERS, rng),
                        '*' => pick(&alnum, rng),
                        other => other,
                    });
                }
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_keys_have_the_documented_shape() {
        let key = KeyFormat::default().generate(&mut rand::rngs::OsRng);
        let parts: Vec<_> = key.split('-').collect();
        assert_eq!(parts.len(), 4);
        assert!(parts
            .iter()
            .all(|p| p.len() == 5 && p.bytes().all(|b| CHUNK_CHARSET.as_bytes().contains(&b))));
    }

    #[test]
    fn uuid_keys_carry_prefix_and_suffix() {
        let f = KeyFormat::Uuid {
            prefix: "PRO-".into(),
            suffix: ".x".into(),
        };
        let key = f.generate(&mut rand::rngs::OsRng);
        assert!(key.starts_with("PRO-") && key.ends_with(".x"));
        assert_eq!(key.len(), 4 + 36 + 2);
        assert!(f.validate().is_ok());
    }

    #[test]
    fn pattern_keys_follow_the_pattern() {
        let f = KeyFormat::Pattern {
            pattern: "####-@@@@-****-****".into(),
            prefix: "ACME-".into(),
        };
        let key = f.generate(&mut rand::rngs::OsRng);
        let body = key.strip_prefix("ACME-").unwrap();
        assert!(body[..4].bytes().all(|b| b.is_ascii_digit()));
        assert!(body[5..9].bytes().all(|b| b.is_ascii_uppercase()));
        assert!(f.validate().is_ok());
    }

    #[test]
    fn formats_that_are_too_short_or_make_invalid_keys_are_refused() {
        let short = KeyFormat::Pattern {
            pattern: "###".into(),
            prefix: String::new(),
        };
        assert!(short.validate().unwrap_err().contains("12 random"));
        let spaces = KeyFormat::Chunked {
            segments: 4,
            segment_len: 5,
            separator: " ".into(),
            prefix: String::new(),
            suffix: String::new(),
            charset: CHUNK_CHARSET.into(),
        };
        assert!(spaces.validate().unwrap_err().contains("invalid"));
    }
}
