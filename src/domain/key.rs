//! License keys and device identifiers: parsed once at the edge, valid afterwards.

use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use std::fmt;

mod format;
pub use format::{check_charset, KeyFormat, CHARSETS, CHUNK_CHARSET};

/// Longest key accepted anywhere.
pub const MAX_KEY_LEN: usize = 128;
/// Longest device identifier accepted.
pub const MAX_IDENTIFIER_LEN: usize = 256;

/// A license key: 1–128 characters of letters, digits, `-`, `_` and `.`.
///
/// Held inline up to 24 bytes (every generated key of the default format): a
/// key is parsed, cloned and compared on every client request, and the
/// registry's lookup then compares against the key in its own slot instead of
/// a separate heap block (a cache miss per request over many licenses).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(transparent)]
pub struct LicenseKey(CompactString);

impl LicenseKey {
    /// Checks the characters and the length; the error says which rule broke.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("key must not be empty".into());
        }
        if raw.len() > MAX_KEY_LEN {
            return Err(format!("key is longer than {MAX_KEY_LEN} characters"));
        }
        if let Some(c) = raw
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(format!(
                "key contains an invalid character {:?}: use letters, digits, '-', '_' and '.'",
                c
            ));
        }
        Ok(LicenseKey(CompactString::from(raw)))
    }

    /// The key as stored and sent (logs use [`LicenseKey::masked`]).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 8 characters followed by an ellipsis: the only form logs and metrics see.
    pub fn masked(&self) -> String {
        super::text::mask_key(&self.0)
    }
}

/// Reads a string and checks it with `check`, so stored and received values
/// pass the same rule as typed ones.
fn deserialize_checked<'de, D, T>(d: D, check: fn(&str) -> Result<T, String>) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let s = String::deserialize(d)?;
    check(&s).map_err(serde::de::Error::custom)
}

impl<'de> Deserialize<'de> for LicenseKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_checked(d, LicenseKey::parse)
    }
}

impl fmt::Display for LicenseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A device identifier: a hardware id or a domain, 1–256 printable characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(transparent)]
pub struct Identifier(CompactString);

/// Characters an identifier may not contain: control characters, invisible
/// format characters (bidi overrides and isolates such as U+202E, zero-width
/// spaces and joiners, the byte-order mark, tag characters), line and paragraph
/// separators, and whitespace other than the plain space. They would let a
/// device name read differently from what it is on an admin's or customer's page.
pub fn is_forbidden_in_identifier(c: char) -> bool {
    c.is_control()
        || (c.is_whitespace() && c != ' ')
        || matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFFB}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}')
}

impl Identifier {
    /// A device identifier as a client sends it: 1 to 255 characters, none of
    /// them [forbidden](is_forbidden_in_identifier).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let id = Identifier::existing(raw)?;
        if let Some(c) = id.0.chars().find(|c| is_forbidden_in_identifier(*c)) {
            return Err(format!(
                "identifier contains a control or invisible formatting character (U+{:04X}); use letters, digits, punctuation, symbols and spaces",
                c as u32
            ));
        }
        Ok(id)
    }

    /// An identifier that names a device already stored (to deactivate it): an
    /// older release accepted invisible characters, and such a device must still
    /// be reachable.
    pub fn existing(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("identifier must not be empty".into());
        }
        if trimmed.chars().count() > MAX_IDENTIFIER_LEN {
            return Err(format!(
                "identifier is longer than {MAX_IDENTIFIER_LEN} characters"
            ));
        }
        Ok(Identifier(CompactString::from(trimmed)))
    }

    /// The identifier as pages and mails show it: forbidden characters written
    /// as `\u{202e}` escapes, so a stored one can never reorder what a person reads.
    pub fn shown(&self) -> String {
        let mut out = String::with_capacity(self.0.len());
        for c in self.0.chars() {
            if is_forbidden_in_identifier(c) {
                out.push_str(&format!("\\u{{{:04x}}}", c as u32));
            } else {
                out.push(c);
            }
        }
        out
    }

    /// The identifier as stored (pages use [`Identifier::shown`]).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Identifier {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Stored records: what an older release accepted still loads.
        deserialize_checked(d, Identifier::existing)
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    /// Security item 12: invisible and reordering characters are refused at
    /// activation; a stored one is shown escaped.
    #[test]
    fn identifiers_refuse_invisible_characters() {
        let table: &[(&str, bool)] = &[
            ("laptop-42", true),
            ("Büro PC (Anna)", true),
            ("example.com", true),
            ("社内サーバー", true),
            ("evil\u{202E}gpj.exe", false),
            ("a\u{200B}b", false),
            ("a\u{2066}b", false),
            ("\u{FEFF}bom", false),
            ("tab\there", false),
            ("nl\nx", false),
            ("a\u{2028}b", false),
            ("tag\u{E0041}", false),
            ("nul\0", false),
            ("", false),
        ];
        for (raw, ok) in table {
            assert_eq!(Identifier::parse(raw).is_ok(), *ok, "{raw:?}");
        }
        let stored = Identifier::existing("evil\u{202E}gpj.exe").unwrap();
        assert_eq!(stored.shown(), "evil\\u{202e}gpj.exe");
        assert_eq!(Identifier::parse("plain").unwrap().shown(), "plain");
        let old: Identifier = serde_json::from_str(r#""old\u202Eone""#).unwrap();
        assert_eq!(old.as_str(), "old\u{202E}one");
    }

    use super::*;

    #[test]
    fn keys_accept_the_documented_alphabet() {
        for ok in ["ABCDE-12345-FGHIJ-67890", "pro_1.2-x", "a"] {
            assert!(LicenseKey::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn keys_refuse_bad_characters_and_lengths() {
        let long = "A".repeat(129);
        for (bad, why) in [
            ("", "empty"),
            ("ABC DEF", "invalid character"),
            ("ABC/DEF", "invalid character"),
            ("ÄBC", "invalid character"),
            (long.as_str(), "longer"),
        ] {
            let err = LicenseKey::parse(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn identifiers_refuse_empty_and_control_characters() {
        assert!(Identifier::parse("  ").is_err());
        assert!(Identifier::parse("ab\u{7}c").is_err());
        assert!(Identifier::parse(&"x".repeat(257)).is_err());
        assert_eq!(Identifier::parse(" host-1 ").unwrap().as_str(), "host-1");
    }
}
