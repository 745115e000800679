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

/// The least guessing a chunked key must take: 12 characters of [`CHUNK_CHARSET`].
const MIN_BITS: f64 = 60.0;

/// The character sets the generator form offers: (name, label, characters).
pub const CHARSETS: [(&str, &str, &str); 5] = [
    (
        "safe",
        "Letters and digits without look-alikes (0/O, 1/I)",
        CHUNK_CHARSET,
    ),
    (
        "alnum",
        "Upper-case letters and digits",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    ),
    ("upper", "Upper-case letters", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    ("digits", "Digits", "0123456789"),
    ("hex", "Hexadecimal (0–9, A–F)", "0123456789ABCDEF"),
];

/// A chunked key's characters: 2–62 distinct ASCII letters and digits.
pub fn check_charset(charset: &str) -> Result<(), String> {
    if !charset.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err("the character set may hold only letters A–Z, a–z and digits".into());
    }
    let mut seen = std::collections::HashSet::new();
    if !charset.chars().all(|c| seen.insert(c)) {
        return Err("the character set names a character twice".into());
    }
    if !(2..=62).contains(&charset.len()) {
        return Err("the character set needs 2 to 62 characters".into());
    }
    Ok(())
}
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
        if let KeyFormat::Chunked { charset, .. } = self {
            check_charset(charset)?;
        }
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
                let chars = usize::from(*segments) * usize::from(*segment_len);
                let bits = chars as f64 * (charset.len() as f64).log2();
                if bits < MIN_BITS {
                    let need = (MIN_BITS / (charset.len() as f64).log2()).ceil();
                    return Err(format!(
                        "with {} characters to choose from, a key needs at least {need} random characters",
                        charset.len()
                    ));
                }
                chars
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

    #[test]
    fn a_character_set_is_checked_and_sets_how_long_a_key_must_be() {
        let chunked = |charset: &str, segments: u8, len: u8| KeyFormat::Chunked {
            segments,
            segment_len: len,
            separator: "-".into(),
            prefix: String::new(),
            suffix: String::new(),
            charset: charset.into(),
        };
        let table: [(&str, u8, u8, Result<(), &str>); 9] = [
            (CHUNK_CHARSET, 3, 4, Ok(())),
            ("0123456789", 4, 5, Ok(())),
            ("0123456789", 3, 5, Err("at least 19 random")),
            ("0123456789ABCDEF", 3, 5, Ok(())),
            ("0123456789ABCDEF", 2, 7, Err("at least 15 random")),
            ("", 4, 5, Err("2 to 62")),
            ("A", 4, 5, Err("2 to 62")),
            ("AAB", 4, 5, Err("twice")),
            ("AB-C", 4, 5, Err("only letters")),
        ];
        for (charset, segments, len, want) in table {
            let got = chunked(charset, segments, len).validate();
            match want {
                Ok(()) => assert!(got.is_ok(), "{charset} {segments}x{len}: {got:?}"),
                Err(part) => assert!(
                    got.as_ref().is_err_and(|e| e.contains(part)),
                    "{charset} {segments}x{len}: {got:?}"
                ),
            }
        }
        for (_, _, chars) in CHARSETS {
            assert!(check_charset(chars).is_ok(), "{chars}");
            let key = chunked(chars, 4, 5).generate(&mut rand::rngs::OsRng);
            assert!(
                key.replace('-', "").chars().all(|c| chars.contains(c)),
                "{key}"
            );
        }
    }
}
